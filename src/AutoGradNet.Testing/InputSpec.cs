namespace AutoGradNet.Testing;

/// <summary>
/// Describes one input of a block under test: its shape and how to fill it. By default a float64 tensor
/// with uniform values in [−2, 2] that requires grad (what <see cref="GradCheck"/> differentiates).
/// Immutable; the fluent methods return modified copies.
/// </summary>
/// <example>
/// <code>
/// s => [s, InputSpec.Of(s).InRange(0.1, 3), InputSpec.Of(s).AwayFromZero(), InputSpec.Index([4], high: s[0])]
/// </code>
/// A <see cref="ShapeSample"/>, an <c>int[]</c> or a <see cref="Shape"/> converts implicitly to the default spec.
/// </example>
public sealed class InputSpec
{
    private readonly int[] _shape;

    private InputSpec(int[] shape, double low, double high, double minMagnitude, bool requiresGrad, long? indexHigh)
    {
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"InputSpec: sizes must be non-negative, got [{string.Join(", ", shape)}]");
        _shape = shape;
        Low = low;
        High = high;
        MinMagnitude = minMagnitude;
        RequiresGrad = requiresGrad;
        IndexHigh = indexHigh;
    }

    /// <summary>A float64 input of the given shape that requires grad, with values in [−2, 2].</summary>
    public static InputSpec Of(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return new((int[])shape.Clone(), -2, 2, 0, true, null);
    }

    /// <summary>A float64 input of the given shape that requires grad, with values in [−2, 2].</summary>
    public static InputSpec Of(ShapeSample shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return Of(shape.ToArray());
    }

    /// <summary>
    /// An int64 index input (no grad) of the given shape with values uniform in [0, <paramref name="high"/>):
    /// for <c>Gather</c>, <c>IndexSelect</c>, <c>ScatterAdd</c>, class targets of a loss.
    /// </summary>
    public static InputSpec Index(int[] shape, long high)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (high <= 0) throw new ArgumentOutOfRangeException(nameof(high), $"InputSpec.Index: the exclusive bound must be positive, got {high}");
        return new((int[])shape.Clone(), 0, high, 0, false, high);
    }

    /// <summary>The default spec for a shape: float64, requires grad, values in [−2, 2].</summary>
    public static implicit operator InputSpec(int[] shape) => Of(shape);

    /// <summary>The default spec for a shape: float64, requires grad, values in [−2, 2].</summary>
    public static implicit operator InputSpec(ShapeSample shape) => Of(shape);

    /// <summary>The default spec for a shape: float64, requires grad, values in [−2, 2].</summary>
    public static implicit operator InputSpec(Shape shape) => Of(shape.ToArray());

    /// <summary>The shape of the input.</summary>
    public Shape Shape => new(_shape);

    /// <summary>The dtype of the materialized tensor: float64, or int64 for <see cref="Index"/> inputs.</summary>
    public DType DType => IsIndex ? DType.Int64 : DType.Float64;

    /// <summary>Smallest value (inclusive).</summary>
    public double Low { get; }

    /// <summary>Largest value (exclusive for index inputs).</summary>
    public double High { get; }

    /// <summary>Values satisfy |x| ≥ this (0: no constraint); see <see cref="AwayFromZero"/>.</summary>
    public double MinMagnitude { get; }

    /// <summary>Whether the materialized tensor requires grad (and is therefore gradchecked).</summary>
    public bool RequiresGrad { get; }

    /// <summary>The exclusive upper bound of an index input; null for float inputs.</summary>
    public long? IndexHigh { get; }

    /// <summary>True for int64 index inputs made by <see cref="Index"/>.</summary>
    public bool IsIndex => IndexHigh is not null;

    /// <summary>A copy with values uniform in [<paramref name="low"/>, <paramref name="high"/>] (e.g. positive values for <c>Log</c>, <c>Sqrt</c>).</summary>
    public InputSpec InRange(double low, double high)
    {
        ThrowIfIndex(nameof(InRange));
        if (!(low <= high) || !double.IsFinite(low) || !double.IsFinite(high))
            throw new ArgumentException($"InputSpec.InRange: need finite low ≤ high, got [{low}, {high}]");
        return new(_shape, low, high, MinMagnitude, RequiresGrad, null);
    }

    /// <summary>
    /// A copy whose values keep |x| ≥ <paramref name="margin"/>, for ops with a kink or pole at 0
    /// (<c>Abs</c>, <c>Relu</c>, <c>Sign</c>, division), where finite differences across the kink are meaningless.
    /// </summary>
    public InputSpec AwayFromZero(double margin = 0.1)
    {
        ThrowIfIndex(nameof(AwayFromZero));
        if (!(margin >= 0) || !double.IsFinite(margin))
            throw new ArgumentOutOfRangeException(nameof(margin), $"InputSpec.AwayFromZero: the margin must be finite and non-negative, got {margin}");
        return new(_shape, Low, High, margin, RequiresGrad, null);
    }

    /// <summary>A copy that does not require grad: a float64 constant input (not differentiated by the check).</summary>
    public InputSpec NoGrad()
    {
        ThrowIfIndex(nameof(NoGrad));
        return new(_shape, Low, High, MinMagnitude, false, null);
    }

    /// <summary>
    /// Materializes the input: the same <paramref name="seed"/> always gives the same values, and a smaller shape
    /// with the same seed gives a prefix of the same random stream (so shrinking keeps values stable).
    /// The caller owns (disposes) the tensor.
    /// </summary>
    public Tensor Create(ulong seed)
    {
        if (IsIndex) return TensorGen.CreateIndex(_shape, IndexHigh!.Value, seed);
        var t = TensorGen.CreateTensor(_shape, Low, High, DType.Float64, seed, MinMagnitude);
        return RequiresGrad ? t.RequiresGrad_() : t;
    }

    /// <summary>Like <c>float64[2, 3] in [-2, 2] requires_grad</c> or <c>int64[4] in [0, 3)</c>.</summary>
    public override string ToString()
    {
        var shape = "[" + string.Join(", ", _shape) + "]";
        if (IsIndex) return $"int64{shape} in [0, {IndexHigh})";
        var text = $"float64{shape} in [{Low:G4}, {High:G4}]";
        if (MinMagnitude > 0) text += $" |x|≥{MinMagnitude:G4}";
        return RequiresGrad ? text + " requires_grad" : text;
    }

    private void ThrowIfIndex(string method)
    {
        if (IsIndex) throw new InvalidOperationException($"InputSpec.{method}: not applicable to an index input ({this})");
    }
}
