using AutoGradNet.Kernels;

namespace AutoGradNet;

// Elementwise math with NumPy broadcasting. Each op: checks, forward kernel, and its backward formula,
// written with differentiable ops so that higher-order gradients work.
public sealed partial class Tensor
{
    internal static Tensor MapKernel<TOp>(Tensor x, TOp op, string name) where TOp : struct, IUnaryOperator
    {
        Guard.Float(x, name);
        var y = EmptyLike(x);
        x.Device.Backend.Map(x, y, op);
        return y;
    }

    internal static Tensor ZipKernel<TOp>(Tensor a, Tensor b, TOp op, string name) where TOp : struct, IBinaryOperator
    {
        Guard.Compatible(a, b, name);
        Guard.Float(a, name);
        var shape = ShapeUtil.Broadcast(a._shape, b._shape, name);
        var y = Alloc(shape, a.DType, a.Device);
        a.Device.Backend.Zip(a.BroadcastView(shape), b.BroadcastView(shape), y, op);
        return y;
    }

    /// <summary>A borrowed view of this tensor broadcast to <paramref name="shape"/> (no reference, no scope; internal use only).</summary>
    internal Tensor BroadcastView(int[] shape)
    {
        if (ShapeUtil.SequenceEqual(shape, _shape)) return this;
        var strides = new int[shape.Length];
        int lead = shape.Length - _shape.Length;
        for (int d = 0; d < _shape.Length; d++)
            strides[lead + d] = _shape[d] == 1 && shape[lead + d] != 1 ? 0 : _strides[d];
        return new Tensor(StorageRef, shape, strides, Offset, register: false);
    }

    /// <summary>Sums a broadcast gradient back down to <paramref name="shape"/> (the backward of broadcasting).</summary>
    internal Tensor SumTo(int[] shape)
    {
        if (ShapeUtil.SequenceEqual(shape, _shape)) return this;
        int lead = Rank - shape.Length;
        var dims = new List<int>();
        for (int d = 0; d < Rank; d++)
            if (d < lead || (shape[d - lead] == 1 && _shape[d] != 1)) dims.Add(d);
        var summed = dims.Count == 0 ? this : Sum(dims.ToArray(), keepDim: true);
        return lead == 0 && ShapeUtil.SequenceEqual(summed._shape, shape) ? summed : summed.Reshape(shape);
    }

    // ---- binary arithmetic -------------------------------------------------------------------------------

    /// <summary>this + other, broadcasting.</summary>
    public Tensor Add(Tensor other)
    {
        var y = ZipKernel(this, other, new AddOperator(), "add");
        int[] sa = _shape, sb = other._shape;
        return Tape.Record(y, "AddBackward", (sa, sb), static (g, _, need, in st) => [need[0] ? g.SumTo(st.sa) : null, need[1] ? g.SumTo(st.sb) : null], [this, other]);
    }

    /// <summary>this + alpha·other (PyTorch's <c>add(other, alpha=...)</c>).</summary>
    public Tensor Add(Tensor other, double alpha) => Composite(() => alpha == 1 ? Add(other) : Add(other.Mul(alpha)));

    /// <summary>this − other, broadcasting.</summary>
    public Tensor Sub(Tensor other)
    {
        var y = ZipKernel(this, other, new SubOperator(), "sub");
        int[] sa = _shape, sb = other._shape;
        return Tape.Record(y, "SubBackward", (sa, sb), static (g, _, need, in st) => [need[0] ? g.SumTo(st.sa) : null, need[1] ? g.Neg().SumTo(st.sb) : null], [this, other]);
    }

    /// <summary>this · other elementwise, broadcasting.</summary>
    public Tensor Mul(Tensor other)
    {
        var y = ZipKernel(this, other, new MulOperator(), "mul");
        int[] sa = _shape, sb = other._shape;
        return Tape.Record(y, "MulBackward", (sa, sb), static (g, s, need, in st) =>
            [need[0] ? g.Mul(s[1]).SumTo(st.sa) : null, need[1] ? g.Mul(s[0]).SumTo(st.sb) : null], [this, other], [this, other]);
    }

