using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// Entry point: every suite in this assembly is reachable through BenchmarkDotNet's switcher, e.g.
/// <c>dotnet run -c Release --project benchmarks/AutoGradNet.Benchmarks -- --filter '*' --job short</c>
/// or <c>--filter '*MatMul*'</c> for one suite, <c>--list flat</c> to see them all.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--quick") { QuickHarness.Run(args); return; }
        if (args.Length > 0 && args[0] == "--convparts") { ConvParts.Run(int.Parse(args[1])); return; }
        if (args.Length > 0 && args[0] == "--peak") { FmaPeak.Run(args.Length > 1 ? int.Parse(args[1]) : 3); return; }
        if (args.Length > 0 && args[0] == "--gemm") { ConvParts.Gemm(int.Parse(args[1])); return; }
        // Median and minimum next to the mean: on this shared machine the median is the number to compare.
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args,
            DefaultConfig.Instance.AddColumn(StatisticColumn.Median, StatisticColumn.Min));
    }
}
