using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// Turns BenchmarkDotNet's reports into one Markdown table (case, median, unit, ...) in the order of the
/// CPU-speed issue, so it can be pasted into benchmarks/RESULTS.md beside AutoGradNet's numbers.
/// </summary>
public static class ResultsTable
{
    private sealed record Row(int Order, string Case, double MedianNs, double MinNs, int Iterations, string Unit, double? Flops, long? AllocatedBytes);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Build(IEnumerable<Summary> summaries)
    {
        var rows = new List<Row>();
        foreach (var summary in summaries)
        {
            foreach (var report in summary.Reports)
            {
                var stats = report.ResultStatistics;
                if (stats is null) continue; // failed case: BenchmarkDotNet has already printed why
                var (order, name, unit, flops) = Describe(report.BenchmarkCase);
                long? allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
                rows.Add(new Row(order, name, stats.Median, stats.Min, stats.N, unit, flops, allocated));
            }
        }

        var sb = new StringBuilder();
        sb.AppendLine("| case | median | unit | min | GFLOP/s (at median) | managed alloc/op |");
        sb.AppendLine("| --- | ---: | --- | ---: | ---: | ---: |");
        foreach (var r in rows.OrderBy(r => r.Order))
        {
            double scale = r.Unit == "µs" ? 1e3 : 1e6;
            string gflops = r.Flops is { } f ? (f / r.MedianNs).ToString("F1", Inv) : "";
            string alloc = r.AllocatedBytes is { } b ? $"{b.ToString("N0", Inv)} B" : "?";
            sb.AppendLine($"| {r.Case} | {Format(r.MedianNs / scale)} | {r.Unit} | {Format(r.MinNs / scale)} | {gflops} | {alloc} |");
        }
        return sb.ToString();
    }

    /// <summary>Three significant digits, no exponent (0.412, 12.3, 1,234).</summary>
    private static string Format(double v) => v switch
    {
        >= 1000 => v.ToString("N0", Inv),
        >= 100 => v.ToString("F1", Inv),
        >= 10 => v.ToString("F2", Inv),
        >= 1 => v.ToString("F3", Inv),
        _ => v.ToString("G3", Inv),
    };

    /// <summary>Sort key, row name, unit and floating-point operations per call (null: not a flop-bound case).</summary>
    private static (int Order, string Name, string Unit, double? Flops) Describe(BenchmarkCase c)
    {
        string type = c.Descriptor.Type.Name;
        string method = c.Descriptor.WorkloadMethod.Name;
        switch (type)
        {
            case nameof(MatMulBenchmarks):
            {
                int n = (int)c.Parameters["N"];
                return (100 + n / 256, $"matmul {n}×{n}×{n}", "ms", 2.0 * n * n * (double)n);
            }
            case nameof(ConvBenchmarks):
            {
                var s = (ConvBenchmarks.Case)c.Parameters["Shape"];
                int index = ConvBenchmarks.Cases.ToList().FindIndex(x => x.Name == s.Name);
                string kernel = $"{s.K}×{s.K}" + (s.Pad > 0 ? $" pad {s.Pad}" : "") + (s.Stride > 1 ? $" stride {s.Stride}" : "");
                return (200 + index, $"conv2d fwd+bwd {s.N}×{s.Cin}×{s.H}×{s.W} → {s.Cout} {kernel}", "ms", s.FwdBwdFlops);
            }
            case nameof(LeNet5TrainStepBenchmarks):
                return (300, "LeNet-5 train step, batch 64", "ms", null);
            case nameof(ResNet18TrainStepBenchmarks):
                return (301, "ResNet-18 (CIFAR) train step, batch 32", "ms", null);
            case nameof(OverheadBenchmarks):
                return method == nameof(OverheadBenchmarks.Add_NoRequiresGrad)
                    ? (400, "a.add(b), 1 element, no grad", "µs", null)
                    : (401, "a.add(b), 1 element, inputs require grad (AddBackward recorded)", "µs", null);
            default:
                return (999, $"{type}.{method}", "ms", null);
        }
    }
}
