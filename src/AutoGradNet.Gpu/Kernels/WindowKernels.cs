using System.Numerics;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Sliding-window kernels over [planes = N·C] × 3-D spatial geometry (1-D and 2-D embedded with size-1 dims).
/// Fold is written as a gather (each thread owns one input position and visits the kernel offsets that read it,
/// in the CPU's order), so it needs no atomics and sums in the same order as the CPU backend.
/// </summary>
internal static class WindowKernels
{
    /// <summary>cols[plane, k, l] = x[plane, o(l)·s − p + k·d] (0 outside); one thread per element of cols.</summary>
    public static void Unfold<T>(Index1D e, ArrayView<T> x, ArrayView<T> cols, WindowArgs g) where T : unmanaged, INumber<T>
    {
        int outSize = g.O0 * g.O1 * g.O2, kSize = g.K0 * g.K1 * g.K2;
        int l = e % outSize, rest = e / outSize;
        int k = rest % kSize, plane = rest / kSize;
        int o2 = l % g.O2, o1 = l / g.O2 % g.O1, o0 = l / (g.O2 * g.O1);
        int k2 = k % g.K2, k1 = k / g.K2 % g.K1, k0 = k / (g.K2 * g.K1);
        int i0 = o0 * g.S0 - g.P0 + k0 * g.D0;
        int i1 = o1 * g.S1 - g.P1 + k1 * g.D1;
        int i2 = o2 * g.S2 - g.P2 + k2 * g.D2;
        T v = T.Zero;
        if ((uint)i0 < (uint)g.I0 && (uint)i1 < (uint)g.I1 && (uint)i2 < (uint)g.I2)
            v = x[g.XOffset + plane * g.I0 * g.I1 * g.I2 + (i0 * g.I1 + i1) * g.I2 + i2];
        cols[g.WindowOffset + e] = v;
    }

    /// <summary>x[plane, i] = Σ over (k, l) reading i of cols[plane, k, l]; one thread per element of x.</summary>
    public static void Fold<T>(Index1D e, ArrayView<T> cols, ArrayView<T> x, WindowArgs g) where T : unmanaged, INumber<T>
    {
        int inSize = g.I0 * g.I1 * g.I2, outSize = g.O0 * g.O1 * g.O2, kSize = g.K0 * g.K1 * g.K2;
        int i2 = e % g.I2, i1 = e / g.I2 % g.I1, rest = e / (g.I2 * g.I1);
        int i0 = rest % g.I0, plane = rest / g.I0;
        int cBase = g.WindowOffset + plane * kSize * outSize;
        T sum = T.Zero;
        for (int k0 = 0; k0 < g.K0; k0++)
        {
            int t0 = i0 + g.P0 - k0 * g.D0;
            if (t0 < 0 || t0 % g.S0 != 0 || t0 / g.S0 >= g.O0) continue;
            for (int k1 = 0; k1 < g.K1; k1++)
            {
                int t1 = i1 + g.P1 - k1 * g.D1;
                if (t1 < 0 || t1 % g.S1 != 0 || t1 / g.S1 >= g.O1) continue;
                for (int k2 = 0; k2 < g.K2; k2++)
                {
                    int t2 = i2 + g.P2 - k2 * g.D2;
                    if (t2 < 0 || t2 % g.S2 != 0 || t2 / g.S2 >= g.O2) continue;
                    int k = (k0 * g.K1 + k1) * g.K2 + k2;
                    int l = (t0 / g.S0 * g.O1 + t1 / g.S1) * g.O2 + t2 / g.S2;
                    sum += cols[cBase + k * outSize + l];
                }
            }
        }
        x[g.XOffset + plane * inSize + (i0 * g.I1 + i1) * g.I2 + i2] = sum;
    }

    /// <summary>
    /// Max over the window of output position (plane, o): per dim, input positions start, start + d, … below end
    /// (start/end from <paramref name="windows"/>: starts of dims 0, 1, 2 then ends of dims 0, 1, 2).
    /// </summary>
    public static void MaxPool<T>(Index1D e, ArrayView<T> x, ArrayView<T> y, ArrayView<long> indices, ArrayView<int> windows, WindowArgs g)
        where T : unmanaged, INumber<T>
    {
        int outSize = g.O0 * g.O1 * g.O2, inSize = g.I0 * g.I1 * g.I2;
        int o2 = e % g.O2, o1 = e / g.O2 % g.O1, rest = e / (g.O2 * g.O1);
        int o0 = rest % g.O0, plane = rest / g.O0;
        int endsAt = g.O0 + g.O1 + g.O2;
        int s0 = windows[o0], s1 = windows[g.O0 + o1], s2 = windows[g.O0 + g.O1 + o2];
        int e0 = windows[endsAt + o0], e1 = windows[endsAt + g.O0 + o1], e2 = windows[endsAt + g.O0 + g.O1 + o2];
        int xBase = g.XOffset + plane * inSize;
        T best = T.Zero;
        int bestAt = -1;
        for (int i0 = s0; i0 < e0; i0 += g.D0)
            for (int i1 = s1; i1 < e1; i1 += g.D1)
                for (int i2 = s2; i2 < e2; i2 += g.D2)
                {
                    int at = (i0 * g.I1 + i1) * g.I2 + i2;
                    T v = x[xBase + at];
                    // NOTE: ties keep the first position in window order; NaN wins and propagates (the CPU rule).
                    if (bestAt < 0 || v > best || (T.IsNaN(v) && !T.IsNaN(best)))
                    {
                        best = v;
                        bestAt = at;
                    }
                }
        int outAt = plane * outSize + (o0 * g.O1 + o1) * g.O2 + o2;
        y[g.WindowOffset + outAt] = best;
        indices[g.IndicesOffset + outAt] = bestAt;
    }
}

/// <summary>A <see cref="ConvGeometry"/> flattened into a kernel parameter, plus the offsets of the tensors.</summary>
internal struct WindowArgs
{
    public int I0, I1, I2, K0, K1, K2, S0, S1, S2, D0, D1, D2, P0, P1, P2, O0, O1, O2;
    /// <summary>Offsets of the spatial tensor, of the per-window tensor (cols, or the pooled output), and of the indices.</summary>
    public int XOffset, WindowOffset, IndicesOffset;

    public static WindowArgs From(ConvGeometry g) => new()
    {
        I0 = g.Input[0], I1 = g.Input[1], I2 = g.Input[2],
        K0 = g.Kernel[0], K1 = g.Kernel[1], K2 = g.Kernel[2],
        S0 = g.Stride[0], S1 = g.Stride[1], S2 = g.Stride[2],
        D0 = g.Dilation[0], D1 = g.Dilation[1], D2 = g.Dilation[2],
        P0 = g.PadBefore[0], P1 = g.PadBefore[1], P2 = g.PadBefore[2],
        O0 = g.Output[0], O1 = g.Output[1], O2 = g.Output[2],
    };
}
