using BenchmarkDotNet.Attributes;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// conv2d forward + backward (input and weight gradients), float32, on the shapes of the CPU-speed issue
/// (the same cases the libtorch side measures): name = N×Cin×H×W → Cout, kernel, padding, stride.
/// </summary>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    public record Case(string Name, int N, int Cin, int H, int W, int Cout, int K, int Pad, int Stride)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Case> Cases =>
    [
        new("32x64x32x32-64-3x3", 32, 64, 32, 32, 64, 3, 1, 1),
        new("32x128x16x16-128-3x3", 32, 128, 16, 16, 128, 3, 1, 1),
        new("32x256x8x8-256-3x3", 32, 256, 8, 8, 256, 3, 1, 1),
        new("32x3x32x32-64-3x3", 32, 3, 32, 32, 64, 3, 1, 1),
        new("32x64x32x32-128-1x1s2", 32, 64, 32, 32, 128, 1, 0, 2),
        new("64x1x28x28-20-5x5", 64, 1, 28, 28, 20, 5, 2, 1),
    ];

    [ParamsSource(nameof(Cases))]
    public Case Shape { get; set; } = null!;

    private Tensor _x = null!, _w = null!, _gradOut = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        var c = Shape;
        _x = Tensor.Randn([c.N, c.Cin, c.H, c.W], generator: g).RequiresGrad_();
        _w = Tensor.Randn([c.Cout, c.Cin, c.K, c.K], generator: g).Mul(0.05).DetachFromDisposeScope().RequiresGrad_();
        using var y = F.Conv2d(_x, _w, null, c.Stride, c.Pad);
        _gradOut = Tensor.Randn(y.Shape.ToArray(), generator: g);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _w.Dispose();
        _gradOut.Dispose();
    }

    [Benchmark]
    public void ForwardBackward()
    {
        using var scope = Tensor.NewDisposeScope();
        _x.ZeroGrad();
        _w.ZeroGrad();
        var y = F.Conv2d(_x, _w, null, Shape.Stride, Shape.Pad);
        y.Backward(_gradOut);
    }

    [Benchmark]
    public void Forward()
    {
        using var scope = Tensor.NewDisposeScope();
        using var noGrad = GradMode.NoGrad();
        F.Conv2d(_x, _w, null, Shape.Stride, Shape.Pad);
    }
}

/// <summary>Max and average pooling forward + backward on a ResNet-sized activation (float32).</summary>
[MemoryDiagnoser]
public class PoolBenchmarks
{
    private Tensor _x = null!;

    [GlobalSetup]
    public void Setup() => _x = Tensor.Randn([32, 64, 32, 32], generator: new Generator(2)).RequiresGrad_();

    [GlobalCleanup]
    public void Cleanup() => _x.Dispose();

    [Benchmark]
    public void MaxPool3x3s2()
    {
        using var scope = Tensor.NewDisposeScope();
        _x.ZeroGrad();
        F.MaxPool2d(_x, 3, 2, 1).Sum().Backward();
    }

    [Benchmark]
    public void AvgPool2x2()
    {
        using var scope = Tensor.NewDisposeScope();
        _x.ZeroGrad();
        F.AvgPool2d(_x, 2).Sum().Backward();
    }
}
