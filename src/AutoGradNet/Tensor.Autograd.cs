namespace AutoGradNet;

public sealed partial class Tensor
{
    /// <summary>
    /// Whether gradients are computed for this tensor. Settable on leaves only (tensors not produced by a
    /// recorded op); only floating-point tensors can require grad.
    /// </summary>
    public bool RequiresGrad
    {
        get => Meta is { RequiresGrad: true };
        set
        {
            if (Meta?.GradFn is not null)
            {
                if (value) return;
                throw new InvalidOperationException(
                    $"RequiresGrad: can only change the flag of leaf tensors; this tensor (shape {Shape}) was produced by {Meta.GradFn.Name}. Use Detach() instead.");
            }
            if (value && !DType.IsFloatingPoint())
                throw new InvalidOperationException($"RequiresGrad: only floating-point tensors can require gradients, not {DType.Name()} (shape {Shape})");
            if (!value && Meta is null) return;
            (Meta ??= new AutogradMeta()).RequiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (PyTorch's <c>requires_grad_()</c>).</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward()"/>; null before the first backward.</summary>
    public Tensor? Grad
    {
        get => Meta?.Grad;
        set
        {
            if (value is not null && (!ShapeUtil.SequenceEqual(value.ShapeArray, _shape) || value.DType != DType || value.Device != Device))
                throw new ArgumentException($"Grad: assigned gradient {value.Shape} {value.DType.Name()} on {value.Device} does not match tensor {Shape} {DType.Name()} on {Device}");
            (Meta ??= new AutogradMeta()).Grad = value;
        }
    }

    /// <summary>The node that produced this tensor on the tape, or null for a leaf.</summary>
    public Node? GradFn => Meta?.GradFn;

    /// <summary>True when this tensor was not produced by a recorded op (user-created tensors, parameters).</summary>
    public bool IsLeaf => Meta?.GradFn is null;

    /// <summary>
    /// Computes the gradient of this tensor with respect to the graph leaves and adds it into their
    /// <see cref="Grad"/>. The tensor must hold one element (use <see cref="Backward(Tensor, bool, bool)"/> otherwise).
    /// </summary>
    public void Backward() => Backward(null, false, false);

    /// <summary>
    /// Backward with an explicit upstream gradient (the vector of the vector-Jacobian product).
    /// After backward the saved tensors are freed unless <paramref name="retainGraph"/>.
    /// </summary>
    public void Backward(Tensor? gradient, bool retainGraph = false, bool createGraph = false) =>
        Engine.Run([this], [gradient], retainGraph || createGraph, createGraph, [], allowUnused: true, "Backward");

    /// <summary>Clears the gradient (sets it to null, as PyTorch's <c>set_to_none=True</c>), or fills it with zeros.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        if (Meta?.Grad is not { } g) return;
        if (setToNone)
        {
            Meta.Grad = null;
            g.Dispose();
        }
        else g.ZeroInPlace();
    }

    /// <summary>A tensor sharing storage with this one, cut from the graph (never requires grad).</summary>
    public Tensor Detach()
    {
        var strides = _strides;
        return View(_shape, strides, Offset);
    }

    /// <summary>
    /// Registers a hook that sees the gradient flowing into this tensor and may return a replacement
    /// (or null to keep it). Dispose the returned handle to remove the hook.
    /// </summary>
    public IDisposable RegisterHook(Func<Tensor, Tensor?> hook)
    {
        if (!RequiresGrad)
            throw new InvalidOperationException($"RegisterHook: cannot register a hook on a tensor that does not require grad (shape {Shape})");
        List<Func<Tensor, Tensor?>> list = Meta!.GradFn is { } node
            ? node.Hooks ??= []
            : Meta.LeafHooks ??= [];
        list.Add(hook);
        return new HookHandle(list, hook);
    }

    private sealed class HookHandle(List<Func<Tensor, Tensor?>> list, Func<Tensor, Tensor?> hook) : IDisposable
    {
        public void Dispose() => list.Remove(hook);
    }
}
