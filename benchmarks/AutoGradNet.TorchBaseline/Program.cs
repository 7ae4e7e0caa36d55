using System.Globalization;
using System.Text;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// libtorch (TorchSharp-cpu) side of the side-by-side CPU benchmark. Run it through
/// <c>bash benchmarks/torch-baseline.sh</c>, which builds it, patches the native library and starts it.
/// </summary>
/// <remarks>
/// Own options (the rest goes to BenchmarkDotNet, e.g. <c>--filter '*Conv*'</c>, <c>--iterationCount 30</c>):
/// <c>--threads N</c> (torch threads, default 2), <c>--default-malloc</c> (skip the mallopt tuning, to see its
/// effect), <c>--fault-check</c> (instead of benchmarking, count page faults per conv call; see
/// <see cref="FaultCheck"/>), <c>--out FILE</c> (where the Markdown report goes; default
/// BenchmarkDotNet.Artifacts/results/torch-baseline.md).
/// Benchmarks run in-process (InProcessEmitToolchain): BenchmarkDotNet's usual out-of-process toolchain builds a
/// fresh copy of the project, whose libLibTorchSharp.so is the unpatched one from the NuGet cache, and a child
/// process would also not inherit the mallopt settings made here.
/// </remarks>
public static class Program
{
    public static int Main(string[] args)
    {
        var bdnArgs = new List<string>();
        bool tuneMalloc = true, faultCheck = false;
        string outFile = Path.Combine("BenchmarkDotNet.Artifacts", "results", "torch-baseline.md");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads" when i + 1 < args.Length:
                    BenchmarkThreads.Requested = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--fault-check":
                    faultCheck = true;
                    break;
                case "--default-malloc":
                    tuneMalloc = false;
                    break;
                case "--out" when i + 1 < args.Length:
                    outFile = args[++i];
                    break;
                default:
                    bdnArgs.Add(args[i]);
                    break;
            }
        }
        // Without a filter BenchmarkDotNet's switcher asks interactively which suite to run.
        if (!bdnArgs.Any(a => a is "--filter" or "-f" or "--list" or "--help" or "-h" or "--version" || a.StartsWith("--filter=", StringComparison.Ordinal)))
            bdnArgs.AddRange(["--filter", "*"]);

        // Before libtorch allocates anything.
        if (tuneMalloc) NativeAllocator.Configure();

        string loadBefore = MachineInfo.LoadAverage();
        DateTime started = DateTime.UtcNow;

        try
        {
            torch.set_num_threads(BenchmarkThreads.Requested);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"TorchSharp could not load libtorch: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(
                "On Debian 12 the cause is usually libLibTorchSharp.so asking for GLIBCXX_3.4.32: every build copies the " +
                "unpatched file from the NuGet cache again. Run the benchmark with `bash benchmarks/torch-baseline.sh`, " +
                "which patches the copy in the output folder after building (not with `dotnet run`).");
            return 2;
        }
        BenchmarkThreads.Check("Main");

        if (faultCheck)
        {
            Console.WriteLine(FaultCheck.Run());
            return 0;
        }

        var job = Job.Default
            .WithWarmupCount(3)
            .WithIterationCount(15)
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId("torch")
            .AsDefault();
        var config = ManualConfig.Create(DefaultConfig.Instance).AddJob(job);

        Summary[] summaries = BenchmarkSwitcher
            .FromTypes([
                typeof(MatMulBenchmarks), typeof(ConvBenchmarks), typeof(LeNet5TrainStepBenchmarks),
                typeof(ResNet18TrainStepBenchmarks), typeof(OverheadBenchmarks),
            ])
            .Run(bdnArgs.ToArray(), config)
            .ToArray();
        if (summaries.Length == 0 || summaries.All(s => s.Reports.IsEmpty))
            return bdnArgs.Contains("--list") || bdnArgs.Contains("--help") ? 0 : 1;

        string report = Report(summaries, started, loadBefore);
        Console.WriteLine();
        Console.WriteLine(report);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
        File.WriteAllText(outFile, report);
        Console.WriteLine($"(written to {Path.GetFullPath(outFile)})");
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    private static double ParseLoad(string loadavg) =>
        double.TryParse(loadavg.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static string Report(Summary[] summaries, DateTime started, string loadBefore)
    {
        string loadAfter = MachineInfo.LoadAverage();
        var firstCase = summaries.SelectMany(s => s.BenchmarksCases).FirstOrDefault();
        string jobInfo = firstCase is null ? "?" : $"{firstCase.Job.DisplayInfo}";
        string command = Environment.GetEnvironmentVariable("TORCH_BASELINE_COMMAND")
                         ?? "dotnet " + string.Join(' ', Environment.GetCommandLineArgs());
        string omp = Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "unset";

        var sb = new StringBuilder();
        sb.AppendLine("## libtorch baseline (TorchSharp-cpu 0.107.0)");
        sb.AppendLine();
        sb.AppendLine("| | |");
        sb.AppendLine("| --- | --- |");
        sb.AppendLine($"| date | {started:yyyy-MM-dd HH:mm} UTC (took {(DateTime.UtcNow - started).TotalMinutes:F1} min) |");
        sb.AppendLine($"| command | `{command}` (from the repository root) |");
        if (Environment.GetEnvironmentVariable("TORCH_BASELINE_COMMIT") is { Length: > 0 } commit)
            sb.AppendLine($"| code | commit {commit} |");
        sb.AppendLine($"| CPU | {MachineInfo.Cpu()} |");
        sb.AppendLine($"| memory / OS | {MachineInfo.Memory()}, {MachineInfo.Os()} |");
        sb.AppendLine($"| .NET | {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription} |");
        sb.AppendLine($"| libtorch | {MachineInfo.TorchSharp()}; libLibTorchSharp.so patched (GLIBCXX_3.4.32 made weak) |");
        sb.AppendLine($"| threads | torch.set_num_threads({BenchmarkThreads.Requested}); torch.get_num_threads() = {torch.get_num_threads()}, checked on the benchmark thread by every suite; OMP_NUM_THREADS={omp} |");
        sb.AppendLine($"| allocator | {NativeAllocator.Summary} |");
        sb.AppendLine($"| harness | BenchmarkDotNet 0.15.8, in-process, {jobInfo}; MemoryDiagnoser (managed bytes only: libtorch's tensor memory is native) |");
        sb.AppendLine($"| load (/proc/loadavg) | before: {loadBefore}; after: {loadAfter} |");
        sb.AppendLine();
        // Load from other processes: before the run, and after it minus this process's own threads.
        double before = ParseLoad(loadBefore), after = ParseLoad(loadAfter) - BenchmarkThreads.Requested;
        double others = Math.Max(before, after);
        if (others > 0.5)
        {
            sb.AppendLine($"**Taken under load**: other processes kept about {others.ToString("F1", CultureInfo.InvariantCulture)} tasks runnable " +
                          $"on {Environment.ProcessorCount} logical cores (1-minute load average {loadBefore.Split(' ')[0]} before the run, " +
                          $"{loadAfter.Split(' ')[0]} after it, this run's {BenchmarkThreads.Requested} threads included); the numbers are pessimistic and noisy.");
            sb.AppendLine();
        }
        sb.Append(ResultsTable.Build(summaries));
        return sb.ToString();
    }
}