    /// <summary>this / other elementwise, broadcasting.</summary>
    public Tensor Div(Tensor other)
    {
        var y = ZipKernel(this, other, new DivOperator(), "div");
        int[] sa = _shape, sb = other._shape;
        return Tape.Record(y, "DivBackward", (sa, sb), static (g, s, need, in st) =>
            [need[0] ? g.Div(s[1]).SumTo(st.sa) : null,
             need[1] ? g.Neg().Mul(s[0]).Div(s[1].Mul(s[1])).SumTo(st.sb) : null], [this, other], [this, other]);
    }

    /// <summary>this ^ exponent elementwise, broadcasting.</summary>
    /// <remarks>
    /// ∂/∂a = b·a^(b−1), taken as 0 where b = 0 (so 0⁰ does not give 0·∞); ∂/∂b = a^b·ln a, taken as 0 where a = 0 and
    /// b ≥ 0 (PyTorch's conventions).
    /// </remarks>
    public Tensor Pow(Tensor exponent)
    {
        var y = ZipKernel(this, exponent, new PowOperator(), "pow");
        int[] sa = _shape, sb = exponent._shape;
        return Tape.Record(y, "PowBackward", (g, s, need) =>
        {
            Tensor a = s[0], b = s[1], result = s[2];
            Tensor? ga = null;
            if (need[0])
            {
                // NOTE: b·a^(b−1) is 0·∞ = NaN at a = 0, b = 0. Using exponent 1 where b = 0 gives b·a⁰ = 0 there, and
                // keeps every intermediate finite, so second derivatives are not poisoned by an unused ∞ either.
                var exponent = Where(b.Eq(0.0), OnesLike(b), b);
                ga = g.Mul(b).Mul(a.Pow(exponent.Sub(1.0))).SumTo(sa);
            }
            Tensor? gb = null;
            if (need[1])
            {
                var safe = Where(a.Eq(0.0).LogicalAnd(b.Ge(0.0)), ZerosLike(result), result.Mul(a.Log()));
                gb = g.Mul(safe).SumTo(sb);
            }
            return [ga, gb];
        }, [this, exponent], [this, exponent, y]);
    }

    /// <summary>Elementwise maximum, broadcasting; at ties the gradient is split evenly (as PyTorch).</summary>
    public Tensor Maximum(Tensor other) => MinMax(other, max: true);

    /// <summary>Elementwise minimum, broadcasting; at ties the gradient is split evenly (as PyTorch).</summary>
    public Tensor Minimum(Tensor other) => MinMax(other, max: false);

    private Tensor MinMax(Tensor other, bool max)
    {
        var y = max ? ZipKernel(this, other, new MaximumOperator(), "maximum") : ZipKernel(this, other, new MinimumOperator(), "minimum");
        int[] sa = _shape, sb = other._shape;
        return Tape.Record(y, max ? "MaximumBackward" : "MinimumBackward", (g, s, need) =>
        {
            Tensor a = s[0], b = s[1];
            var tie = a.Eq(b).To(g.DType).Mul(0.5);
            var winsA = (max ? a.Gt(b) : a.Lt(b)).To(g.DType).Add(tie);
            var winsB = (max ? a.Lt(b) : a.Gt(b)).To(g.DType).Add(tie);
            return [need[0] ? g.Mul(winsA).SumTo(sa) : null, need[1] ? g.Mul(winsB).SumTo(sb) : null];
        }, [this, other], [this, other]);
    }

    // ---- scalar arithmetic -------------------------------------------------------------------------------

    private Tensor Affine(double scale, double shift, string name)
    {
        var y = MapKernel(this, new AffineScalarOperator(scale, shift), name);
        return Tape.Record(y, name, (g, _, _) => [scale == 1 ? g : g.Mul(scale)], [this]);
    }

    /// <summary>this + value.</summary>
    public Tensor Add(double value) => Affine(1, value, "AddBackward");

    /// <summary>this − value.</summary>
    public Tensor Sub(double value) => Affine(1, -value, "SubBackward");

    /// <summary>this · value.</summary>
    public Tensor Mul(double value) => Affine(value, 0, "MulBackward");

