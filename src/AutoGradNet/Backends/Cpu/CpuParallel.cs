using System.Runtime.ExceptionServices;

namespace AutoGradNet.Backends.Cpu;

/// <summary>
/// The CPU backend's parallel loop: body(i) for i in [0, count) on a fixed team of worker threads plus the calling
/// thread. A kernel call is short (tens of microseconds to milliseconds) and a training step makes hundreds of them,
/// so the team is created once and reused: <c>Parallel.For</c> allocated about 1 KB of scheduler objects per call
/// (a third of a ResNet step's managed allocation) and the thread pool's work queue added wake-up jitter.
/// </summary>
/// <remarks>
/// Iterations are handed out one at a time from a shared counter, so uneven chunks balance themselves. A loop started
/// from inside a running iteration (nested parallelism) or while another thread's loop holds the team runs on its own
/// thread, serially: results are the same, and nothing can deadlock. The first exception thrown by an iteration is
/// rethrown to the caller once every iteration has finished.
/// </remarks>
internal static class CpuParallel
{
    private static readonly object s_gate = new();
    private static Team? s_team;
    [ThreadStatic] private static bool t_inside;

    /// <summary>Runs <paramref name="body"/>(i) for every i in [0, <paramref name="count"/>) across the cores.</summary>
    public static void For(int count, Action<int> body) => For(count, body, static (b, i) => b(i));

    /// <summary>
    /// Runs <paramref name="body"/>(<paramref name="state"/>, i) for every i in [0, <paramref name="count"/>) across the
    /// cores. With a <c>static</c> lambda and a struct state (a tuple of what the loop reads) nothing is allocated: a
    /// capturing lambda costs a closure and a delegate per call, and a training step makes hundreds of kernel calls.
    /// </summary>
    public static void For<TState>(int count, TState state, Action<TState, int> body)
    {
        if (count <= 0) return;
        if (count == 1 || t_inside || Environment.ProcessorCount < 2 || !Monitor.TryEnter(s_gate))
        {
            RunSerially(count, state, body);
            return;
        }
        // The runner of this state type is reused: only the thread holding the gate touches it.
        var runner = Runner<TState>.Shared ??= new Runner<TState>();
        try
        {
            runner.State = state;
            runner.Body = body;
            (s_team ??= new Team(Environment.ProcessorCount - 1)).Run(count, runner);
        }
        finally
        {
            runner.State = default!; // keep no tensor or array alive between loops
            runner.Body = null;
            Monitor.Exit(s_gate);
        }
    }

    /// <summary>The loop on the calling thread alone, with the team's contract: every iteration runs, and the first
    /// exception is rethrown after the last one (a serial run used to stop at the first exception, so a loop that
    /// found the team busy behaved differently from one that got it).</summary>
    private static void RunSerially<TState>(int count, TState state, Action<TState, int> body)
    {
        ExceptionDispatchInfo? error = null;
        for (int i = 0; i < count; i++)
        {
            try
            {
                body(state, i);
            }
            catch (Exception e)
            {
                error ??= ExceptionDispatchInfo.Capture(e);
            }
        }
        error?.Throw();
    }

    /// <summary>One loop's body and state, as the team calls it.</summary>
    private abstract class LoopBody
    {
        public abstract void Invoke(int i);
    }

    private sealed class Runner<TState> : LoopBody
    {
        public static Runner<TState>? Shared;
        public TState State = default!;
        public Action<TState, int>? Body;

        public override void Invoke(int i) => Body!(State, i);
    }

    /// <summary>Worker threads that wait for a loop, take iterations until none are left, and report back.</summary>
    private sealed class Team
    {
        private readonly SemaphoreSlim _start = new(0);
        private readonly ManualResetEventSlim _done = new(false);
        private readonly int _size;
        private LoopBody? _body;
        private int _count, _next, _pending;
        private ExceptionDispatchInfo? _error;

        public Team(int size)
        {
            _size = size;
            for (int i = 0; i < size; i++)
                new Thread(WorkerLoop) { IsBackground = true, Name = $"AutoGradNet CPU worker {i + 1}" }.Start();
        }

        public void Run(int count, LoopBody body)
        {
            _body = body;
            _count = count;
            _next = 0;
            _error = null;
            int helpers = Math.Min(_size, count - 1);
            // Every released helper checks in (even one that wakes after the work is gone), so none can still be
            // reading this loop's fields when the next loop sets them.
            _pending = helpers + 1;
            _done.Reset();
            _start.Release(helpers);
            Participate();
            if (Interlocked.Decrement(ref _pending) != 0) _done.Wait();
            _body = null;
            var error = _error;
            _error = null;
            error?.Throw();
        }

        private void WorkerLoop()
        {
            while (true)
            {
                _start.Wait();
                Participate();
                if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
            }
        }

        private void Participate()
        {
            t_inside = true;
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref _next) - 1) < _count)
                {
                    try
                    {
                        _body!.Invoke(i);
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                    }
                }
            }
            finally
            {
                t_inside = false;
            }
        }
    }
}
