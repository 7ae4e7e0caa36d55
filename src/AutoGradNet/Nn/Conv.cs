namespace AutoGradNet.Nn;

/// <summary>Shared parts of the convolution layers: hyper-parameters, weight and bias registration, PyTorch's initialisation.</summary>
public abstract class ConvBase : Module<Tensor, Tensor>
{
    private protected ConvBase(int inChannels, int outChannels, int[] kernel, int groups, bool bias, bool transposed, DType dtype, Generator? generator, string name)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException($"{name}: channel counts must be positive, got {inChannels} → {outChannels}");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: in_channels {inChannels} and out_channels {outChannels} must be divisible by groups={groups}");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernel;
        Groups = groups;
        int[] shape = transposed ? [inChannels, outChannels / groups, .. kernel] : [outChannels, inChannels / groups, .. kernel];
        var w = RegisterParameter("weight", Tensor.Zeros(shape, dtype))!;
        var b = RegisterParameter("bias", bias ? Tensor.Zeros([outChannels], dtype) : null);
        Init.DefaultLayer(w, b, generator);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size per spatial dim.</summary>
    public int[] KernelSize { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The kernel.</summary>
    public Tensor Weight => Parameter("weight")!;
    /// <summary>The bias, or null.</summary>
    public Tensor? Bias => Parameter("bias");

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{InChannels}, {OutChannels}, kernel_size=({string.Join(", ", KernelSize)}), groups={Groups}, bias={Bias is not null}";
}

/// <summary>1-D convolution layer (PyTorch's <c>nn.Conv1d</c>).</summary>
public sealed class Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
    bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
    : ConvBase(inChannels, outChannels, [kernelSize], groups, bias, false, dtype, generator, "Conv1d")
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv1d(input, Weight, Bias, stride, padding, dilation, Groups);
}

/// <summary>2-D convolution layer (PyTorch's <c>nn.Conv2d</c>); weight [out, in/groups, kh, kw].</summary>
public sealed class Conv2d : ConvBase
{
    private readonly Ints _stride, _dilation;
    private readonly Padding _padding;

    /// <summary>A layer with the given hyper-parameters (int or per-dim values; padding may be "same" or "valid").</summary>
    public Conv2d(int inChannels, int outChannels, Ints kernelSize, Ints? stride = null, Padding? padding = null, Ints? dilation = null, int groups = 1,
        bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : base(inChannels, outChannels, kernelSize.For(2, "Conv2d", "kernel size"), groups, bias, false, dtype, generator, "Conv2d")
    {
        _stride = stride ?? 1;
        _padding = padding ?? 0;
        _dilation = dilation ?? 1;
        Stride = _stride.For(2, "Conv2d", "stride");
        Dilation = _dilation.For(2, "Conv2d", "dilation");
        Padding = _padding;
    }

    /// <summary>Stride per dim.</summary>
    public int[] Stride { get; }
    /// <summary>Dilation per dim.</summary>
    public int[] Dilation { get; }
    /// <summary>Padding.</summary>
    public Padding Padding { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, _stride, _padding, _dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr() => base.ExtraRepr() + $", stride=({string.Join(", ", Stride)}), padding={Padding}";
}

/// <summary>3-D convolution layer (PyTorch's <c>nn.Conv3d</c>).</summary>
public sealed class Conv3d : ConvBase
{
    private readonly Ints _stride, _dilation;
    private readonly Padding _padding;

    /// <summary>A layer with the given hyper-parameters.</summary>
    public Conv3d(int inChannels, int outChannels, Ints kernelSize, Ints? stride = null, Padding? padding = null, Ints? dilation = null, int groups = 1,
        bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : base(inChannels, outChannels, kernelSize.For(3, "Conv3d", "kernel size"), groups, bias, false, dtype, generator, "Conv3d")
    {
        _stride = stride ?? 1;
        _padding = padding ?? 0;
        _dilation = dilation ?? 1;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv3d(input, Weight, Bias, _stride, _padding, _dilation, Groups);
}

/// <summary>Transposed 2-D convolution layer (PyTorch's <c>nn.ConvTranspose2d</c>); weight [in, out/groups, kh, kw].</summary>
public sealed class ConvTranspose2d : ConvBase
{
    private readonly Ints _stride, _padding, _outputPadding, _dilation;

    /// <summary>A layer with the given hyper-parameters.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? outputPadding = null,
        int groups = 1, bool bias = true, Ints? dilation = null, DType dtype = DType.Float32, Generator? generator = null)
        : base(inChannels, outChannels, kernelSize.For(2, "ConvTranspose2d", "kernel size"), groups, bias, true, dtype, generator, "ConvTranspose2d")
    {
        _stride = stride ?? 1;
        _padding = padding ?? 0;
        _outputPadding = outputPadding ?? 0;
        _dilation = dilation ?? 1;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose2d(input, Weight, Bias, _stride, _padding, _outputPadding, Groups, _dilation);
}
