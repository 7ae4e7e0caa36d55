using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>Inception-v3's 35×35 module (torchvision's <c>InceptionA</c>): 1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3; 3×3 average pool → 1×1.</summary>
public sealed class InceptionA : Module<Tensor, Tensor>
{
    /// <summary>A module on <paramref name="inChannels"/> maps with <paramref name="poolFeatures"/> pool-branch channels.</summary>
    public InceptionA(int inChannels, int poolFeatures, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Branch1x1 = RegisterModule("branch1x1", new BasicConv2d(inChannels, S(64), 1));
        Branch5x5_1 = RegisterModule("branch5x5_1", new BasicConv2d(inChannels, S(48), 1));
        Branch5x5_2 = RegisterModule("branch5x5_2", new BasicConv2d(S(48), S(64), 5, padding: 2));
        Branch3x3dbl_1 = RegisterModule("branch3x3dbl_1", new BasicConv2d(inChannels, S(64), 1));
        Branch3x3dbl_2 = RegisterModule("branch3x3dbl_2", new BasicConv2d(S(64), S(96), 3, padding: 1));
        Branch3x3dbl_3 = RegisterModule("branch3x3dbl_3", new BasicConv2d(S(96), S(96), 3, padding: 1));
        BranchPool = RegisterModule("branch_pool", new BasicConv2d(inChannels, poolFeatures, 1));
        OutChannels = S(64) + S(64) + S(96) + poolFeatures;
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>1×1 branch.</summary>
    public BasicConv2d Branch1x1 { get; }
    /// <summary>5×5 branch, reduction.</summary>
    public BasicConv2d Branch5x5_1 { get; }
    /// <summary>5×5 branch, 5×5.</summary>
    public BasicConv2d Branch5x5_2 { get; }
    /// <summary>Double-3×3 branch, reduction.</summary>
    public BasicConv2d Branch3x3dbl_1 { get; }
    /// <summary>Double-3×3 branch, first 3×3.</summary>
    public BasicConv2d Branch3x3dbl_2 { get; }
    /// <summary>Double-3×3 branch, second 3×3.</summary>
    public BasicConv2d Branch3x3dbl_3 { get; }
    /// <summary>Pool branch projection.</summary>
    public BasicConv2d BranchPool { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var b1 = Branch1x1.Call(input);
        var b5 = Branch5x5_2.Call(Branch5x5_1.Call(input));
        var b3 = Branch3x3dbl_3.Call(Branch3x3dbl_2.Call(Branch3x3dbl_1.Call(input)));
        var bp = BranchPool.Call(Functional.AvgPool2d(input, 3, 1, 1));
        return Tensor.Cat([b1, b5, b3, bp], 1);
    }
}

/// <summary>Inception-v3's grid reduction 35→17 (torchvision's <c>InceptionB</c>): 3×3/2; 1×1 → 3×3 → 3×3/2; 3×3/2 max pool.</summary>
public sealed class InceptionB : Module<Tensor, Tensor>
{
    /// <summary>A reduction module on <paramref name="inChannels"/> maps.</summary>
    public InceptionB(int inChannels, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Branch3x3 = RegisterModule("branch3x3", new BasicConv2d(inChannels, S(384), 3, stride: 2));
        Branch3x3dbl_1 = RegisterModule("branch3x3dbl_1", new BasicConv2d(inChannels, S(64), 1));
        Branch3x3dbl_2 = RegisterModule("branch3x3dbl_2", new BasicConv2d(S(64), S(96), 3, padding: 1));
        Branch3x3dbl_3 = RegisterModule("branch3x3dbl_3", new BasicConv2d(S(96), S(96), 3, stride: 2));
        OutChannels = S(384) + S(96) + inChannels;
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Strided 3×3 branch.</summary>
    public BasicConv2d Branch3x3 { get; }
    /// <summary>Double-3×3 branch, reduction.</summary>
    public BasicConv2d Branch3x3dbl_1 { get; }
    /// <summary>Double-3×3 branch, first 3×3.</summary>
    public BasicConv2d Branch3x3dbl_2 { get; }
    /// <summary>Double-3×3 branch, strided 3×3.</summary>
    public BasicConv2d Branch3x3dbl_3 { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var b3 = Branch3x3.Call(input);
        var bd = Branch3x3dbl_3.Call(Branch3x3dbl_2.Call(Branch3x3dbl_1.Call(input)));
        var bp = Functional.MaxPool2d(input, 3, 2);
        return Tensor.Cat([b3, bd, bp], 1);
    }
}

/// <summary>
/// Inception-v3's 17×17 module (torchvision's <c>InceptionC</c>) with the 7×7 convolutions factorised into 1×7 and 7×1:
/// 1×1; 1×1 → 1×7 → 7×1; 1×1 → 7×1 → 1×7 → 7×1 → 1×7; 3×3 average pool → 1×1 (192 channels per branch).
/// </summary>
public sealed class InceptionC : Module<Tensor, Tensor>
{
    /// <summary>A module on <paramref name="inChannels"/> maps with <paramref name="channels7x7"/> channels inside the factorised branches.</summary>
    public InceptionC(int inChannels, int channels7x7, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        int c7 = channels7x7, o = S(192);
        Branch1x1 = RegisterModule("branch1x1", new BasicConv2d(inChannels, o, 1));
        Branch7x7_1 = RegisterModule("branch7x7_1", new BasicConv2d(inChannels, c7, 1));
        Branch7x7_2 = RegisterModule("branch7x7_2", new BasicConv2d(c7, c7, (1, 7), padding: (0, 3)));
        Branch7x7_3 = RegisterModule("branch7x7_3", new BasicConv2d(c7, o, (7, 1), padding: (3, 0)));
        Branch7x7dbl_1 = RegisterModule("branch7x7dbl_1", new BasicConv2d(inChannels, c7, 1));
        Branch7x7dbl_2 = RegisterModule("branch7x7dbl_2", new BasicConv2d(c7, c7, (7, 1), padding: (3, 0)));
        Branch7x7dbl_3 = RegisterModule("branch7x7dbl_3", new BasicConv2d(c7, c7, (1, 7), padding: (0, 3)));
        Branch7x7dbl_4 = RegisterModule("branch7x7dbl_4", new BasicConv2d(c7, c7, (7, 1), padding: (3, 0)));
        Branch7x7dbl_5 = RegisterModule("branch7x7dbl_5", new BasicConv2d(c7, o, (1, 7), padding: (0, 3)));
        BranchPool = RegisterModule("branch_pool", new BasicConv2d(inChannels, o, 1));
        OutChannels = 4 * o;
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>1×1 branch.</summary>
    public BasicConv2d Branch1x1 { get; }
    /// <summary>Factorised 7×7 branch: reduction.</summary>
    public BasicConv2d Branch7x7_1 { get; }
    /// <summary>Factorised 7×7 branch: 1×7.</summary>
    public BasicConv2d Branch7x7_2 { get; }
    /// <summary>Factorised 7×7 branch: 7×1.</summary>
    public BasicConv2d Branch7x7_3 { get; }
    /// <summary>Double factorised branch: reduction.</summary>
    public BasicConv2d Branch7x7dbl_1 { get; }
    /// <summary>Double factorised branch: 7×1.</summary>
    public BasicConv2d Branch7x7dbl_2 { get; }
    /// <summary>Double factorised branch: 1×7.</summary>
    public BasicConv2d Branch7x7dbl_3 { get; }
    /// <summary>Double factorised branch: 7×1.</summary>
    public BasicConv2d Branch7x7dbl_4 { get; }
    /// <summary>Double factorised branch: 1×7.</summary>
    public BasicConv2d Branch7x7dbl_5 { get; }
    /// <summary>Pool branch projection.</summary>
    public BasicConv2d BranchPool { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var b1 = Branch1x1.Call(input);
        var b7 = Branch7x7_3.Call(Branch7x7_2.Call(Branch7x7_1.Call(input)));
        var bd = Branch7x7dbl_5.Call(Branch7x7dbl_4.Call(Branch7x7dbl_3.Call(Branch7x7dbl_2.Call(Branch7x7dbl_1.Call(input)))));
        var bp = BranchPool.Call(Functional.AvgPool2d(input, 3, 1, 1));
        return Tensor.Cat([b1, b7, bd, bp], 1);
    }
}

/// <summary>Inception-v3's grid reduction 17→8 (torchvision's <c>InceptionD</c>): 1×1 → 3×3/2; 1×1 → 1×7 → 7×1 → 3×3/2; 3×3/2 max pool.</summary>
public sealed class InceptionD : Module<Tensor, Tensor>
{
    /// <summary>A reduction module on <paramref name="inChannels"/> maps.</summary>
    public InceptionD(int inChannels, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Branch3x3_1 = RegisterModule("branch3x3_1", new BasicConv2d(inChannels, S(192), 1));
        Branch3x3_2 = RegisterModule("branch3x3_2", new BasicConv2d(S(192), S(320), 3, stride: 2));
        Branch7x7x3_1 = RegisterModule("branch7x7x3_1", new BasicConv2d(inChannels, S(192), 1));
        Branch7x7x3_2 = RegisterModule("branch7x7x3_2", new BasicConv2d(S(192), S(192), (1, 7), padding: (0, 3)));
        Branch7x7x3_3 = RegisterModule("branch7x7x3_3", new BasicConv2d(S(192), S(192), (7, 1), padding: (3, 0)));
        Branch7x7x3_4 = RegisterModule("branch7x7x3_4", new BasicConv2d(S(192), S(192), 3, stride: 2));
        OutChannels = S(320) + S(192) + inChannels;
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>3×3 branch, reduction.</summary>
    public BasicConv2d Branch3x3_1 { get; }
    /// <summary>3×3 branch, strided 3×3.</summary>
    public BasicConv2d Branch3x3_2 { get; }
    /// <summary>7×7×3 branch, reduction.</summary>
    public BasicConv2d Branch7x7x3_1 { get; }
    /// <summary>7×7×3 branch, 1×7.</summary>
    public BasicConv2d Branch7x7x3_2 { get; }
    /// <summary>7×7×3 branch, 7×1.</summary>
    public BasicConv2d Branch7x7x3_3 { get; }
    /// <summary>7×7×3 branch, strided 3×3.</summary>
    public BasicConv2d Branch7x7x3_4 { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var b3 = Branch3x3_2.Call(Branch3x3_1.Call(input));
        var b7 = Branch7x7x3_4.Call(Branch7x7x3_3.Call(Branch7x7x3_2.Call(Branch7x7x3_1.Call(input))));
        var bp = Functional.MaxPool2d(input, 3, 2);
        return Tensor.Cat([b3, b7, bp], 1);
    }
}

/// <summary>
/// Inception-v3's 8×8 module with the expanded filter bank (torchvision's <c>InceptionE</c>): 1×1 (320); 1×1 (384) → parallel
/// 1×3 and 3×1 (384 each); 1×1 (448) → 3×3 (384) → parallel 1×3 and 3×1; 3×3 average pool → 1×1 (192). 2,048 outputs.
/// </summary>
public sealed class InceptionE : Module<Tensor, Tensor>
{
    /// <summary>A module on <paramref name="inChannels"/> maps.</summary>
    public InceptionE(int inChannels, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Branch1x1 = RegisterModule("branch1x1", new BasicConv2d(inChannels, S(320), 1));
        Branch3x3_1 = RegisterModule("branch3x3_1", new BasicConv2d(inChannels, S(384), 1));
        Branch3x3_2a = RegisterModule("branch3x3_2a", new BasicConv2d(S(384), S(384), (1, 3), padding: (0, 1)));
        Branch3x3_2b = RegisterModule("branch3x3_2b", new BasicConv2d(S(384), S(384), (3, 1), padding: (1, 0)));
        Branch3x3dbl_1 = RegisterModule("branch3x3dbl_1", new BasicConv2d(inChannels, S(448), 1));
        Branch3x3dbl_2 = RegisterModule("branch3x3dbl_2", new BasicConv2d(S(448), S(384), 3, padding: 1));
        Branch3x3dbl_3a = RegisterModule("branch3x3dbl_3a", new BasicConv2d(S(384), S(384), (1, 3), padding: (0, 1)));
        Branch3x3dbl_3b = RegisterModule("branch3x3dbl_3b", new BasicConv2d(S(384), S(384), (3, 1), padding: (1, 0)));
        BranchPool = RegisterModule("branch_pool", new BasicConv2d(inChannels, S(192), 1));
        OutChannels = S(320) + 4 * S(384) + S(192);
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>1×1 branch.</summary>
    public BasicConv2d Branch1x1 { get; }
    /// <summary>Split 3×3 branch, reduction.</summary>
    public BasicConv2d Branch3x3_1 { get; }
    /// <summary>Split 3×3 branch, 1×3.</summary>
    public BasicConv2d Branch3x3_2a { get; }
    /// <summary>Split 3×3 branch, 3×1.</summary>
    public BasicConv2d Branch3x3_2b { get; }
    /// <summary>Double branch, reduction.</summary>
    public BasicConv2d Branch3x3dbl_1 { get; }
    /// <summary>Double branch, 3×3.</summary>
    public BasicConv2d Branch3x3dbl_2 { get; }
    /// <summary>Double branch, 1×3.</summary>
    public BasicConv2d Branch3x3dbl_3a { get; }
    /// <summary>Double branch, 3×1.</summary>
    public BasicConv2d Branch3x3dbl_3b { get; }
    /// <summary>Pool branch projection.</summary>
    public BasicConv2d BranchPool { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var b1 = Branch1x1.Call(input);
        var b3 = Branch3x3_1.Call(input);
        b3 = Tensor.Cat([Branch3x3_2a.Call(b3), Branch3x3_2b.Call(b3)], 1);
        var bd = Branch3x3dbl_2.Call(Branch3x3dbl_1.Call(input));
        bd = Tensor.Cat([Branch3x3dbl_3a.Call(bd), Branch3x3dbl_3b.Call(bd)], 1);
        var bp = BranchPool.Call(Functional.AvgPool2d(input, 3, 1, 1));
        return Tensor.Cat([b1, b3, bd, bp], 1);
    }
}

/// <summary>
/// Inception-v3's auxiliary classifier (torchvision's <c>InceptionAux</c>) on the 17×17 maps: 5×5/3 average pool →
/// <c>conv0</c> 1×1 (128) → <c>conv1</c> 5×5 (768) → global average pool → <c>fc</c>.
/// </summary>
public sealed class InceptionAux : Module<Tensor, Tensor>
{
    /// <summary>A head on <paramref name="inChannels"/> maps.</summary>
    public InceptionAux(int inChannels, int numClasses, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Conv0 = RegisterModule("conv0", new BasicConv2d(inChannels, S(128), 1));
        Conv1 = RegisterModule("conv1", new BasicConv2d(S(128), S(768), 5));
        Fc = RegisterModule("fc", new Linear(S(768), numClasses));
    }

