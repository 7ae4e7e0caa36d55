using AutoGradNet.Models;
using AutoGradNet.Nn;
using AutoGradNet.Optim;
using BenchmarkDotNet.Attributes;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// One training step of a model on a fixed batch: forward, cross-entropy, backward and SGD (momentum 0.9, lr 0.01,
/// no weight decay), all temporaries freed by a dispose scope — the same step the libtorch baseline measures.
/// </summary>
[MemoryDiagnoser]
public abstract class TrainStepBenchmark
{
    private Module<Tensor, Tensor> _model = null!;
    private SGD _optimizer = null!;
    private Tensor _x = null!, _y = null!;

    /// <summary>The network (in training mode).</summary>
    protected abstract Module<Tensor, Tensor> CreateModel();

    /// <summary>The input batch shape, NCHW.</summary>
    protected abstract int[] InputShape { get; }

    /// <summary>Seed of the batch.</summary>
    protected abstract ulong Seed { get; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(Seed);
        _model = CreateModel().Train();
        _optimizer = new SGD(_model.Parameters(), lr: 0.01, momentum: 0.9);
        _x = Tensor.Randn(InputShape, generator: g);
        _y = Tensor.Randint(0, 10, [InputShape[0]], generator: g);
        // Steady state before BenchmarkDotNet's own warm-up. The first call (JIT of every op) takes long enough that
        // BenchmarkDotNet measures one step per iteration, so with the default tiered JIT a LeNet step called 3 + 15
        // times ran its first ten or so measured steps in unoptimized code (30–54 ms, then 14–17 ms, in one run).
        // Up to 30 steps or 3 s; the libtorch side does the same.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 30 && clock.Elapsed.TotalSeconds < 3; i++) TrainStep();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model.Dispose();
        _x.Dispose();
        _y.Dispose();
    }

    [Benchmark]
    public double TrainStep()
    {
        using var scope = Tensor.NewDisposeScope();
        _optimizer.ZeroGrad();
        var loss = Loss.CrossEntropy(_model.Call(_x), _y);
        loss.Backward();
        _optimizer.Step();
        return loss.Item();
    }
}

/// <summary>The seed-003 LeNet-5 variant at batch 64 on 28×28 inputs (the CPU-speed issue's LeNet case).</summary>
[MemoryDiagnoser]
public class LeNetStepBenchmarks : TrainStepBenchmark
{
    protected override Module<Tensor, Tensor> CreateModel() => new LeNet();
    protected override int[] InputShape => [64, 1, 28, 28];
    protected override ulong Seed => 3;
}

/// <summary>The CIFAR ResNet-20 (<see cref="CifarResNet"/>, depth 20, batch norm in training mode) at batch 32 on 3×32×32.</summary>
[MemoryDiagnoser]
public class ResNet20StepBenchmarks : TrainStepBenchmark
{
    protected override Module<Tensor, Tensor> CreateModel() => new CifarResNet(20);
    protected override int[] InputShape => [32, 3, 32, 32];
    protected override ulong Seed => 4;
}

/// <summary>
/// The CIFAR ResNet-18 (3×3 stem, no max pool, 11,173,962 parameters) at batch 32 on 3×32×32: the CPU-speed issue's
/// ResNet-18 case (libtorch side: AutoGradNet.TorchBaseline).
/// </summary>
[MemoryDiagnoser]
public class CifarResNet18StepBenchmarks : TrainStepBenchmark
{
    protected override Module<Tensor, Tensor> CreateModel() => ResNet.CifarResNet18();
    protected override int[] InputShape => [32, 3, 32, 32];
    protected override ulong Seed => 4;
}
