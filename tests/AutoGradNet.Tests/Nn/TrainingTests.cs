using AutoGradNet.Nn;
using AutoGradNet.Optim;
using AutoGradNet.Serialization;

namespace AutoGradNet.Tests.Nn;

public class TrainingTests
{
    private static Sequential SmallCnn(Generator g) => new(
        new Conv2d(1, 4, 3, padding: 1, generator: g), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
        new Conv2d(4, 8, 3, padding: 1, generator: g), new ReLU(), new Dropout(0.2, g),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(8, 2, generator: g));

    /// <summary>A learnable problem: class 1 images have a bright vertical bar, class 0 a horizontal one, plus noise.</summary>
    private static (Tensor X, Tensor Y) Batch(Generator g, int n = 16)
    {
        var labels = Tensor.Randint(0, 2, [n], generator: g);
        var noise = Tensor.Randn([n, 1, 8, 8], generator: g).Mul(0.3);
        var l = labels.ToArray<long>();
        var bars = new float[n * 64];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 8; k++)
                bars[i * 64 + (l[i] == 1 ? k * 8 + 3 : 3 * 8 + k)] = 1;
        return (noise.Add(Tensor.From(bars, n, 1, 8, 8)), labels);
    }

    private static double Step(Sequential model, Optimizer optimizer, LRScheduler scheduler, Generator data)
    {
        using var scope = Tensor.NewDisposeScope();
        var (x, y) = Batch(data);
        optimizer.ZeroGrad();
        var loss = Loss.CrossEntropy(model.Call(x), y);
        loss.Backward();
        optimizer.Step();
        scheduler.Step();
        return loss.Item();
    }

    [Fact]
    public void SmallCnnLearnsAGeneratedProblem()
    {
        var g = new Generator(11);
        var model = SmallCnn(g);
        var optimizer = new Adam(model.Parameters(), lr: 0.01);
        var scheduler = new StepLR(optimizer, 50, 0.5);
        var losses = Enumerable.Range(0, 120).Select(_ => Step(model, optimizer, scheduler, g)).ToList();
        Assert.True(losses.Take(10).Average() > 0.5, $"initial loss {losses.Take(10).Average()}");
        Assert.True(losses.TakeLast(10).Average() < 0.15, $"final loss {losses.TakeLast(10).Average()}");
        model.Eval();
        using var scope = Tensor.NewDisposeScope();
        var (x, y) = Batch(new Generator(99), 64);
        var accuracy = model.Call(x).Argmax(1).Eq(y).To(DType.Float32).Mean().Item();
        Assert.True(accuracy > 0.95, $"accuracy {accuracy}");
    }

    [Fact]
    public void ResumedRunIsBitIdenticalToUninterruptedRun()
    {
        const int k = 7, n = 15;
        var path = Path.Combine(Path.GetTempPath(), $"agn-resume-{Guid.NewGuid():N}.safetensors");
        try
        {
            float[] Run(bool interrupt)
            {
                var g = new Generator(5);
                var model = SmallCnn(g);
                var optimizer = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true);
                var scheduler = new CosineAnnealingLR(optimizer, n);
                for (int step = 0; step < (interrupt ? k : n); step++) Step(model, optimizer, scheduler, g);
                if (!interrupt) return model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
                Checkpoint.Save(path, model, optimizer, scheduler, g, new Dictionary<string, string> { ["step"] = k.ToString() });

                // A fresh process: new objects with different initial weights and RNG position.
                var g2 = new Generator(1234);
                var resumed = SmallCnn(g2);
                var optimizer2 = new SGD(resumed.Parameters(), lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true);
                var scheduler2 = new CosineAnnealingLR(optimizer2, n);
                var meta = Checkpoint.Load(path, resumed, optimizer2, scheduler2, g2);
                Assert.Equal("7", meta["step"]);
                for (int step = k; step < n; step++) Step(resumed, optimizer2, scheduler2, g2);
                return resumed.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
            }
            Assert.Equal(Run(interrupt: false), Run(interrupt: true));
        }
        finally { File.Delete(path); }
    }
}
