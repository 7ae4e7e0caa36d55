using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>
/// GoogLeNet's Inception module (torchvision's <c>Inception</c>): four branches concatenated on channels —
/// <c>branch1</c> 1×1; <c>branch2</c> 1×1 reduce → 3×3; <c>branch3</c> 1×1 reduce → 3×3 (torchvision's kernel; the paper's
/// 5×5 with <c>fiveByFive</c>); <c>branch4</c> 3×3/1 max pool → 1×1 projection. Every convolution is a <see cref="BasicConv2d"/>.
/// </summary>
public sealed class Inception : Module<Tensor, Tensor>
{
    /// <summary>A module with the paper's per-branch widths (Table 1 of Szegedy et al. 2014).</summary>
    public Inception(int inChannels, int ch1x1, int ch3x3Reduce, int ch3x3, int ch5x5Reduce, int ch5x5, int poolProj, bool fiveByFive = false)
    {
        Branch1 = RegisterModule("branch1", new BasicConv2d(inChannels, ch1x1, 1));
        Branch2 = RegisterModule("branch2", new Sequential(new BasicConv2d(inChannels, ch3x3Reduce, 1), new BasicConv2d(ch3x3Reduce, ch3x3, 3, padding: 1)));
        Branch3 = RegisterModule("branch3", new Sequential(new BasicConv2d(inChannels, ch5x5Reduce, 1),
            fiveByFive ? new BasicConv2d(ch5x5Reduce, ch5x5, 5, padding: 2) : new BasicConv2d(ch5x5Reduce, ch5x5, 3, padding: 1)));
        Branch4 = RegisterModule("branch4", new Sequential(new MaxPool2d(3, 1, 1, ceilMode: true), new BasicConv2d(inChannels, poolProj, 1)));
        OutChannels = ch1x1 + ch3x3 + ch5x5 + poolProj;
    }

    /// <summary>Output channels (the sum of the branches).</summary>
    public int OutChannels { get; }
    /// <summary>1×1 branch.</summary>
    public BasicConv2d Branch1 { get; }
    /// <summary>1×1 → 3×3 branch.</summary>
    public Sequential Branch2 { get; }
    /// <summary>1×1 → 3×3 (or 5×5) branch.</summary>
    public Sequential Branch3 { get; }
    /// <summary>Max pool → 1×1 branch.</summary>
    public Sequential Branch4 { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Tensor.Cat([Branch1.Call(input), Branch2.Call(input), Branch3.Call(input), Branch4.Call(input)], 1);
}

/// <summary>
/// GoogLeNet's auxiliary classifier (torchvision's <c>InceptionAux</c>): adaptive average pool to 4×4 → <c>conv</c> 1×1 (128)
/// → flatten → <c>fc1</c> (2048→1024) → ReLU → dropout (0.7) → <c>fc2</c>.
/// </summary>
public sealed class GoogLeNetAux : Module<Tensor, Tensor>
{
    private readonly double _dropout;

    /// <summary>A head on <paramref name="inChannels"/> maps; <paramref name="width"/> scales its 128 and 1024 hidden channels.</summary>
    public GoogLeNetAux(int inChannels, int numClasses, double dropout = 0.7, double width = 1)
    {
        int conv = ModelInit.Scale(128, width), hidden = ModelInit.Scale(1024, width);
        Conv = RegisterModule("conv", new BasicConv2d(inChannels, conv, 1));
        Fc1 = RegisterModule("fc1", new Linear(conv * 16, hidden));
        Fc2 = RegisterModule("fc2", new Linear(hidden, numClasses));
        _dropout = dropout;
    }

