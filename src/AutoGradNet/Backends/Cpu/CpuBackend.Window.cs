using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.CompilerServices;
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
        ParallelRows(planes, kSize * outSize, (xs, cs, xo, co, inSize, kSize, outSize, in2, out2, g), static (s, start, end) =>
        {
            var (xs, cs, xo, co, inSize, kSize, outSize, in2, out2, g) = s;
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
        ParallelRows(planes, kSize * outSize, (xs, cs, xo, co, inSize, kSize, outSize, in2, out2, g), static (s, start, end) =>
        {
            var (xs, cs, xo, co, inSize, kSize, outSize, in2, out2, g) = s;
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
        int xOffset = x.Offset, yOffset = y.Offset, iOffset = indices.Offset;
        // Geometry in locals: the JIT cannot hoist loads from the geometry's arrays out of these loops by itself.
        int in1 = g.Input[1], in2 = g.Input[2], out0 = g.Output[0], out1 = g.Output[1], out2 = g.Output[2];
        int d0 = g.Dilation[0], d1 = g.Dilation[1], d2 = g.Dilation[2];
        int[] s0 = starts[0], e0 = ends[0], s1 = starts[1], e1 = ends[1], s2 = starts[2], e2 = ends[2];
        T negativeInfinity = Scalar.FromDouble<T>(double.NegativeInfinity);
        // The bounds of every access follow from the geometry the op validated; the loops index without checks.
        if ((long)planes * inSize + xOffset > xs.Length || (long)planes * outSize + Math.Max(yOffset, iOffset) > Math.Min(ys.Length, idx.Length))
            throw new ArgumentException("max_pool: tensors smaller than the geometry");
        ParallelRows(planes, outSize * g.KernelSize,
            (xs, ys, idx, xOffset, yOffset, iOffset, inSize, outSize, in1, in2, out0, out1, out2, d0, d1, d2, s0, e0, s1, e1, s2, e2, negativeInfinity),
            static (p, start, end) => MaxPoolPlanes(p.xs, p.ys, p.idx, start, end, p.xOffset, p.yOffset, p.iOffset, p.inSize, p.outSize,
                p.in1, p.in2, p.out0, p.out1, p.out2, p.d0, p.d1, p.d2, p.s0, p.e0, p.s1, p.e1, p.s2, p.e2, p.negativeInfinity));
    }

    /// <summary>
    /// One plane of full windows, eight outputs at a time (float, AVX2): the window's taps are gathered for eight
    /// outputs, compared and blended, so no compare-select chain runs per output. Same rule as the scalar loop: the
    /// first maximum in window order wins, and a NaN beats any number. Needs at least eight outputs; a ragged end
    /// reruns the last eight (overlapping stores write the same values).
    /// </summary>
    private static unsafe void MaxPoolPlaneFloat(ref float plane, ReadOnlySpan<int> origins, ReadOnlySpan<int> taps,
        ref float y, ref long indices)
    {
        int count = origins.Length;
        fixed (float* px = &plane)
        fixed (int* start = origins)
        {
            for (int next = 0; next < count; next += 8)
            {
                int o = Math.Min(next, count - 8);
                Vector256<int> at0 = Avx.LoadVector256(start + o);
                Vector256<float> best = Avx2.GatherVector256(px, at0, 4);
                Vector256<int> bestAt = at0;
                for (int k = 1; k < taps.Length; k++)
                {
                    Vector256<int> at = at0 + Vector256.Create(taps[k]);
                    Vector256<float> v = Avx2.GatherVector256(px, at, 4);
                    Vector256<float> take = Avx.CompareGreaterThan(v, best)
                        | Avx.AndNot(Avx.CompareUnordered(best, best), Avx.CompareUnordered(v, v));
                    best = Avx.BlendVariable(best, v, take);
                    bestAt = Avx.BlendVariable(bestAt.AsSingle(), at.AsSingle(), take).AsInt32();
                }
                best.StoreUnsafe(ref y, (nuint)o);
                Avx2.ConvertToVector256Int64(bestAt.GetLower()).StoreUnsafe(ref indices, (nuint)o);
                Avx2.ConvertToVector256Int64(bestAt.GetUpper()).StoreUnsafe(ref indices, (nuint)o + 4);
            }
        }
    }

    /// <summary>True when every window [starts[o], ends[o]) has the same extent, i.e. none is clipped by the input's edge.</summary>
    private static bool FullWindows(int[] starts, int[] ends)
    {
        for (int o = 1; o < starts.Length; o++)
            if (ends[o] - starts[o] != ends[0] - starts[0]) return false;
        return starts.Length > 0 && ends[0] > starts[0];
    }

    /// <summary>The loops of <see cref="MaxPoolT{T}"/> for planes [start, end), as a method of plain arguments so the JIT
    /// keeps them in registers (captured variables would be reloaded from the closure inside every loop).</summary>
    private static void MaxPoolPlanes<T>(T[] xs, T[] ys, long[] idx, int start, int end, int xOffset, int yOffset, int iOffset,
        int inSize, int outSize, int in1, int in2, int out0, int out1, int out2, int d0, int d1, int d2,
        int[] s0, int[] e0, int[] s1, int[] e1, int[] s2, int[] e2, T negativeInfinity) where T : unmanaged, INumber<T>
    {
        ref T x0 = ref MemoryMarshal.GetArrayDataReference(xs);
        ref T y0 = ref MemoryMarshal.GetArrayDataReference(ys);
        ref long i64 = ref MemoryMarshal.GetArrayDataReference(idx);
        if (out0 == 1 && s0[0] == 0 && e0[0] == 1 && FullWindows(s1, e1) && FullWindows(s2, e2))
        {
            // 2-D windows that all lie inside the input (the usual 2×2/2 or 3×3/2 pooling): one flat list of tap
            // offsets, one short loop per output.
            int span1 = e1[0] - s1[0], span2 = e2[0] - s2[0];
            Span<int> taps = stackalloc int[((span1 + d1 - 1) / d1) * ((span2 + d2 - 1) / d2)];
            int t = 0;
            for (int k1 = 0; k1 < span1; k1 += d1)
                for (int k2 = 0; k2 < span2; k2 += d2) taps[t++] = k1 * in2 + k2;
            // Where each output's window starts in its plane (the same for every plane).
            Span<int> origins = outSize <= 4096 ? stackalloc int[outSize] : new int[outSize];
            for (int f = 0; f < outSize; f++) origins[f] = s1[f / out2] * in2 + s2[f % out2];
            for (int plane = start; plane < end; plane++)
            {
                ref T px = ref Unsafe.Add(ref x0, xOffset + plane * inSize);
                int o = plane * outSize;
                if (typeof(T) == typeof(float) && Avx2.IsSupported && outSize >= 8)
                {
                    MaxPoolPlaneFloat(ref Unsafe.As<T, float>(ref px), origins, taps,
                        ref Unsafe.As<T, float>(ref Unsafe.Add(ref y0, yOffset + o)), ref Unsafe.Add(ref i64, iOffset + o));
                    continue;
                }
                for (int f = 0; f < outSize; f++, o++)
                {
                    int at0 = origins[f];
                    T best = Unsafe.Add(ref px, at0);
                    int bestAt = at0;
                    for (int k = 1; k < taps.Length; k++)
                    {
                        int at = at0 + taps[k];
                        T v = Unsafe.Add(ref px, at);
                        bool take = v > best | (T.IsNaN(v) & !T.IsNaN(best));
                        best = take ? v : best;
                        bestAt = take ? at : bestAt;
                    }
                    Unsafe.Add(ref y0, yOffset + o) = best;
                    Unsafe.Add(ref i64, iOffset + o) = bestAt;
                }
            }
            return;
        }
        for (int plane = start; plane < end; plane++)
        {
            int xBase = xOffset + plane * inSize, o = plane * outSize;
            for (int o0 = 0; o0 < out0; o0++)
            {
                int lo0 = s0[o0], hi0 = e0[o0];
                for (int o1 = 0; o1 < out1; o1++)
                {
                    int lo1 = s1[o1], hi1 = e1[o1];
                    for (int o2 = 0; o2 < out2; o2++, o++)
                    {
                        T best = negativeInfinity;
                        int bestAt = -1;
                        int lo2 = s2[o2], hi2 = e2[o2];
                        for (int i0 = lo0; i0 < hi0; i0 += d0)
                        for (int i1 = lo1; i1 < hi1; i1 += d1)
                        {
                            int row = (i0 * in1 + i1) * in2;
                            ref T r = ref Unsafe.Add(ref x0, xBase + row);
                            for (int i2 = lo2; i2 < hi2; i2 += d2)
                            {
                                T v = Unsafe.Add(ref r, i2);
                                // NOTE: ties keep the first position in window order (row-major), as PyTorch's CPU kernel;
                                // a NaN wins over any number and the first NaN stays. Selects, not branches: which
                                // element wins is data-dependent, and mispredicted branches cost more than the compares.
                                bool take = bestAt < 0 | v > best | (T.IsNaN(v) & !T.IsNaN(best));
                                best = take ? v : best;
                                bestAt = take ? row + i2 : bestAt;
                            }
                        }
                        Unsafe.Add(ref y0, yOffset + o) = best;
                        Unsafe.Add(ref i64, iOffset + o) = bestAt;
                    }
                }
            }
        }
    }
}
