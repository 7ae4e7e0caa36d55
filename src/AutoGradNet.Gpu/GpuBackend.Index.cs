using AutoGradNet.Gpu.Kernels;

namespace AutoGradNet.Gpu;

internal sealed partial class GpuBackend
{
    public void IndexSelect(Tensor x, int dim, Tensor index, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: IndexSelectT<float>(x, dim, index, y); break;
            case DType.Float64: IndexSelectT<double>(x, dim, index, y); break;
            case DType.Int64: IndexSelectT<long>(x, dim, index, y); break;
            case DType.Bool: IndexSelectT<byte>(x, dim, index, y); break;
        }
    }

    private void IndexSelectT<T>(Tensor x, int dim, Tensor index, Tensor y) where T : unmanaged
    {
        var (_, inner) = ShapeUtil.SplitAround(x.ShapeArray, dim);
        var p = new SelectArgs
        {
            Size = x.ShapeArray[dim], Count = index.Numel, Inner = inner,
            SrcOffset = x.Offset, DstOffset = y.Offset, IndexOffset = index.Offset, IndexStride = index.Rank == 0 ? 0 : index.Strides[0],
        };
        int n = y.Numel;
        if (n == 0) return;
        var kernel = Kernel("IndexSelect", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, SelectArgs>(IndexKernels.IndexSelect));
        ThrowOnBadIndex("index_select", p.Size, RunWithStatus((stream, status) => kernel(stream, n, V<T>(x), V<long>(index), V<T>(y), status, p)));
    }

    public void IndexAdd(Tensor dst, int dim, Tensor index, Tensor src)
    {
        if (dst.DType == DType.Float32) IndexAddT<float, AtomicAddF32>(dst, dim, index, src);
        else IndexAddT<double, AtomicAddF64>(dst, dim, index, src);
    }

    private void IndexAddT<T, TAtomic>(Tensor dst, int dim, Tensor index, Tensor src) where T : unmanaged where TAtomic : struct, IAtomicAdd<T>
    {
        var (_, inner) = ShapeUtil.SplitAround(dst.ShapeArray, dim);
        var p = new SelectArgs
        {
            Size = dst.ShapeArray[dim], Count = index.Numel, Inner = inner,
            SrcOffset = src.Offset, DstOffset = dst.Offset, IndexOffset = index.Offset, IndexStride = index.Rank == 0 ? 0 : index.Strides[0],
        };
        int n = src.Numel;
        if (n == 0) return;
        var kernel = Kernel("IndexAdd", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, SelectArgs>(IndexKernels.IndexAdd<T, TAtomic>));
        ThrowOnBadIndex("index_add", p.Size, RunWithStatus((stream, status) => kernel(stream, n, V<T>(dst), V<long>(index), V<T>(src), status, p)));
    }

    public void Gather(Tensor x, int dim, Tensor index, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: GatherT<float>(x, dim, index, y); break;
            case DType.Float64: GatherT<double>(x, dim, index, y); break;
            case DType.Int64: GatherT<long>(x, dim, index, y); break;
            case DType.Bool: GatherT<byte>(x, dim, index, y); break;
        }
    }

    private static GatherArgs GatherLayout(Tensor addressed, int dim, Tensor index, Tensor other) => new()
    {
        Shape = LayoutBuilder.Exact(index.ShapeArray),
        Strides = LayoutBuilder.ExactStrides(addressed, zeroDim: dim),
        DimStride = addressed.Strides[dim],
        Size = addressed.ShapeArray[dim],
        IndexOffset = index.Offset,
        OtherOffset = other.Offset,
    };

    private void GatherT<T>(Tensor x, int dim, Tensor index, Tensor y) where T : unmanaged
    {
        int n = index.Numel;
        if (n == 0) return;
        var p = GatherLayout(x, dim, index, y);
        var kernel = Kernel("Gather", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, GatherArgs>(IndexKernels.Gather));
        ThrowOnBadIndex("gather", p.Size, RunWithStatus((stream, status) => kernel(stream, n, V<T>(x), V<long>(index), V<T>(y), status, p)));
    }

    public void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src)
    {
        if (dst.DType == DType.Float32) ScatterAddT<float, AtomicAddF32>(dst, dim, index, src);
        else ScatterAddT<double, AtomicAddF64>(dst, dim, index, src);
    }

    private void ScatterAddT<T, TAtomic>(Tensor dst, int dim, Tensor index, Tensor src) where T : unmanaged where TAtomic : struct, IAtomicAdd<T>
    {
        int n = index.Numel;
        if (n == 0) return;
        var p = GatherLayout(dst, dim, index, src);
        var kernel = Kernel("ScatterAdd", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, GatherArgs>(IndexKernels.ScatterAdd<T, TAtomic>));
        ThrowOnBadIndex("scatter_add", p.Size, RunWithStatus((stream, status) => kernel(stream, n, V<T>(dst), V<long>(index), V<T>(src), status, p)));
    }

    /// <summary>Reads the kernel's index report and throws the CPU backend's exception for an index out of range.</summary>
    private static void ThrowOnBadIndex(string op, int size, (long Flag, long Index) report)
    {
        var (flag, index) = report;
        if (flag != 0)
            throw ShapeUtil.IndexOutOfBounds(op, index, size);
    }
}
