namespace AutoGradNet;

/// <summary>
/// Runs backward over the recorded graph: nodes execute once all gradients flowing into them have arrived
/// (later-recorded nodes first among those ready), gradients reaching a tensor from several uses are summed,
/// and leaf gradients accumulate into <see cref="Tensor.Grad"/>.
/// </summary>
internal static class Engine
{
    /// <summary>
    /// The graph walk's collections, kept per thread between passes (cleared, capacity kept) so a training step's
    /// backward does not rebuild a dozen hash tables; a pass started while one runs (a hook or a backward formula
    /// calling backward) gets fresh ones.
    /// </summary>
    private sealed class PassState
    {
        public readonly Dictionary<Node, Tensor> Buffers = new(ReferenceEqualityComparer.Instance);
        public readonly HashSet<Tensor> Owned = new(ReferenceEqualityComparer.Instance);
        public readonly List<Node> Roots = [];
        public readonly PriorityQueue<Node, long> Ready = new();
        public readonly HashSet<Node> Enqueued = new(ReferenceEqualityComparer.Instance);
        public readonly Dictionary<Node, int> Dependencies = new(ReferenceEqualityComparer.Instance);
        public readonly HashSet<Node> Visited = new(ReferenceEqualityComparer.Instance);
        public readonly List<Node> Order = [];
        public readonly Stack<(Node Node, int Child)> Stack = new();
        public readonly HashSet<Node> Needed = new(ReferenceEqualityComparer.Instance);
        /// <summary>The scope each backward formula runs in, reopened for every node.</summary>
        public DisposeScope? NodeScope;

        /// <summary>Drops every reference (nodes, tensors) so nothing stays reachable from the thread.</summary>
        public void Clear()
        {
            Buffers.Clear();
            Owned.Clear();
            Roots.Clear();
            Ready.Clear();
            Enqueued.Clear();
            Dependencies.Clear();
            Visited.Clear();
            Order.Clear();
            Stack.Clear();
            Needed.Clear();
        }
    }

    [ThreadStatic] private static PassState? t_idle;

    public static Tensor?[]? Run(ReadOnlySpan<Tensor> outputs, ReadOnlySpan<Tensor?> gradOutputs, bool retainGraph,
        bool createGraph, ReadOnlySpan<Tensor> inputs, bool allowUnused, string caller)
    {
        var pass = Profiler.BeginPass();
        var state = t_idle ?? new PassState();
        t_idle = null;
        try
        {
            return RunPass(state, outputs, gradOutputs, retainGraph, createGraph, inputs, allowUnused, caller);
        }
        finally
        {
            state.Clear();
            t_idle = state;
            Profiler.EndPass(pass);
        }
    }

    private static Tensor?[]? RunPass(PassState state, ReadOnlySpan<Tensor> outputs, ReadOnlySpan<Tensor?> gradOutputs, bool retainGraph,
        bool createGraph, ReadOnlySpan<Tensor> inputs, bool allowUnused, string caller)
    {
        if (gradOutputs.Length != outputs.Length)
            throw new ArgumentException($"{caller}: got {outputs.Length} outputs but {gradOutputs.Length} gradients");

        var buffers = state.Buffers;
        var owned = state.Owned;
        var roots = state.Roots;
        using (GradMode.Set(createGraph))
        {
            for (int i = 0; i < outputs.Length; i++)
            {
                var output = outputs[i];
                output.ThrowIfDisposed(caller);
                if (!output.RequiresGrad)
                    throw new InvalidOperationException(
                        $"{caller}: output {i} (shape {output.Shape}) does not require grad and has no grad_fn; nothing to differentiate");
                var node = output.Meta!.GradFn ?? output.Meta.Accumulator(output);
                Tensor grad;
                if (gradOutputs[i] is { } g)
                {
                    if (!ShapeUtil.SequenceEqual(g.ShapeArray, output.ShapeArray) || g.DType != output.DType || g.Device != output.Device)
                        throw new ArgumentException(
                            $"{caller}: gradient {i} has shape {g.Shape} {g.DType.Name()} on {g.Device} but output {i} has shape {output.Shape} {output.DType.Name()} on {output.Device}");
                    grad = g.Alias(shareAutograd: createGraph);
                }
                else
                {
                    if (output.Numel != 1)
                        throw new InvalidOperationException(
                            $"{caller}: a gradient can be created implicitly only for a scalar output, but output {i} has shape {output.Shape}; pass a gradient");
                    grad = Tensor.OnesLike(output);
                }
                Accumulate(buffers, owned, node, grad);
                roots.Add(node);
            }
        }

        Dictionary<Node, int>? targets = null;
        if (inputs.Length > 0)
        {
            targets = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < inputs.Length; i++)
            {
                var input = inputs[i];
                if (!input.RequiresGrad)
                    throw new InvalidOperationException($"{caller}: input {i} (shape {input.Shape}) does not require grad");
                var node = input.Meta!.GradFn ?? input.Meta.Accumulator(input);
                if (!targets.TryAdd(node, i))
                    throw new ArgumentException($"{caller}: input {i} is the same tensor as input {targets[node]}");
            }
        }

