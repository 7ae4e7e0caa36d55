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

    [ThreadStatic] private static Action? t_pause;

    /// <summary>Tests only: runs on the calling thread twice in each of its team loops, after publishing the loop (the
    /// generation bump) and after waking the sleeping workers, so a test can stall the caller at either point.</summary>
    internal static Action? PauseInLoop
    {
        get => t_pause;
        set => t_pause = value;
    }

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
        Runner<TState>? runner = null;
        try
        {
            runner = Runner<TState>.Shared ??= new Runner<TState>();
            runner.State = state;
            runner.Body = body;
            (s_team ??= new Team(Environment.ProcessorCount - 1)).Run(count, runner);
        }
        finally
        {
            if (runner is not null)
            {
                runner.State = default!; // keep no tensor or array alive between loops
                runner.Body = null;
            }
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

    /// <summary>
    /// Worker threads that wait for a loop, take iterations until none are left, and report back. Between loops a
    /// worker spins for up to <see cref="SpinTicks"/> before it sleeps, and the caller spins as long for the last
    /// worker to finish: a training step runs hundreds of loops separated by a few microseconds of serial work, and
    /// waking a sleeping thread costs tens of microseconds on a virtual machine.
    /// </summary>
    private sealed class Team
    {
        /// <summary>How long a worker keeps polling for the next loop (and the caller for the end of this one)
        /// before blocking: 100 µs.</summary>
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000;

        private readonly Worker[] _workers;
        private readonly ManualResetEventSlim _done = new(false);
        private LoopBody? _body;
        private int _count, _next, _pending, _generation;
        private ExceptionDispatchInfo? _error;

        /// <summary>A worker's wake-up: <see cref="Sleeping"/> is 1 while it waits (or is about to) on its semaphore.</summary>
        private sealed class Worker
        {
            public readonly SemaphoreSlim Wake = new(0);
            public int Sleeping;
        }

        public Team(int size)
        {
            _workers = new Worker[size];
            for (int i = 0; i < size; i++)
            {
                var worker = _workers[i] = new Worker();
                new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = $"AutoGradNet CPU worker {i + 1}" }.Start();
            }
        }

        public void Run(int count, LoopBody body)
        {
            _body = body;
            _count = count;
            _next = 0;
            _error = null;
            // Every worker joins every loop (one with nothing left to take just checks in), so none can still be
            // reading this loop's fields when the next loop sets them.
            _pending = _workers.Length + 1;
            _done.Reset();
            Interlocked.Increment(ref _generation);
            t_pause?.Invoke();
            foreach (var worker in _workers)
                if (Interlocked.Exchange(ref worker.Sleeping, 0) == 1) worker.Wake.Release();
            t_pause?.Invoke();
            Participate();
            if (Interlocked.Decrement(ref _pending) != 0 && !Spin(ref _pending, 0, whileEqual: false))
            {
                // The event may be set already by the previous loop's last worker: a caller that saw that loop end
                // while spinning does not wait for the Set, which can come after this loop's Reset. So the count
                // decides, and the event only sleeps until it may have changed.
                while (Volatile.Read(ref _pending) != 0)
                {
                    _done.Wait();
                    _done.Reset();
                }
            }
            _body = null;
            var error = _error;
            _error = null;
            error?.Throw();
        }

        private void WorkerLoop(Worker self)
        {
            int seen = 0;
            while (true)
            {
                if (!Spin(ref _generation, seen, whileEqual: true))
                {
                    // A full fence (not a plain volatile write): the read of _generation below must not move before
                    // this store, or Run could miss the flag while we miss its new generation, and both would wait.
                    Interlocked.Exchange(ref self.Sleeping, 1);
                    // A loop that started after the spin ended but before Sleeping was set has not released us: take
                    // the flag back and go; if Run took it first, it released the semaphore, which must be consumed.
                    if (Volatile.Read(ref _generation) == seen || Interlocked.Exchange(ref self.Sleeping, 0) == 0)
                        self.Wake.Wait();
                }
                int generation = Volatile.Read(ref _generation);
                // A wake-up can be for a loop this worker has already run: a caller that stalled between publishing
                // the loop and waking the sleepers finds it asleep again (it was still spinning when the loop was
                // published, ran it and spun out). Running it again would count this worker done twice.
                if (generation == seen) continue;
                seen = generation;
                Participate();
                if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
            }
        }

        /// <summary>Polls <paramref name="location"/> for up to <see cref="SpinTicks"/> while it equals
        /// <paramref name="value"/> (<paramref name="whileEqual"/>) or until it does; true once the wait is over.
        /// Every 64 polls it yields, so another ready thread on this core (a data loader's) is not held up.</summary>
        private static bool Spin(ref int location, int value, bool whileEqual)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            for (int i = 1; (Volatile.Read(ref location) == value) == whileEqual; i++)
            {
                if (i % 64 == 0)
                {
                    if (System.Diagnostics.Stopwatch.GetTimestamp() > until) return false;
                    Thread.Yield();
                }
                Thread.SpinWait(1);
            }
            return true;
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
