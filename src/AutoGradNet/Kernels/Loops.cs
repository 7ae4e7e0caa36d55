using System.Numerics;

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
