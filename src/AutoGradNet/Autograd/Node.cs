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
/// A node whose backward reads tensors saved in the forward pass. It keeps each tensor itself plus a reference to its
/// storage (so disposing the tensor does not free the elements) and the storage version it had, to detect in-place
/// writes before backward. A saved tensor that was disposed by the time backward runs (a composite op frees its
/// intermediates on return) is handed to the formula as a fresh alias of the same view; one that is still alive is
/// handed over as is, so recording allocates no alias per saved tensor.
/// </summary>
internal abstract class SavedTensorsNode : Node
{
    private Tensor[]? _saved;
    // Per saved tensor: the storage it viewed when saved (one reference held) and that storage's version. The first
    // two inline: most ops save one or two tensors.
    private readonly Storage? _storage0, _storage1;
    private readonly int _version0, _version1;
    private readonly (Storage Storage, int Version)[]? _more;
    private ulong _aliased; // bit i: entry i of _saved was replaced by an alias made at backward (owned by this node)
    private readonly bool _hadSaved;

    private protected SavedTensorsNode(string name, Edge[] edges, ReadOnlySpan<Tensor> saved) : base(name, edges)
    {
        if (saved.Length == 0)
        {
            _saved = [];
            return;
        }
        _hadSaved = true;
        _saved = saved.ToArray();
        if (saved.Length > 2) _more = new (Storage, int)[saved.Length - 2];
        for (int i = 0; i < saved.Length; i++)
        {
            var t = saved[i];
            if (t.IsDisposed) t.ThrowIfDisposed($"{name}: save for backward");
            var storage = t.StorageRef;
            storage.AddRef();
            if (i == 0) (_storage0, _version0) = (storage, storage.Version);
            else if (i == 1) (_storage1, _version1) = (storage, storage.Version);
            else _more![i - 2] = (storage, storage.Version);
        }
    }

    private (Storage Storage, int Version) Slot(int i) => i == 0 ? (_storage0!, _version0) : i == 1 ? (_storage1!, _version1) : _more![i - 2];

    /// <summary>The saved tensors, after checking that none was freed, given other elements, or written in place since
    /// the forward pass.</summary>
    private protected Tensor[] Saved()
    {
        var saved = _saved;
        if (saved is null)
            throw new InvalidOperationException(
                $"{Name}: trying to backward through the graph a second time, but the tensors it saved were already freed. " +
                "Pass retainGraph: true to the first Backward/Grad call if you need to backward twice.");
        for (int i = 0; i < saved.Length; i++)
        {
            var (storage, version) = Slot(i);
            var t = saved[i];
            if (!ReferenceEquals(t.StorageRef, storage))
                throw new InvalidOperationException(
                    $"{Name}: saved tensor {i} of shape {ShapeUtil.Format(t.ShapeArray)} was given new data (its storage was replaced) after it was saved for backward.");
            if (storage.Version != version)
                throw new InvalidOperationException(
                    $"{Name}: one of the tensors needed for gradient computation has been modified by an in-place operation: " +
                    $"saved tensor {i} of shape {ShapeUtil.Format(t.ShapeArray)} was at version {version} when saved and is now at version {storage.Version}.");
            if (t.IsDisposed)
            {
                if (i >= 64) throw new NotSupportedException($"{Name}: more than 64 saved tensors");
                saved[i] = t.AliasOfDisposed();
                _aliased |= 1UL << i;
            }
        }
        return saved;
    }

    internal override void ReleaseSaved()
    {
        var saved = _saved;
        if (saved is null || !_hadSaved) return;
        _saved = null;
        for (int i = 0; i < saved.Length; i++)
        {
            if (i < 64 && (_aliased & (1UL << i)) != 0) saved[i].Dispose();
            Slot(i).Storage.Release();
        }
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