    /// <summary>1×1 reduction.</summary>
    public BasicConv2d Conv0 { get; }
    /// <summary>5×5 convolution (initialised with σ 0.01).</summary>
    public BasicConv2d Conv1 { get; }
    /// <summary>Output layer (initialised with σ 0.001).</summary>
    public Linear Fc { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = Conv1.Call(Conv0.Call(Functional.AvgPool2d(input, 5, 3)));
        return Fc.Call(Functional.AdaptiveAvgPool2d(x, 1).Flatten(1));
    }
}

/// <summary>
/// Inception-v3 (Szegedy et al. 2015, "Rethinking the Inception Architecture") as torchvision, for 299×299 inputs:
/// stem <c>Conv2d_1a_3x3</c> … <c>Conv2d_4a_3x3</c> with two max pools, <c>Mixed_5b–5d</c> (<see cref="InceptionA"/>),
/// <c>Mixed_6a</c> (<see cref="InceptionB"/>), <c>Mixed_6b–6e</c> (<see cref="InceptionC"/>, factorised 7×7), optional
/// <c>AuxLogits</c>, <c>Mixed_7a</c> (<see cref="InceptionD"/>), <c>Mixed_7b/7c</c> (<see cref="InceptionE"/>), average pool,
/// dropout (0.5) and <c>fc</c>. 27,161,264 parameters with the auxiliary head, 23,834,568 without (1,000 classes).
/// </summary>
/// <remarks>
/// <see cref="Module{TIn,TOut}.Forward"/> returns the logits; in training mode with the head it also evaluates it (as
/// torchvision), and <see cref="ForwardWithAux"/> returns both (the head in <see cref="InceptionOutputs.Aux2"/>).
/// <c>width</c> scales every channel count (1 = the paper) for small test networks; the head needs 17×17 maps at Mixed_6e
/// (inputs of about 299×299).
/// </remarks>
public sealed class InceptionV3 : Module<Tensor, Tensor>
{
    /// <summary>The network with the given options.</summary>
    public InceptionV3(int numClasses = 1000, int inChannels = 3, bool auxLogits = true, double dropout = 0.5, double width = 1)
    {
        int S(int c) => ModelInit.Scale(c, width);
        Conv2d_1a_3x3 = RegisterModule("Conv2d_1a_3x3", new BasicConv2d(inChannels, S(32), 3, stride: 2));
        Conv2d_2a_3x3 = RegisterModule("Conv2d_2a_3x3", new BasicConv2d(S(32), S(32), 3));
        Conv2d_2b_3x3 = RegisterModule("Conv2d_2b_3x3", new BasicConv2d(S(32), S(64), 3, padding: 1));
        MaxPool1 = RegisterModule("maxpool1", new MaxPool2d(3, 2));
        Conv2d_3b_1x1 = RegisterModule("Conv2d_3b_1x1", new BasicConv2d(S(64), S(80), 1));
        Conv2d_4a_3x3 = RegisterModule("Conv2d_4a_3x3", new BasicConv2d(S(80), S(192), 3));
        MaxPool2 = RegisterModule("maxpool2", new MaxPool2d(3, 2));
        Mixed_5b = RegisterModule("Mixed_5b", new InceptionA(S(192), S(32), width));
        Mixed_5c = RegisterModule("Mixed_5c", new InceptionA(Mixed_5b.OutChannels, S(64), width));
        Mixed_5d = RegisterModule("Mixed_5d", new InceptionA(Mixed_5c.OutChannels, S(64), width));
        Mixed_6a = RegisterModule("Mixed_6a", new InceptionB(Mixed_5d.OutChannels, width));
        Mixed_6b = RegisterModule("Mixed_6b", new InceptionC(Mixed_6a.OutChannels, S(128), width));
        Mixed_6c = RegisterModule("Mixed_6c", new InceptionC(Mixed_6b.OutChannels, S(160), width));
        Mixed_6d = RegisterModule("Mixed_6d", new InceptionC(Mixed_6c.OutChannels, S(160), width));
        Mixed_6e = RegisterModule("Mixed_6e", new InceptionC(Mixed_6d.OutChannels, S(192), width));
        if (auxLogits) AuxLogits = RegisterModule("AuxLogits", new InceptionAux(Mixed_6e.OutChannels, numClasses, width));
        Mixed_7a = RegisterModule("Mixed_7a", new InceptionD(Mixed_6e.OutChannels, width));
        Mixed_7b = RegisterModule("Mixed_7b", new InceptionE(Mixed_7a.OutChannels, width));
        Mixed_7c = RegisterModule("Mixed_7c", new InceptionE(Mixed_7b.OutChannels, width));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Dropout = RegisterModule("dropout", new Dropout(dropout));
        Flatten = RegisterModule("flatten", new Flatten());
        Fc = RegisterModule("fc", new Linear(Mixed_7c.OutChannels, numClasses));
        // torchvision: truncated normal with σ 0.1 (aux conv1 0.01, aux fc 0.001) cut at ±2 (≥ 20σ: a plain normal); BN γ = 1, β = 0.
        foreach (var (_, m) in NamedModules())
        {
            if (m is Conv2d conv) Init.Normal(conv.Weight, 0, 0.1);
            else if (m is Linear linear) Init.Normal(linear.Weight, 0, 0.1);
            else if (m is BatchNormBase bn) ModelInit.ResetNorm(bn);
        }
        if (AuxLogits is not null)
        {
            Init.Normal(AuxLogits.Conv1.Conv.Weight, 0, 0.01);
            Init.Normal(AuxLogits.Fc.Weight, 0, 0.001);
        }
    }