    /// <summary>this / value (true division, rounded like a tensor division).</summary>
    public Tensor Div(double value)
    {
        using var divisor = ScalarLike(value);
        return Div(divisor);
    }

    /// <summary>this ^ exponent for a constant exponent.</summary>
    public Tensor Pow(double exponent)
    {
        var y = MapKernel(this, new PowScalarOperator(exponent), "pow");
        return Tape.Record(y, "PowBackward", (g, s, _) =>
            [exponent == 0 ? ZerosLike(g) : exponent == 1 ? g : g.Mul(s[0].Pow(exponent - 1)).Mul(exponent)], [this], [this]);
    }

    /// <summary>value − this.</summary>
    public Tensor RSub(double value) => Affine(-1, value, "RsubBackward");

    /// <summary>value / this.</summary>
    public Tensor RDiv(double value)
    {
        using var numerator = ScalarLike(value);
        return numerator.Div(this);
    }

    private Tensor ScalarLike(double value) => Full([], value, DType, Device);

    // ---- unary math ----------------------------------------------------------------------------------------

    /// <summary>−this.</summary>
    public Tensor Neg() => Tape.Record(MapKernel(this, new NegOperator(), "neg"), "NegBackward", (g, _, _) => [g.Neg()], [this]);

    /// <summary>eˣ.</summary>
    public Tensor Exp()
    {
        var y = MapKernel(this, new ExpOperator(), "exp");
        return Tape.Record(y, "ExpBackward", (g, s, _) => [g.Mul(s[0])], [this], [y]);
    }

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Tape.Record(MapKernel(this, new LogOperator(), "log"), "LogBackward", (g, s, _) => [g.Div(s[0])], [this], [this]);

    /// <summary>ln(1 + x), accurate near 0.</summary>
    public Tensor Log1p() => Tape.Record(MapKernel(this, new Log1pOperator(), "log1p"), "Log1pBackward", (g, s, _) => [g.Div(s[0].Add(1.0))], [this], [this]);

    /// <summary>√x.</summary>
    public Tensor Sqrt()
    {
        var y = MapKernel(this, new SqrtOperator(), "sqrt");
        return Tape.Record(y, "SqrtBackward", (g, s, _) => [g.Div(s[0].Mul(2.0))], [this], [y]);
    }

    /// <summary>|x|; the gradient at 0 is 0 (sign(0) = 0, as PyTorch).</summary>
    public Tensor Abs() => Tape.Record(MapKernel(this, new AbsOperator(), "abs"), "AbsBackward", (g, s, _) => [g.Mul(s[0].Sign())], [this], [this]);

    /// <summary>sign(x) ∈ {−1, 0, 1}; its gradient is zero everywhere.</summary>
    public Tensor Sign() => Tape.Record(MapKernel(this, new SignOperator(), "sign"), "SignBackward", (g, _, _) => [ZerosLike(g)], [this]);

    /// <summary>The error function.</summary>
    public Tensor Erf() => Tape.Record(MapKernel(this, new ErfOperator(), "erf"), "ErfBackward",
        (g, s, _) => [g.Mul(s[0].Mul(s[0]).Neg().Exp().Mul(2 / Math.Sqrt(Math.PI)))], [this], [this]);