    /// <summary>1×1 convolution.</summary>
    public BasicConv2d Conv { get; }
    /// <summary>First fully connected layer.</summary>
    public Linear Fc1 { get; }
    /// <summary>Output layer.</summary>
    public Linear Fc2 { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = Conv.Call(Functional.AdaptiveAvgPool2d(input, 4)).Flatten(1);
        x = Functional.Dropout(Fc1.Call(x).Relu(), _dropout, Training);
        return Fc2.Call(x);
    }
}

/// <summary>The outputs of GoogLeNet or Inception-v3 in training mode: main logits and the auxiliary heads' logits (null when not computed).</summary>
/// <param name="Logits">Main classifier.</param>
/// <param name="Aux2">GoogLeNet's second head (after 4d), or Inception-v3's single head.</param>
/// <param name="Aux1">GoogLeNet's first head (after 4a); null for Inception-v3.</param>
public sealed record InceptionOutputs(Tensor Logits, Tensor? Aux2, Tensor? Aux1);

/// <summary>
/// GoogLeNet (Inception v1, Szegedy et al. 2014) as torchvision: <c>conv1</c> 7×7/2, <c>maxpool1</c>, <c>conv2</c> 1×1,
/// <c>conv3</c> 3×3, <c>maxpool2</c>, <c>inception3a/3b</c>, <c>maxpool3</c>, <c>inception4a–4e</c>, <c>maxpool4</c>,
/// <c>inception5a/5b</c>, average pool, dropout (0.2) and <c>fc</c>; optional heads <c>aux1</c> (after 4a) and <c>aux2</c>
/// (after 4d). Convolutions are conv (no bias) + BN (ε 0.001) + ReLU. Parameters at 1,000 classes: 6,624,904 without the
/// auxiliary heads, 13,004,888 with them (torchvision's numbers, with its 3×3 "5×5" branch).
/// </summary>
/// <remarks>
/// <see cref="Module{TIn,TOut}.Forward"/> returns the main logits; in training mode with heads it also evaluates them (as
/// torchvision does), and <see cref="ForwardWithAux"/> returns all three for the loss. <c>width</c> scales every channel
/// count (1 = the paper), for small test networks.
/// </remarks>
public sealed class GoogLeNet : Module<Tensor, Tensor>
{
    /// <summary>The network with the given options.</summary>
    public GoogLeNet(int numClasses = 1000, int inChannels = 3, bool auxLogits = false, double dropout = 0.2, double dropoutAux = 0.7, double width = 1, bool fiveByFive = false)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Inception I(int inC, int a, int b, int c, int d, int e, int f) => new(inC, S(a), S(b), S(c), S(d), S(e), S(f), fiveByFive);
        Conv1 = RegisterModule("conv1", new BasicConv2d(inChannels, S(64), 7, stride: 2, padding: 3));
        MaxPool1 = RegisterModule("maxpool1", new MaxPool2d(3, 2, ceilMode: true));
        Conv2 = RegisterModule("conv2", new BasicConv2d(S(64), S(64), 1));
        Conv3 = RegisterModule("conv3", new BasicConv2d(S(64), S(192), 3, padding: 1));
        MaxPool2 = RegisterModule("maxpool2", new MaxPool2d(3, 2, ceilMode: true));
        Inception3a = RegisterModule("inception3a", I(S(192), 64, 96, 128, 16, 32, 32));
        Inception3b = RegisterModule("inception3b", I(Inception3a.OutChannels, 128, 128, 192, 32, 96, 64));
        MaxPool3 = RegisterModule("maxpool3", new MaxPool2d(3, 2, ceilMode: true));
        Inception4a = RegisterModule("inception4a", I(Inception3b.OutChannels, 192, 96, 208, 16, 48, 64));
        Inception4b = RegisterModule("inception4b", I(Inception4a.OutChannels, 160, 112, 224, 24, 64, 64));
        Inception4c = RegisterModule("inception4c", I(Inception4b.OutChannels, 128, 128, 256, 24, 64, 64));
        Inception4d = RegisterModule("inception4d", I(Inception4c.OutChannels, 112, 144, 288, 32, 64, 64));
        Inception4e = RegisterModule("inception4e", I(Inception4d.OutChannels, 256, 160, 320, 32, 128, 128));
        MaxPool4 = RegisterModule("maxpool4", new MaxPool2d(2, 2, ceilMode: true));
        Inception5a = RegisterModule("inception5a", I(Inception4e.OutChannels, 256, 160, 320, 32, 128, 128));
        Inception5b = RegisterModule("inception5b", I(Inception5a.OutChannels, 384, 192, 384, 48, 128, 128));
        if (auxLogits)
        {
            Aux1 = RegisterModule("aux1", new GoogLeNetAux(Inception4a.OutChannels, numClasses, dropoutAux, width));
            Aux2 = RegisterModule("aux2", new GoogLeNetAux(Inception4d.OutChannels, numClasses, dropoutAux, width));
        }
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Flatten = RegisterModule("flatten", new Flatten());
        Dropout = RegisterModule("dropout", new Dropout(dropout));
        Fc = RegisterModule("fc", new Linear(Inception5b.OutChannels, numClasses));
        // torchvision: truncated normal (σ 0.01, cut at ±2, i.e. ±200σ: a plain normal) for convolutions and linear layers.
        foreach (var (_, m) in NamedModules())
        {
            if (m is Conv2d conv) Init.Normal(conv.Weight, 0, 0.01);
            else if (m is Linear linear) Init.Normal(linear.Weight, 0, 0.01);
            else if (m is BatchNormBase bn) ModelInit.ResetNorm(bn);
        }
    }