    /// <summary>Stem 3×3/2.</summary>
    public BasicConv2d Conv2d_1a_3x3 { get; }
    /// <summary>Stem 3×3.</summary>
    public BasicConv2d Conv2d_2a_3x3 { get; }
    /// <summary>Stem 3×3 pad 1.</summary>
    public BasicConv2d Conv2d_2b_3x3 { get; }
    /// <summary>Stem pool.</summary>
    public MaxPool2d MaxPool1 { get; }
    /// <summary>Stem 1×1.</summary>
    public BasicConv2d Conv2d_3b_1x1 { get; }
    /// <summary>Stem 3×3.</summary>
    public BasicConv2d Conv2d_4a_3x3 { get; }
    /// <summary>Stem pool.</summary>
    public MaxPool2d MaxPool2 { get; }
    /// <summary>35×35 module.</summary>
    public InceptionA Mixed_5b { get; }
    /// <summary>35×35 module.</summary>
    public InceptionA Mixed_5c { get; }
    /// <summary>35×35 module.</summary>
    public InceptionA Mixed_5d { get; }
    /// <summary>Reduction to 17×17.</summary>
    public InceptionB Mixed_6a { get; }
    /// <summary>17×17 module.</summary>
    public InceptionC Mixed_6b { get; }
    /// <summary>17×17 module.</summary>
    public InceptionC Mixed_6c { get; }
    /// <summary>17×17 module.</summary>
    public InceptionC Mixed_6d { get; }
    /// <summary>17×17 module.</summary>
    public InceptionC Mixed_6e { get; }
    /// <summary>Auxiliary head, or null.</summary>
    public InceptionAux? AuxLogits { get; }
    /// <summary>Reduction to 8×8.</summary>
    public InceptionD Mixed_7a { get; }
    /// <summary>8×8 module.</summary>
    public InceptionE Mixed_7b { get; }
    /// <summary>8×8 module.</summary>
    public InceptionE Mixed_7c { get; }
    /// <summary>Global average pool.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }
    /// <summary>Dropout before fc.</summary>
    public Dropout Dropout { get; }
    /// <summary>Flatten before fc.</summary>
    public Flatten Flatten { get; }
    /// <summary>The classifier.</summary>
    public Linear Fc { get; }

    /// <summary>The logits and, in training mode with the auxiliary head, its logits (in <see cref="InceptionOutputs.Aux2"/>).</summary>
    public InceptionOutputs ForwardWithAux(Tensor input)
    {
        var x = Conv2d_2b_3x3.Call(Conv2d_2a_3x3.Call(Conv2d_1a_3x3.Call(input)));
        x = MaxPool2.Call(Conv2d_4a_3x3.Call(Conv2d_3b_1x1.Call(MaxPool1.Call(x))));
        x = Mixed_5d.Call(Mixed_5c.Call(Mixed_5b.Call(x)));
        x = Mixed_6e.Call(Mixed_6d.Call(Mixed_6c.Call(Mixed_6b.Call(Mixed_6a.Call(x)))));
        var aux = Training && AuxLogits is not null ? AuxLogits.Call(x) : null;
        x = Mixed_7c.Call(Mixed_7b.Call(Mixed_7a.Call(x)));
        var logits = Fc.Call(Flatten.Call(Dropout.Call(AvgPool.Call(x))));
        return new InceptionOutputs(logits, aux, null);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => ForwardWithAux(input).Logits;
}
