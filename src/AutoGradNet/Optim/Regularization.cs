namespace AutoGradNet.Optim;

/// <summary>
/// Weight penalties as differentiable scalar tensors to add to the loss: <c>loss.Add(Regularization.L2(weights, 5e-4))</c>.
/// They are recorded on the tape like any op, so their gradients flow into the weights by backward.
/// </summary>
/// <remarks>
/// Convention (the seed's): L2 carries a factor ½, so its gradient is λ·W, the same update as an optimizer's
/// <c>weight_decay = λ</c> (for SGD, Adagrad, RMSprop and Adam, not AdamW's decoupled decay). The result has the
/// dtype and device of the first tensor; all tensors must share them.
/// </remarks>
public static class Regularization
{
    /// <summary>The L1 penalty λ·Σ|w| over every element of every tensor.</summary>
    /// <remarks><c>L1 = λ·Σₜ Σᵢ |wₜᵢ|</c>; gradient λ·sign(w) (0 at w = 0).</remarks>
    public static Tensor L1(IEnumerable<Tensor> weights, double lambda) => ElasticNet(weights, lambda, 0, "L1");

    /// <summary>The L2 penalty λ/2·‖W‖² (sum of squares of every element of every tensor, halved).</summary>
    /// <remarks><c>L2 = (λ/2)·Σₜ Σᵢ wₜᵢ²</c>; gradient λ·w.</remarks>
    public static Tensor L2(IEnumerable<Tensor> weights, double lambda) => ElasticNet(weights, 0, lambda, "L2");

    /// <summary>The elastic-net penalty: L1 with <paramref name="l1"/> plus L2 with <paramref name="l2"/>.</summary>
    /// <remarks><c>E = l1·Σ|w| + (l2/2)·Σw²</c>; gradient l1·sign(w) + l2·w.</remarks>
    public static Tensor ElasticNet(IEnumerable<Tensor> weights, double l1, double l2) => ElasticNet(weights, l1, l2, "ElasticNet");

    private static Tensor ElasticNet(IEnumerable<Tensor> weights, double l1, double l2, string op)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!(l1 >= 0) || !double.IsFinite(l1)) throw new ArgumentOutOfRangeException(nameof(l1), l1, $"Regularization.{op}: the L1 coefficient must be finite and non-negative, got {l1}");
        if (!(l2 >= 0) || !double.IsFinite(l2)) throw new ArgumentOutOfRangeException(nameof(l2), l2, $"Regularization.{op}: the L2 coefficient must be finite and non-negative, got {l2}");
        var list = weights.ToList();
        if (list.Count == 0) throw new ArgumentException($"Regularization.{op}: no weights given");
        Tensor? total = null;
        foreach (var w in list)
        {
            ArgumentNullException.ThrowIfNull(w, nameof(weights));
            if (l1 != 0) total = Accumulate(total, Term(w, l1, square: false));
            if (l2 != 0) total = Accumulate(total, Term(w, l2 / 2, square: true));
        }
        // Both coefficients zero: a zero that still depends on the weights (gradient 0).
        return total ?? Term(list[0], 0, square: true);
    }

    private static Tensor Term(Tensor w, double coefficient, bool square)
    {
        using var elementwise = square ? w.Mul(w) : w.Abs();
        using var sum = elementwise.Sum();
        return sum.Mul(coefficient);
    }

    private static Tensor Accumulate(Tensor? total, Tensor term)
    {
        if (total is null) return term;
        var next = total.Add(term);
        total.Dispose();
        term.Dispose();
        return next;
    }
}