    /// <summary>Stem 7×7/2.</summary>
    public BasicConv2d Conv1 { get; }
    /// <summary>Pool after conv1.</summary>
    public MaxPool2d MaxPool1 { get; }
    /// <summary>Stem 1×1.</summary>
    public BasicConv2d Conv2 { get; }
    /// <summary>Stem 3×3.</summary>
    public BasicConv2d Conv3 { get; }
    /// <summary>Pool after conv3.</summary>
    public MaxPool2d MaxPool2 { get; }
    /// <summary>Inception (3a).</summary>
    public Inception Inception3a { get; }
    /// <summary>Inception (3b).</summary>
    public Inception Inception3b { get; }
    /// <summary>Pool after 3b.</summary>
    public MaxPool2d MaxPool3 { get; }
    /// <summary>Inception (4a).</summary>
    public Inception Inception4a { get; }
    /// <summary>Inception (4b).</summary>
    public Inception Inception4b { get; }
    /// <summary>Inception (4c).</summary>
    public Inception Inception4c { get; }
    /// <summary>Inception (4d).</summary>
    public Inception Inception4d { get; }
    /// <summary>Inception (4e).</summary>
    public Inception Inception4e { get; }
    /// <summary>Pool after 4e.</summary>
    public MaxPool2d MaxPool4 { get; }
    /// <summary>Inception (5a).</summary>
    public Inception Inception5a { get; }
    /// <summary>Inception (5b).</summary>
    public Inception Inception5b { get; }
    /// <summary>Auxiliary head after 4a, or null.</summary>
    public GoogLeNetAux? Aux1 { get; }
    /// <summary>Auxiliary head after 4d, or null.</summary>
    public GoogLeNetAux? Aux2 { get; }
    /// <summary>Global average pool.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }
    /// <summary>Flatten before fc.</summary>
    public Flatten Flatten { get; }
    /// <summary>Dropout before fc.</summary>
    public Dropout Dropout { get; }
    /// <summary>The classifier.</summary>
    public Linear Fc { get; }

    /// <summary>The main logits and, in training mode with auxiliary heads, theirs (torchvision's <c>GoogLeNetOutputs</c>).</summary>
    public InceptionOutputs ForwardWithAux(Tensor input)
    {
        var x = MaxPool2.Call(Conv3.Call(Conv2.Call(MaxPool1.Call(Conv1.Call(input)))));
        x = MaxPool3.Call(Inception3b.Call(Inception3a.Call(x)));
        x = Inception4a.Call(x);
        var aux1 = Training && Aux1 is not null ? Aux1.Call(x) : null;
        x = Inception4d.Call(Inception4c.Call(Inception4b.Call(x)));
        var aux2 = Training && Aux2 is not null ? Aux2.Call(x) : null;
        x = MaxPool4.Call(Inception4e.Call(x));
        x = Inception5b.Call(Inception5a.Call(x));
        var logits = Fc.Call(Dropout.Call(Flatten.Call(AvgPool.Call(x))));
        return new InceptionOutputs(logits, aux2, aux1);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => ForwardWithAux(input).Logits;
}
