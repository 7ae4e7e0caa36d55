namespace AutoGradNet.Nn;

/// <summary>y = x·Wᵀ + b over the last dim (PyTorch's <c>nn.Linear</c>); W is [out, in], initialised U(±1/√in).</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    /// <summary>A layer from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
    {
        if (inFeatures < 0 || outFeatures < 0) throw new ArgumentException($"Linear: feature counts must be non-negative, got {inFeatures} → {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = RegisterParameter("weight", Tensor.Zeros([outFeatures, inFeatures], dtype))!;
        var b = RegisterParameter("bias", bias ? Tensor.Zeros([outFeatures], dtype) : null);
        Init.DefaultLayer(w, b, generator);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }
    /// <summary>[out, in].</summary>
    public Tensor Weight => Parameter("weight")!;
    /// <summary>[out], or null.</summary>
    public Tensor? Bias => Parameter("bias");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Tensor.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={Bias is not null}";
}
