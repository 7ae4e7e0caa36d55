using AutoGradNet.Kernels;

namespace AutoGradNet.Optim;

/// <summary>
/// RMSprop (Hinton) with optional momentum, centering and weight decay (PyTorch's <c>torch.optim.RMSprop</c>,
/// same update rule and defaults).
/// </summary>
/// <remarks>
/// <para>With gradient g, parameter θ, learning rate α, smoothing constant a (<c>alpha</c>), ε, weight decay λ,
/// momentum μ:</para>
/// <code>
/// g ← g + λθ
/// v ← a·v + (1 − a)·g²
/// if centered:  ḡ ← ḡ + (1 − a)·(g − ḡ);   d ← √(v − ḡ²) + ε
/// else:         d ← √v + ε
/// if μ &gt; 0:    b ← μ·b + g/d;   θ ← θ − α·b
/// else:         θ ← θ − α·g/d
/// </code>
/// <para>State: <c>step</c>, <c>square_avg</c> (v), <c>momentum_buffer</c> (b, when μ &gt; 0), <c>grad_avg</c>
/// (ḡ, when centered); all start at zero.</para>
/// </remarks>
public sealed class RMSprop : Optimizer
{
    private static readonly string[] Names = ["square_avg", "momentum_buffer", "grad_avg"];

    /// <summary>RMSprop over the given parameters (one group).</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average (≥ 0).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0) added to the gradient.</param>
    /// <param name="momentum">Momentum factor μ (≥ 0).</param>
    /// <param name="centered">Normalize by the estimated variance of the gradient instead of its second moment.</param>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : this([new ParamGroup(parameters)], lr, alpha, eps, weightDecay, momentum, centered) { }

    /// <summary>RMSprop over parameter groups; options a group leaves unset take these defaults.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average (≥ 0).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0) added to the gradient.</param>
    /// <param name="momentum">Momentum factor μ (≥ 0).</param>
    /// <param name="centered">Normalize by the estimated variance of the gradient instead of its second moment.</param>
    public RMSprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : base("RMSprop", groups, new Dictionary<string, object>
        {
            [ParamGroup.LrKey] = lr,
            ["alpha"] = alpha,
            ["eps"] = eps,
            [ParamGroup.WeightDecayKey] = weightDecay,
            ["momentum"] = momentum,
            ["centered"] = centered,
        })
    { }

    /// <inheritdoc/>
    protected override IReadOnlyCollection<string> StateNames => Names;

    /// <inheritdoc/>
    protected override void ValidateOptions(ParamGroup group, string where)
    {
        NonNegative(group, "alpha", where, "alpha");
        NonNegative(group, "eps", where, "epsilon");
        NonNegative(group, "momentum", where, "momentum");
    }

    /// <inheritdoc/>
    protected override void StepGroup(ParamGroup group)
    {
        double lr = group.Lr, wd = group.WeightDecay, alpha = group.GetDouble("alpha"), eps = group.GetDouble("eps"), momentum = group.GetDouble("momentum");
        bool centered = group.GetBool("centered");
        foreach (var p in group.Params)
        {
            if (Gradient(p) is not { } grad) continue;
            var state = State(p);
            var squareAvg = Buffer(p, state, "square_avg");
            state.Step++;
            Tensor g = grad;
            if (wd != 0)
            {
                var s = Scratch(p, state, 0);
                Fused.Zip(grad, p, s, new LinearComboOperator(1, wd));
                g = s;
            }
            Fused.Zip(squareAvg, g, squareAvg, new SquareAccumulateOperator(alpha, 1 - alpha));
            var update = Scratch(p, state, 1);
            if (centered)
            {
                var gradAvg = Buffer(p, state, "grad_avg");
                Fused.Zip(gradAvg, g, gradAvg, new LerpOperator(1 - alpha));
                Fused.Zip(squareAvg, gradAvg, update, new CenteredRootOperator(eps));
            }
            else Fused.Map(squareAvg, update, new RootOperator(1, eps));
            if (momentum > 0)
            {
                var buf = Buffer(p, state, "momentum_buffer");
                Fused.Zip(g, update, update, new ScaledDivOperator(1));
                Fused.Zip(buf, update, buf, new LinearComboOperator(momentum, 1));
                Fused.Zip(p, buf, p, new LinearComboOperator(1, -lr));
            }
            else
            {
                Fused.Zip(g, update, update, new ScaledDivOperator(-lr));
                Fused.Zip(p, update, p, new AddOperator());
            }
        }
    }
}
