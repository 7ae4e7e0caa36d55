using BenchmarkDotNet.Attributes;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// One SGD training step of an MNIST-sized MLP: batch 64, 784 → 256 (ReLU) → 10, cross-entropy loss,
/// forward + backward + in-place parameter update, all temporaries freed by a dispose scope.
/// </summary>
[MemoryDiagnoser]
public class MlpTrainStepBenchmarks
{
    private const int Batch = 64, In = 784, Hidden = 256, Classes = 10;
    private const double LearningRate = 0.01;

    private Tensor _x = null!, _y = null!;
    private Tensor _w1 = null!, _b1 = null!, _w2 = null!, _b2 = null!;
    private Tensor[] _parameters = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(2024);
        _x = Tensor.Randn([Batch, In], generator: g);
        _y = Tensor.Randint(0, Classes, [Batch], generator: g);
        // PyTorch's nn.Linear default: U(−1/√fan_in, 1/√fan_in) for weights and biases.
        double k1 = 1 / Math.Sqrt(In), k2 = 1 / Math.Sqrt(Hidden);
        _w1 = Tensor.Uniform([Hidden, In], -k1, k1, generator: g).RequiresGrad_();
        _b1 = Tensor.Uniform([Hidden], -k1, k1, generator: g).RequiresGrad_();
        _w2 = Tensor.Uniform([Classes, Hidden], -k2, k2, generator: g).RequiresGrad_();
        _b2 = Tensor.Uniform([Classes], -k2, k2, generator: g).RequiresGrad_();
        _parameters = [_w1, _b1, _w2, _b2];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in _parameters) t.Dispose();
        _x.Dispose();
        _y.Dispose();
    }

    [Benchmark]
    public void TrainStep()
    {
        using var scope = Tensor.NewDisposeScope();
        foreach (var p in _parameters) p.ZeroGrad();

        var hidden = Tensor.Linear(_x, _w1, _b1).Relu();
        var logits = Tensor.Linear(hidden, _w2, _b2);
        var loss = Loss.CrossEntropy(logits, _y);
        loss.Backward();

        using (GradMode.NoGrad())
        {
            foreach (var p in _parameters) p.SubInPlace(p.Grad!, LearningRate);
        }
    }
}
