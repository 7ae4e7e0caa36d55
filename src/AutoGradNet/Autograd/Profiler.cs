using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace AutoGradNet;

/// <summary>
/// Where a training step spends its time, per op: a lightweight, per-thread profiler in the spirit of
/// <c>torch.profiler</c>'s op table.
/// </summary>
/// <remarks>
/// <code>
/// using (var prof = Profiler.Start())
///     for (int i = 0; i &lt; 10; i++) Step();
/// Console.WriteLine(prof.Table());
/// </code>
/// Backward time is exact: each backward node is timed while it runs. Forward time is attributed at the moment an op
/// hands its result to the tape (every differentiable op does, also under no-grad): the time since the previous such
/// moment on this thread goes to the op. So in a loop of ops the forward column is each op's own time, while work
/// between ops that records nothing (data loading, optimizer steps, printing) is charged to the next op; the row
/// <c>(backward engine)</c> holds a backward pass's time outside its nodes (graph walk, gradient accumulation). Only the thread that started the profiler is
/// observed. The cost when no profiler runs is one thread-static read per op.
/// </remarks>
public sealed class Profiler : IDisposable
{
    [ThreadStatic] private static Profiler? t_current;

    private readonly Dictionary<string, OpStats> _ops = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OpStats> _byNode = new(StringComparer.Ordinal);
    private readonly Profiler? _outer;
    private long _last = Stopwatch.GetTimestamp();
    private int _backwardDepth;
    private long _nodeTicks;
    private bool _stopped;

    private Profiler(Profiler? outer) => _outer = outer;

    /// <summary>Starts profiling this thread until the returned profiler is disposed (profilers nest).</summary>
    public static Profiler Start() => t_current = new Profiler(t_current);

    /// <summary>The per-op statistics gathered so far, keyed by op name (the tape's node name without "Backward").</summary>
    public IReadOnlyDictionary<string, OpStats> Ops => _ops;

    /// <summary>Stops profiling (the statistics stay readable).</summary>
    public void Dispose()
    {
        if (_stopped) return;
        _stopped = true;
        if (ReferenceEquals(t_current, this)) t_current = _outer;
    }

    internal static void OnRecord(string nodeName)
    {
        var p = t_current;
        if (p is null || p._backwardDepth > 0) return;
        long now = Stopwatch.GetTimestamp();
        p.Stats(nodeName).AddForward(now - p._last);
        p._last = now;
    }

    /// <summary>A timestamp when this thread is profiled (0 otherwise), for <see cref="OnBackward"/>.</summary>
    internal static long Now() => t_current is null ? 0 : Stopwatch.GetTimestamp();

    /// <summary>Charges the time since <paramref name="start"/> to one backward node.</summary>
    internal static void OnBackward(string nodeName, long start)
    {
        var p = t_current;
        if (p is null || start == 0) return;
        long ticks = Stopwatch.GetTimestamp() - start;
        p.Stats(nodeName).AddBackward(ticks);
        p._nodeTicks += ticks;
    }

    /// <summary>Starts a backward pass: until <see cref="EndPass"/>, ops recorded (by the backward formulas and the
    /// gradient accumulation) are not charged as forward work.</summary>
    internal static (long Start, long NodeTicks) BeginPass()
    {
        var p = t_current;
        if (p is null) return default;
        p._backwardDepth++;
        return (Stopwatch.GetTimestamp(), p._nodeTicks);
    }

    /// <summary>Ends a backward pass, charging its time outside the nodes to the row <c>(backward engine)</c>.</summary>
    internal static void EndPass((long Start, long NodeTicks) pass)
    {
        var p = t_current;
        if (p is null || pass.Start == 0 || p._backwardDepth == 0) return;
        long now = Stopwatch.GetTimestamp();
        p.Stats("(backward engine)").AddBackward(now - pass.Start - (p._nodeTicks - pass.NodeTicks));
        p._backwardDepth--;
        p._last = now;
    }

    private OpStats Stats(string nodeName)
    {
        if (_byNode.TryGetValue(nodeName, out var stats)) return stats;
        string op = nodeName.EndsWith("Backward", StringComparison.Ordinal) ? nodeName[..^"Backward".Length] : nodeName;
        if (!_ops.TryGetValue(op, out stats)) _ops[op] = stats = new OpStats(op);
        return _byNode[nodeName] = stats;
    }

    /// <summary>A text table of the ops sorted by total time, with each op's share of the whole.</summary>
    public string Table(int rows = 30)
    {
        var sorted = _ops.Values.OrderByDescending(s => s.TotalMilliseconds).ToList();
        double all = sorted.Sum(s => s.TotalMilliseconds);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(string.Create(inv, $"{"op",-32} {"calls",8} {"forward ms",12} {"backward ms",12} {"total ms",10} {"share",7}"));
        foreach (var s in sorted.Take(rows))
            sb.AppendLine(string.Create(inv,
                $"{s.Name,-32} {Math.Max(s.ForwardCalls, s.BackwardCalls),8} {s.ForwardMilliseconds,12:F3} {s.BackwardMilliseconds,12:F3} {s.TotalMilliseconds,10:F3} {(all > 0 ? s.TotalMilliseconds / all : 0),7:P1}"));
        sb.Append(string.Create(inv, $"{"total",-32} {"",8} {sorted.Sum(s => s.ForwardMilliseconds),12:F3} {sorted.Sum(s => s.BackwardMilliseconds),12:F3} {all,10:F3}"));
        return sb.ToString();
    }

    /// <summary>Time and calls of one op in the forward and the backward pass.</summary>
    public sealed class OpStats(string name)
    {
        private long _forwardTicks, _backwardTicks;

        /// <summary>The op's name, e.g. <c>Convolution</c>.</summary>
        public string Name { get; } = name;

        /// <summary>Forward calls seen.</summary>
        public int ForwardCalls { get; private set; }

        /// <summary>Backward nodes run.</summary>
        public int BackwardCalls { get; private set; }

        /// <summary>Forward time in milliseconds (see the attribution rule on <see cref="Profiler"/>).</summary>
        public double ForwardMilliseconds => _forwardTicks * 1000.0 / Stopwatch.Frequency;

        /// <summary>Backward time in milliseconds.</summary>
        public double BackwardMilliseconds => _backwardTicks * 1000.0 / Stopwatch.Frequency;

        /// <summary>Forward plus backward milliseconds.</summary>
        public double TotalMilliseconds => ForwardMilliseconds + BackwardMilliseconds;

        internal void AddForward(long ticks) { _forwardTicks += ticks; ForwardCalls++; }

        internal void AddBackward(long ticks) { _backwardTicks += ticks; BackwardCalls++; }
    }
}
