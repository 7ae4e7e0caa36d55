namespace AutoGradNet;

/// <summary>Functional autograd (PyTorch's <c>torch.autograd</c>).</summary>
public static class Autograd
{
    /// <summary>
    /// Gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/>, weighted by
    /// <paramref name="gradOutputs"/> (null entries mean ones, allowed for scalar outputs). Leaf <c>.Grad</c>
    /// fields are not touched.
    /// </summary>
    /// <param name="outputs">Tensors to differentiate.</param>
    /// <param name="inputs">Tensors to differentiate with respect to; each must require grad.</param>
    /// <param name="gradOutputs">Vector in the vector-Jacobian product, one per output (or null for all-ones on scalars).</param>
    /// <param name="retainGraph">Keep saved tensors so the graph can be differentiated again; defaults to <paramref name="createGraph"/>.</param>
    /// <param name="createGraph">Record the backward itself, so the returned gradients can be differentiated again.</param>
    /// <param name="allowUnused">Return null for inputs that do not influence the outputs instead of throwing.</param>
    public static Tensor?[] Grad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?>? gradOutputs = null,
        bool? retainGraph = null, bool createGraph = false, bool allowUnused = false)
    {
        if (inputs.Count == 0) throw new ArgumentException("Autograd.Grad: no inputs given");
        var gradsArray = gradOutputs is null ? new Tensor?[outputs.Count] : gradOutputs.ToArray();
        var result = Engine.Run(outputs.ToArray(), gradsArray, retainGraph ?? createGraph, createGraph, inputs.ToArray(), allowUnused, "Autograd.Grad")!;
        foreach (var g in result)
            if (g is not null && g.OwnerScope is null) DisposeScope.Current?.Adopt(g);
        return result;
    }

    /// <summary>Gradient of one output with respect to one input.</summary>
    public static Tensor Grad(Tensor output, Tensor input, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false) =>
        Grad([output], [input], [gradOutput], retainGraph, createGraph)[0]!;
}
