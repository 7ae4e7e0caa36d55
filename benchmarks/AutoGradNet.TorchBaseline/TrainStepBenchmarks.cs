using AutoGradNet.TorchBaseline.Models;
using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// One training step of a whole network on a fixed random batch: <c>zero_grad(set_to_none)</c>, forward,
/// cross-entropy (mean), backward, SGD step (lr 0.01, momentum 0.9, no weight decay, no Nesterov).
/// Data loading is not measured. Models are in training mode (batch-norm uses batch statistics).
/// </summary>
public abstract class TrainStepBenchmarks<TModel> where TModel : nn.Module<Tensor, Tensor>
{
    private TModel _model = null!;
    private optim.Optimizer _sgd = null!;
    private Tensor _x = null!, _y = null!;
    private float _lastLoss;

    protected abstract TModel CreateModel();

    protected abstract long[] InputShape { get; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkThreads.Check(GetType().Name);
        torch.manual_seed(3);
        _model = CreateModel();
        _model.train();
        _sgd = optim.SGD(_model.parameters(), learningRate: 0.01, momentum: 0.9);
        _x = torch.randn(InputShape);
        _y = torch.randint(0, 10, [InputShape[0]], dtype: ScalarType.Int64);
        // The same steady-state warm-up as AutoGradNet's side (up to 30 steps or 3 s; see its TrainStepBenchmark).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 30 && clock.Elapsed.TotalSeconds < 3; i++) TrainStep();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // A sanity check that the repeated steps stayed finite (a NaN would also change the timings).
        if (!float.IsFinite(_lastLoss))
            throw new InvalidOperationException($"{typeof(TModel).Name} train step: loss became {_lastLoss}; expected a finite value.");
        Console.WriteLine($"// {typeof(TModel).Name}: {ParameterCount(_model):N0} parameters, loss after the last step {_lastLoss:G4}");
        _sgd.Dispose();
        _model.Dispose();
        _x.Dispose();
        _y.Dispose();
    }

    [Benchmark]
    public void TrainStep()
    {
        using var scope = torch.NewDisposeScope();
        _model.zero_grad();
        var loss = F.cross_entropy(_model.forward(_x), _y);
        loss.backward();
        _sgd.step();
        _lastLoss = loss.item<float>();
    }

    public static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());
}

/// <summary>LeNet-5 (seed-003 layout) training step, batch 64 of 1×28×28.</summary>
[MemoryDiagnoser]
public class LeNet5TrainStepBenchmarks : TrainStepBenchmarks<LeNet5>
{
    protected override LeNet5 CreateModel() => new();

    protected override long[] InputShape => [64, 1, 28, 28];
}

/// <summary>CIFAR ResNet-18 (11,173,962 parameters) training step, batch 32 of 3×32×32.</summary>
[MemoryDiagnoser]
public class ResNet18TrainStepBenchmarks : TrainStepBenchmarks<ResNet18Cifar>
{
    protected override ResNet18Cifar CreateModel() => new();

    protected override long[] InputShape => [32, 3, 32, 32];
}
