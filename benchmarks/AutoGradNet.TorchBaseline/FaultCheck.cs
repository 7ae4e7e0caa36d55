using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// <c>--fault-check</c>: minor page faults per conv2d forward+backward call, the load-independent sign of what
/// the allocator does. With glibc's defaults the big buffers are mmap'ed and unmapped on every call, so each call
/// faults its pages in again (thousands of faults per call); with the mallopt tuning they are reused (~0).
/// Compare <c>--fault-check</c> with <c>--fault-check --default-malloc</c>.
/// </summary>
public static class FaultCheck
{
    public static string Run(int warmup = 3, int calls = 10)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"Allocator: {NativeAllocator.Summary}; torch threads {BenchmarkThreads.Requested}; {warmup} warm-up calls, then the mean of {calls}.");
        sb.AppendLine();
        sb.AppendLine("| conv2d fwd+bwd case | minor page faults/call | mean time/call (ms, not a benchmark) |");
        sb.AppendLine("| --- | ---: | ---: |");
        foreach (var shape in ConvBenchmarks.Cases)
        {
            var bench = new ConvBenchmarks { Shape = shape };
            bench.Setup();
            for (int i = 0; i < warmup; i++) bench.ForwardBackward();
            long faults0 = MinorFaults();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) bench.ForwardBackward();
            sw.Stop();
            long faults = MinorFaults() - faults0;
            bench.Cleanup();
            sb.AppendLine($"| {shape.Name} | {(faults / (double)calls).ToString("F0", inv)} | {(sw.Elapsed.TotalMilliseconds / calls).ToString("F1", inv)} |");
        }
        return sb.ToString();
    }

    /// <summary>Field 10 (minflt) of /proc/self/stat: minor faults of the whole process so far.</summary>
    private static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
        var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(rest[7], CultureInfo.InvariantCulture); // rest[0] is field 3 (state), so field 10 is rest[7]
    }
}
