using TorchSharp;

namespace AutoGradNet.TorchBaseline;

/// <summary>The libtorch intra-op thread count every benchmark must run with (set once in <c>Main</c>).</summary>
public static class BenchmarkThreads
{
    public static int Requested { get; set; } = 2;

    /// <summary>
    /// Called from each suite's setup, i.e. on the thread BenchmarkDotNet measures on (in-process it may not be
    /// the main thread): fails the run instead of silently measuring with another thread count.
    /// </summary>
    public static void Check(string suite)
    {
        int actual = torch.get_num_threads();
        if (actual != Requested)
            throw new InvalidOperationException(
                $"{suite}: torch.get_num_threads() is {actual} on the benchmark thread; expected {Requested} (torch.set_num_threads in Main).");
    }
}
