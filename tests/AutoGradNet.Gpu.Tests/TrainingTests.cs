using AutoGradNet.Nn;
using AutoGradNet.Optim;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Gpu.Tests;

/// <summary>Float64 gradient checks run entirely on the simulator, and a small CNN trained on both devices.</summary>
public class TrainingTests
{
    private static Tensor R(int[] shape, ulong seed) => Tensor.Randn(shape, DType.Float64, new Generator(seed)).To(Sim.Device).RequiresGrad_();

    [Fact]
    public void GradCheckOnTheSimulator()
    {
        Assert.True(GradCheck.Check(x => x[0].Matmul(x[1]).Tanh().Sum(1), [R([3, 4], 1), R([4, 2], 2)]));
        Assert.True(GradCheck.Check(x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1), [R([1, 2, 4, 3], 3), R([2, 2, 3, 2], 4), R([2], 5)]));
        Assert.True(GradCheck.Check(x => F.MaxPool2d(x[0], 2, 1), [R([1, 2, 3, 3], 6)]));
        var target = Tensor.From(new long[] { 2, 0, 1 }).To(Sim.Device);
        Assert.True(GradCheck.Check(x => Loss.CrossEntropy(x[0], target), [R([3, 4], 7)]));
        Assert.True(GradCheck.Check(x => F.BatchNorm(x[0], null, null, x[1], x[2], training: true), [R([3, 2, 2], 8), R([2], 9), R([2], 10)]));
        Assert.True(GradCheck.Check(x => x[0].Mul(x[1]).Sigmoid().LogSoftmax(1), [R([2, 3], 11), R([3], 12)]));
    }

    /// <summary>conv-bn-relu-pool-linear, the shape of the brief's small CNN.</summary>
    private static Sequential SmallCnn() =>
        new(new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 3 * 3, 3));

    private static List<double> Train(Sequential model, Tensor images, Tensor labels, int steps, double lr)
    {
        var losses = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            using var scope = Tensor.NewDisposeScope();
            var loss = Loss.CrossEntropy(model.Call(images), labels);
            loss.Backward();
            using (GradMode.NoGrad())
                foreach (var w in model.Parameters()) w.SubInPlace(w.Grad!, lr);
            model.ZeroGrad();
            losses.Add(loss.Item());
        }
        return losses;
    }

    [Fact]
    public void SmallCnnTrainsToTheSameLossesOnBothDevices()
    {
        Tensor.ManualSeed(5);
        var cpuModel = SmallCnn();
        var gpuModel = SmallCnn();
        gpuModel.LoadStateDict(cpuModel.StateDict());
        gpuModel.To(Sim.Device);
        var images = Tensor.Randn([4, 1, 6, 6], DType.Float32, new Generator(6));
        var labels = Tensor.From(new long[] { 0, 2, 1, 2 });
        var cpuLosses = Train(cpuModel, images, labels, 3, 0.1);
        var gpuLosses = Train(gpuModel, images.To(Sim.Device), labels.To(Sim.Device), 3, 0.1);
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(cpuLosses[i] - gpuLosses[i]) <= 1e-5 * Math.Max(1, Math.Abs(cpuLosses[i])), $"step {i}: cpu loss {cpuLosses[i]}, simulator loss {gpuLosses[i]}");
        Assert.True(cpuLosses[2] < cpuLosses[0], $"the loss should fall: {string.Join(", ", cpuLosses)}");
        foreach (var (name, p) in cpuModel.StateDict())
            Sim.AssertClose(p, gpuModel.StateDict()[name], $"{name} after 3 steps", p.DType == DType.Float32 ? 1e-4 : 0);
    }

    public static TheoryData<string> Optimizers => ["adam", "adam-amsgrad", "adamw", "sgd-nesterov", "sgd-velocity", "rmsprop-centered", "adagrad"];

    private static Optimizer MakeOptimizer(string name, Tensor[] parameters) => name switch
    {
        "adam" => new Adam(parameters, lr: 0.05, weightDecay: 0.01),
        "adam-amsgrad" => new Adam(parameters, lr: 0.05, amsgrad: true),
        "adamw" => new AdamW(parameters, lr: 0.05),
        "sgd-nesterov" => new SGD(parameters, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        "sgd-velocity" => new SGD(parameters, lr: 0.1, momentum: 0.9, velocityForm: true),
        "rmsprop-centered" => new RMSprop(parameters, lr: 0.01, momentum: 0.5, centered: true),
        "adagrad" => new Adagrad(parameters, lr: 0.1, lrDecay: 0.01),
        _ => throw new ArgumentException(name),
    };

    /// <summary>
    /// The optimizers' fused update kernels run on the simulator (its kernel wrappers must see the core's internal
    /// operator structs) and give the CPU's parameters after three steps.
    /// </summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void OptimizersStepOnTheSimulatorAsOnTheCpu(string name)
    {
        static Tensor Draw(ulong seed) => Tensor.Randn([5, 3], DType.Float32, new Generator(seed));
        float[] Run(Device device)
        {
            // Fresh CPU draws each time: on the CPU, To(device) returns the tensor itself.
            using var w = Draw(21).To(device).RequiresGrad_();
            using var t = Draw(22).To(device);
            using var optimizer = MakeOptimizer(name, [w]);
            for (int step = 0; step < 3; step++)
            {
                using var scope = Tensor.NewDisposeScope();
                optimizer.ZeroGrad();
                w.Sub(t).Pow(2).Sum().Backward();
                optimizer.Step();
            }
            Assert.Equal(device, w.Device);
            return w.ToArray<float>();
        }
        var cpu = Run(Device.Cpu);
        var sim = Run(Sim.Device);
        for (int i = 0; i < cpu.Length; i++)
            Assert.True(Math.Abs(cpu[i] - sim[i]) <= 1e-5 * Math.Max(1, Math.Abs(cpu[i])), $"{name}: element {i}: cpu {cpu[i]}, simulator {sim[i]}");
        Assert.NotEqual(Draw(21).ToArray<float>(), cpu); // the steps changed something
    }
}
