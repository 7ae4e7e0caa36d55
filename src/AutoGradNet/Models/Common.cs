using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>
/// torchvision's <c>BasicConv2d</c> of GoogLeNet and Inception-v3: a convolution without bias, batch norm (ε = 0.001)
/// and ReLU. State-dict keys <c>conv.weight</c>, <c>bn.weight</c>, <c>bn.running_mean</c>, ….
/// </summary>
public sealed class BasicConv2d : Module<Tensor, Tensor>
{
    /// <summary>A conv-BN-ReLU unit with the given convolution hyper-parameters.</summary>
    public BasicConv2d(int inChannels, int outChannels, Ints kernelSize, Ints? stride = null, Padding? padding = null)
    {
        Conv = RegisterModule("conv", new Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: false));
        Bn = RegisterModule("bn", new BatchNorm2d(outChannels, eps: 0.001));
        OutChannels = outChannels;
    }

    /// <summary>The convolution.</summary>
    public Conv2d Conv { get; }
    /// <summary>The batch norm.</summary>
    public BatchNorm2d Bn { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Bn.Call(Conv.Call(input)).Relu();
}

/// <summary>Initialisation schemes the torchvision models apply after construction.</summary>
internal static class ModelInit
{
    /// <summary>Kaiming-normal convolutions (fan_out, ReLU gain), batch norms γ = 1, β = 0: torchvision's ResNet/VGG scheme.</summary>
    public static void KaimingConvs(Module model, bool zeroConvBias = true)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: "relu");
                    if (zeroConvBias && conv.Bias is { } b) Init.Zeros(b);
                    break;
                case BatchNormBase bn:
                    ResetNorm(bn);
                    break;
            }
        }
    }

    /// <summary>Batch norm γ = 1, β = 0.</summary>
    public static void ResetNorm(BatchNormBase bn)
    {
        if (bn.Weight is { } w) Init.Ones(w);
        if (bn.Bias is { } b) Init.Zeros(b);
    }

    /// <summary>Scales a channel count by a width multiplier (at least 1).</summary>
    public static int Scale(int channels, double width) => width == 1 ? channels : Math.Max(1, (int)Math.Round(channels * width));
}
