using System.Numerics;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Indexing kernels, one thread per element written (select, gather) or read (index-add, scatter-add; those
/// accumulate with atomics because several indices may name the same target). An index out of range is
/// recorded in <c>error</c> ([0] = 1, [1] = the index) for the host to report, since a kernel cannot throw.
/// </summary>
internal static class IndexKernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Resolve(long index, int size, ArrayView<long> error)
    {
        if (index < 0 || index >= size)
        {
            if (Atomic.CompareExchange(ref error[0], 0L, 1L) == 0L) error[1] = index;
            return -1;
        }
        return (int)index;
    }

    /// <summary>y[o, j, i] = x[o, index[j], i]; one thread per element of y.</summary>
    public static void IndexSelect<T>(Index1D e, ArrayView<T> x, ArrayView<long> index, ArrayView<T> y, ArrayView<long> error, SelectArgs p)
        where T : unmanaged
    {
        int i = e % p.Inner, rest = e / p.Inner;
        int j = rest % p.Count, o = rest / p.Count;
        int src = Resolve(index[p.IndexOffset + j * p.IndexStride], p.Size, error);
        if (src < 0) return;
        y[p.DstOffset + e] = x[p.SrcOffset + (o * p.Size + src) * p.Inner + i];
    }

    /// <summary>dst[o, index[j], i] += src[o, j, i]; one thread per element of src.</summary>
    public static void IndexAdd<T, TAtomic>(Index1D e, ArrayView<T> dst, ArrayView<long> index, ArrayView<T> src, ArrayView<long> error, SelectArgs p)
        where T : unmanaged where TAtomic : struct, IAtomicAdd<T>
    {
        int i = e % p.Inner, rest = e / p.Inner;
        int j = rest % p.Count, o = rest / p.Count;
        int target = Resolve(index[p.IndexOffset + j * p.IndexStride], p.Size, error);
        if (target < 0) return;
        default(TAtomic).Add(dst, p.DstOffset + (o * p.Size + target) * p.Inner + i, src[p.SrcOffset + e]);
    }

    /// <summary>y[pos] = x[pos with dim replaced by index[pos]]; one thread per element of index (and y).</summary>
    public static void Gather<T>(Index1D e, ArrayView<T> x, ArrayView<long> index, ArrayView<T> y, ArrayView<long> error, GatherArgs p)
        where T : unmanaged
    {
        var c = p.Shape.Decompose(e);
        int at = Resolve(index[p.IndexOffset + e], p.Size, error);
        if (at < 0) return;
        y[p.OtherOffset + e] = x[p.Strides.At(c) + at * p.DimStride];
    }

    /// <summary>dst[pos with dim replaced by index[pos]] += src[pos]; one thread per element of index (and src).</summary>
    public static void ScatterAdd<T, TAtomic>(Index1D e, ArrayView<T> dst, ArrayView<long> index, ArrayView<T> src, ArrayView<long> error, GatherArgs p)
        where T : unmanaged where TAtomic : struct, IAtomicAdd<T>
    {
        var c = p.Shape.Decompose(e);
        int at = Resolve(index[p.IndexOffset + e], p.Size, error);
        if (at < 0) return;
        default(TAtomic).Add(dst, p.Strides.At(c) + at * p.DimStride, src[p.OtherOffset + e]);
    }
}

/// <summary>Arguments of index-select and index-add: tensors viewed as [outer, size or count, inner].</summary>
internal struct SelectArgs
{
    public int Size, Count, Inner;
    public int SrcOffset, DstOffset, IndexOffset, IndexStride;
}

/// <summary>
/// Arguments of gather and scatter-add: the index's shape, the strides of the addressed tensor with the indexed
/// dim's stride zeroed (it is added as index · <see cref="DimStride"/>), and the offset of the contiguous third tensor.
/// </summary>
internal struct GatherArgs
{
    public Extent8 Shape;
    public Strides8 Strides;
    public int DimStride, Size, IndexOffset, OtherOffset;
}

/// <summary>An atomic add on one element type (ILGPU's Atomic.Add has no generic overload).</summary>
internal interface IAtomicAdd<T> where T : unmanaged
{
    void Add(ArrayView<T> view, int index, T value);
}

internal readonly struct AtomicAddF32 : IAtomicAdd<float>
{
    public void Add(ArrayView<float> view, int index, float value) => Atomic.Add(ref view[index], value);
}

internal readonly struct AtomicAddF64 : IAtomicAdd<double>
{
    public void Add(ArrayView<double> view, int index, double value) => Atomic.Add(ref view[index], value);
}
