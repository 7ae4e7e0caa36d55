using System.Numerics;
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
                            for (int o2 = 0; o2 < g.Output[2]; o2++)
                            {
                                int i2 = start2 + o2 * s2;
                                cs[dst + o2] = (uint)i2 < (uint)g.Input[2] ? xs[src + i2] : T.Zero;
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
                            for (int o2 = 0; o2 < g.Output[2]; o2++)
                            {
                                int i2 = start2 + o2 * s2;
                                if ((uint)i2 < (uint)g.Input[2]) xs[dst + i2] += cs[src + o2];
                            }
                        }
                    }
                }
            }
        });
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
