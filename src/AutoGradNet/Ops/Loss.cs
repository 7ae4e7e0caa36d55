namespace AutoGradNet;

/// <summary>How a loss combines per-element values (PyTorch's <c>reduction=</c>).</summary>
public enum Reduction
{
    /// <summary>The per-element losses, unreduced.</summary>
    None,
    /// <summary>The mean over elements (the default).</summary>
    Mean,
    /// <summary>The sum over elements.</summary>
    Sum,
}

/// <summary>Loss functions (PyTorch's <c>torch.nn.functional</c> losses), composed from differentiable ops.</summary>
public static class Loss
{
    private static Tensor Reduce(Tensor values, Reduction reduction) => reduction switch
    {
        Reduction.None => values,
        Reduction.Sum => values.Sum(),
        _ => values.Mean(),
    };

    /// <summary>
    /// Cross-entropy between logits [N, C] (or [N, C, d1, …]) and class indices [N] (or [N, d1, …]), int64.
    /// With label smoothing ε the target is (1 − ε)·one-hot + ε/C.
    /// </summary>
    /// <remarks>loss = (1 − ε)·(−log pₜ) + ε·mean_c(−log p_c), with log p = log_softmax over dim 1.</remarks>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        using var composite = Tensor.OpenComposite();
        const string name = "cross_entropy";
        if (labelSmoothing is < 0 or > 1) throw new ArgumentException($"{name}: label smoothing must be in [0, 1], got {labelSmoothing}");
        CheckClassInputs(logits, target, name);
        if (labelSmoothing == 0 && logits.Rank == 2) return composite.Keep(CrossEntropyNode(logits, target, reduction));
        var logp = logits.LogSoftmax(1);
        var nll = NllLoss(logp, target, Reduction.None);
        if (labelSmoothing > 0)
        {
            var smooth = logp.Mean(1).Neg();
            nll = nll.Mul(1 - labelSmoothing).Add(smooth.Mul(labelSmoothing));
        }
        return composite.Keep(Reduce(nll, reduction));
    }

    /// <summary>
    /// Cross-entropy of logits [N, C] without label smoothing as one recorded op (a classifier's loss every step):
    /// the forward runs log_softmax, gather and the reduction unrecorded, and the backward is the closed form
    /// ∂loss/∂logits[n, c] = wₙ·(softmax[n, c] − [c = tₙ]) with wₙ = g (sum), g/N (mean) or g[n] (none), instead of the
    /// backward passes of five recorded ops. softmax comes from the saved log-probabilities, or, when the backward
    /// itself is recorded (double backward), from the saved logits through recorded ops.
    /// </summary>
    private static Tensor CrossEntropyNode(Tensor logits, Tensor target, Reduction reduction)
    {
        Tensor logp, loss;
        using (GradMode.NoGrad())
        {
            logp = logits.LogSoftmax(1);
            loss = NllLoss(logp, target, reduction);
        }
        return Tape.Record(loss, "CrossEntropyBackward", (target, reduction), static (g, s, _, in st) =>
        {
            var (target, reduction) = st;
            Tensor logits = s[0], logp = s[1];
            var probabilities = GradMode.IsEnabled ? logits.Softmax(1) : logp.Exp();
            var minusOne = Tensor.Full([target.Size(0), 1], -1.0, logits.DType, logits.Device);
            var delta = probabilities.ScatterAdd(1, target.Unsqueeze(1), minusOne);
            var weight = reduction switch
            {
                Reduction.None => g.Unsqueeze(1),
                Reduction.Sum => g,
                _ => g.Div(Math.Max(1, target.Size(0))),
            };
            return [delta.Mul(weight)];
        }, [logits], [logits, logp]);
    }

    /// <summary>Negative log-likelihood: −input[n, target[n]] for log-probabilities [N, C] (or [N, C, d1, …]).</summary>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, Reduction reduction = Reduction.Mean)
    {
        using var composite = Tensor.OpenComposite();
        const string name = "nll_loss";
        CheckClassInputs(logProbs, target, name);
        int classes = logProbs.Size(1);
        Tensor gathered;
        try
        {
            // Gather checks every index on each backend (the GPU kernels report one back), so no separate pass
            // over the targets is needed.
            gathered = logProbs.Gather(1, target.Unsqueeze(1));
        }
        catch (IndexOutOfRangeException e)
        {
            throw new ArgumentException($"{name}: target holds class indices outside [0, {classes}) for input of shape {logProbs.Shape}", e);
        }
        return composite.Keep(Reduce(gathered.Squeeze(1).Neg(), reduction));
    }

    private static void CheckClassInputs(Tensor input, Tensor target, string name)
    {
        Guard.Float(input, name);
        Guard.Index(target, name);
        if (input.Rank < 2)
            throw new ArgumentException($"{name}: input must be [N, C] or [N, C, d1, …], got {input.Shape}");
        var expected = new List<int> { input.Size(0) };
        for (int d = 2; d < input.Rank; d++) expected.Add(input.Size(d));
        if (!ShapeUtil.SequenceEqual(expected.ToArray(), target.ShapeArray))
            throw new ArgumentException($"{name}: target shape {target.Shape} does not match input {input.Shape} (expected {ShapeUtil.Format(expected.ToArray())})");
    }

    /// <summary>Mean squared error (input − target)².</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        using var composite = Tensor.OpenComposite();
        CheckSameShape(input, target, "mse_loss");
        var d = input.Sub(target);
        return composite.Keep(Reduce(d.Mul(d), reduction));
    }

    /// <summary>Mean absolute error |input − target|.</summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        using var composite = Tensor.OpenComposite();
        CheckSameShape(input, target, "l1_loss");
        return composite.Keep(Reduce(input.Sub(target).Abs(), reduction));
    }

    /// <summary>
    /// Binary cross-entropy on logits x with targets y ∈ [0, 1]: max(x, 0) − x·y + log(1 + e^(−|x|)), stable for large |x|.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, Tensor? posWeight = null)
    {
        using var composite = Tensor.OpenComposite();
        CheckSameShape(logits, target, "binary_cross_entropy_with_logits");
        var softplusNeg = logits.Neg().LogOnePlusExp(); // log(1 + e^(−x)), with the right gradient at x = 0
        Tensor loss = posWeight is null
            ? logits.Mul(target.RSub(1.0)).Add(softplusNeg)
            : logits.Mul(target.RSub(1.0)).Add(softplusNeg.Mul(posWeight.Sub(1.0).Mul(target).Add(1.0)));
        return composite.Keep(Reduce(loss, reduction));
    }

    private static void CheckSameShape(Tensor input, Tensor target, string name)
    {
        Guard.Compatible(input, target, name);
        Guard.Float(input, name);
        if (!ShapeUtil.SequenceEqual(input.ShapeArray, target.ShapeArray))
            throw new ArgumentException($"{name}: input shape {input.Shape} and target shape {target.Shape} differ");
    }
}
