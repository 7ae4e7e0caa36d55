namespace AutoGradNet;

/// <summary>Which inputs of a node need a gradient (PyTorch's <c>ctx.needs_input_grad</c>).</summary>
public readonly struct NeedsGrad
{
    private readonly Node?[]? _next;
    internal NeedsGrad(Node?[] next) => _next = next;

    /// <summary>True when input <paramref name="i"/> needs a gradient.</summary>
    public bool this[int i] => _next is not null && i < _next.Length && _next[i] is not null;
}

/// <summary>Computes input gradients from the output gradient and the tensors saved in the forward pass.</summary>
/// <remarks>Written with differentiable tensor ops, so that <c>createGraph: true</c> yields higher-order gradients.</remarks>
public delegate Tensor?[] BackwardFn(Tensor grad, Tensor[] saved, NeedsGrad needs);

/// <summary>
/// One recorded operation on the tape: the op's single output, an edge to each input, the tensors the
/// backward formula needs, and the formula. Nodes are created by <see cref="Tape.Record"/>.
/// </summary>
public abstract class Node
{
    [ThreadStatic] private static long t_sequence;

    private protected Node(string name, Node?[] next)
    {
        Name = name;
        Next = next;
        Sequence = ++t_sequence;
        if (GradMode.IsAnomalyEnabled) ForwardTrace = Environment.StackTrace;
    }

    /// <summary>The name of the backward function, e.g. <c>MulBackward</c>.</summary>
    public string Name { get; }

    /// <summary>Per input: the node its gradient flows to, or null when that input needs none.</summary>
    internal Node?[] Next { get; }

    /// <summary>Creation order on this thread; later nodes run first in backward.</summary>
    internal long Sequence { get; }

    /// <summary>Where the forward op was called (anomaly mode only).</summary>
    internal string? ForwardTrace { get; }

    internal List<Func<Tensor, Tensor?>>? Hooks;

    internal abstract Tensor?[] Apply(Tensor grad);

    internal abstract void ReleaseSaved();

    /// <summary>The shape each input had in the forward pass: what its gradient must have.</summary>
    internal int[][] InputShapes { get; private protected init; } = [];

    internal NeedsGrad NeedsGradMask() => new(Next);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>A node whose backward is a <see cref="BackwardFn"/> over saved tensors.</summary>
internal sealed class FunctionNode : Node
{
    private readonly BackwardFn _backward;
    private Tensor[]? _saved;
    private readonly int[]? _versions;
    private readonly bool _hadSaved;

    public FunctionNode(string name, Node?[] next, int[][] inputShapes, BackwardFn backward, ReadOnlySpan<Tensor> saved) : base(name, next)
    {
        InputShapes = inputShapes;
        _backward = backward;
        if (saved.Length > 0)
        {
            _hadSaved = true;
            _saved = new Tensor[saved.Length];
            _versions = new int[saved.Length];
            for (int i = 0; i < saved.Length; i++)
            {
                _saved[i] = saved[i].Alias(shareAutograd: true);
                _versions[i] = saved[i].StorageRef.Version;
            }
        }
    }

    internal override Tensor?[] Apply(Tensor grad)
    {
        Tensor[] saved;
        if (_saved is null)
        {
            if (_hadSaved)
                throw new InvalidOperationException(
                    $"{Name}: trying to backward through the graph a second time, but the tensors it saved were already freed. " +
                    "Pass retainGraph: true to the first Backward/Grad call if you need to backward twice.");
            saved = [];
        }
        else
        {
            saved = _saved;
            for (int i = 0; i < saved.Length; i++)
            {
                if (saved[i].StorageRef.Version != _versions![i])
                    throw new InvalidOperationException(
                        $"{Name}: one of the tensors needed for gradient computation has been modified by an in-place operation: " +
                        $"saved tensor {i} of shape {ShapeUtil.Format(saved[i].ShapeArray)} was at version {_versions[i]} when saved and is now at version {saved[i].StorageRef.Version}.");
            }
        }
        return _backward(grad, saved, NeedsGradMask());
    }

    internal override void ReleaseSaved()
    {
        var saved = _saved;
        _saved = null;
        if (saved is null) return;
        foreach (var t in saved) t.Dispose();
    }
}

/// <summary>The sink of a leaf's gradient: runs the leaf's hooks and adds into <see cref="Tensor.Grad"/>.</summary>
internal sealed class AccumulateGrad : Node
{
    public AccumulateGrad(Tensor leaf, AutogradMeta meta) : base("AccumulateGrad", [])
    {
        Leaf = leaf;
        Meta = meta;
    }

    public Tensor Leaf { get; }
    public AutogradMeta Meta { get; }

    internal override Tensor?[] Apply(Tensor grad) => [];

    internal override void ReleaseSaved() { }
}