    /// <summary>Limits values to [min, max] (either bound optional); the gradient passes where min ≤ x ≤ max.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("clamp: at least one of min and max must be given");
        if (min > max) throw new ArgumentException($"clamp: min ({min}) is greater than max ({max})");
        double lo = min ?? double.NegativeInfinity, hi = max ?? double.PositiveInfinity;
        var y = MapKernel(this, new ClampOperator(lo, hi), "clamp");
        return Tape.Record(y, "ClampBackward", (g, s, _) => [g.Mul(s[0].Ge(lo).LogicalAnd(s[0].Le(hi)).To(g.DType))], [this], [this]);
    }

    /// <summary>Clamp with tensor bounds (broadcasting all three): min(max(x, min), max), as PyTorch's <c>clamp(Tensor, Tensor)</c>.</summary>
    /// <remarks>
    /// Gradients follow PyTorch: x gets it where min ≤ x ≤ max (a value on a bound counts as inside, as for scalar bounds),
    /// min where x &lt; min &lt; max, and max where x &gt; max or max &lt; min. (Composing maximum and minimum would split
    /// the gradient ½–½ between x and a bound it touches.)
    /// </remarks>
    public Tensor Clamp(Tensor? min, Tensor? max)
    {
        using var composite = OpenComposite();
        if (min is null && max is null) throw new ArgumentException("clamp: at least one of min and max must be given");
        var y = min is null ? this : ZipKernel(this, min, new MaximumOperator(), "clamp");
        if (max is not null)
        {
            var lowered = y;
            y = ZipKernel(lowered, max, new MinimumOperator(), "clamp");
            if (!ReferenceEquals(lowered, this)) lowered.Dispose();
        }
        var inputs = new List<Tensor> { this };
        if (min is not null) inputs.Add(min);
        if (max is not null) inputs.Add(max);
        int[][] shapes = inputs.Select(t => t._shape).ToArray();
        bool hasMin = min is not null, hasMax = max is not null;
        return composite.Keep(Tape.Record(y, "ClampBackward", (g, s, need) =>
        {
            Tensor x = s[0];
            Tensor? lo = hasMin ? s[1] : null, hi = hasMax ? s[^1] : null;
            var zero = ZerosLike(g);
            var grads = new Tensor?[s.Length];
            if (need[0])
            {
                Tensor inside = lo is null ? x.Le(hi!) : hi is null ? x.Ge(lo) : x.Ge(lo).LogicalAnd(x.Le(hi));
                grads[0] = Where(inside, g, zero).SumTo(shapes[0]);
            }
            if (lo is not null && need[1])
            {
                var below = hi is null ? x.Lt(lo) : x.Lt(lo).LogicalAnd(lo.Lt(hi));
                grads[1] = Where(below, g, zero).SumTo(shapes[1]);
            }
            if (hi is not null && need[s.Length - 1])
            {
                var above = lo is null ? x.Gt(hi) : x.Gt(hi).LogicalOr(hi.Lt(lo));
                grads[^1] = Where(above, g, zero).SumTo(shapes[^1]);
            }
            return grads;
        }, inputs.ToArray(), inputs.ToArray()));
    }

    /// <summary>x².</summary>
    public Tensor Square() => Pow(2.0);

    /// <summary>1/x.</summary>
    public Tensor Reciprocal() => RDiv(1.0);

    // ---- selection -------------------------------------------------------------------------------------------

    /// <summary>Elementwise cond ? a : b, broadcasting all three; <paramref name="condition"/> must be bool.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        const string name = "where";
        Guard.Compatible(a, b, name);
        Guard.SameDevice(condition, a, name);
        if (condition.DType != DType.Bool)
            throw new InvalidOperationException($"{name}: the condition must be bool, got {condition.DType.Name()} of shape {condition.Shape}");
        var shape = ShapeUtil.Broadcast(ShapeUtil.Broadcast(condition._shape, a._shape, name), b._shape, name);
        var y = Alloc(shape, a.DType, a.Device);
        a.Device.Backend.Where(condition.BroadcastView(shape), a.BroadcastView(shape), b.BroadcastView(shape), y);
        if (!a.DType.IsFloatingPoint()) return y;
        int[] sa = a._shape, sb = b._shape;
        return Tape.Record(y, "WhereBackward", (g, s, need) =>
        {
            var zero = ZerosLike(g);
            return [need[0] ? Where(s[0], g, zero).SumTo(sa) : null, need[1] ? Where(s[0], zero, g).SumTo(sb) : null];
        }, [a, b], [condition]);
    }

    // ---- operators -----------------------------------------------------------------------------------------

    /// <summary>Elementwise sum.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>Elementwise difference.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>Elementwise product (not matrix product: see <see cref="Matmul"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>Elementwise quotient.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    /// <summary>Subtracts from a constant.</summary>
    public static Tensor operator -(double a, Tensor b) => b.RSub(a);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    /// <summary>Divides a constant.</summary>
    public static Tensor operator /(double a, Tensor b) => b.RDiv(a);
}
