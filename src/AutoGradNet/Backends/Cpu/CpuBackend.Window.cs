using System.Numerics;
using System.Runtime.InteropServices;
using AutoGradNet.Kernels;

namespace AutoGradNet.Backends.Cpu;

// Sliding-window kernels (im2col and its adjoint, max pooling), over [N·C planes] × 3-D spatial geometry.
internal sealed partial class CpuBackend
{
    public void Unfold(Tensor x, Tensor cols, ConvGeometry g)
    {
        if (x.DType == DType.Float32) UnfoldT<float>(x, cols, g);
        else UnfoldT<double>(x, cols, g);
    }

    /// <summary>cols[n, c·K + k, l] = x[n, c, o(l)·s − p + k·d] (0 outside), for contiguous x [N, C, spatial].</summary>
    private static void UnfoldT<T>(Tensor x, Tensor cols, ConvGeometry g) where T : unmanaged, INumber<T>
    {
        T[] xs = Data<T>(x), cs = Data<T>(cols);
        int planes = x.ShapeArray[0] * x.ShapeArray[1];
        int inSize = g.InputSize, kSize = g.KernelSize, outSize = g.OutputSize;
        int xo = x.Offset, co = cols.Offset;
        int in2 = g.Input[2], out2 = g.Output[2];
        ParallelRows(planes, kSize * outSize, (start, end) =>
        {
            for (int plane = start; plane < end; plane++)
            {
                int xBase = xo + plane * inSize;
                int cBase = co + plane * kSize * outSize;
                for (int k = 0; k < kSize; k++)
                {
                    int k0 = k / (g.Kernel[1] * g.Kernel[2]), k1 = k / g.Kernel[2] % g.Kernel[1], k2 = k % g.Kernel[2];
                    int row = cBase + k * outSize;
                    for (int o0 = 0; o0 < g.Output[0]; o0++)
                    {
                        int i0 = o0 * g.Stride[0] - g.PadBefore[0] + k0 * g.Dilation[0];
                        for (int o1 = 0; o1 < g.Output[1]; o1++)
                        {
                            int i1 = o1 * g.Stride[1] - g.PadBefore[1] + k1 * g.Dilation[1];
                            int dst = row + (o0 * g.Output[1] + o1) * g.Output[2];
                            if ((uint)i0 >= (uint)g.Input[0] || (uint)i1 >= (uint)g.Input[1])
                            {
                                cs.AsSpan(dst, g.Output[2]).Clear();
                                continue;
                            }
                            int src = xBase + (i0 * g.Input[1] + i1) * g.Input[2];
                            int s2 = g.Stride[2], start2 = k2 * g.Dilation[2] - g.PadBefore[2];
                            if (s2 == 1)
                            {
                                // Unit stride: the in-range part of the row is one contiguous copy, zeros either side.
                                int lo = Math.Clamp(-start2, 0, out2), hi = Math.Clamp(in2 - start2, lo, out2);
                                if (lo > 0) cs.AsSpan(dst, lo).Clear();
                                // NOTE: an empty in-range part can start past the end of x (dilated windows): copy only when non-empty.
                                if (hi > lo) xs.AsSpan(src + start2 + lo, hi - lo).CopyTo(cs.AsSpan(dst + lo, hi - lo));
                                if (hi < out2) cs.AsSpan(dst + hi, out2 - hi).Clear();
                                continue;
                            }
                            for (int o2 = 0; o2 < out2; o2++)
                            {
                                int i2 = start2 + o2 * s2;
                                cs[dst + o2] = (uint)i2 < (uint)in2 ? xs[src + i2] : T.Zero;
                            }
                        }
                    }
                }
            }
        });
    }

    public void Fold(Tensor cols, Tensor x, ConvGeometry g)
    {
        if (x.DType == DType.Float32) FoldT<float>(cols, x, g);
        else FoldT<double>(cols, x, g);
    }

