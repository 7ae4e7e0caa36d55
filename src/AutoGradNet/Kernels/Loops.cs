using System.Numerics;
using System.Runtime.InteropServices;

namespace AutoGradNet.Kernels;

/// <summary>Plain span loops: the CPU fast path of operators that TensorPrimitives has no routine for.</summary>
public static class Loops
{
    /// <summary>y[i] = op(x[i]).</summary>
    public static void Map<T, TOp>(TOp op, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUnaryOperator
    {
        if (y.Length < x.Length) throw new ArgumentException("destination too short");
        for (int i = 0; i < x.Length; i++) y[i] = op.Invoke(x[i]);
    }

    /// <summary>y[i] = op(x[i]), a vector at a time where the hardware has vectors, then the scalar form for the
    /// tail. The vector form must compute what the scalar form does, operation for operation (same rounding).</summary>
    public static void MapVectors<T, TOp>(TOp op, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IVectorUnaryOperator
    {
        if (y.Length < x.Length) throw new ArgumentException("destination too short");
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref T xr = ref MemoryMarshal.GetReference(x);
            ref T yr = ref MemoryMarshal.GetReference(y);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                op.Invoke(Vector.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = op.Invoke(x[i]);
    }

    /// <summary>y[i] = op(a[i], b[i]), a vector at a time (see <see cref="MapVectors"/>). Alias-safe: y may be a or
    /// b, since each vector is read before its slot is written.</summary>
    public static void ZipVectors<T, TOp>(TOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IVectorBinaryOperator
    {
        if (b.Length < a.Length || y.Length < a.Length) throw new ArgumentException("span lengths differ");
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            ref T ar = ref MemoryMarshal.GetReference(a);
            ref T br = ref MemoryMarshal.GetReference(b);
            ref T yr = ref MemoryMarshal.GetReference(y);
            for (; i <= a.Length - Vector<T>.Count; i += Vector<T>.Count)
                op.Invoke(Vector.LoadUnsafe(ref ar, (nuint)i), Vector.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < a.Length; i++) y[i] = op.Invoke(a[i], b[i]);
    }

    /// <summary>y[i] = op(a[i], b[i]).</summary>
    public static void Zip<T, TOp>(TOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator
    {
        if (b.Length < a.Length || y.Length < a.Length) throw new ArgumentException("span lengths differ");
        for (int i = 0; i < a.Length; i++) y[i] = op.Invoke(a[i], b[i]);
    }

    /// <summary>y[i] = op(a[i], b).</summary>
    public static void Zip<T, TOp>(TOp op, ReadOnlySpan<T> a, T b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator
    {
        if (y.Length < a.Length) throw new ArgumentException("destination too short");
        for (int i = 0; i < a.Length; i++) y[i] = op.Invoke(a[i], b);
    }

    /// <summary>y[i] = op(a, b[i]).</summary>
    public static void Zip<T, TOp>(TOp op, T a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator
    {
        if (y.Length < b.Length) throw new ArgumentException("destination too short");
        for (int i = 0; i < b.Length; i++) y[i] = op.Invoke(a, b[i]);
    }
}
