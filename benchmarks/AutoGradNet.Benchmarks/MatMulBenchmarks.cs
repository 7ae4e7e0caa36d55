using BenchmarkDotNet.Attributes;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// Square float32 matrix products C = A·B (both row-major), forward only. The GFLOP/s column is 2n³ / mean.
/// </summary>
/// <remarks>
/// Each call runs in its own dispose scope: <see cref="Tensor.Matmul"/> creates intermediate views (expand,
/// reshape) that a plain <c>using</c> on the result would not release, which would keep the output storage
/// out of the pool.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(GflopsConfig))]
public class MatMulBenchmarks
{
    [Params(64, 128, 256, 512, 1024)]
    public int N;

    private Tensor _a = null!, _b = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(7);
        _a = Tensor.Randn([N, N], generator: g);
        _b = Tensor.Randn([N, N], generator: g);
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
        using var scope = Tensor.NewDisposeScope();
        _a.Matmul(_b);
    }
}
