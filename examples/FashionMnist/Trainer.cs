using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AutoGradNet.Data;
using AutoGradNet.Nn;
using AutoGradNet.Optim;
using AutoGradNet.Serialization;
using Spectre.Console;

namespace AutoGradNet.Examples.FashionMnist;

/// <summary>One epoch's figures.</summary>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double LearningRate, double Seconds);

/// <summary>The outcome of a run: per-epoch history, the final confusion matrix, and where the files went.</summary>
public sealed record TrainingResult(List<EpochMetrics> History, long[,] Confusion, double TestAccuracy, string OutputDirectory, double WallSeconds);

/// <summary>The training loop: data, model, optimizer, progress, evaluation, checkpoints and reports.</summary>
public sealed class Trainer(Options options, TextWriter log)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Module<Tensor, Tensor> CreateModel(string name) => name switch
    {
        "lenet" => new Models.LeNet(numClasses: 10, inChannels: 1, inputSize: 28),
        "resnet" => new Models.CifarResNet(20, numClasses: 10, inChannels: 1),
        _ => throw new ArgumentException($"unknown model '{name}'"),
    };

    public TrainingResult Run()
    {
        var wall = Stopwatch.StartNew();
        Directory.CreateDirectory(options.OutputDirectory);
        var train = new Data.FashionMnist(options.DataDirectory, train: true, limit: options.Limit);
        var test = new Data.FashionMnist(options.DataDirectory, train: false, limit: options.TestLimit);
        log.WriteLine($"Fashion-MNIST: {train.Count} training and {test.Count} test images from {options.DataDirectory}");

        Tensor.ManualSeed(options.Seed);
        var generator = new Generator(options.Seed);
        var model = CreateModel(options.Model);
        log.WriteLine($"model {options.Model}: {model.ParameterCount():N0} parameters; optimizer {options.Optimizer}, lr {options.LearningRate.ToString(Inv)}, batch {options.BatchSize}, {options.Epochs} epochs, seed {options.Seed}");
        Optimizer optimizer = options.Optimizer == "adam"
            ? new Adam(model.Parameters(), lr: options.LearningRate, weightDecay: options.WeightDecay)
            : new SGD(model.Parameters(), lr: options.LearningRate, momentum: 0.9, nesterov: true, weightDecay: options.WeightDecay);
        var scheduler = new CosineAnnealingLR(optimizer, options.Epochs);
        Augmentation? augmentation = options.Augment ? new Compose(new RandomCrop(2), new RandomHorizontalFlip()) : null;
        using var trainLoader = new DataLoader(train, options.BatchSize, shuffle: true, dropLast: false, seed: options.Seed,
            normalization: Normalization.FashionMnist, augmentation: augmentation);
        using var testLoader = new DataLoader(test, 1000, normalization: Normalization.FashionMnist);

        var history = new List<EpochMetrics>();
        int startEpoch = 0;
        string checkpointPath = Path.Combine(options.OutputDirectory, "checkpoint.safetensors");
        if (options.Resume is { } resume)
        {
            var meta = Checkpoint.Load(resume, model, optimizer, scheduler, generator);
            startEpoch = int.Parse(meta["epoch"], Inv);
            history = JsonSerializer.Deserialize<List<EpochMetrics>>(meta["history"]) ?? [];
            log.WriteLine($"resumed from {resume} after epoch {startEpoch}");
        }

        long[,] confusion = new long[10, 10];
        double testAccuracy = history.LastOrDefault()?.TestAccuracy ?? 0;
        for (int epoch = startEpoch; epoch < options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            double lr = optimizer.ParamGroups[0].Lr;
            trainLoader.Epoch = epoch;
            var (trainLoss, trainAccuracy) = TrainEpoch(model, optimizer, trainLoader, epoch);
            scheduler.Step();
            var (testLoss, acc, matrix) = Evaluate(model, testLoader);
            testAccuracy = acc;
            confusion = matrix;
            var metrics = new EpochMetrics(epoch + 1, trainLoss, trainAccuracy, testLoss, testAccuracy, lr, clock.Elapsed.TotalSeconds);
            history.Add(metrics);
            log.WriteLine(string.Create(Inv,
                $"epoch {epoch + 1}/{options.Epochs}: train loss {trainLoss:F4} acc {trainAccuracy:P2} | test loss {testLoss:F4} acc {testAccuracy:P2} | lr {lr:G3} | {metrics.Seconds:F1} s"));
            Checkpoint.Save(checkpointPath, model, optimizer, scheduler, generator, new Dictionary<string, string>
            {
                ["epoch"] = (epoch + 1).ToString(Inv),
                ["history"] = JsonSerializer.Serialize(history),
                ["model"] = options.Model,
            });
        }
        if (history.Count == 0) throw new InvalidOperationException("nothing to train: the checkpoint already covers all epochs");
        if (startEpoch == options.Epochs) (_, testAccuracy, confusion) = Evaluate(model, testLoader);

        model.Save(Path.Combine(options.OutputDirectory, "model.safetensors"), new Dictionary<string, string> { ["model"] = options.Model });
        var result = new TrainingResult(history, confusion, testAccuracy, options.OutputDirectory, wall.Elapsed.TotalSeconds);
        Reports.Write(result, options, train.ClassNames, log);
        return result;
    }

    private (double Loss, double Accuracy) TrainEpoch(Module<Tensor, Tensor> model, Optimizer optimizer, DataLoader loader, int epoch)
    {
        model.Train();
        double lossSum = 0;
        long correct = 0, seen = 0;
        var clock = Stopwatch.StartNew();
        void RunBatches(Action<int, string> report)
        {
            int index = 0;
            foreach (var batch in loader)
            {
                using var scope = Tensor.NewDisposeScope();
                var (x, y) = batch;
                optimizer.ZeroGrad();
                var logits = model.Call(x);
                var loss = Loss.CrossEntropy(logits, y);
                loss.Backward();
                optimizer.Step();
                lossSum += loss.Item() * batch.Size;
                correct += (long)logits.Argmax(1).Eq(y).To(DType.Int64).Sum().Item();
                seen += batch.Size;
                index++;
                double rate = seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                report(index, string.Create(Inv, $"loss {lossSum / seen:F4} acc {(double)correct / seen:P1} {rate:F0} img/s"));
            }
        }

        int total = loader.Count;
        string title = $"epoch {epoch + 1}/{options.Epochs}";
        if (!options.Plain && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            AnsiConsole.Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(title, maxValue: total);
                    RunBatches((i, text) =>
                    {
                        task.Value = i;
                        task.Description = Markup.Escape($"{title} {text}");
                    });
                });
        }
        else
        {
            int every = Math.Max(1, total / 10);
            RunBatches((i, text) =>
            {
                if (i % every != 0 && i != total) return;
                double eta = clock.Elapsed.TotalSeconds / i * (total - i);
                log.WriteLine(string.Create(Inv, $"  {title} [{i,5}/{total}] {text} ETA {TimeSpan.FromSeconds(eta):m\\:ss}"));
            });
        }
        return (lossSum / Math.Max(seen, 1), (double)correct / Math.Max(seen, 1));
    }

    /// <summary>Mean loss, accuracy and confusion matrix [true, predicted] on a loader, in evaluation mode without grad.</summary>
    public static (double Loss, double Accuracy, long[,] Confusion) Evaluate(Module<Tensor, Tensor> model, DataLoader loader)
    {
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        var confusion = new long[10, 10];
        double lossSum = 0;
        long correct = 0, seen = 0;
        foreach (var batch in loader)
        {
            using var scope = Tensor.NewDisposeScope();
            var (x, y) = batch;
            var logits = model.Call(x);
            lossSum += Loss.CrossEntropy(logits, y, Reduction.Sum).Item();
            var predicted = logits.Argmax(1).ToArray<long>();
            var truth = y.ToArray<long>();
            for (int i = 0; i < truth.Length; i++)
            {
                confusion[truth[i], predicted[i]]++;
                if (truth[i] == predicted[i]) correct++;
            }
            seen += truth.Length;
        }
        return (lossSum / Math.Max(seen, 1), (double)correct / Math.Max(seen, 1), confusion);
    }
}
