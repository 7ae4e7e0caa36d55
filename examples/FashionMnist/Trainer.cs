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

    /// <summary>
    /// Builds the network named by <see cref="Options.Model"/> (default <see cref="CreateModel"/>). Tests substitute a
    /// smaller one: ILGPU's CPU simulator cannot afford LeNet's 1.26 M parameters in a unit test.
    /// </summary>
    internal Func<string, Module<Tensor, Tensor>> ModelFactory { get; init; } = CreateModel;

    public TrainingResult Run()
    {
        var wall = Stopwatch.StartNew();
        var device = DeviceOption.Resolve(options.Device);
        Directory.CreateDirectory(options.OutputDirectory);
        var train = new Data.FashionMnist(options.DataDirectory, train: true, limit: options.Limit);
        var test = new Data.FashionMnist(options.DataDirectory, train: false, limit: options.TestLimit);
        log.WriteLine($"Fashion-MNIST: {train.Count} training and {test.Count} test images from {options.DataDirectory}");

        Tensor.ManualSeed(options.Seed);
        var generator = new Generator(options.Seed);
        // Initialised on the CPU (the same weights for every device), then moved: model.to(device).
        using var model = ModelFactory(options.Model).To(device);
        log.WriteLine(DeviceOption.Describe(device));
        log.WriteLine($"model {options.Model}: {model.ParameterCount():N0} parameters; optimizer {options.Optimizer}, lr {options.LearningRate.ToString(Inv)}, batch {options.BatchSize}, {options.Epochs} epochs, seed {options.Seed}");
        using Optimizer optimizer = options.Optimizer == "adam"
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
            // The schedule spans this run's --epochs: resuming with more epochs stretches the cosine to the new end
            // instead of running the extra epochs at the old schedule's final lr (≈ 0), which the restored
            // optimizer holds. With the same --epochs this is the restored lr.
            for (int i = 0; i < optimizer.ParamGroups.Count; i++)
                optimizer.ParamGroups[i].Lr = scheduler.BaseLrs[i] * (1 + Math.Cos(Math.PI * scheduler.LastEpoch / scheduler.TMax)) / 2;
            log.WriteLine($"resumed from {resume} after epoch {startEpoch}");
        }

        long[,] confusion = new long[10, 10];
        double testAccuracy = history.LastOrDefault()?.TestAccuracy ?? 0;
        for (int epoch = startEpoch; epoch < options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            double lr = optimizer.ParamGroups[0].Lr;
            trainLoader.Epoch = epoch;
            var (trainLoss, trainAccuracy) = TrainEpoch(model, optimizer, trainLoader, epoch, device);
            scheduler.Step();
            var (testLoss, acc, matrix) = Evaluate(model, testLoader, device);
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
        if (startEpoch == options.Epochs) (_, testAccuracy, confusion) = Evaluate(model, testLoader, device);

        // Saving reads device tensors back to the host, so a GPU-resident model is written as it is.
        model.Save(Path.Combine(options.OutputDirectory, "model.safetensors"), new Dictionary<string, string> { ["model"] = options.Model });
        var result = new TrainingResult(history, confusion, testAccuracy, options.OutputDirectory, wall.Elapsed.TotalSeconds);
        Reports.Write(result, options, train.ClassNames, log);
        return result;
    }

    private (double Loss, double Accuracy) TrainEpoch(Module<Tensor, Tensor> model, Optimizer optimizer, DataLoader loader, int epoch, Device device)
    {
        model.Train();
        // Running sums stay on the device (float64: counts are exact up to 2^53); the host reads them only for a
        // progress update and at the end of the epoch, so a GPU is not stalled after every batch.
        using var lossSum = Tensor.Zeros([], DType.Float64, device);
        using var correct = Tensor.Zeros([], DType.Float64, device);
        long seen = 0;
        var clock = Stopwatch.StartNew();
        (double Loss, double Accuracy) Read() =>
            (lossSum.Item() / Math.Max(seen, 1), correct.Item() / Math.Max(seen, 1));
        void RunBatches(Action<int, Func<string>> report)
        {
            int index = 0;
            foreach (var batch in loader)
            {
                using var owned = batch;
                using var scope = Tensor.NewDisposeScope();
                var x = batch.Images.To(device);
                var y = batch.Labels.To(device);
                optimizer.ZeroGrad();
                var logits = model.Call(x);
                var loss = Loss.CrossEntropy(logits, y);
                loss.Backward();
                optimizer.Step();
                using (GradMode.NoGrad())
                {
                    lossSum.AddInPlace(loss.Detach().To(DType.Float64), alpha: batch.Size);
                    correct.AddInPlace(logits.Argmax(1).Eq(y).To(DType.Float64).Sum());
                }
                seen += batch.Size;
                index++;
                report(index, () =>
                {
                    var (meanLoss, accuracy) = Read(); // waits for the device, so the rate below is honest
                    double rate = seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    string speed = rate >= 10 ? rate.ToString("F0", Inv) : rate.ToString("G2", Inv); // the simulator is slow
                    return string.Create(Inv, $"loss {meanLoss:F4} acc {accuracy:P1} {speed} img/s");
                });
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
                    var refresh = Stopwatch.StartNew();
                    RunBatches((i, text) =>
                    {
                        task.Value = i;
                        // The figures need a read-back from the device: a few times a second is enough for the eye.
                        if (i > 1 && i < total && refresh.Elapsed.TotalSeconds < 0.25) return;
                        task.Description = Markup.Escape($"{title} {text()}");
                        refresh.Restart();
                    });
                });
        }
        else
        {
            int every = Math.Max(1, total / 10);
            RunBatches((i, text) =>
            {
                if (i % every != 0 && i != total) return;
                string figures = text();
                double eta = clock.Elapsed.TotalSeconds / i * (total - i);
                log.WriteLine(string.Create(Inv, $"  {title} [{i,5}/{total}] {figures} ETA {TimeSpan.FromSeconds(eta):m\\:ss}"));
            });
        }
        return Read();
    }

    /// <summary>
    /// Mean loss, accuracy and confusion matrix [true, predicted] on a loader, in evaluation mode without grad, on
    /// <paramref name="device"/> (default: where the model's parameters are).
    /// </summary>
    public static (double Loss, double Accuracy, long[,] Confusion) Evaluate(Module<Tensor, Tensor> model, DataLoader loader, Device? device = null)
    {
        device ??= model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        var confusion = new long[10, 10];
        using var lossSum = Tensor.Zeros([], DType.Float64, device);
        long correct = 0, seen = 0;
        foreach (var batch in loader)
        {
            using var owned = batch;
            using var scope = Tensor.NewDisposeScope();
            var logits = model.Call(batch.Images.To(device));
            lossSum.AddInPlace(Loss.CrossEntropy(logits, batch.Labels.To(device), Reduction.Sum).To(DType.Float64));
            // The confusion matrix needs the predictions on the host: one read-back per (1000-image) batch.
            var predicted = logits.Argmax(1).ToArray<long>();
            var truth = batch.Labels.ToArray<long>();
            for (int i = 0; i < truth.Length; i++)
            {
                confusion[truth[i], predicted[i]]++;
                if (truth[i] == predicted[i]) correct++;
            }
            seen += truth.Length;
        }
        return (lossSum.Item() / Math.Max(seen, 1), (double)correct / Math.Max(seen, 1), confusion);
    }
}
