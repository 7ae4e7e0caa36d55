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
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
