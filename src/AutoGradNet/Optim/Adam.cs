using AutoGradNet.Kernels;

namespace AutoGradNet.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with bias correction, optional L2 weight decay and AMSGrad
/// (PyTorch's <c>torch.optim.Adam</c>, same update rule and defaults).
/// </summary>
/// <remarks>
/// <para>With gradient g, parameter θ, step t (from 1), learning rate α, betas β₁ β₂, ε, weight decay λ:</para>
/// <code>
/// g ← g + λθ
/// m ← β₁·m + (1 − β₁)·g          (computed as m + (1 − β₁)·(g − m), PyTorch's lerp)
/// v ← β₂·v + (1 − β₂)·g²
/// v̂ ← max(v̂, v) if amsgrad, else v̂ = v
/// θ ← θ − (α / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
/// </code>
/// <para>State: <c>step</c>, <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v), <c>max_exp_avg_sq</c> (v̂, amsgrad only).
/// The bias corrections are computed in double on the host. PyTorch's <c>betas</c> tuple is the pair of options
/// <c>beta1</c>, <c>beta2</c>.</para>
/// </remarks>
public class Adam : Optimizer
{
    private static readonly string[] Names = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
    private readonly bool _decoupled;

    /// <summary>Adam over the given parameters (one group).</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="beta1">Decay of the first moment β₁ in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment β₂ in [0, 1).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0) added to the gradient.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>Adam over parameter groups; options a group leaves unset take these defaults.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="beta1">Decay of the first moment β₁ in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment β₂ in [0, 1).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0) added to the gradient.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this("Adam", groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false) { }

    private protected Adam(string name, IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2,
        double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(name, groups, new Dictionary<string, object>
        {
            [ParamGroup.LrKey] = lr,
            ["beta1"] = beta1,
            ["beta2"] = beta2,
            ["eps"] = eps,
            [ParamGroup.WeightDecayKey] = weightDecay,
            ["amsgrad"] = amsgrad,
        }) => _decoupled = decoupled;

    /// <inheritdoc/>
    protected override IReadOnlyCollection<string> StateNames => Names;

    /// <inheritdoc/>
    protected override void ValidateOptions(ParamGroup group, string where)
    {
        UnitInterval(group, "beta1", where, "beta");
        UnitInterval(group, "beta2", where, "beta");
        NonNegative(group, "eps", where, "epsilon");
    }

    /// <inheritdoc/>
    protected override void StepGroup(ParamGroup group)
    {
        double lr = group.Lr, wd = group.WeightDecay, beta1 = group.GetDouble("beta1"), beta2 = group.GetDouble("beta2"), eps = group.GetDouble("eps");
        bool amsgrad = group.GetBool("amsgrad");
        foreach (var p in group.Params)
        {
            if (Gradient(p) is not { } grad) continue;
            var state = State(p);
            var expAvg = Buffer(p, state, "exp_avg");
            var expAvgSq = Buffer(p, state, "exp_avg_sq");
            long step = ++state.Step;
            Tensor g = grad;
            if (_decoupled)
            {
                // NOTE: PyTorch multiplies by 1 − αλ unconditionally; skipping the multiply by exactly 1 changes nothing.
                double factor = 1 - lr * wd;
                if (factor != 1) Fused.Map(p, p, new ScaleOperator(factor));
            }
            else if (wd != 0)
            {
                var s = Scratch(p, state, 0);
                Fused.Zip(grad, p, s, new LinearComboOperator(1, wd));
                g = s;
            }
            Fused.Zip(expAvg, g, expAvg, new LerpOperator(1 - beta1));
            Fused.Zip(expAvgSq, g, expAvgSq, new SquareAccumulateOperator(beta2, 1 - beta2));
            double biasCorrection1 = 1 - Math.Pow(beta1, step);
            double biasCorrection2 = 1 - Math.Pow(beta2, step);
            double stepSize = lr / biasCorrection1;
            Tensor second = expAvgSq;
            if (amsgrad)
            {
                var max = Buffer(p, state, "max_exp_avg_sq");
                Fused.Zip(max, expAvgSq, max, new MaximumOperator());
                second = max;
            }
            var denom = Scratch(p, state, 0); // g (if it was the scratch) is no longer needed
            Fused.Map(second, denom, new RootOperator(Math.Sqrt(biasCorrection2), eps));
            Fused.Zip(expAvg, denom, denom, new ScaledDivOperator(-stepSize));
            Fused.Zip(p, denom, p, new AddOperator());
        }
    }
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019): Adam with decoupled weight decay (PyTorch's <c>torch.optim.AdamW</c>,
/// same update rule and defaults, including weight decay 0.01).
/// </summary>
/// <remarks>
/// <para>As <see cref="Adam"/>, except that the decay is applied to the parameter, not added to the gradient:</para>
/// <code>
/// θ ← θ·(1 − αλ)
/// m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²;   v̂ ← max(v̂, v) if amsgrad
/// θ ← θ − (α / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
/// </code>
/// </remarks>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over the given parameters (one group).</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="beta1">Decay of the first moment β₁ in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment β₂ in [0, 1).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">Decoupled weight decay λ (≥ 0): θ ← θ·(1 − αλ) each step.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>AdamW over parameter groups; options a group leaves unset take these defaults.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="beta1">Decay of the first moment β₁ in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment β₂ in [0, 1).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">Decoupled weight decay λ (≥ 0): θ ← θ·(1 − αλ) each step.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base("AdamW", groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true) { }
}
