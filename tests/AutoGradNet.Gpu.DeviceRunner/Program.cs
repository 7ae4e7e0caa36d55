using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace AutoGradNet.Gpu.DeviceRunner;

/// <summary>
/// One program for a GPU machine without the .NET SDK (publish it self-contained, see the project file):
/// <list type="bullet">
/// <item><c>tests [--run P,P,…] [--skip P,…] [--list] [--timeout S]</c>: the GPU backend's xunit tests
/// (tests/AutoGradNet.Gpu.Tests), run in this process through xunit 2.9's own framework classes. A pattern P is a
/// class name (<c>CudaTests</c>), <c>Class.Method</c> (a prefix of the method name is enough) or <c>*</c> (every
/// test); <c>--run</c> runs only the matching tests, one pattern after another in the order given (a test runs once,
/// with the first pattern that matches it), and <c>--skip</c> leaves tests out. Every result is printed as it comes, failures
/// with their messages and stack traces, then one closing line <c>N passed, N failed, N skipped</c>. Exit code 0,
/// 1 (a failure), 2 (usage), 3 (the requested device is missing) or 124 (<c>--timeout</c> reached: the tests still
/// running are named, the counts so far are printed).</item>
/// <item><c>bench [options]</c>: benchmarks/AutoGradNet.GpuBench (<c>--quick</c>, <c>--matmul tiled|cublas|both</c>,
/// <c>--sim</c>).</item>
/// <item><c>info</c>: what ILGPU sees (CUDA devices, driver) and whether cuBLAS loads.</item>
/// </list>
/// Set AUTOGRADNET_TEST_DEVICE=cuda to run the tests written against the simulator (the backend, op, convolution and
/// training agreement tests) on the CUDA GPU instead; the CUDA-only facts run whenever a GPU is present.
/// </summary>
public static class Program
{
    private const string DeviceVariable = "AUTOGRADNET_TEST_DEVICE";

    public static int Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "";
        string[] rest = args.Length > 0 ? args[1..] : [];
        try
        {
            return mode switch
            {
                "tests" => new TestRun(rest).Execute(),
                "bench" => AutoGradNet.GpuBench.Program.Main(rest),
                "info" => Info(),
                _ => Usage($"unknown mode '{mode}'"),
            };
        }
        catch (UsageException e)
        {
            return Usage(e.Message);
        }
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"agn-device: {problem}");
        Console.Error.WriteLine("usage: agn-device tests [--run P,P,...] [--skip P,...] [--list] [--timeout SECONDS]");
        Console.Error.WriteLine("       agn-device bench [--quick] [--matmul tiled|cublas|both] [--sim]");
        Console.Error.WriteLine("       agn-device info");
        Console.Error.WriteLine($"  P: a test class (CudaTests), a Class.Method prefix or * (the rest); {DeviceVariable}=cuda runs the simulator's tests on the GPU");
        return 2;
    }

    private static int Info()
    {
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} CPU cores, {RuntimeInfo()}");
        Console.WriteLine($"{DeviceVariable}={Environment.GetEnvironmentVariable(DeviceVariable) ?? "(unset)"}");
        var watch = Stopwatch.StartNew();
        Console.WriteLine($"ILGPU: {GpuDevices.CudaDescription} (detection {watch.Elapsed.TotalSeconds:F1} s)");
        if (!GpuDevices.IsCudaAvailable) return 3;
        watch.Restart();
        var device = GpuDevices.Cuda();
        var x = Tensor.Randn([256, 256], DType.Float32, new Generator(1));
        var onGpu = x.To(device);
        double err = onGpu.Matmul(onGpu).To(Device.Cpu).Sub(x.Matmul(x)).Abs().Max().Item();
        Console.WriteLine($"{device}: accelerator created and a 256² tiled matmul run in {watch.Elapsed.TotalSeconds:F1} s (first use compiles), max |GPU − CPU| = {err:E2}");
        try
        {
            GpuDevices.SetMatMul(device, GpuMatMul.CuBlas);
            err = onGpu.Matmul(onGpu).To(Device.Cpu).Sub(x.Matmul(x)).Abs().Max().Item();
            Console.WriteLine($"cuBLAS: loaded; 256² matmul max |GPU − CPU| = {err:E2}");
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"cuBLAS: not available: {e.Message}");
        }
        finally
        {
            GpuDevices.SetMatMul(device, GpuMatMul.Tiled);
        }
        return 0;
    }

    internal static string RuntimeInfo() => $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}";
}

