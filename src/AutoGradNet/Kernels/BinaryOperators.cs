using System.Numerics;
using System.Numerics.Tensors;

namespace AutoGradNet.Kernels;

/// <summary>a + b</summary>
public readonly struct AddOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a + b;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(b, a, y);
}

/// <summary>a − b</summary>
public readonly struct SubOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a - b;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, y);
}

/// <summary>a · b</summary>
public readonly struct MulOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a * b;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(b, a, y);
}

/// <summary>a / b</summary>
public readonly struct DivOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a / b;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, y);
}

/// <summary>aᵇ</summary>
public readonly struct PowOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Pow(a, b);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
}

/// <summary>max(a, b), propagating NaN.</summary>
public readonly struct MaximumOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.IsNaN(a) || a > b ? a : b;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
}

/// <summary>min(a, b), propagating NaN.</summary>
public readonly struct MinimumOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.IsNaN(a) || a < b ? a : b;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
}

/// <summary>a == b</summary>
public readonly struct EqOperator : ICompareOperator
{
    /// <inheritdoc/>
    public bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T> => a == b;
}

/// <summary>a ≠ b</summary>
public readonly struct NeOperator : ICompareOperator
{
    /// <inheritdoc/>
    public bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T> => a != b;
}

/// <summary>a &lt; b</summary>
public readonly struct LtOperator : ICompareOperator
{
    /// <inheritdoc/>
    public bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T> => a < b;
}

/// <summary>a ≤ b</summary>
public readonly struct LeOperator : ICompareOperator
{
    /// <inheritdoc/>
    public bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T> => a <= b;
}

/// <summary>a &gt; b</summary>
public readonly struct GtOperator : ICompareOperator
{
    /// <inheritdoc/>
    public bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T> => a > b;
}

/// <summary>a ≥ b</summary>
public readonly struct GeOperator : ICompareOperator
{
    /// <inheritdoc/>
    public bool Invoke<T>(T a, T b) where T : unmanaged, INumber<T> => a >= b;
}
