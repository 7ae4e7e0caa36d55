using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// <c>--peak N</c>: the machine's float32 FMA peak, the yardstick of the GEMM goals. Each thread runs chains of
/// independent fused multiply-adds on registers only (12 accumulators: enough to cover FMA latency × throughput on
/// current x64 cores), once with 256-bit and once with 512-bit vectors where the hardware has them; 1 thread and
/// all logical processors. Prints the best of N runs in GFLOP/s (2 flops per lane per FMA).
/// </summary>
internal static class FmaPeak
{
    private const long Iterations = 50_000_000;

    public static void Run(int runs)
    {
        int all = Environment.ProcessorCount;
        Report("Vector256 FMA", 1, runs, static () => Chain256(Iterations), Vector256<float>.Count);
        Report("Vector256 FMA", all, runs, static () => Chain256(Iterations), Vector256<float>.Count);
        if (Vector512.IsHardwareAccelerated)
        {
            Report("Vector512 FMA", 1, runs, static () => Chain512(Iterations), Vector512<float>.Count);
            Report("Vector512 FMA", all, runs, static () => Chain512(Iterations), Vector512<float>.Count);
        }
    }

    private static void Report(string name, int threads, int runs, Func<float> body, int lanes)
    {
        double best = double.MaxValue;
        float sink = 0;
        for (int r = 0; r < runs; r++)
        {
            var sw = Stopwatch.StartNew();
            var tasks = new Thread[threads];
            float[] results = new float[threads];
            for (int t = 0; t < threads; t++)
            {
                int id = t;
                tasks[t] = new Thread(() => results[id] = body());
                tasks[t].Start();
            }
            foreach (var t in tasks) t.Join();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            sink += results.Sum();
        }
        double flops = 2.0 * lanes * 12 * Iterations * threads;
        Console.WriteLine($"{name,-14} {threads} thread(s)   {flops / best / 1e9,8:F1} GFLOP/s   (best of {runs}; checksum {sink:G3})");
    }

    private static float Chain256(long n) => Chain<Vector256<float>, V256<float>>(n);

    private static float Chain512(long n) => Chain<Vector512<float>, V512<float>>(n);

    /// <summary>12 independent chains a ← a·m + c, <paramref name="n"/> steps each, in registers of the width TO
    /// gives (the kernels' own vector-width structs); returns the lanes' sum so the work cannot be dropped.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe float Chain<TV, TO>(long n) where TV : struct where TO : struct, IVector<float, TV>
    {
        TV m = TO.Broadcast(0.999999f), c = TO.Broadcast(1e-7f);
        TV a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (long i = 0; i < n; i++)
        {
            a0 = TO.MulAdd(a0, m, c); a1 = TO.MulAdd(a1, m, c); a2 = TO.MulAdd(a2, m, c); a3 = TO.MulAdd(a3, m, c);
            a4 = TO.MulAdd(a4, m, c); a5 = TO.MulAdd(a5, m, c); a6 = TO.MulAdd(a6, m, c); a7 = TO.MulAdd(a7, m, c);
            a8 = TO.MulAdd(a8, m, c); a9 = TO.MulAdd(a9, m, c); a10 = TO.MulAdd(a10, m, c); a11 = TO.MulAdd(a11, m, c);
        }
        TV s = TO.Add(TO.Add(TO.Add(a0, a1), TO.Add(a2, a3)), TO.Add(TO.Add(a4, a5), TO.Add(a6, a7)));
        s = TO.Add(s, TO.Add(TO.Add(a8, a9), TO.Add(a10, a11)));
        float* lanes = stackalloc float[TO.Count];
        TO.Store(s, lanes);
        float sum = 0;
        for (int i = 0; i < TO.Count; i++) sum += lanes[i];
        return sum;
    }
}
