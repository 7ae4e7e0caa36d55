using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// Fixed cost of one op: <c>a.add(b)</c> on 1-element float32 tensors (P/Invoke, dispatcher, allocation of the
/// result and, when an input requires grad, recording an AddBackward node), result disposed each call — the same
/// two cases as the first two of AutoGradNet's <c>OverheadBenchmarks</c>.
/// </summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    private Tensor _a = null!, _b = null!, _pa = null!, _pb = null!;

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkThreads.Check(nameof(OverheadBenchmarks));
        _a = torch.tensor(new[] { 1.5f });
        _b = torch.tensor(new[] { 2.5f });
        _pa = torch.tensor(new[] { 1.5f }).requires_grad_();
        _pb = torch.tensor(new[] { 2.5f }).requires_grad_();
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
        using var y = _a.add(_b);
    }

    /// <summary>Both inputs require grad: an AddBackward node is recorded (and dropped with the result).</summary>
    [Benchmark]
    public void Add_RequiresGrad_Recorded()
    {
        using var y = _pa.add(_pb);
    }
}
