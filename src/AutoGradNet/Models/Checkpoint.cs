namespace AutoGradNet.Models;

/// <summary>
/// Gradient checkpointing (PyTorch's <c>torch.utils.checkpoint</c>): trade compute for memory by not keeping a
/// function's intermediate tensors for backward, and recomputing them when the gradient arrives.
/// </summary>
public static class Checkpoint
{
    /// <summary>
    /// Runs <paramref name="function"/> on <paramref name="inputs"/> without recording it, and records one node whose
    /// backward detaches the saved inputs, re-runs <paramref name="replay"/> on them with grad enabled and
    /// backpropagates the output gradient through that recomputation. Only the inputs are kept for backward; every
    /// tensor the function creates is freed after the forward pass.
    /// </summary>
    /// <param name="inputs">
    /// Every tensor the result depends on that may need a gradient, parameters included.
    /// The functions must read them from their argument, not from elsewhere, or those gradients are lost.
    /// </param>
    /// <param name="function">The forward computation (it may have side effects such as updating batch-norm running statistics).</param>
    /// <param name="replay">The recomputation in backward: the same values as <paramref name="function"/>, without side effects
    /// (defaults to <paramref name="function"/>).</param>
    /// <param name="name">Name of the recorded node.</param>
    /// <remarks>Gradients are those of the plain computation. Higher-order gradients (<c>createGraph</c>) are not supported.</remarks>
    public static Tensor Run(IReadOnlyList<Tensor> inputs, Func<IReadOnlyList<Tensor>, Tensor> function,
        Func<IReadOnlyList<Tensor>, Tensor>? replay = null, string name = "CheckpointBackward")
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(function);
        var array = inputs.ToArray();
        if (!Tape.NeedsRecording(array)) return function(array);
        Tensor output;
        // The function's temporaries die here (not at the end of the caller's dispose scope): that is the memory saved.
        using (GradMode.NoGrad())
        using (var scope = Tensor.NewDisposeScope())
        {
            output = function(array);
            if (ReferenceEquals(output.OwnerScope, scope)) scope.MoveToOuter(output);
        }
        replay ??= function;
        return Tape.Record(output, name, (grad, saved, needs) =>
        {
            if (GradMode.IsEnabled)
                throw new NotSupportedException($"{name}: checkpointed computations do not support higher-order gradients (createGraph)");
            var detached = new Tensor[saved.Length];
            var wanted = new List<int>();
            for (int i = 0; i < saved.Length; i++)
            {
                detached[i] = saved[i].Detach();
                if (needs[i] && saved[i].DType.IsFloatingPoint())
                {
                    detached[i].RequiresGrad_();
                    wanted.Add(i);
                }
            }
            var grads = new Tensor?[saved.Length];
            if (wanted.Count == 0) return grads;
            using (GradMode.EnableGrad())
            {
                var recomputed = replay(detached);
                var partial = Autograd.Grad([recomputed], wanted.Select(i => detached[i]).ToArray(), [grad], allowUnused: true);
                for (int k = 0; k < wanted.Count; k++) grads[wanted[k]] = partial[k];
            }
            return grads;
        }, array, saved: array);
    }
}
