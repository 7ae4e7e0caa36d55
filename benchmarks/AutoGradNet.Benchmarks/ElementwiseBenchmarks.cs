using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// Forward elementwise ops on contiguous float32 vectors. Each tensor op allocates its output and disposes it
/// in the same invocation, so the storage round-trips through the pool every call. Each op has a baseline that
/// calls the same <see cref="TensorPrimitives"/> kernel on preallocated arrays on one thread: the ratio is
/// the library's overhead (small sizes) or its multi-core speed-up (from 32,768 elements ops split over cores).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ElementwiseBenchmarks
{
    [Params(1_000, 10_000, 100_000, 1_000_000)]
    public int N;

    private Tensor _a = null!, _b = null!;
    private float[] _rawA = null!, _rawB = null!, _rawY = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(42);
        _a = Tensor.Uniform([N], -1, 1, generator: g);
        _b = Tensor.Uniform([N], -1, 1, generator: g);
        _rawA = _a.ToArray<float>();
        _rawB = _b.ToArray<float>();
        _rawY = new float[N];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Benchmark, BenchmarkCategory("add")]
    public void Add()
    {
        using var y = _a.Add(_b);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("add")]
    public void Add_RawSpan() => TensorPrimitives.Add(_rawA, _rawB, _rawY);

    [Benchmark, BenchmarkCategory("mul")]
    public void Mul()
    {
        using var y = _a.Mul(_b);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("mul")]
    public void Mul_RawSpan() => TensorPrimitives.Multiply(_rawA, _rawB, _rawY);

    [Benchmark, BenchmarkCategory("exp")]
    public void Exp()
    {
        using var y = _a.Exp();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("exp")]
    public void Exp_RawSpan() => TensorPrimitives.Exp(_rawA, _rawY);
}
