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

/// <summary>
/// Relu's backward: a where b &gt; 0, else 0 (a is the upstream gradient, b the relu output; PyTorch's
/// <c>threshold_backward</c>). One pass instead of compare, cast and multiply.
/// </summary>
public readonly struct ReluGradOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => b > T.Zero ? a : T.Zero;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length != y.Length || b.Length != y.Length) throw new ArgumentException("relu_grad: span lengths differ");
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var va = new Vector<T>(a[i..]);
                var vb = new Vector<T>(b[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(vb, Vector<T>.Zero), va, Vector<T>.Zero).CopyTo(y[i..]);
            }
        }
        for (; i < y.Length; i++) y[i] = Invoke(a[i], b[i]);
    }
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    /// <inheritdoc/>
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
}
