namespace AutoGradNet;

/// <summary>
/// Records operations for backward. An op computes its output, then calls <see cref="Record"/> with its
/// inputs, the tensors its backward needs, and the backward formula; nothing is recorded when grad mode is off
/// or no input requires a gradient.
/// </summary>
public static class Tape
{
    /// <summary>True when an op on these inputs must record its backward.</summary>
    public static bool NeedsRecording(Tensor a) => GradMode.IsEnabled && a.RequiresGrad;

    /// <summary>True when an op on these inputs must record its backward.</summary>
    public static bool NeedsRecording(Tensor a, Tensor b) => GradMode.IsEnabled && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>True when an op on these inputs must record its backward.</summary>
    public static bool NeedsRecording(ReadOnlySpan<Tensor> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var t in inputs)
            if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Attaches a backward node to <paramref name="output"/> when recording is needed.
    /// <paramref name="saved"/> tensors are kept (as aliases with their version) until backward frees them.
    /// </summary>
    /// <returns><paramref name="output"/>, for chaining.</returns>
    public static Tensor Record(Tensor output, string name, BackwardFn backward, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> saved = default)
    {
        Profiler.OnRecord(name);
        if (!NeedsRecording(inputs)) return output;
        var next = new Node?[inputs.Length];
        var shapes = new int[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            shapes[i] = t.ShapeArray;
            if (!t.RequiresGrad) continue;
            if (!t.DType.IsFloatingPoint())
                throw new InvalidOperationException($"{name}: input {i} of dtype {t.DType.Name()} cannot require a gradient");
            next[i] = t.Meta!.GradFn ?? t.Meta.Accumulator(t);
        }
        var meta = output.Meta ??= new AutogradMeta();
        meta.RequiresGrad = true;
        meta.GradFn = new FunctionNode(name, next, shapes, backward, saved);
        return output;
    }
}
