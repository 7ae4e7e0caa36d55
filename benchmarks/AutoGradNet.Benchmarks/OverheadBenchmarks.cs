using BenchmarkDotNet.Attributes;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// Fixed cost of one op: <c>a.Add(b)</c> on 1-element float32 tensors, where the arithmetic is negligible and
/// what is measured is argument checks, allocation from the pool, dispatch to the backend, and (when an input
/// requires grad) recording a node on the tape.
/// </summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    private Tensor _a = null!, _b = null!;         // plain tensors
    private Tensor _pa = null!, _pb = null!;       // RequiresGrad leaves

    [GlobalSetup]
    public void Setup()
    {
        _a = Tensor.From(new[] { 1.5f }, 1);
        _b = Tensor.From(new[] { 2.5f }, 1);
        _pa = Tensor.From(new[] { 1.5f }, 1).RequiresGrad_();
        _pb = Tensor.From(new[] { 2.5f }, 1).RequiresGrad_();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _a, _b, _pa, _pb }) t.Dispose();
    }

    /// <summary>No input requires grad: nothing is recorded.</summary>
    [Benchmark(Baseline = true)]
    public void Add_NoRequiresGrad()
    {
        using var y = _a.Add(_b);
    }

    /// <summary>Both inputs require grad: the op records an AddBackward node (the graph is dropped with the result).</summary>
    [Benchmark]
    public void Add_RequiresGrad_Recorded()
    {
        using var y = _pa.Add(_pb);
    }

    /// <summary>Inputs require grad but the op runs under <see cref="GradMode.NoGrad"/> (entered per call).</summary>
    [Benchmark]
    public void Add_RequiresGrad_UnderNoGrad()
    {
        using var noGrad = GradMode.NoGrad();
        using var y = _pa.Add(_pb);
    }

    /// <summary>As <see cref="Add_NoRequiresGrad"/>, but freed by a dispose scope instead of <c>using</c>.</summary>
    [Benchmark]
    public void Add_NoRequiresGrad_InDisposeScope()
    {
        using var scope = Tensor.NewDisposeScope();
        _a.Add(_b);
    }
}
