using AutoGradNet.Kernels;

namespace AutoGradNet.Optim;

/// <summary>
/// Adagrad (Duchi et al. 2011) with learning-rate decay, weight decay and an initial accumulator value
/// (PyTorch's <c>torch.optim.Adagrad</c>, same update rule and defaults).
/// </summary>
/// <remarks>
/// <para>With gradient g, parameter θ, step t (from 1), learning rate α, lr decay η, weight decay λ, ε:</para>
/// <code>
/// g ← g + λθ
/// α̃ ← α / (1 + (t − 1)·η)
/// s ← s + g²                       (s starts at initial_accumulator_value)
/// θ ← θ − α̃ · g / (√s + ε)
/// </code>
/// <para>State: <c>step</c>, <c>sum</c> (s), created on the parameter's first step (PyTorch creates it in the
/// constructor; the values are the same).</para>
/// </remarks>
public sealed class Adagrad : Optimizer
{
    private static readonly string[] Names = ["sum"];

    /// <summary>Adagrad over the given parameters (one group).</summary>
    /// <param name="parameters">Leaf tensors that require grad.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="lrDecay">Learning-rate decay η (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0) added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the sum of squares (≥ 0).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    public Adagrad(IEnumerable<Tensor> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10)
        : this([new ParamGroup(parameters)], lr, lrDecay, weightDecay, initialAccumulatorValue, eps) { }

    /// <summary>Adagrad over parameter groups; options a group leaves unset take these defaults.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate α (≥ 0).</param>
    /// <param name="lrDecay">Learning-rate decay η (≥ 0).</param>
    /// <param name="weightDecay">L2 penalty λ (≥ 0) added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the sum of squares (≥ 0).</param>
    /// <param name="eps">ε added to the denominator (≥ 0).</param>
    public Adagrad(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10)
        : base("Adagrad", groups, new Dictionary<string, object>
        {
            [ParamGroup.LrKey] = lr,
            ["lr_decay"] = lrDecay,
            [ParamGroup.WeightDecayKey] = weightDecay,
            ["initial_accumulator_value"] = initialAccumulatorValue,
            ["eps"] = eps,
        })
    { }

    /// <inheritdoc/>
    protected override IReadOnlyCollection<string> StateNames => Names;

    /// <inheritdoc/>
    protected override void ValidateOptions(ParamGroup group, string where)
    {
        NonNegative(group, "lr_decay", where, "lr decay");
        NonNegative(group, "initial_accumulator_value", where, "initial accumulator value");
        NonNegative(group, "eps", where, "epsilon");
    }

    /// <inheritdoc/>
    protected override void StepGroup(ParamGroup group)
    {
        double lr = group.Lr, wd = group.WeightDecay, lrDecay = group.GetDouble("lr_decay"), eps = group.GetDouble("eps");
        double initial = group.GetDouble("initial_accumulator_value");
        foreach (var p in group.Params)
        {
            if (Gradient(p) is not { } grad) continue;
            var state = State(p);
            var sum = Buffer(p, state, "sum", initial);
            long step = ++state.Step;
            Tensor g = grad;
            if (wd != 0)
            {
                var s = Scratch(p, state, 0);
                Fused.Zip(grad, p, s, new LinearComboOperator(1, wd));
                g = s;
            }
            double clr = lr / (1 + (step - 1) * lrDecay);
            Fused.Zip(sum, g, sum, new SquareAccumulateOperator(1, 1));
            var update = Scratch(p, state, 1);
            Fused.Map(sum, update, new RootOperator(1, eps));
            Fused.Zip(g, update, update, new ScaledDivOperator(-clr));
            Fused.Zip(p, update, p, new AddOperator());
        }
    }
}
