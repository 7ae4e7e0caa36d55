using System.Numerics;

namespace AutoGradNet.Kernels;

/// <summary>
/// Scalar math of an elementwise unary op, written once: the CPU backend's loops and the GPU backend's
/// kernels are generic over the struct that implements it. The span overload is the CPU fast path over
/// contiguous memory (typically one TensorPrimitives call, or <see cref="Loops.Map{T, TOp}"/>); it must compute
/// what the scalar overload computes, up to rounding. GPU kernels use only the scalar overload.
/// </summary>
public interface IUnaryOperator
{
    /// <summary>The op on one element.</summary>
    T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>y[i] = op(x[i]) over contiguous spans (CPU only).</summary>
    void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Scalar math of an elementwise binary op (see <see cref="IUnaryOperator"/>).</summary>
public interface IBinaryOperator
{
    /// <summary>The op on one pair of elements.</summary>
    T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>y[i] = op(a[i], b[i]) (CPU only).</summary>
    void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>y[i] = op(a[i], b) (CPU only).</summary>
    void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>y[i] = op(a, b[i]) (CPU only).</summary>
    void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>An elementwise comparison producing a boolean.</summary>
public interface ICompareOperator
{
    /// <summary>The comparison of one pair of elements.</summary>
    bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T>;
}

/// <summary>A unary operator with a vector form for the CPU's span loop (<see cref="Loops.MapVectors"/>): the same
/// operations as the scalar form, in the same order, so both round alike.</summary>
public interface IVectorUnaryOperator : IUnaryOperator
{
    /// <summary>The op on a vector of elements.</summary>
    Vector<T> Invoke<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A binary operator with a vector form (<see cref="Loops.ZipVectors"/>); see <see cref="IVectorUnaryOperator"/>.</summary>
public interface IVectorBinaryOperator : IBinaryOperator
{
    /// <summary>The op on vectors of elements.</summary>
    Vector<T> Invoke<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>;
}