        var dependencies = CountDependencies(state, roots, targets, out var needed);
        var captured = targets is null ? null : new Tensor?[inputs.Length];
        var ready = state.Ready;
        // Roots that are descendants of other roots wait for their dependencies like any node.
        var enqueued = state.Enqueued;
        foreach (var root in roots)
            if (dependencies.GetValueOrDefault(root) == 0 && needed.Contains(root) && enqueued.Add(root))
                ready.Enqueue(root, -root.Sequence);

        using var mode = GradMode.Set(createGraph);
        while (ready.TryDequeue(out var node, out _))
        {
            buffers.Remove(node, out var grad);
            if (grad is not null) grad = RunHooks(node, grad, owned);

            bool keepGrad = false;
            if (targets is not null && targets.TryGetValue(node, out int slot))
            {
                captured![slot] = grad;
                keepGrad = true;
            }
            if (node is AccumulateGrad acc)
            {
                if (targets is null && grad is not null) keepGrad = AccumulateIntoLeaf(acc, grad, createGraph, owned);
            }
            else if (grad is not null && FeedsNeededNode(node, needed))
            {
                Tensor?[] results;
                // Temporaries of the backward formula die with this scope; the returned gradients move out.
                long started = Profiler.Now();
                var scope = state.NodeScope;
                if (scope is null) state.NodeScope = scope = new DisposeScope();
                else scope.Reopen();
                using (scope)
                {
                    results = node.Apply(grad);
                    foreach (var r in results)
                        if (r is not null && ReferenceEquals(r.OwnerScope, scope)) scope.MoveToOuter(r);
                }
                Profiler.OnBackward(node.Name, started);
                if (GradMode.IsAnomalyEnabled) CheckAnomaly(node, results);
                for (int i = 0; i < node.Edges.Length; i++)
                {
                    var child = node.Edges[i].Next;
                    if (child is null || i >= results.Length || results[i] is not { } r) continue;
                    if (!needed.Contains(child)) continue;
                    ValidateGradient(node, i, r);
                    if (owned.Contains(r)) r = r.Alias(shareAutograd: createGraph);
                    Accumulate(buffers, owned, child, r);
                }
            }
            if (!retainGraph) node.ReleaseSaved();
            if (grad is not null && !keepGrad)
            {
                owned.Remove(grad);
                grad.Dispose();
            }

            foreach (var edge in node.Edges)
            {
                var child = edge.Next;
                if (child is null || !needed.Contains(child)) continue;
                int left = --dependencies[child];
                if (left == 0 && enqueued.Add(child)) ready.Enqueue(child, -child.Sequence);
            }
        }

        foreach (var leftover in buffers.Values) leftover.Dispose();

