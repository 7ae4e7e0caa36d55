using AutoGradNet.Kernels;

namespace AutoGradNet.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight decay
/// (PyTorch's <c>torch.optim.SGD</c>, same update rule and defaults).
/// </summary>
/// <remarks>
/// <para>With gradient g, parameter θ, learning rate α, weight decay λ, momentum μ, dampening τ (PyTorch form):</para>
/// <code>
/// d ← g + λθ
/// if μ ≠ 0:  b ← d on the first step, else b ← μ·b + (1 − τ)·d
///            d ← d + μ·b if nesterov, else d ← b
/// θ ← θ − α·d
/// </code>
/// <para>State: <c>momentum_buffer</c> (b), created on the first step with μ ≠ 0.</para>
/// <para><b>Velocity form</b> (<c>velocity_form = true</c>; Krizhevsky et al. 2012, the "seed" form
/// v ← 0.9·v − 0.0005·α·θ − α·∇, θ ← θ + v): the buffer holds the velocity v with the learning rate inside it,
/// <code>
/// v ← −α·d on the first step, else v ← μ·v − α·(1 − τ)·d;   θ ← θ + v
/// </code>
/// With a constant α this is the PyTorch form with v = −α·b (the same iterates up to rounding). The forms differ
/// when α changes (a scheduler): the PyTorch form rescales the accumulated momentum by the new α at once, the
/// velocity form keeps the momentum accumulated at the old α. Nesterov is not defined for the velocity form.</para>
/// </remarks>
public sealed class SGD : Optimizer
{
    private static readonly string[] Names = ["momentum_buffer"];

    /// <summary>SGD over the given parameters (one group).</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="momentum">Momentum factor μ (≥ 0).</param>
    /// <param name="dampening">Dampening τ of the momentum (the new gradient is weighted 1 − τ).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0), added to the gradient as λθ.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and τ = 0).</param>
    /// <param name="velocityForm">Keep α inside the velocity (the seed / Krizhevsky form); see the remarks.</param>
    public SGD(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool velocityForm = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, weightDecay, nesterov, velocityForm) { }

    /// <summary>SGD over parameter groups; options a group leaves unset take these defaults.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="momentum">Momentum factor μ (≥ 0).</param>
    /// <param name="dampening">Dampening τ of the momentum (the new gradient is weighted 1 − τ).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0), added to the gradient as λθ.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and τ = 0).</param>
    /// <param name="velocityForm">Keep α inside the velocity (the seed / Krizhevsky form); see the remarks.</param>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool velocityForm = false)
        : base("SGD", groups, new Dictionary<string, object>
        {
            [ParamGroup.LrKey] = lr,
            ["momentum"] = momentum,
            ["dampening"] = dampening,
            [ParamGroup.WeightDecayKey] = weightDecay,
            ["nesterov"] = nesterov,
            ["velocity_form"] = velocityForm,
        })
    { }

    /// <inheritdoc/>
    protected override IReadOnlyCollection<string> StateNames => Names;

    /// <inheritdoc/>
    protected override bool HasStepState => false;

    /// <inheritdoc/>
    protected override void ValidateOptions(ParamGroup group, string where)
    {
        NonNegative(group, "momentum", where, "momentum");
        bool nesterov = group.GetBool("nesterov");
        if (nesterov && (group.GetDouble("momentum") <= 0 || group.GetDouble("dampening") != 0))
            throw new ArgumentException($"SGD: {where}: Nesterov momentum requires momentum > 0 and dampening = 0 (momentum = {group.GetDouble("momentum")}, dampening = {group.GetDouble("dampening")})");
        if (nesterov && group.GetBool("velocity_form"))
            throw new ArgumentException($"SGD: {where}: Nesterov momentum is not available with velocity_form");
    }

    /// <inheritdoc/>
    protected override void StepGroup(ParamGroup group)
    {
        double lr = group.Lr, wd = group.WeightDecay, momentum = group.GetDouble("momentum"), dampening = group.GetDouble("dampening");
        bool nesterov = group.GetBool("nesterov"), velocityForm = group.GetBool("velocity_form");
        foreach (var p in group.Params)
        {
            if (Gradient(p) is not { } grad) continue;
            var state = State(p);
            state.Step++;
            Tensor d = grad;
            if (wd != 0)
            {
                var s = Scratch(p, state, 0);
                Fused.Zip(grad, p, s, new LinearComboOperator(1, wd)); // d = g + λθ
                d = s;
            }
            if (momentum != 0)
            {
                var buf = TryBuffer(state, "momentum_buffer");
                if (velocityForm)
                {
                    if (buf is null) Fused.Map(d, buf = Buffer(p, state, "momentum_buffer"), new ScaleOperator(-lr));
                    else Fused.Zip(buf, d, buf, new LinearComboOperator(momentum, -lr * (1 - dampening)));
                    Fused.Zip(p, buf, p, new AddOperator()); // θ ← θ + v
                    continue;
                }
                if (buf is null) buf = BufferFrom(p, state, "momentum_buffer", d);
                else Fused.Zip(buf, d, buf, new LinearComboOperator(momentum, 1 - dampening));
                if (nesterov)
                {
                    var s = Scratch(p, state, 0);
                    Fused.Zip(d, buf, s, new LinearComboOperator(1, momentum)); // d + μ·b (d may be s itself)
                    d = s;
                }
                else d = buf;
            }
            Fused.Zip(p, d, p, new LinearComboOperator(1, -lr)); // θ − α·d
        }
    }
}
