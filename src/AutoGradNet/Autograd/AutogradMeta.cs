namespace AutoGradNet;

/// <summary>The autograd identity of a variable: shared by a tensor and the aliases saved for its backward.</summary>
internal sealed class AutogradMeta
{
    public bool RequiresGrad;
    public Node? GradFn;
    public Tensor? Grad;
    /// <summary>Hooks of a leaf (a non-leaf keeps its hooks on its <see cref="GradFn"/>).</summary>
    public List<Func<Tensor, Tensor?>>? LeafHooks;
    private AccumulateGrad? _accumulator;

    public AccumulateGrad Accumulator(Tensor leaf) => _accumulator ??= new AccumulateGrad(leaf, this);
}
