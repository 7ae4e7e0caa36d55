using AutoGradNet.Kernels;

namespace AutoGradNet.Backends.Meta;

/// <summary>Storage of a meta tensor: a length and a dtype, no elements.</summary>
internal sealed class MetaStorage(DType dtype, Device device, int length) : Storage(dtype, device, length)
{
    protected override void Free() { }
}

/// <summary>
/// The backend of <see cref="Device.Meta"/> (PyTorch's meta device): tensors have shapes, dtypes and autograd
/// graphs but no elements, and every kernel does nothing. Ops still validate their arguments and compute output
/// shapes, so running a model on meta tensors infers shapes (and builds full-size models) without memory or compute.
/// Reading values back (<c>ToArray</c>, <c>Item</c>) gives zeros.
/// </summary>
internal sealed class MetaBackend : IBackend
{
    public static readonly MetaBackend Instance = new();

    private MetaBackend() { }

    public Storage Allocate(DType dtype, int length, bool zero) => new MetaStorage(dtype, Device.Meta, length);

    public MemoryStats MemoryStats() => default;

    public void Fill(Tensor dst, double value) { }

    public void Copy(Tensor src, Tensor dst) { }

    public void Cast(Tensor src, Tensor dst) { }

    public void Map<TOp>(Tensor x, Tensor y, TOp op) where TOp : struct, IUnaryOperator { }

    public void Zip<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, IBinaryOperator { }

    public void Compare<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, ICompareOperator { }

    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y) { }

    public void SumRows(Tensor x, Tensor y, int outer, int inner) { }

    public void ArgReduceRows(Tensor x, Tensor values, Tensor indices, int outer, int inner, bool max) { }

    public void MatMul(Tensor a, Tensor b, Tensor c, bool accumulate = false) { }

    public void IndexSelect(Tensor x, int dim, Tensor index, Tensor y) { }

    public void IndexAdd(Tensor dst, int dim, Tensor index, Tensor src) { }

    public void Gather(Tensor x, int dim, Tensor index, Tensor y) { }

    public void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src) { }

    // NOTE: PyTorch refuses to read meta tensors; zeros keep Item()-driven code paths (batch-norm counters, loss
    // target checks) running, which is what shape inference needs.
    public Array Download(Tensor src) => src.DType switch
    {
        DType.Float32 => new float[src.Numel],
        DType.Float64 => new double[src.Numel],
        DType.Int64 => new long[src.Numel],
        _ => new bool[src.Numel],
    };

    public void Upload(Array src, Tensor dst) { }

    public void Unfold(Tensor x, Tensor cols, ConvGeometry geometry) { }

    public void Fold(Tensor cols, Tensor x, ConvGeometry geometry) { }

    public void MaxPool(Tensor x, Tensor y, Tensor indices, ConvGeometry geometry, int[][] windowStarts, int[][] windowEnds) { }

    public bool HasNonFinite(Tensor x) => false;

    public void Random(Tensor dst, Generator generator, RandomKind kind, double a, double b) { }
}
