using System.Numerics;
using System.Numerics.Tensors;

namespace AutoGradNet.Kernels;

/// <summary>-x</summary>
public readonly struct NegOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => -x;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Negate(x, y);
}

/// <summary>eˣ</summary>
public readonly struct ExpOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Exp(x);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, y);
}

/// <summary>ln x</summary>
public readonly struct LogOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Log(x);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log(x, y);
}

/// <summary>ln(1 + x), accurate for small x.</summary>
public readonly struct Log1pOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // NOTE: .NET's T.LogP1 is log(1 + x), which loses the digits of tiny x (log1p(1e-10f) = 0). Goldberg's trick:
        // u = 1 + x is rounded, and log(u)·x/(u − 1) divides that rounding back out (a few ulp); u == 1 means
        // log1p(x) = x to working precision. Infinite u (x = +∞) would give ∞/∞.
        T u = T.One + x;
        if (u == T.One) return x;
        if (T.IsPositiveInfinity(u)) return u;
        return T.Log(u) * (x / (u - T.One));
    }
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Map(this, x, y);
}

/// <summary>√x</summary>
public readonly struct SqrtOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Sqrt(x);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, y);
}

/// <summary>|x|</summary>
public readonly struct AbsOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Abs(x);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, y);
}

/// <summary>x where finite, else 0 (±∞ and NaN): the shift that keeps exp-sums of all −∞ rows finite.</summary>
public readonly struct FiniteOrZeroOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Abs(x) < T.PositiveInfinity ? x : T.Zero;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Map(this, x, y);
}

/// <summary>sign(x) ∈ {−1, 0, 1}; NaN stays NaN.</summary>
public readonly struct SignOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> =>
        x > T.Zero ? T.One : x < T.Zero ? -T.One : x; // keeps ±0 and NaN
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Map(this, x, y);
}

/// <summary>max(x, 0)</summary>
public readonly struct ReluOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero || T.IsNaN(x) ? x : T.Zero;
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(x, T.Zero, y); // IEEE max: NaN propagates, as above
}

/// <summary>1 / (1 + e⁻ˣ)</summary>
public readonly struct SigmoidOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // NOTE: the two branches keep exp's argument non-positive, so neither overflows.
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x);
        return e / (T.One + e);
    }
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sigmoid(x, y);
}

/// <summary>tanh x</summary>
public readonly struct TanhOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Tanh(x);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Tanh(x, y);
}

/// <summary>The error function erf x = 2/√π ∫₀ˣ e^(−t²) dt (see <see cref="Special.Erf"/>).</summary>
public readonly struct ErfOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => Scalar.FromDouble<T>(Special.Erf(Scalar.ToDouble(x)));
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Map(this, x, y);
}

/// <summary>xᵖ for a constant exponent p.</summary>
public readonly struct PowScalarOperator(double exponent) : IUnaryOperator
{
    /// <summary>The exponent.</summary>
    public double Exponent { get; } = exponent;
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => Exponent switch
    {
        2.0 => x * x,
        1.0 => x,
        0.0 => T.One,
        _ => T.Pow(x, Scalar.FromDouble<T>(Exponent)),
    };
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Map(this, x, y);
}

/// <summary>min(max(x, lo), hi); NaN stays NaN.</summary>
public readonly struct ClampOperator(double min, double max) : IUnaryOperator
{
    /// <summary>Lower bound (−∞ for none).</summary>
    public double Min { get; } = min;
    /// <summary>Upper bound (+∞ for none).</summary>
    public double Max { get; } = max;
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lo = Scalar.FromDouble<T>(Min), hi = Scalar.FromDouble<T>(Max);
        return x < lo ? lo : x > hi ? hi : x;
    }
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Map(this, x, y);
}

/// <summary>x · s + b for constants s and b (scalar arithmetic without a broadcast tensor).</summary>
public readonly struct AffineScalarOperator(double scale, double shift) : IUnaryOperator
{
    /// <summary>The factor.</summary>
    public double Scale { get; } = scale;
    /// <summary>The addend.</summary>
    public double Shift { get; } = shift;
    /// <inheritdoc/>
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => x * Scalar.FromDouble<T>(Scale) + Scalar.FromDouble<T>(Shift);
    /// <inheritdoc/>
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(x, Scalar.FromDouble<T>(Scale), y);
        if (Shift != 0) TensorPrimitives.Add(y[..x.Length], Scalar.FromDouble<T>(Shift), y);
    }
}
