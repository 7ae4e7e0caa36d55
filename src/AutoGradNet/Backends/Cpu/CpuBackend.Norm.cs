using System.Numerics;
using System.Runtime.InteropServices;

namespace AutoGradNet.Backends.Cpu;

// Training-mode batch norm in two kernels. The tensor-op formulation reads and writes the activation about seven
// times forward and seven times backward (centre, square, sum, scale, affine, …); here the forward is two reading
// passes for the statistics and one fused multiply-add pass, and the backward one pass for the two channel sums and
// one for the input gradient. Sums run per (sample, channel) row in vector registers and across rows in double.
internal sealed partial class CpuBackend
{
    public bool TryBatchNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor invStd, Tensor variance)
    {
        if (!BatchNormLayout(x, out int n, out int c, out int s)) return false;
        if (x.DType == DType.Float32) BatchNormForwardT<float>(x, weight, bias, eps, y, mean, invStd, variance, n, c, s);
        else BatchNormForwardT<double>(x, weight, bias, eps, y, mean, invStd, variance, n, c, s);
        return true;
    }

    public bool TryBatchNormBackward(Tensor g, Tensor x, Tensor mean, Tensor invStd, Tensor? weight, Tensor? gx, Tensor? gw, Tensor? gb)
    {
        if (!BatchNormLayout(x, out int n, out int c, out int s) || !g.IsContiguous) return false;
        if (x.DType == DType.Float32) BatchNormBackwardT<float>(g, x, mean, invStd, weight, gx, gw, gb, n, c, s);
        else BatchNormBackwardT<double>(g, x, mean, invStd, weight, gx, gw, gb, n, c, s);
        return true;
    }

    /// <summary>x as contiguous [N, C, S] rows of S ≥ 2 positions (the fused kernels work row by row; [N, C]
    /// input keeps the tensor-op path).</summary>
    private static bool BatchNormLayout(Tensor x, out int n, out int c, out int s)
    {
        n = x.Size(0);
        c = x.Size(1);
        s = c == 0 || n == 0 ? 0 : x.Numel / (n * c);
        return x.IsContiguous && x.Rank >= 3 && s >= 2;
    }

    private static void BatchNormForwardT<T>(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor invStd,
        Tensor variance, int n, int c, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] xs = Data<T>(x), ys = Data<T>(y), ms = Data<T>(mean), inv = Data<T>(invStd), vs = Data<T>(variance);
        T[]? ws = weight is null ? null : Data<T>(weight), bs = bias is null ? null : Data<T>(bias);
        int xo = x.Offset, yo = y.Offset, wo = weight?.Offset ?? 0, bo = bias?.Offset ?? 0;
        double count = (double)n * s;
        ParallelRows(c, 3 * n * s, (xs, ys, ms, inv, vs, ws, bs, xo, yo, wo, bo, count, n, c, s, eps, mean, variance, invStd), static (state, start, end) =>
        {
            var (xs, ys, ms, inv, vs, ws, bs, xo, yo, wo, bo, count, n, c, s, eps, mean, variance, invStd) = state;
            for (int ch = start; ch < end; ch++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += double.CreateTruncating(RowSum<T>(xs.AsSpan(xo + (i * c + ch) * s, s)));
                T m = T.CreateTruncating(sum / count);
                double squares = 0;
                for (int i = 0; i < n; i++) squares += double.CreateTruncating(SquaredDeviation(xs.AsSpan(xo + (i * c + ch) * s, s), m));
                double var = squares / count, invSd = 1 / Math.Sqrt(var + eps);
                ms[mean.Offset + ch] = m;
                vs[variance.Offset + ch] = T.CreateTruncating(var);
                inv[invStd.Offset + ch] = T.CreateTruncating(invSd);
                // y = (x − μ)·(γ/σ) + β, as one multiply-add per element: y = x·a + b.
                double a = invSd * (ws is null ? 1 : double.CreateTruncating(ws[wo + ch]));
                double b = (bs is null ? 0 : double.CreateTruncating(bs[bo + ch])) - double.CreateTruncating(m) * a;
                for (int i = 0; i < n; i++)
                {
                    int at = (i * c + ch) * s;
                    AffineRow(xs.AsSpan(xo + at, s), T.CreateTruncating(a), T.CreateTruncating(b), ys.AsSpan(yo + at, s));
                }
            }
        });
    }

    /// <summary>
    /// Per channel, Σg and Σg·x̂ (the bias and weight gradients), then gx = (γ/σ)·(g − Σg/M − x̂·Σg·x̂/M) with
    /// M = N·S, evaluated as gx = A·g + B·(x − μ) + K.
    /// </summary>
    private static void BatchNormBackwardT<T>(Tensor g, Tensor x, Tensor mean, Tensor invStd, Tensor? weight, Tensor? gx, Tensor? gw,
        Tensor? gb, int n, int c, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] gs = Data<T>(g), xs = Data<T>(x), ms = Data<T>(mean), inv = Data<T>(invStd);
        T[]? ws = weight is null ? null : Data<T>(weight);
        T[]? gxs = gx is null ? null : Data<T>(gx), gws = gw is null ? null : Data<T>(gw), gbs = gb is null ? null : Data<T>(gb);
        int go = g.Offset, xo = x.Offset;
        double count = (double)n * s;
        ParallelRows(c, 3 * n * s, (gs, xs, ms, inv, ws, gxs, gws, gbs, go, xo, count, n, c, s, mean, invStd, gw, gb, weight, gx), static (state, start, end) =>
        {
            var (gs, xs, ms, inv, ws, gxs, gws, gbs, go, xo, count, n, c, s, mean, invStd, gw, gb, weight, gx) = state;
            for (int ch = start; ch < end; ch++)
            {
                T m = ms[mean.Offset + ch];
                double sumG = 0, sumGDev = 0;
                for (int i = 0; i < n; i++)
                {
                    int at = (i * c + ch) * s;
                    var (sg, sgd) = SumAndDot(gs.AsSpan(go + at, s), xs.AsSpan(xo + at, s), m);
                    sumG += double.CreateTruncating(sg);
                    sumGDev += double.CreateTruncating(sgd);
                }
                double invSd = double.CreateTruncating(inv[invStd.Offset + ch]);
                double sumGXHat = sumGDev * invSd;
                if (gws is not null) gws[gw!.Offset + ch] = T.CreateTruncating(sumGXHat);
                if (gbs is not null) gbs[gb!.Offset + ch] = T.CreateTruncating(sumG);
                if (gxs is null) continue;
                double scale = invSd * (ws is null ? 1 : double.CreateTruncating(ws[weight!.Offset + ch]));
                T a = T.CreateTruncating(scale);
                T b = T.CreateTruncating(-scale * invSd * sumGXHat / count);
                T k = T.CreateTruncating(-scale * sumG / count);
                for (int i = 0; i < n; i++)
                {
                    int at = (i * c + ch) * s;
                    InputGradRow(gs.AsSpan(go + at, s), xs.AsSpan(xo + at, s), m, a, b, k, gxs.AsSpan(gx!.Offset + at, s));
                }
            }
        });
    }

    /// <summary>Σ (x − m)² over one row.</summary>
    private static T SquaredDeviation<T>(ReadOnlySpan<T> x, T m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector<T>.Count;
        T total = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && x.Length >= w)
        {
            ref T p = ref MemoryMarshal.GetReference(x);
            Vector<T> mv = new(m), a0 = Vector<T>.Zero, a1 = Vector<T>.Zero;
            for (; i <= x.Length - 2 * w; i += 2 * w)
            {
                var d0 = Vector.LoadUnsafe(ref p, (nuint)i) - mv;
                var d1 = Vector.LoadUnsafe(ref p, (nuint)(i + w)) - mv;
                a0 += d0 * d0;
                a1 += d1 * d1;
            }
            for (; i <= x.Length - w; i += w)
            {
                var d = Vector.LoadUnsafe(ref p, (nuint)i) - mv;
                a0 += d * d;
            }
            total = Vector.Sum(a0 + a1);
        }
        for (; i < x.Length; i++)
        {
            T d = x[i] - m;
            total += d * d;
        }
        return total;
    }

    /// <summary>(Σ g, Σ g·(x − m)) over one row.</summary>
    private static (T Sum, T Dot) SumAndDot<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector<T>.Count;
        T sum = T.Zero, dot = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && x.Length >= w)
        {
            ref T pg = ref MemoryMarshal.GetReference(g);
            ref T px = ref MemoryMarshal.GetReference(x);
            Vector<T> mv = new(m), s0 = Vector<T>.Zero, d0 = Vector<T>.Zero;
            for (; i <= x.Length - w; i += w)
            {
                var gv = Vector.LoadUnsafe(ref pg, (nuint)i);
                s0 += gv;
                d0 += gv * (Vector.LoadUnsafe(ref px, (nuint)i) - mv);
            }
            sum = Vector.Sum(s0);
            dot = Vector.Sum(d0);
        }
        for (; i < x.Length; i++)
        {
            sum += g[i];
            dot += g[i] * (x[i] - m);
        }
        return (sum, dot);
    }

    /// <summary>y = a·x + b over one row.</summary>
    private static void AffineRow<T>(ReadOnlySpan<T> x, T a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && x.Length >= w)
        {
            ref T px = ref MemoryMarshal.GetReference(x);
            ref T py = ref MemoryMarshal.GetReference(y);
            Vector<T> av = new(a), bv = new(b);
            for (; i <= x.Length - w; i += w) (av * Vector.LoadUnsafe(ref px, (nuint)i) + bv).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = a * x[i] + b;
    }

    /// <summary>gx = a·g + b·(x − m) + k over one row.</summary>
    private static void InputGradRow<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T m, T a, T b, T k, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && x.Length >= w)
        {
            ref T pg = ref MemoryMarshal.GetReference(g);
            ref T px = ref MemoryMarshal.GetReference(x);
            ref T po = ref MemoryMarshal.GetReference(gx);
            Vector<T> mv = new(m), av = new(a), bv = new(b), kv = new(k);
            for (; i <= x.Length - w; i += w)
            {
                var r = av * Vector.LoadUnsafe(ref pg, (nuint)i) + (bv * (Vector.LoadUnsafe(ref px, (nuint)i) - mv) + kv);
                r.StoreUnsafe(ref po, (nuint)i);
            }
        }
        for (; i < x.Length; i++) gx[i] = a * g[i] + (b * (x[i] - m) + k);
    }
}
