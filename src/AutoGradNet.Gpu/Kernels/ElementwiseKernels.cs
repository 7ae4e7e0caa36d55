using System.Numerics;
using AutoGradNet.Kernels;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Strided elementwise kernels: one thread per output element; each decomposes its flat index once and
/// addresses every operand through its own strides (broadcast dims have stride 0). The scalar math is the core's
/// operator structs, the same ones the CPU backend runs.
/// </summary>
internal static class ElementwiseKernels
{
    public static void Fill<T>(Index1D i, ArrayView<T> y, Extent8 e, Strides8 sy, T value) where T : unmanaged
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = value;
    }

    public static void Copy<T>(Index1D i, ArrayView<T> x, ArrayView<T> y, Extent8 e, Strides8 sx, Strides8 sy) where T : unmanaged
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = x[sx.At(c)];
    }

    /// <summary>dst = convert(src) through double, as the CPU backend converts.</summary>
    public static void Cast<TS, TD, CS, CD>(Index1D i, ArrayView<TS> x, ArrayView<TD> y, Extent8 e, Strides8 sx, Strides8 sy)
        where TS : unmanaged where TD : unmanaged where CS : struct, IElement<TS> where CD : struct, IElement<TD>
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = default(CD).FromDouble(default(CS).ToDouble(x[sx.At(c)]));
    }

    public static void Map<T, TOp>(Index1D i, ArrayView<T> x, ArrayView<T> y, Extent8 e, Strides8 sx, Strides8 sy, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUnaryOperator
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = op.Invoke(x[sx.At(c)]);
    }

    public static void Zip<T, TOp>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, Extent8 e, Strides8 sa, Strides8 sb, Strides8 sy, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = op.Invoke(a[sa.At(c)], b[sb.At(c)]);
    }

    public static void Compare<T, TOp>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<byte> y, Extent8 e, Strides8 sa, Strides8 sb, Strides8 sy, TOp op)
        where T : unmanaged, INumber<T> where TOp : struct, ICompareOperator
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = op.Invoke(a[sa.At(c)], b[sb.At(c)]) ? (byte)1 : (byte)0;
    }

    public static void Where<T>(Index1D i, ArrayView<byte> cond, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, Extent8 e, Strides8 sc, Strides8 sa, Strides8 sb, Strides8 sy)
        where T : unmanaged
    {
        var c = e.Decompose(i);
        y[sy.At(c)] = cond[sc.At(c)] != 0 ? a[sa.At(c)] : b[sb.At(c)];
    }

    /// <summary>Sets flag[0] to 1 when any element is NaN or infinite.</summary>
    public static void NonFinite<T>(Index1D i, ArrayView<T> x, Extent8 e, Strides8 sx, ArrayView<int> flag)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var c = e.Decompose(i);
        T v = x[sx.At(c)];
        // NOTE: v − v is 0 for finite v and NaN for ±∞ and NaN, so one comparison catches all three.
        if (!(v - v == T.Zero)) flag[0] = 1;
    }
}

/// <summary>Conversions of a storage element type through double (the CPU backend's rule for casts).</summary>
internal interface IElement<T> where T : unmanaged
{
    double ToDouble(T value);
    T FromDouble(double value);
}

internal readonly struct F32Element : IElement<float>
{
    public double ToDouble(float value) => value;
    public float FromDouble(double value) => (float)value;
}

internal readonly struct F64Element : IElement<double>
{
    public double ToDouble(double value) => value;
    public double FromDouble(double value) => value;
}

internal readonly struct I64Element : IElement<long>
{
    public double ToDouble(long value) => value;

    /// <summary>
    /// .NET's saturating conversion, spelled out: NaN → 0, values past the range → long.MinValue / long.MaxValue.
    /// A plain cast compiles to a conversion that gives long.MinValue for NaN on the GPU (seen on an H200).
    /// </summary>
    public long FromDouble(double value) =>
        double.IsNaN(value) ? 0
        : value >= 9223372036854775808.0 ? long.MaxValue
        : value <= -9223372036854775808.0 ? long.MinValue
        : (long)value;
}

/// <summary>bool stored as one byte (0 or 1).</summary>
internal readonly struct BoolElement : IElement<byte>
{
    public double ToDouble(byte value) => value;
    public byte FromDouble(double value) => value != 0 ? (byte)1 : (byte)0;
}
