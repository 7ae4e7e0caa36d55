using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoGradNet.TorchBaseline;

/// <summary>Square float32 matrix products C = A·B (contiguous, row-major), forward only: <c>torch.matmul</c>.</summary>
[MemoryDiagnoser]
public class MatMulBenchmarks
{
    [Params(256, 1024, 2048)]
    public int N;

    private Tensor _a = null!, _b = null!;

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkThreads.Check(nameof(MatMulBenchmarks));
        torch.manual_seed(7);
        _a = torch.randn(N, N);
        _b = torch.randn(N, N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Benchmark]
    public void MatMul()
    {
        using var c = _a.matmul(_b);
    }
}
