using System.Numerics;
using AutoGradNet.Backends;
using AutoGradNet.Gpu.Kernels;

namespace AutoGradNet.Gpu;

internal sealed partial class GpuBackend
{
    public void Unfold(Tensor x, Tensor cols, ConvGeometry g)
    {
        if (x.DType == DType.Float32) UnfoldT<float>(x, cols, g);
        else UnfoldT<double>(x, cols, g);
    }

    private void UnfoldT<T>(Tensor x, Tensor cols, ConvGeometry g) where T : unmanaged, INumber<T>
    {
        int n = cols.Numel;
        if (n == 0) return;
        var p = WindowArgs.From(g);
        p.XOffset = x.Offset;
        p.WindowOffset = cols.Offset;
        var kernel = Kernel("Unfold", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, WindowArgs>(WindowKernels.Unfold));
        Run(stream => kernel(stream, n, V<T>(x), V<T>(cols), p));
    }

    public void Fold(Tensor cols, Tensor x, ConvGeometry g)
    {
        if (x.DType == DType.Float32) FoldT<float>(cols, x, g);
        else FoldT<double>(cols, x, g);
    }

    private void FoldT<T>(Tensor cols, Tensor x, ConvGeometry g) where T : unmanaged, INumber<T>
    {
        int n = x.Numel;
        if (n == 0) return;
        var p = WindowArgs.From(g);
        p.XOffset = x.Offset;
        p.WindowOffset = cols.Offset;
        var kernel = Kernel("Fold", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, WindowArgs>(WindowKernels.Fold));
        Run(stream => kernel(stream, n, V<T>(cols), V<T>(x), p));
    }

    public void MaxPool(Tensor x, Tensor y, Tensor indices, ConvGeometry g, int[][] windowStarts, int[][] windowEnds)
    {
        if (x.DType == DType.Float32) MaxPoolT<float>(x, y, indices, g, windowStarts, windowEnds);
        else MaxPoolT<double>(x, y, indices, g, windowStarts, windowEnds);
    }

    private void MaxPoolT<T>(Tensor x, Tensor y, Tensor indices, ConvGeometry g, int[][] starts, int[][] ends) where T : unmanaged, INumber<T>
    {
        int n = y.Numel;
        if (n == 0) return;
        var p = WindowArgs.From(g);
        p.XOffset = x.Offset;
        p.WindowOffset = y.Offset;
        p.IndicesOffset = indices.Offset;
        // Window bounds: starts of dims 0, 1, 2, then ends of dims 0, 1, 2 (one entry per output position).
        int[] windows = [.. starts[0], .. starts[1], .. starts[2], .. ends[0], .. ends[1], .. ends[2]];
        var block = Allocator.Allocate((long)windows.Length * sizeof(int));
        try
        {
            var view = block.Buffer.View.AsContiguous().Cast<int>().SubView(0, windows.Length);
            var kernel = Kernel("MaxPool", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<long>, ArrayView<int>, WindowArgs>(WindowKernels.MaxPool));
            Run(stream =>
            {
                view.CopyFromCPU(stream, windows);
                kernel(stream, n, V<T>(x), V<T>(y), V<long>(indices), view, p);
            });
        }
        finally
        {
            Allocator.Release(block);
        }
    }

    public void Random(Tensor dst, Generator generator, RandomKind kind, double a, double b)
    {
        int n = dst.Numel;
        ulong key = generator.Seed;
        long words = 4L * ((n + 1) / 2); // as the CPU backend: one Philox block per pair of values
        ulong counter = generator.Advance(words);
        if (n == 0) return;
        var p = new RandomArgs { Key = key, Counter = counter, A = a, B = b, Kind = (int)kind, Offset = dst.Offset };
        switch (dst.DType)
        {
            case DType.Float32: RandomT<float, F32Element>(dst, n, p); break;
            case DType.Float64: RandomT<double, F64Element>(dst, n, p); break;
            case DType.Int64: RandomT<long, I64Element>(dst, n, p); break;
            case DType.Bool: RandomT<byte, BoolElement>(dst, n, p); break;
        }
    }

    private void RandomT<TD, CD>(Tensor dst, int n, RandomArgs p) where TD : unmanaged where CD : struct, IElement<TD>
    {
        var kernel = Kernel("Random", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<TD>, RandomArgs>(RandomKernels.Random<TD, CD>));
        Run(stream => kernel(stream, n, V<TD>(dst), p));
    }
}