        if (captured is not null && !allowUnused)
        {
            for (int i = 0; i < captured.Length; i++)
                if (captured[i] is null)
                    throw new InvalidOperationException(
                        $"{caller}: input {i} (shape {inputs[i].Shape}) was not used to compute the outputs; pass allowUnused: true to get null for it");
        }
        return captured;
    }

    private static bool FeedsNeededNode(Node node, HashSet<Node> needed)
    {
        foreach (var edge in node.Edges)
            if (edge.Next is { } child && needed.Contains(child)) return true;
        return false;
    }

    private static void Accumulate(Dictionary<Node, Tensor> buffers, HashSet<Tensor> owned, Node node, Tensor grad)
    {
        if (buffers.TryGetValue(node, out var existing))
        {
            var sum = existing.Add(grad);
            owned.Remove(existing);
            owned.Remove(grad);
            existing.Dispose();
            grad.Dispose();
            grad = sum;
        }
        buffers[node] = grad;
        owned.Add(grad);
    }

    private static Tensor RunHooks(Node node, Tensor grad, HashSet<Tensor> owned)
    {
        var hooks = node is AccumulateGrad acc ? acc.Meta.LeafHooks : node.Hooks;
        if (hooks is null) return grad;
        foreach (var hook in hooks.ToArray())
        {
            var replaced = hook(grad);
            if (replaced is null || ReferenceEquals(replaced, grad)) continue;
            if (!ShapeUtil.SequenceEqual(replaced.ShapeArray, grad.ShapeArray) || replaced.DType != grad.DType)
                throw new InvalidOperationException(
                    $"hook on {node.Name}: returned a gradient of shape {replaced.Shape} {replaced.DType.Name()}, expected {grad.Shape} {grad.DType.Name()}");
            owned.Remove(grad);
            grad.Dispose();
            grad = owned.Contains(replaced) ? replaced.Alias(true) : replaced;
            owned.Add(grad);
        }
        return grad;
    }

    /// <returns>True when the leaf took ownership of <paramref name="grad"/>.</returns>
    private static bool AccumulateIntoLeaf(AccumulateGrad acc, Tensor grad, bool createGraph, HashSet<Tensor> owned)
    {
        var meta = acc.Meta;
        if (!ShapeUtil.SequenceEqual(grad.ShapeArray, acc.Leaf.ShapeArray))
            throw new InvalidOperationException($"AccumulateGrad: gradient of shape {grad.Shape} for a leaf of shape {acc.Leaf.Shape}");
        if (meta.Grad is null || meta.Grad.IsDisposed)
        {
            if (createGraph || (grad.StorageRef.RefCount == 1 && grad.IsContiguous && grad.Offset == 0))
            {
                owned.Remove(grad);
                meta.Grad = DisposeScope.Detach(grad);
                return true;
            }
            using (GradMode.NoGrad()) meta.Grad = DisposeScope.Detach(grad.Clone());
            return false;
        }
        if (createGraph)
        {
            meta.Grad = DisposeScope.Detach(meta.Grad.Add(grad));
            return false;
        }
        meta.Grad.AddInPlace(grad);
        return false;
    }

    private static void ValidateGradient(Node node, int index, Tensor grad)
    {
        var expected = node.Edges.Length > index ? node.Edges[index].Shape : null;
        if (expected is not null && !ShapeUtil.SequenceEqual(grad.ShapeArray, expected))
            throw new InvalidOperationException(
                $"{node.Name} returned a gradient of shape {grad.Shape} for input {index}, which has shape {ShapeUtil.Format(expected)}");
    }

    private static void CheckAnomaly(Node node, Tensor?[] results)
    {
        for (int i = 0; i < results.Length; i++)
        {
            if (results[i] is { } r && r.DType.IsFloatingPoint() && r.HasNonFinite())
                throw new AnomalyException(
                    $"Function '{node.Name}' returned NaN or infinity in its gradient for input {i} (shape {r.Shape})." +
                    (node.ForwardTrace is null ? "" : $"{Environment.NewLine}The forward call that recorded it:{Environment.NewLine}{node.ForwardTrace}"));
        }
    }

    /// <summary>
    /// Number of edges into each reachable node, and the set of nodes whose execution matters: all reachable
    /// nodes, or with <paramref name="targets"/> only those from which a target can be reached.
    /// </summary>
    private static Dictionary<Node, int> CountDependencies(PassState state, List<Node> roots, Dictionary<Node, int>? targets, out HashSet<Node> needed)
    {
        var deps = state.Dependencies;
        var visited = state.Visited;
        var order = state.Order;
        var stack = state.Stack;
        foreach (var root in roots)
        {
            if (!visited.Add(root)) continue;
            stack.Push((root, 0));
            while (stack.Count > 0)
            {
                var (node, child) = stack.Pop();
                if (child < node.Edges.Length)
                {
                    stack.Push((node, child + 1));
                    var next = node.Edges[child].Next;
                    if (next is null) continue;
                    deps[next] = deps.GetValueOrDefault(next) + 1;
                    if (visited.Add(next)) stack.Push((next, 0));
                }
                else order.Add(node); // post-order: children before parents
            }
        }

        needed = state.Needed;
        foreach (var node in order)
        {
            bool need = targets is null || targets.ContainsKey(node);
            if (!need)
                foreach (var edge in node.Edges)
                    if (edge.Next is { } next && needed.Contains(next)) { need = true; break; }
            if (need) needed.Add(node);
        }
        if (targets is not null)
        {
            // Edges from unneeded nodes never deliver; do not wait for them.
            foreach (var node in order)
                if (!needed.Contains(node))
                    foreach (var edge in node.Edges)
                        if (edge.Next is { } next) deps[next]--;
        }
        return deps;
    }
}
