using AutoGradNet.Models;
using AutoGradNet.Nn;
using AutoGradNet.Optim;
using BenchmarkDotNet.Attributes;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// One training step (forward, cross-entropy, backward, SGD with momentum 0.9) of the seed-003 LeNet-5 variant at
/// batch 64 on 28×28 inputs, the CPU-speed issue's LeNet case.
/// </summary>
[MemoryDiagnoser]
public class LeNetStepBenchmarks
{
    private LeNet _model = null!;
    private SGD _optimizer = null!;
    private Tensor _x = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(3);
        _model = new LeNet();
        _optimizer = new SGD(_model.Parameters(), lr: 0.01, momentum: 0.9);
        _x = Tensor.Randn([64, 1, 28, 28], generator: g);
        _y = Tensor.Randint(0, 10, [64], generator: g);
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

/// <summary>
/// One training step (forward, cross-entropy, backward, SGD with momentum 0.9, lr 0.01) of the CIFAR ResNet-20
/// (<see cref="CifarResNet"/>, depth 20, batch norm in training mode) at batch 32 on a fixed 3×32×32 batch.
/// </summary>
[MemoryDiagnoser]
public class ResNet20StepBenchmarks
{
    private CifarResNet _model = null!;
    private SGD _optimizer = null!;
    private Tensor _x = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(4);
        _model = new CifarResNet(20);
        _model.Train();
        _optimizer = new SGD(_model.Parameters(), lr: 0.01, momentum: 0.9);
        _x = Tensor.Randn([32, 3, 32, 32], generator: g);
        _y = Tensor.Randint(0, 10, [32], generator: g);
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

/// <summary>
/// One training step of the CIFAR ResNet-18 (3×3 stem, no max pool, 11,173,962 parameters) at batch 32 on 32×32
/// inputs with SGD momentum 0.9: the CPU-speed issue's ResNet-18 case (libtorch side: AutoGradNet.TorchBaseline).
/// </summary>
[MemoryDiagnoser]
public class CifarResNet18StepBenchmarks
{
    private ResNet _model = null!;
    private SGD _optimizer = null!;
    private Tensor _x = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(4);
        _model = ResNet.CifarResNet18();
        _optimizer = new SGD(_model.Parameters(), lr: 0.01, momentum: 0.9);
        _x = Tensor.Randn([32, 3, 32, 32], generator: g);
        _y = Tensor.Randint(0, 10, [32], generator: g);
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
