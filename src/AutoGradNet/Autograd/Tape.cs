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
        var meta = Meta(output); // before the node aliases the saved tensors: a saved output must share it
        meta.GradFn = new FunctionNode(name, Edges(name, inputs), backward, saved);
        return output;
    }

    /// <summary>
    /// <see cref="Record(Tensor, string, BackwardFn, ReadOnlySpan{Tensor}, ReadOnlySpan{Tensor})"/> for a formula that
    /// takes the op's non-tensor arguments as <paramref name="state"/> (pass a <c>static</c> lambda): nothing is
    /// allocated for the formula, where a capturing lambda allocates a closure and a delegate per call.
    /// </summary>
    internal static Tensor Record<TState>(Tensor output, string name, TState state, BackwardFn<TState> backward, ReadOnlySpan<Tensor> inputs,
        ReadOnlySpan<Tensor> saved = default)
    {
        Profiler.OnRecord(name);
        if (!NeedsRecording(inputs)) return output;
        var meta = Meta(output);
        meta.GradFn = new FunctionNode<TState>(name, Edges(name, inputs), state, backward, saved);
        return output;
    }

    private static Edge[] Edges(string name, ReadOnlySpan<Tensor> inputs)
    {
        var edges = new Edge[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            Node? next = null;
            if (t.RequiresGrad)
            {
                if (!t.DType.IsFloatingPoint())
                    throw new InvalidOperationException($"{name}: input {i} of dtype {t.DType.Name()} cannot require a gradient");
                next = t.Meta!.GradFn ?? t.Meta.Accumulator(t);
            }
            edges[i] = new Edge(next, t.ShapeArray);
        }
        return edges;
    }

    private static AutogradMeta Meta(Tensor output)
    {
        var meta = output.Meta ??= new AutogradMeta();
        meta.RequiresGrad = true;
        return meta;
    }
}
