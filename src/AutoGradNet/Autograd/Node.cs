namespace AutoGradNet;

/// <summary>Which inputs of a node need a gradient (PyTorch's <c>ctx.needs_input_grad</c>).</summary>
public readonly struct NeedsGrad
{
    private readonly Edge[]? _edges;
    internal NeedsGrad(Edge[] edges) => _edges = edges;

    /// <summary>True when input <paramref name="i"/> needs a gradient.</summary>
    public bool this[int i] => _edges is not null && i < _edges.Length && _edges[i].Next is not null;
}

/// <summary>Computes input gradients from the output gradient and the tensors saved in the forward pass.</summary>
/// <remarks>Written with differentiable tensor ops, so that <c>createGraph: true</c> yields higher-order gradients.</remarks>
public delegate Tensor?[] BackwardFn(Tensor grad, Tensor[] saved, NeedsGrad needs);

/// <summary>A <see cref="BackwardFn"/> that gets the op's non-tensor arguments as a value instead of capturing them:
/// a <c>static</c> lambda of this type is allocated once, where a capturing one costs a closure and a delegate per
/// recorded op.</summary>
internal delegate Tensor?[] BackwardFn<TState>(Tensor grad, Tensor[] saved, NeedsGrad needs, in TState state);

/// <summary>One input of a node: the node its gradient flows to (null when that input needs none) and the shape the
/// input had in the forward pass, which its gradient must have.</summary>
internal readonly struct Edge(Node? next, int[] shape)
{
    public Node? Next { get; } = next;
    public int[] Shape { get; } = shape;
}

/// <summary>
/// One recorded operation on the tape: the op's single output, an edge to each input, the tensors the
/// backward formula needs, and the formula. Nodes are created by <see cref="Tape.Record"/>.
/// </summary>
public abstract class Node
{
    [ThreadStatic] private static long t_sequence;

    private protected Node(string name, Edge[] edges)
    {
        Name = name;
        Edges = edges;
        Sequence = ++t_sequence;
        if (GradMode.IsAnomalyEnabled) ForwardTrace = Environment.StackTrace;
    }

    /// <summary>The name of the backward function, e.g. <c>MulBackward</c>.</summary>
    public string Name { get; }

    /// <summary>Per input: where its gradient flows and the shape it must have.</summary>
    internal Edge[] Edges { get; }

    /// <summary>Creation order on this thread; later nodes run first in backward.</summary>
    internal long Sequence { get; }

    /// <summary>Where the forward op was called (anomaly mode only).</summary>
    internal string? ForwardTrace { get; }

    internal List<Func<Tensor, Tensor?>>? Hooks;

    internal abstract Tensor?[] Apply(Tensor grad);

    internal abstract void ReleaseSaved();

    internal NeedsGrad NeedsGradMask() => new(Edges);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// A node whose backward reads tensors saved in the forward pass: it keeps an alias of each (so disposing the forward
/// tensor does not free them) and the storage version each had, to detect in-place writes before backward.
/// </summary>
internal abstract class SavedTensorsNode : Node
{
    private Tensor[]? _saved;
    private readonly int _version0, _version1; // the first two versions inline: most ops save one or two tensors
    private readonly int[]? _moreVersions;
    private readonly bool _hadSaved;

    private protected SavedTensorsNode(string name, Edge[] edges, ReadOnlySpan<Tensor> saved) : base(name, edges)
    {
        if (saved.Length == 0)
        {
            _saved = [];
            return;
        }
        _hadSaved = true;
        _saved = new Tensor[saved.Length];
        if (saved.Length > 2) _moreVersions = new int[saved.Length - 2];
        for (int i = 0; i < saved.Length; i++)
        {
            _saved[i] = saved[i].Alias(shareAutograd: true);
            int version = saved[i].StorageRef.Version;
            if (i == 0) _version0 = version;
            else if (i == 1) _version1 = version;
            else _moreVersions![i - 2] = version;
        }
    }

    private int SavedVersion(int i) => i == 0 ? _version0 : i == 1 ? _version1 : _moreVersions![i - 2];

    /// <summary>The saved tensors, after checking that none was freed or written in place since the forward pass.</summary>
    private protected Tensor[] Saved()
    {
        var saved = _saved;
        if (saved is null)
            throw new InvalidOperationException(
                $"{Name}: trying to backward through the graph a second time, but the tensors it saved were already freed. " +
                "Pass retainGraph: true to the first Backward/Grad call if you need to backward twice.");
        for (int i = 0; i < saved.Length; i++)
        {
            if (saved[i].StorageRef.Version != SavedVersion(i))
                throw new InvalidOperationException(
                    $"{Name}: one of the tensors needed for gradient computation has been modified by an in-place operation: " +
                    $"saved tensor {i} of shape {ShapeUtil.Format(saved[i].ShapeArray)} was at version {SavedVersion(i)} when saved and is now at version {saved[i].StorageRef.Version}.");
        }
        return saved;
    }

    internal override void ReleaseSaved()
    {
        var saved = _saved;
        if (saved is null || !_hadSaved) return;
        _saved = null;
        foreach (var t in saved) t.Dispose();
    }
}

/// <summary>A node whose backward is a <see cref="BackwardFn"/> over saved tensors.</summary>
internal sealed class FunctionNode(string name, Edge[] edges, BackwardFn backward, ReadOnlySpan<Tensor> saved)
    : SavedTensorsNode(name, edges, saved)
{
    internal override Tensor?[] Apply(Tensor grad) => backward(grad, Saved(), NeedsGradMask());
}

/// <summary>A node whose backward is a <see cref="BackwardFn{TState}"/> over saved tensors and the op's arguments.</summary>
internal sealed class FunctionNode<TState>(string name, Edge[] edges, TState state, BackwardFn<TState> backward, ReadOnlySpan<Tensor> saved)
    : SavedTensorsNode(name, edges, saved)
{
    private readonly TState _state = state;

    internal override Tensor?[] Apply(Tensor grad) => backward(grad, Saved(), NeedsGradMask(), in _state);
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
