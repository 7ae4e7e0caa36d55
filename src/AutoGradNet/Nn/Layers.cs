namespace AutoGradNet.Nn;

/// <summary>2-D max pooling layer.</summary>
public sealed class MaxPool2d(Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);
    /// <summary>Window size (what a model summary counts comparisons by).</summary>
    public Ints KernelSize => kernelSize;
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride?.ToString() ?? kernelSize.ToString()}, padding={padding?.ToString() ?? "0"}, ceil_mode={ceilMode}";
}

/// <summary>2-D average pooling layer.</summary>
public sealed class AvgPool2d(Ints kernelSize, Ints? stride = null, Ints? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
    : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride);
    /// <summary>Window size (what a model summary counts additions by).</summary>
    public Ints KernelSize => kernelSize;
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride?.ToString() ?? kernelSize.ToString()}, padding={padding?.ToString() ?? "0"}";
}

/// <summary>Adaptive 2-D average pooling to a fixed output size.</summary>
public sealed class AdaptiveAvgPool2d(Ints outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={outputSize}";
}

/// <summary>Adaptive 2-D max pooling to a fixed output size.</summary>
public sealed class AdaptiveMaxPool2d(Ints outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool2d(input, outputSize);
}

/// <summary>Inverted dropout, active only in training mode.</summary>
public sealed class Dropout(double p = 0.5, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, p, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={p}";
}

/// <summary>Channel dropout, active only in training mode.</summary>
public sealed class Dropout2d(double p = 0.5, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout2d(input, p, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={p}";
}

/// <summary>Flattens dims <c>startDim</c>..<c>endDim</c> (PyTorch's default keeps the batch dim: 1..−1).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Flatten(startDim, endDim);
}

/// <summary>Returns its input.</summary>
public sealed class Identity : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}

/// <summary>max(x, 0).</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>Leaky ReLU with the given negative slope.</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LeakyRelu(negativeSlope);
}

/// <summary>ELU with the given α.</summary>
public sealed class ELU(double alpha = 1.0) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Elu(alpha);
}

/// <summary>Logistic sigmoid.</summary>
public sealed class Sigmoid : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>Hyperbolic tangent.</summary>
public sealed class Tanh : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>GELU (exact, or the tanh approximation).</summary>
public sealed class GELU(bool tanhApproximation = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Gelu(tanhApproximation);
}

/// <summary>Softplus with β and threshold.</summary>
public sealed class Softplus(double beta = 1, double threshold = 20) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softplus(beta, threshold);
}

/// <summary>Softmax over a dim.</summary>
public sealed class Softmax(int dim) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softmax(dim);
}

/// <summary>Log-softmax over a dim.</summary>
public sealed class LogSoftmax(int dim) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LogSoftmax(dim);
}
