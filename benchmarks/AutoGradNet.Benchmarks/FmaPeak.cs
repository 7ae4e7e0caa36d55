using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chain256(long n)
    {
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector256.Sum(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chain512(long n)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
        for (long i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector512.Sum(s);
    }
}
