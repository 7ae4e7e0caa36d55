using AutoGradNet.Kernels;

namespace AutoGradNet;

// Activations and softmax. Composite ones are written from primitives, so their backward comes for free.
public sealed partial class Tensor
{
    /// <summary>max(x, 0); the gradient at 0 is 0 (as PyTorch).</summary>
    public Tensor Relu()
    {
        var y = MapKernel(this, new ReluOperator(), "relu");
        return Tape.Record(y, "ReluBackward", (g, s, _) => [ReluGrad(g, s[0])], [this], [y]);
    }

    /// <summary>
    /// g where y &gt; 0, else 0 (relu's backward, one fused pass). Linear in g, so its own backward is itself with
    /// the same mask; the mask carries no gradient (the relu output is piecewise constant in its sign).
    /// </summary>
    internal static Tensor ReluGrad(Tensor g, Tensor y)
    {
        var gx = ZipKernel(g, y, new ReluGradOperator(), "relu_backward");
        if (!ShapeUtil.SequenceEqual(gx._shape, g._shape)) gx = gx.SumTo(g._shape);
        return Tape.Record(gx, "ReluGradBackward", (gg, s, _) => [ReluGrad(gg, s[0]), null], [g, y], [y]);
    }

    /// <summary>x for x &gt; 0, slope·x otherwise.</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01) => Composite(() => Where(Gt(0.0), this, Mul(negativeSlope)));

    /// <summary>x for x &gt; 0, α(eˣ − 1) otherwise.</summary>
    public Tensor Elu(double alpha = 1.0) => Composite(() => Where(Gt(0.0), this, Clamp(max: 0.0).Exp().Sub(1.0).Mul(alpha)));

    /// <summary>1 / (1 + e⁻ˣ).</summary>
    public Tensor Sigmoid()
    {
        var y = MapKernel(this, new SigmoidOperator(), "sigmoid");
        return Tape.Record(y, "SigmoidBackward", (g, s, _) => [g.Mul(s[0].Mul(s[0].RSub(1.0)))], [this], [y]);
    }

    /// <summary>tanh x.</summary>
    public Tensor Tanh()
    {
        var y = MapKernel(this, new TanhOperator(), "tanh");
        return Tape.Record(y, "TanhBackward", (g, s, _) => [g.Mul(s[0].Mul(s[0]).RSub(1.0))], [this], [y]);
    }

    /// <summary>GELU: x·Φ(x) with the exact normal CDF (default), or the tanh approximation.</summary>
    /// <remarks>exact: 0.5·x·(1 + erf(x/√2)); tanh: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).</remarks>
    public Tensor Gelu(bool tanhApproximation = false)
    {
        using var composite = OpenComposite();
        if (!tanhApproximation) return composite.Keep(Mul(Mul(1 / Math.Sqrt(2)).Erf().Add(1.0)).Mul(0.5));
        var inner = Add(Pow(3.0).Mul(0.044715)).Mul(Math.Sqrt(2 / Math.PI));
        return composite.Keep(Mul(inner.Tanh().Add(1.0)).Mul(0.5));
    }

    /// <summary>(1/β)·ln(1 + e^(βx)), and x itself where βx &gt; threshold (PyTorch's defaults β = 1, threshold = 20).</summary>
    public Tensor Softplus(double beta = 1.0, double threshold = 20.0)
    {
        using var composite = OpenComposite();
        var z = Mul(beta);
        return composite.Keep(Where(z.Gt(threshold), this, z.LogOnePlusExp().Div(beta)));
    }

    /// <summary>ln(1 + eˣ) without overflow, with the right gradient (σ(x)) everywhere, 0 included.</summary>
    /// <remarks>
    /// NOTE: max(x, 0) + log1p(e^(−|x|)) has the right values, but relu and abs both take the subgradient 0 at x = 0,
    /// so its gradient there came out 0 instead of ½. Here each branch is smooth where it is selected: log1p(eˣ) for
    /// x ≤ 0 and x + log1p(e^(−x)) for x &gt; 0, each fed a clamped input so the unselected branch stays finite (its zero
    /// gradient would otherwise meet an overflow and give NaN).
    /// </remarks>
    internal Tensor LogOnePlusExp()
    {
        var low = Clamp(max: 0.0);
        var high = Clamp(min: 0.0);
        return Where(Gt(0.0), high.Add(high.Neg().Exp().Log1p()), low.Exp().Log1p());
    }

    /// <summary>Softmax over <paramref name="dim"/>: e^(x − max) / Σ e^(x − max).</summary>
    public Tensor Softmax(int dim)
    {
        using var composite = OpenComposite();
        Guard.Float(this, "softmax");
        using var max = RowMaxForStability(dim);
        var e = Sub(max).Exp();
        return composite.Keep(e.Div(e.Sum([dim], keepDim: true)));
    }

    /// <summary>log softmax over <paramref name="dim"/>: x − logsumexp(x).</summary>
    /// <remarks>
    /// One recorded op: y = x − logsumexp(x) computed without a tape, and the backward ∂x = g − e^y·Σg written with
    /// tensor ops (so it is recorded under create-graph, for double backward). Recording the composite instead kept
    /// six nodes and their saved tensors per call.
    /// </remarks>
    public Tensor LogSoftmax(int dim)
    {
        const string name = "log_softmax";
        Guard.Float(this, name);
        int d = ShapeUtil.NormalizeDim(dim, Rank, name);
        Tensor y;
        int[] reduced = [d];
        using (GradMode.NoGrad())
        using (var logSumExp = LogSumExp(reduced, keepDim: true))
            y = Sub(logSumExp);
        return Tape.Record(y, "LogSoftmaxBackward", reduced, static (g, s, _, in dims) => [g.Sub(s[0].Exp().Mul(g.Sum(dims, keepDim: true)))], [this], [y]);
    }

    /// <summary>The detached maximum over dims with −∞ rows replaced by 0, the usual shift for exp-sums.</summary>
    private Tensor RowMaxForStability(params int[] dims)
    {
        using var noGrad = GradMode.NoGrad();
        var max = Amax(dims, keepDim: true);
        Device.Backend.Map(max, max, new Kernels.FiniteOrZeroOperator());
        return max;
    }
}
