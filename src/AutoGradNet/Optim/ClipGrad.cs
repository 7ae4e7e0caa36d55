namespace AutoGradNet.Optim;

/// <summary>
/// Gradient clipping (PyTorch's <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>): rescales or
/// clamps the <see cref="Tensor.Grad"/> of parameters in place. Parameters without a gradient are skipped.
/// </summary>
public static class ClipGrad
{
    /// <summary>
    /// Scales all gradients together so that their total norm is at most <paramref name="maxNorm"/>, and returns the
    /// total norm before clipping (0 when no parameter has a gradient).
    /// </summary>
    /// <remarks>
    /// <code>
    /// N = (Σᵢ ‖gᵢ‖ₚᵖ)^(1/p)   (p = ∞: maxᵢ ‖gᵢ‖∞)
    /// c = maxNorm / (N + 1e-6);   gᵢ ← gᵢ·min(c, 1)
    /// </code>
    /// As in PyTorch, gradients change only when c &lt; 1, i.e. when N &gt; maxNorm − 1e-6; a NaN norm makes every
    /// gradient NaN unless <paramref name="errorIfNonfinite"/>. NOTE: each ‖gᵢ‖ is computed in the gradient's dtype,
    /// the combination N in double (PyTorch combines in the gradients' dtype); the returned value is a double
    /// rather than a tensor.
    /// </remarks>
    /// <param name="parameters">Tensors whose gradients are clipped.</param>
    /// <param name="maxNorm">The largest allowed total norm (≥ 0).</param>
    /// <param name="normType">p of the p-norm (&gt; 0; <see cref="double.PositiveInfinity"/> for the max norm).</param>
    /// <param name="errorIfNonfinite">Throw when the total norm is NaN or infinite (gradients are then left unchanged).</param>
    public static double Norm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"ClipGrad.Norm: maxNorm must be non-negative, got {maxNorm}");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, $"ClipGrad.Norm: normType must be positive (or infinity), got {normType}");
        var grads = Grads(parameters);
        if (grads.Count == 0) return 0;
        using var mode = GradMode.NoGrad();
        bool inf = double.IsPositiveInfinity(normType);
        double total = 0;
        foreach (var g in grads)
        {
            using var n = g.Norm(normType);
            double v = n.Item();
            if (inf) total = double.IsNaN(v) || v > total ? v : total;
            else total += Math.Pow(v, normType);
        }
        if (!inf) total = Math.Pow(total, 1 / normType);
        if (errorIfNonfinite && !double.IsFinite(total))
            throw new ArithmeticException($"ClipGrad.Norm: the total {normType}-norm of the gradients of {grads.Count} parameters is {total}; set errorIfNonfinite = false to clip anyway");
        double coefficient = maxNorm / (total + 1e-6);
        double clamped = double.IsNaN(coefficient) ? coefficient : Math.Min(coefficient, 1.0);
        if (clamped != 1)
            foreach (var g in grads) g.MulInPlace(clamped);
        return total;
    }

    /// <summary>Clamps every gradient element to [−<paramref name="clipValue"/>, <paramref name="clipValue"/>] in place.</summary>
    /// <remarks><c>gᵢ ← min(max(gᵢ, −c), c)</c></remarks>
    /// <param name="parameters">Tensors whose gradients are clipped.</param>
    /// <param name="clipValue">The bound c (≥ 0).</param>
    public static void Value(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, $"ClipGrad.Value: clipValue must be non-negative, got {clipValue}");
        using var mode = GradMode.NoGrad();
        foreach (var g in Grads(parameters)) g.ClampInPlace(-clipValue, clipValue);
    }

    private static List<Tensor> Grads(IEnumerable<Tensor> parameters)
    {
        var grads = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (p.Grad is { } g && seen.Add(g)) grads.Add(g);
        }
        return grads;
    }
}
