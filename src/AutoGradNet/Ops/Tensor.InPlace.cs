using AutoGradNet.Kernels;

namespace AutoGradNet;

// In-place updates for optimizers and gradient bookkeeping. Each bumps the storage's version counter, so a
// backward that needs the old values throws instead of computing a wrong gradient.
public sealed partial class Tensor
{
    private Tensor ZipInPlace<TOp>(Tensor other, TOp op, string name) where TOp : struct, IBinaryOperator
    {
        Guard.InPlace(this, name);
        Guard.Compatible(this, other, name);
        Guard.Float(this, name);
        var shape = ShapeUtil.Broadcast(_shape, other._shape, name);
        if (!ShapeUtil.SequenceEqual(shape, _shape))
            throw new ArgumentException($"{name}: the result of shape {ShapeUtil.Format(shape)} does not fit the in-place target of shape {Shape}");
        Device.Backend.Zip(this, other.BroadcastView(shape), this, op);
        StorageRef.Version++;
        return this;
    }

    private Tensor MapInPlace<TOp>(TOp op, string name) where TOp : struct, IUnaryOperator
    {
        Guard.InPlace(this, name);
        Guard.Float(this, name);
        Device.Backend.Map(this, this, op);
        StorageRef.Version++;
        return this;
    }

    /// <summary>this += alpha·other (broadcasting other).</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1)
    {
        if (alpha == 1) return ZipInPlace(other, new AddOperator(), "add_");
        using var scaled = NoGradMul(other, alpha);
        return ZipInPlace(scaled, new AddOperator(), "add_");
    }

    /// <summary>this += value.</summary>
    public Tensor AddInPlace(double value) => MapInPlace(new AffineScalarOperator(1, value), "add_");

    /// <summary>this −= alpha·other.</summary>
    public Tensor SubInPlace(Tensor other, double alpha = 1) => AddInPlace(other, -alpha);

    /// <summary>this ·= other (broadcasting).</summary>
    public Tensor MulInPlace(Tensor other) => ZipInPlace(other, new MulOperator(), "mul_");

    /// <summary>this ·= value.</summary>
    public Tensor MulInPlace(double value) => MapInPlace(new AffineScalarOperator(value, 0), "mul_");

    /// <summary>this /= other (broadcasting).</summary>
    public Tensor DivInPlace(Tensor other) => ZipInPlace(other, new DivOperator(), "div_");

    /// <summary>this = √this.</summary>
    public Tensor SqrtInPlace() => MapInPlace(new SqrtOperator(), "sqrt_");

    /// <summary>this = clamp(this, min, max).</summary>
    public Tensor ClampInPlace(double? min = null, double? max = null) =>
        MapInPlace(new ClampOperator(min ?? double.NegativeInfinity, max ?? double.PositiveInfinity), "clamp_");

    /// <summary>this = max(this, other) elementwise.</summary>
    public Tensor MaximumInPlace(Tensor other) => ZipInPlace(other, new MaximumOperator(), "maximum_");

    /// <summary>this += value·t1·t2 (PyTorch's <c>addcmul_</c>).</summary>
    public Tensor AddcmulInPlace(Tensor t1, Tensor t2, double value = 1)
    {
        using var product = NoGrad(() => t1.Mul(t2));
        return AddInPlace(product, value);
    }

    /// <summary>this += value·t1/t2 (PyTorch's <c>addcdiv_</c>).</summary>
    public Tensor AddcdivInPlace(Tensor t1, Tensor t2, double value = 1)
    {
        using var quotient = NoGrad(() => t1.Div(t2));
        return AddInPlace(quotient, value);
    }

    /// <summary>Sets every element to 0.</summary>
    public Tensor ZeroInPlace() => FillInPlace(0);

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public Tensor FillInPlace(double value)
    {
        Guard.InPlace(this, "fill_");
        Device.Backend.Fill(this, value);
        StorageRef.Version++;
        return this;
    }

    /// <summary>Copies <paramref name="source"/> (broadcast to this shape) into this tensor.</summary>
    public Tensor CopyInPlace(Tensor source)
    {
        const string name = "copy_";
        Guard.InPlace(this, name);
        Guard.Compatible(this, source, name);
        var shape = ShapeUtil.Broadcast(_shape, source._shape, name);
        if (!ShapeUtil.SequenceEqual(shape, _shape))
            throw new ArgumentException($"{name}: source of shape {source.Shape} cannot be broadcast to {Shape}");
        Device.Backend.Copy(source.BroadcastView(shape), this);
        StorageRef.Version++;
        return this;
    }

    private static Tensor NoGradMul(Tensor t, double alpha) => NoGrad(() => t.Mul(alpha));

    private static Tensor NoGrad(Func<Tensor> f)
    {
        using var mode = GradMode.NoGrad();
        return f();
    }
}