    /// <summary>The adjoint of unfold: x[n, c, i] = Σ cols[n, c·K + k, l] over all (k, l) that read position i. x is overwritten.</summary>
    private static void FoldT<T>(Tensor cols, Tensor x, ConvGeometry g) where T : unmanaged, INumber<T>
    {
        T[] xs = Data<T>(x), cs = Data<T>(cols);
        int planes = x.ShapeArray[0] * x.ShapeArray[1];
        int inSize = g.InputSize, kSize = g.KernelSize, outSize = g.OutputSize;
        int xo = x.Offset, co = cols.Offset;
        int in2 = g.Input[2], out2 = g.Output[2];
        ParallelRows(planes, kSize * outSize, (start, end) =>
        {
            for (int plane = start; plane < end; plane++)
            {
                int xBase = xo + plane * inSize;
                int cBase = co + plane * kSize * outSize;
                xs.AsSpan(xBase, inSize).Clear();
                for (int k = 0; k < kSize; k++)
                {
                    int k0 = k / (g.Kernel[1] * g.Kernel[2]), k1 = k / g.Kernel[2] % g.Kernel[1], k2 = k % g.Kernel[2];
                    int row = cBase + k * outSize;
                    for (int o0 = 0; o0 < g.Output[0]; o0++)
                    {
                        int i0 = o0 * g.Stride[0] - g.PadBefore[0] + k0 * g.Dilation[0];
                        if ((uint)i0 >= (uint)g.Input[0]) continue;
                        for (int o1 = 0; o1 < g.Output[1]; o1++)
                        {
                            int i1 = o1 * g.Stride[1] - g.PadBefore[1] + k1 * g.Dilation[1];
                            if ((uint)i1 >= (uint)g.Input[1]) continue;
                            int src = row + (o0 * g.Output[1] + o1) * g.Output[2];
                            int dst = xBase + (i0 * g.Input[1] + i1) * g.Input[2];
                            int s2 = g.Stride[2], start2 = k2 * g.Dilation[2] - g.PadBefore[2];
                            if (s2 == 1)
                            {
                                // Unit stride: the in-range part of the row adds onto one contiguous run of x.
                                int lo = Math.Clamp(-start2, 0, out2), hi = Math.Clamp(in2 - start2, lo, out2);
                                if (hi > lo) AddInto(xs.AsSpan(dst + start2 + lo, hi - lo), cs.AsSpan(src + lo, hi - lo));
                                continue;
                            }
                            for (int o2 = 0; o2 < out2; o2++)
                            {
                                int i2 = start2 + o2 * s2;
                                if ((uint)i2 < (uint)in2) xs[dst + i2] += cs[src + o2];
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>acc[i] += src[i] for short rows (a hand loop: library calls cost more than the work on rows of 8–32).</summary>
    private static void AddInto<T>(Span<T> acc, ReadOnlySpan<T> src) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref T a = ref MemoryMarshal.GetReference(acc);
            ref T b = ref MemoryMarshal.GetReference(src);
            for (; i <= acc.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var sum = Vector.LoadUnsafe(ref a, (nuint)i) + Vector.LoadUnsafe(ref b, (nuint)i);
                sum.StoreUnsafe(ref a, (nuint)i);
            }
        }
        for (; i < acc.Length; i++) acc[i] += src[i];
    }

    public void MaxPool(Tensor x, Tensor y, Tensor indices, ConvGeometry g, int[][] windowStarts, int[][] windowEnds)
    {
        if (x.DType == DType.Float32) MaxPoolT<float>(x, y, indices, g, windowStarts, windowEnds);
        else MaxPoolT<double>(x, y, indices, g, windowStarts, windowEnds);
    }

    /// <summary>
    /// Max over windows: per output position and dim, input positions start, start + dilation, … below end.
    /// Writes the maximum and the flat spatial index of its first occurrence (NaN wins and propagates); a window with no
    /// position gives −∞ and index −1.
    /// </summary>
    private static void MaxPoolT<T>(Tensor x, Tensor y, Tensor indices, ConvGeometry g, int[][] starts, int[][] ends) where T : unmanaged, INumber<T>
    {
        T[] xs = Data<T>(x), ys = Data<T>(y);
        long[] idx = Data<long>(indices);
        int planes = x.ShapeArray[0] * x.ShapeArray[1];
        int inSize = g.InputSize, outSize = g.OutputSize;
        T negativeInfinity = Scalar.FromDouble<T>(double.NegativeInfinity);
        ParallelRows(planes, outSize * g.KernelSize, (start, end) =>
        {
            for (int plane = start; plane < end; plane++)
            {
                int xBase = x.Offset + plane * inSize, yBase = plane * outSize;
                for (int o0 = 0; o0 < g.Output[0]; o0++)
                for (int o1 = 0; o1 < g.Output[1]; o1++)
                for (int o2 = 0; o2 < g.Output[2]; o2++)
                {
                    T best = T.Zero;
                    int bestAt = -1;
                    for (int i0 = starts[0][o0]; i0 < ends[0][o0]; i0 += g.Dilation[0])
                    for (int i1 = starts[1][o1]; i1 < ends[1][o1]; i1 += g.Dilation[1])
                    for (int i2 = starts[2][o2]; i2 < ends[2][o2]; i2 += g.Dilation[2])
                    {
                        int at = (i0 * g.Input[1] + i1) * g.Input[2] + i2;
                        T v = xs[xBase + at];
                        // NOTE: ties keep the first position in window order (row-major), as PyTorch's CPU kernel.
                        if (bestAt < 0 || v > best || (T.IsNaN(v) && !T.IsNaN(best)))
                        {
                            best = v;
                            bestAt = at;
                        }
                    }
                    int o = yBase + (o0 * g.Output[1] + o1) * g.Output[2] + o2;
                    ys[y.Offset + o] = bestAt < 0 ? negativeInfinity : best;
                    idx[indices.Offset + o] = bestAt;
                }
            }
        });
    }
}
