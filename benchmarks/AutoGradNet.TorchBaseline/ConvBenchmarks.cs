using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// conv2d forward + backward (input and weight gradients, no bias), float32, on the shapes of the CPU-speed
/// issue — the same cases as AutoGradNet's <c>ConvBenchmarks</c>. Name = N×Cin×H×W → Cout, kernel, stride.
/// </summary>
/// <remarks>
/// As on the AutoGradNet side, both gradients are reset to "none" before each call, so backward allocates fresh
/// gradients instead of accumulating into old ones (PyTorch's <c>zero_grad(set_to_none=True)</c>).
/// </remarks>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    public sealed record Case(string Name, int N, int Cin, int H, int W, int Cout, int K, int Pad, int Stride)
    {
        public int HOut => (H + 2 * Pad - K) / Stride + 1;
        public int WOut => (W + 2 * Pad - K) / Stride + 1;

        /// <summary>Forward + input grad + weight grad: three products of 2·N·Cout·Hout·Wout·Cin·K² flops each.</summary>
        public double FwdBwdFlops => 3.0 * 2.0 * N * Cout * HOut * WOut * Cin * K * K;

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
        BenchmarkThreads.Check(nameof(ConvBenchmarks));
        torch.manual_seed(1);
        var c = Shape;
        _x = torch.randn(c.N, c.Cin, c.H, c.W).requires_grad_();
        using (var w = torch.randn(c.Cout, c.Cin, c.K, c.K))
            _w = w.mul(0.05).requires_grad_();
        _gradOut = torch.randn(c.N, c.Cout, c.HOut, c.WOut);
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
        using var scope = torch.NewDisposeScope();
        _x.grad = null;
        _w.grad = null;
        var y = F.conv2d(_x, _w, null, [Shape.Stride], [Shape.Pad]);
        y.backward([_gradOut]);
    }
}
