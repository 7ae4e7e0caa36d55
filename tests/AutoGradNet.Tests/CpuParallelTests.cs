using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Tests;

/// <summary>The CPU backend's worker team: every iteration once, errors surface as themselves, nesting and
/// concurrent callers neither deadlock nor lose iterations.</summary>
public class CpuParallelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(64)]
    public void RunsEveryIterationExactlyOnce(int count)
    {
        var hits = new int[count];
        for (int round = 0; round < 50; round++)
            CpuParallel.For(count, i => Interlocked.Increment(ref hits[i]));
        Assert.All(hits, h => Assert.Equal(50, h));
    }

    /// <summary>
    /// Loops far apart (the workers have stopped spinning and sleep on their semaphores) and back to back (they are
    /// still spinning) both run every iteration once, and a woken worker takes part: with iterations that each take
    /// ~0.2 ms, some land on a second thread. (A loop that finds the team busy with another test's loop runs serially,
    /// so spaced-out rounds repeat, up to 40, until one has used two threads.)
    /// </summary>
    [Fact]
    public void WorkersAsleepOrSpinningJoinTheNextLoop()
    {
        var threads = new HashSet<int>();
        var hits = new int[32];
        int rounds = 0;
        while (rounds < 6 || (threads.Count < 2 && Environment.ProcessorCount >= 2 && rounds < 80))
        {
            bool spaced = rounds % 2 == 0;
            if (spaced) Thread.Sleep(20); // well past the 100 µs spin: the workers are asleep
            var seen = new int[hits.Length];
            CpuParallel.For(hits.Length, i =>
            {
                Interlocked.Increment(ref hits[i]);
                seen[i] = Environment.CurrentManagedThreadId;
                var until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 5000;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(10);
            });
            if (spaced) threads.UnionWith(seen);
            rounds++;
        }
        Assert.All(hits, h => Assert.Equal(rounds, h));
        if (Environment.ProcessorCount >= 2) Assert.True(threads.Count >= 2, $"only {threads.Count} thread(s) ran {rounds / 2} spaced-out loops");
    }

    /// <summary>
    /// 20,000 short loops, most of them 90–115 µs apart (the workers spin for 100 µs, so loops often start just as a
    /// worker goes to sleep), the rest closer, each run every iteration exactly once, and none hangs: a lost wake-up
    /// between a worker that goes to sleep and a loop that starts, or a stale "done" from the previous loop, shows as
    /// a hang (caught by the timeout) or a missed iteration. With a plain volatile write where the worker publishes
    /// that it sleeps, this hung in one run of three.
    /// </summary>
    [Fact]
    public async Task BackToBackAndSpacedLoopsNeitherHangNorLoseIterations()
    {
        var run = Task.Run(() =>
        {
            var random = new Random(3);
            var hits = new int[4];
            for (int loop = 0; loop < 20000; loop++)
            {
                int count = 2 + loop % 3;
                Array.Clear(hits);
                CpuParallel.For(count, i => Interlocked.Increment(ref hits[i]));
                for (int i = 0; i < count; i++) Assert.Equal(1, hits[i]);
                long until = System.Diagnostics.Stopwatch.GetTimestamp()
                    + System.Diagnostics.Stopwatch.Frequency * (loop % 4 == 0 ? random.Next(0, 60) : random.Next(90, 115)) / 1_000_000;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(5);
            }
        });
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, "the loops hung");
        await run;
    }

    /// <summary>
    /// The caller stalls (2 ms) after publishing a loop, before waking the workers that sleep, and again after waking
    /// them. A worker still spinning from the previous loop sees the new one at once, runs it, spins out and goes to
    /// sleep before the caller gets to it; the caller then finds it asleep and releases it. That release is for a loop
    /// the worker has already run: the worker must not run it again. (It did, found nothing left and counted itself
    /// done a second time, during the caller's second stall: the count went below zero and the caller waited forever;
    /// with more workers the caller could return while an iteration still ran. Found by reading, reproduced here.)
    /// </summary>
    [Fact]
    public async Task AWakeUpForALoopAlreadyRunIsNotRunAgain()
    {
        var run = Task.Run(() =>
        {
            int paused = 0;
            CpuParallel.PauseInLoop = () =>
            {
                paused++;
                Thread.Sleep(2);
            };
            try
            {
                // A loop that finds the team busy with another test's loop runs serially (and does not pause), so
                // loops repeat until 30 have run on the team (two pauses each), for up to 20 s.
                var hits = new int[3];
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (paused < 60 && clock.Elapsed < TimeSpan.FromSeconds(20))
                {
                    Array.Clear(hits);
                    CpuParallel.For(hits.Length, i => Interlocked.Increment(ref hits[i]));
                    Assert.All(hits, h => Assert.Equal(1, h));
                }
            }
            finally
            {
                CpuParallel.PauseInLoop = null;
            }
            return paused;
        });
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, "the loops hung");
        int pausedLoops = await run;
        if (Environment.ProcessorCount >= 2) Assert.True(pausedLoops > 0, "no loop ran on the worker team");
    }

    [Fact]
    public void RethrowsTheIterationsExceptionAfterAllFinish()
    {
        int finished = 0;
        var error = Assert.Throws<IndexOutOfRangeException>(() => CpuParallel.For(8, i =>
        {
            if (i == 3) throw new IndexOutOfRangeException("iteration 3");
            Interlocked.Increment(ref finished);
        }));
        Assert.Equal("iteration 3", error.Message);
        Assert.Equal(7, finished);
        // The team is usable again afterwards.
        int after = 0;
        CpuParallel.For(4, _ => Interlocked.Increment(ref after));
        Assert.Equal(4, after);
    }

    /// <summary>A loop nested in an iteration runs serially on its thread; it keeps the same contract.</summary>
    [Fact]
    public void SerialLoopAlsoFinishesEveryIterationBeforeRethrowing()
    {
        int finished = 0;
        var error = Assert.Throws<InvalidOperationException>(() => CpuParallel.For(2, outer =>
        {
            if (outer == 0)
                CpuParallel.For(8, i =>
                {
                    if (i == 2) throw new InvalidOperationException("iteration 2");
                    Interlocked.Increment(ref finished);
                });
        }));
        Assert.Equal("iteration 2", error.Message);
        Assert.Equal(7, finished);
    }

    [Fact]
    public async Task NestedAndConcurrentLoopsComplete()
    {
        long total = 0;
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int round = 0; round < 20; round++)
                CpuParallel.For(6, i => CpuParallel.For(5, j => Interlocked.Add(ref total, 1)));
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(4 * 20 * 6 * 5, total);
    }
}