internal sealed class UsageException(string message) : Exception(message);

/// <summary>Discovers the test assembly's tests with xunit's own framework classes and runs the selected ones.</summary>
internal sealed class TestRun
{
    private readonly List<string> _run = [], _skip = [];
    private readonly bool _list;
    private readonly double _timeoutSeconds;
    private readonly object _lock = new();
    private readonly Dictionary<string, Stopwatch> _running = [];
    private readonly List<string> _failedNames = [];
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private int _passed, _failed, _skipped, _errors;

    public TestRun(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--run": _run.AddRange(Split(Next())); break;
                case "--skip": _skip.AddRange(Split(Next())); break;
                case "--list": _list = true; break;
                case "--timeout":
                    string value = Next();
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _timeoutSeconds) || _timeoutSeconds <= 0)
                        throw new UsageException($"--timeout must be a positive number of seconds, got '{value}'");
                    break;
                default: throw new UsageException($"unknown option '{args[i]}'");
            }
        }
    }

    private static IEnumerable<string> Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Class.Method of a test case (the class without its namespace).</summary>
    private static string Key(ITestCase test)
    {
        string cls = test.TestMethod.TestClass.Class.Name;
        return $"{cls[(cls.LastIndexOf('.') + 1)..]}.{test.TestMethod.Method.Name}";
    }

    private static bool Matches(string key, string pattern) =>
        pattern == "*" || key == pattern || key.StartsWith(pattern + ".", StringComparison.Ordinal) || (pattern.Contains('.') && key.StartsWith(pattern, StringComparison.Ordinal));

    public int Execute()
    {
        string requested = Environment.GetEnvironmentVariable("AUTOGRADNET_TEST_DEVICE") ?? "";
        Console.WriteLine($"# AutoGradNet.Gpu.Tests in-process, .NET {Environment.Version}, {Environment.ProcessorCount} CPU cores, {Program.RuntimeInfo()}");
        Console.WriteLine($"# AUTOGRADNET_TEST_DEVICE={(requested.Length == 0 ? "(unset: the simulator)" : requested)}; ILGPU: {GpuDevices.CudaDescription}");
        if (!_list && requested.Trim().StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !GpuDevices.IsCudaAvailable)
        {
            Console.WriteLine($"AUTOGRADNET_TEST_DEVICE={requested} asks for a CUDA GPU, but there is none: not running the tests.");
            Console.WriteLine("0 passed, 0 failed, 0 skipped");
            return 3;
        }

        var assembly = typeof(AutoGradNet.Gpu.Tests.CudaTests).Assembly;
        var diagnostics = new DiagnosticSink();
        using var framework = new XunitTestFramework(diagnostics);
        var cases = Discover(framework, assembly);
        var selected = cases.Where(c => !_skip.Any(p => Matches(Key(c), p))).ToList();
        var groups = new List<(string Name, List<ITestCase> Cases)>();
        if (_run.Count == 0)
        {
            groups.Add(("all", selected));
        }
        else
        {
            var taken = new HashSet<ITestCase>();
            foreach (string pattern in _run)
            {
                var group = selected.Where(c => Matches(Key(c), pattern) && taken.Add(c)).ToList();
                if (group.Count == 0) Console.WriteLine($"# warning: --run {pattern} matches no test (or only tests an earlier pattern took)");
                groups.Add((pattern, group));
            }
        }
        int count = groups.Sum(g => g.Cases.Count);
        Console.WriteLine($"# {cases.Count} tests discovered, {count} selected{(_skip.Count > 0 ? $" (skipping {string.Join(", ", _skip)})" : "")}");
        if (_list)
        {
            foreach (var (name, group) in groups)
                foreach (var c in group) Console.WriteLine($"{name}\t{Key(c)}\t{c.DisplayName}");
            return 0;
        }
        if (count == 0)
        {
            Console.WriteLine("no tests selected");
            Console.WriteLine("0 passed, 0 failed, 0 skipped");
            return 1;
        }

        using var watchdog = _timeoutSeconds > 0 ? new Timer(_ => TimedOut(), null, TimeSpan.FromSeconds(_timeoutSeconds), Timeout.InfiniteTimeSpan) : null;
        using var executor = framework.GetExecutor(assembly.GetName());
        foreach (var (name, group) in groups)
        {
            if (group.Count == 0) continue;
            Console.WriteLine($"## {name}: {group.Count} tests");
            var sink = new ExecutionSink(this);
            executor.RunTests(group, sink, new Options(execution: true));
            sink.Finished.WaitOne();
        }
        return Summary(timedOut: false);
    }

    private static List<ITestCase> Discover(XunitTestFramework framework, Assembly assembly)
    {
        using var discoverer = framework.GetDiscoverer(Reflector.Wrap(assembly));
        var sink = new DiscoverySink();
        discoverer.Find(includeSourceInformation: false, sink, new Options(execution: false));
        sink.Finished.WaitOne();
        return sink.Cases;
    }

    private int Summary(bool timedOut)
    {
        lock (_lock)
        {
            Console.WriteLine();
            if (_failedNames.Count > 0)
            {
                Console.WriteLine($"# failed ({_failedNames.Count}):");
                foreach (string name in _failedNames) Console.WriteLine($"#   {name}");
            }
            if (_errors > 0) Console.WriteLine($"# {_errors} error(s) outside tests (see [ERROR] above)");
            if (timedOut)
            {
                Console.WriteLine($"# TIMED OUT after {_timeoutSeconds:F0} s; still running:");
                foreach (var (name, watch) in _running) Console.WriteLine($"#   {name} (for {watch.Elapsed.TotalSeconds:F1} s)");
            }
            Console.WriteLine($"# total {_total.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"{_passed} passed, {_failed + _errors} failed, {_skipped} skipped");
            Console.Out.Flush();
            return timedOut ? 124 : _failed + _errors > 0 ? 1 : 0;
        }
    }

    private void TimedOut()
    {
        int code = Summary(timedOut: true);
        Environment.Exit(code);
    }

    private void Starting(string name)
    {
        lock (_lock) _running[name] = Stopwatch.StartNew();
    }

    private double Finished(string name)
    {
        lock (_lock)
        {
            if (!_running.Remove(name, out var watch)) return 0;
            return watch.Elapsed.TotalSeconds;
        }
    }

    private void Passed(ITestPassed m)
    {
        double seconds = Finished(m.Test.DisplayName);
        lock (_lock)
        {
            _passed++;
            Console.WriteLine($"[PASS] {seconds,7:F2} s  {m.Test.DisplayName}");
            if (!string.IsNullOrWhiteSpace(m.Output)) Console.WriteLine(Indent("output: " + m.Output.TrimEnd()));
        }
    }

    private void Failed(ITestFailed m)
    {
        double seconds = Finished(m.Test.DisplayName);
        lock (_lock)
        {
            _failed++;
            _failedNames.Add(m.Test.DisplayName);
            Console.WriteLine($"[FAIL] {seconds,7:F2} s  {m.Test.DisplayName}");
            WriteFailure(m);
            if (!string.IsNullOrWhiteSpace(m.Output)) Console.WriteLine(Indent("output: " + m.Output.TrimEnd()));
        }
    }

    private void Skipped(ITestSkipped m)
    {
        Finished(m.Test.DisplayName);
        lock (_lock)
        {
            _skipped++;
            Console.WriteLine($"[SKIP]            {m.Test.DisplayName}: {m.Reason}");
        }
    }

    private void Error(string what, IFailureInformation failure)
    {
        lock (_lock)
        {
            _errors++;
            Console.WriteLine($"[ERROR] {what}");
            WriteFailure(failure);
        }
    }

    private static void WriteFailure(IFailureInformation f)
    {
        for (int i = 0; i < f.ExceptionTypes.Length; i++)
        {
            string prefix = i == 0 ? "" : "inner: ";
            Console.WriteLine(Indent($"{prefix}{f.ExceptionTypes[i]}: {f.Messages.ElementAtOrDefault(i)}"));
            string? stack = f.StackTraces.ElementAtOrDefault(i);
            if (!string.IsNullOrWhiteSpace(stack)) Console.WriteLine(Indent(stack.TrimEnd()));
        }
    }

    private static string Indent(string text) => "    " + text.Replace("\n", "\n    ", StringComparison.Ordinal);

    /// <summary>Discovery and execution options: xunit reads its settings by name and falls back to its defaults.</summary>
    private sealed class Options : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
    {
        private readonly Dictionary<string, object?> _values = [];

        public Options(bool execution)
        {
            if (execution)
            {
                SetValue("xunit.execution.DisableParallelization", true);
                SetValue("xunit.execution.SynchronousMessageReporting", true);
            }
            else
            {
                SetValue("xunit.discovery.PreEnumerateTheories", true);
            }
        }

        public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out var v) && v is TValue t ? t : default!;

        public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
    }

    private sealed class DiagnosticSink : Xunit.LongLivedMarshalByRefObject, IMessageSink
    {
        public bool OnMessage(IMessageSinkMessage message)
        {
            if (message is IDiagnosticMessage d) Console.WriteLine($"# xunit: {d.Message}");
            return true;
        }
    }

    private sealed class DiscoverySink : Xunit.LongLivedMarshalByRefObject, IMessageSink
    {
        public List<ITestCase> Cases { get; } = [];

        public ManualResetEvent Finished { get; } = new(false);

        public bool OnMessage(IMessageSinkMessage message)
        {
            switch (message)
            {
                case ITestCaseDiscoveryMessage d: Cases.Add(d.TestCase); break;
                case IErrorMessage e:
                    Console.WriteLine($"[ERROR] discovery: {string.Join("; ", e.Messages)}");
                    break;
                case IDiscoveryCompleteMessage: Finished.Set(); break;
            }
            return true;
        }
    }

    private sealed class ExecutionSink(TestRun run) : Xunit.LongLivedMarshalByRefObject, IMessageSink
    {
        public ManualResetEvent Finished { get; } = new(false);

        public bool OnMessage(IMessageSinkMessage message)
        {
            switch (message)
            {
                case ITestStarting s: run.Starting(s.Test.DisplayName); break;
                case ITestPassed p: run.Passed(p); break;
                case ITestFailed f: run.Failed(f); break;
                case ITestSkipped s: run.Skipped(s); break;
                case IErrorMessage e: run.Error("error", e); break;
                case ITestAssemblyCleanupFailure c: run.Error("assembly cleanup", c); break;
                case ITestCollectionCleanupFailure c: run.Error($"collection cleanup: {c.TestCollection.DisplayName}", c); break;
                case ITestClassCleanupFailure c: run.Error($"class cleanup: {c.TestClass.Class.Name}", c); break;
                case ITestMethodCleanupFailure c: run.Error($"method cleanup: {c.TestMethod.Method.Name}", c); break;
                case ITestCaseCleanupFailure c: run.Error($"test case cleanup: {c.TestCase.DisplayName}", c); break;
                case ITestCleanupFailure c: run.Error($"test cleanup: {c.Test.DisplayName}", c); break;
                case ITestAssemblyFinished: Finished.Set(); break;
            }
            return true;
        }
    }
}
