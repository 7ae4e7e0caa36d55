namespace AutoGradNet.Backends.Cpu;

internal sealed partial class CpuBackend
{
    // Each indexing kernel views its tensors as [outer, size(dim), inner] (contiguous; ShapeUtil.SplitAround), the
    // shape PyTorch's CPU kernels use, so one loop serves every dim.
    public void IndexSelect(Tensor x, int dim, Tensor index, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: IndexSelectT<float>(x, dim, index, y); break;
            case DType.Float64: IndexSelectT<double>(x, dim, index, y); break;
            case DType.Int64: IndexSelectT<long>(x, dim, index, y); break;
            case DType.Bool: IndexSelectT<bool>(x, dim, index, y); break;
        }
    }

    private static void IndexSelectT<T>(Tensor x, int dim, Tensor index, Tensor y) where T : unmanaged
    {
        var (outer, inner) = ShapeUtil.SplitAround(x.ShapeArray, dim);
        int size = x.ShapeArray[dim], count = index.Numel;
        T[] xs = Data<T>(x), ys = Data<T>(y);
        long[] idx = Data<long>(index);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < count; j++)
            {
                int src = CheckIndex(idx[index.Offset + j * index.Strides[0]], size, "index_select");
                Array.Copy(xs, x.Offset + (o * size + src) * inner, ys, y.Offset + (o * count + j) * inner, inner);
            }
    }

    public void IndexAdd(Tensor dst, int dim, Tensor index, Tensor src)
    {
        if (dst.DType == DType.Float32) IndexAddT<float>(dst, dim, index, src);
        else IndexAddT<double>(dst, dim, index, src);
    }

    private static void IndexAddT<T>(Tensor dst, int dim, Tensor index, Tensor src) where T : unmanaged, System.Numerics.INumber<T>
    {
        var (outer, inner) = ShapeUtil.SplitAround(dst.ShapeArray, dim);
        int size = dst.ShapeArray[dim], count = index.Numel;
        T[] ds = Data<T>(dst), ss = Data<T>(src);
        long[] idx = Data<long>(index);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < count; j++)
            {
                int target = CheckIndex(idx[index.Offset + j * index.Strides[0]], size, "index_add");
                int d0 = dst.Offset + (o * size + target) * inner, s0 = src.Offset + (o * count + j) * inner;
                for (int i = 0; i < inner; i++) ds[d0 + i] += ss[s0 + i];
            }
    }

    public void Gather(Tensor x, int dim, Tensor index, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: GatherT<float>(x, dim, index, y); break;
            case DType.Float64: GatherT<double>(x, dim, index, y); break;
            case DType.Int64: GatherT<long>(x, dim, index, y); break;
            case DType.Bool: GatherT<bool>(x, dim, index, y); break;
        }
    }

    private static void GatherT<T>(Tensor x, int dim, Tensor index, Tensor y) where T : unmanaged
    {
        // index and y share a shape; x may be larger in every dim but `dim` is addressed through the index.
        T[] xs = Data<T>(x), ys = Data<T>(y);
        long[] idx = Data<long>(index);
        var shape = index.ShapeArray;
        var xStrides = x.Strides;
        int size = x.ShapeArray[dim];
        int rank = shape.Length, n = index.Numel;
        Span<int> pos = stackalloc int[rank];
        for (int flat = 0; flat < n; flat++)
        {
            int xOffset = x.Offset;
            for (int d = 0; d < rank; d++)
                xOffset += (d == dim ? CheckIndex(idx[index.Offset + flat], size, "gather") : pos[d]) * xStrides[d];
            ys[y.Offset + flat] = xs[xOffset];
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++pos[d] < shape[d]) break;
                pos[d] = 0;
            }
        }
    }

    public void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src)
    {
        if (dst.DType == DType.Float32) ScatterAddT<float>(dst, dim, index, src);
        else ScatterAddT<double>(dst, dim, index, src);
    }

    private static void ScatterAddT<T>(Tensor dst, int dim, Tensor index, Tensor src) where T : unmanaged, System.Numerics.INumber<T>
    {
        T[] ds = Data<T>(dst), ss = Data<T>(src);
        long[] idx = Data<long>(index);
        var shape = index.ShapeArray;
        var dStrides = dst.Strides;
        int size = dst.ShapeArray[dim];
        int rank = shape.Length, n = index.Numel;
        if (dim == rank - 1 && n > 0 && RowsMatch(dst, shape))
        {
            // The common case (max-pool backward, one-hot gradients): rows of the index scatter into the same rows
            // of a contiguous dst, so rows are independent and can run in parallel.
            int inner = shape[rank - 1], rows = n / inner;
            int dOff = dst.Offset, iOff = index.Offset, sOff = src.Offset;
            ParallelRows(rows, inner, (ds, ss, idx, dOff, iOff, sOff, size, inner), static (s, start, end) =>
            {
                var (ds, ss, idx, dOff, iOff, sOff, size, inner) = s;
                for (int r = start; r < end; r++)
                {
                    int dRow = dOff + r * size, at = r * inner;
                    for (int j = 0; j < inner; j++, at++)
                        ds[dRow + CheckIndex(idx[iOff + at], size, "scatter_add")] += ss[sOff + at];
                }
            });
            return;
        }
        Span<int> pos = stackalloc int[rank];
        for (int flat = 0; flat < n; flat++)
        {
            int dOffset = dst.Offset;
            for (int d = 0; d < rank; d++)
                dOffset += (d == dim ? CheckIndex(idx[index.Offset + flat], size, "scatter_add") : pos[d]) * dStrides[d];
            ds[dOffset] += ss[src.Offset + flat];
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++pos[d] < shape[d]) break;
                pos[d] = 0;
            }
        }
    }

    /// <summary>True when dst is contiguous and has the index's sizes in every dimension but the last.</summary>
    private static bool RowsMatch(Tensor dst, int[] indexShape)
    {
        if (!dst.IsContiguous) return false;
        for (int d = 0; d < indexShape.Length - 1; d++)
            if (dst.ShapeArray[d] != indexShape[d]) return false;
        return true;
    }

    private static int CheckIndex(long index, int size, string op)
    {
        // As PyTorch, these ops take indices in [0, size): a negative index is an error, not a count from the end
        // (a −1 "ignore" sentinel would otherwise silently pick the last entry).
        if (index < 0 || index >= size)
            throw ShapeUtil.IndexOutOfBounds(op, index, size);
        return (int)index;
    }
}
