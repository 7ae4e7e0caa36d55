using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>The residual block a ResNet stacks.</summary>
public enum ResNetBlockKind
{
    /// <summary>Two 3×3 convolutions (ResNet-18/34, CIFAR ResNets); expansion 1.</summary>
    Basic,
    /// <summary>1×1 reduce, 3×3, 1×1 expand (ResNet-50/101/152); expansion 4.</summary>
    Bottleneck,
}

/// <summary>
/// ResNet's basic block (torchvision's <c>BasicBlock</c>): conv1 3×3 (stride) → bn1 → ReLU → conv2 3×3 → bn2, plus the
/// shortcut (identity, or <c>downsample</c> when the shape changes), then ReLU. Keys <c>conv1.weight</c>, <c>bn1.*</c>,
/// <c>conv2.weight</c>, <c>bn2.*</c>, <c>downsample.0.weight</c>, <c>downsample.1.*</c>.
/// </summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    /// <summary>Output channels per <c>planes</c>.</summary>
    public const int Expansion = 1;

    /// <summary>A block from <paramref name="inPlanes"/> to <paramref name="planes"/> channels.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of the first convolution (and of the shortcut).</param>
    /// <param name="downsample">The shortcut when the shape changes (1×1 conv + BN, or a parameter-free one); null for identity.</param>
    public BasicBlock(int inPlanes, int planes, int stride = 1, Module<Tensor, Tensor>? downsample = null)
    {
        Conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        Relu = RegisterModule("relu", new ReLU());
        Conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (downsample is not null) Downsample = RegisterModule("downsample", downsample);
    }

    /// <summary>First 3×3 convolution.</summary>
    public Conv2d Conv1 { get; }
    /// <summary>First batch norm.</summary>
    public BatchNorm2d Bn1 { get; }
    /// <summary>The ReLU (used twice).</summary>
    public ReLU Relu { get; }
    /// <summary>Second 3×3 convolution.</summary>
    public Conv2d Conv2 { get; }
    /// <summary>Second batch norm (zeroed γ with <c>zeroInitResidual</c>).</summary>
    public BatchNorm2d Bn2 { get; }
    /// <summary>The shortcut, or null for identity.</summary>
    public Module<Tensor, Tensor>? Downsample { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var identity = Downsample is null ? input : Downsample.Call(input);
        var x = Relu.Call(Bn1.Call(Conv1.Call(input)));
        x = Bn2.Call(Conv2.Call(x));
        return Relu.Call(x.Add(identity));
    }
}

/// <summary>
/// ResNet's bottleneck block (torchvision's <c>Bottleneck</c>): conv1 1×1 → bn1 → ReLU → conv2 3×3 → bn2 → ReLU →
/// conv3 1×1 (×4 channels) → bn3, plus the shortcut, then ReLU. By default the stride sits in the 3×3 convolution
/// (torchvision's "v1.5"); with <c>strideInFirst1x1</c> it sits in the first 1×1 as in the paper ("v1").
/// </summary>
public sealed class Bottleneck : Module<Tensor, Tensor>
{
    /// <summary>Output channels per <c>planes</c>.</summary>
    public const int Expansion = 4;

    /// <summary>A block from <paramref name="inPlanes"/> to 4·<paramref name="planes"/> channels.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Bottleneck channels before the width factor; the output has 4·planes.</param>
    /// <param name="stride">Spatial stride of the block.</param>
    /// <param name="downsample">The shortcut when the shape changes; null for identity.</param>
    /// <param name="groups">Groups of the 3×3 convolution (ResNeXt).</param>
    /// <param name="widthPerGroup">Width per group: the 3×3 has planes·widthPerGroup/64·groups channels (torchvision's <c>base_width</c>).</param>
    /// <param name="strideInFirst1x1">Put the stride in conv1 (paper, v1) instead of conv2 (torchvision, v1.5).</param>
    public Bottleneck(int inPlanes, int planes, int stride = 1, Module<Tensor, Tensor>? downsample = null, int groups = 1, int widthPerGroup = 64, bool strideInFirst1x1 = false)
    {
        int width = (int)(planes * (widthPerGroup / 64.0)) * groups;
        Conv1 = RegisterModule("conv1", new Conv2d(inPlanes, width, 1, stride: strideInFirst1x1 ? stride : 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(width));
        Conv2 = RegisterModule("conv2", new Conv2d(width, width, 3, stride: strideInFirst1x1 ? 1 : stride, padding: 1, groups: groups, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(width));
        Conv3 = RegisterModule("conv3", new Conv2d(width, planes * Expansion, 1, bias: false));
        Bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        Relu = RegisterModule("relu", new ReLU());
        if (downsample is not null) Downsample = RegisterModule("downsample", downsample);
    }

    /// <summary>1×1 reduction.</summary>
    public Conv2d Conv1 { get; }
    /// <summary>Batch norm after conv1.</summary>
    public BatchNorm2d Bn1 { get; }
    /// <summary>3×3 convolution.</summary>
    public Conv2d Conv2 { get; }
    /// <summary>Batch norm after conv2.</summary>
    public BatchNorm2d Bn2 { get; }
    /// <summary>1×1 expansion.</summary>
    public Conv2d Conv3 { get; }
    /// <summary>Batch norm after conv3 (zeroed γ with <c>zeroInitResidual</c>).</summary>
    public BatchNorm2d Bn3 { get; }
    /// <summary>The ReLU (used three times).</summary>
    public ReLU Relu { get; }
    /// <summary>The shortcut, or null for identity.</summary>
    public Module<Tensor, Tensor>? Downsample { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var identity = Downsample is null ? input : Downsample.Call(input);
        var x = Relu.Call(Bn1.Call(Conv1.Call(input)));
        x = Relu.Call(Bn2.Call(Conv2.Call(x)));
        x = Bn3.Call(Conv3.Call(x));
        return Relu.Call(x.Add(identity));
    }
}

/// <summary>
/// ImageNet ResNets (He et al. 2015) as torchvision: conv1 7×7/2 (64) → bn1 → ReLU → max-pool 3×3/2 → layer1..layer4
/// (64, 128, 256, 512 planes; stride 2 from layer2 on) → adaptive average pool → fc. A stage's first block gets a projection
/// shortcut (<c>downsample</c>: 1×1 conv with the stride + BN) when its shape changes. Parameters at 1,000 classes:
/// ResNet-18 11,689,512, -34 21,797,672, -50 25,557,032, -101 44,549,160, -152 60,192,808.
/// </summary>
/// <remarks>
/// Multiply-adds at 224×224 (<see cref="SummaryExtensions.Summary"/>): 1.8 G (18), 3.6 G (34); for the bottleneck depths the
/// paper's layout (<c>strideInFirst1x1</c>, "v1") gives 3.8/7.6/11.3 G and torchvision's default ("v1.5") 4.1/7.8/11.5 G.
/// Initialised as torchvision: Kaiming-normal (fan_out) convolutions, BN γ = 1, β = 0, and with <c>zeroInitResidual</c>
/// the last BN of each block starts at γ = 0.
/// </remarks>
public sealed class ResNet : Module<Tensor, Tensor>
{
    /// <summary>A ResNet of <paramref name="layers"/> blocks per stage.</summary>
    /// <param name="block">Basic or bottleneck blocks.</param>
    /// <param name="layers">Blocks in each of the four stages (e.g. 3, 4, 6, 3).</param>
    /// <param name="numClasses">Outputs of fc.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="zeroInitResidual">Start each residual branch's last BN at γ = 0 (the block starts as identity).</param>
    /// <param name="groups">Groups of the bottleneck 3×3 (ResNeXt).</param>
    /// <param name="widthPerGroup">Bottleneck width per group (64 standard; 128 for Wide ResNet-50-2).</param>
    /// <param name="strideInFirst1x1">Paper layout ("v1"): bottleneck stride in the first 1×1 instead of the 3×3.</param>
    /// <param name="basePlanes">Planes of the stem and layer1 (64 standard); the stages use basePlanes·1, 2, 4, 8. Smaller values give small test networks.</param>
    /// <param name="smallInputStem">The common CIFAR layout for 32×32 inputs: a 3×3 stride-1 stem convolution and no max pool
    /// (CIFAR ResNet-18 has 11,173,962 parameters at 10 classes).</param>
    public ResNet(ResNetBlockKind block, int[] layers, int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false,
        int groups = 1, int widthPerGroup = 64, bool strideInFirst1x1 = false, int basePlanes = 64, bool smallInputStem = false)
    {
        if (layers.Length != 4 || layers.Any(n => n <= 0)) throw new ArgumentException($"ResNet: expected 4 positive block counts, got [{string.Join(", ", layers)}]");
        if (block == ResNetBlockKind.Basic && (groups != 1 || widthPerGroup != 64))
            throw new ArgumentException("ResNet: BasicBlock only supports groups = 1 and widthPerGroup = 64");
        Block = block;
        int expansion = block == ResNetBlockKind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;
        int inPlanes = basePlanes;
        Conv1 = RegisterModule("conv1", smallInputStem
            ? new Conv2d(inChannels, inPlanes, 3, stride: 1, padding: 1, bias: false)
            : new Conv2d(inChannels, inPlanes, 7, stride: 2, padding: 3, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(inPlanes));
        Relu = RegisterModule("relu", new ReLU());
        MaxPool = RegisterModule<Module<Tensor, Tensor>>("maxpool", smallInputStem ? new Identity() : new MaxPool2d(3, 2, 1));
        var stages = new Sequential[4];
        for (int s = 0; s < 4; s++)
        {
            int planes = basePlanes << s, stride = s == 0 ? 1 : 2;
            var blocks = new List<Module<Tensor, Tensor>>();
            for (int b = 0; b < layers[s]; b++)
            {
                int blockStride = b == 0 ? stride : 1;
                Module<Tensor, Tensor>? downsample = null;
                if (b == 0 && (stride != 1 || inPlanes != planes * expansion))
                    downsample = new Sequential(new Conv2d(inPlanes, planes * expansion, 1, stride: stride, bias: false), new BatchNorm2d(planes * expansion));
                blocks.Add(block == ResNetBlockKind.Basic
                    ? new BasicBlock(inPlanes, planes, blockStride, downsample)
                    : new Bottleneck(inPlanes, planes, blockStride, downsample, groups, widthPerGroup, strideInFirst1x1));
                inPlanes = planes * expansion;
            }
            stages[s] = RegisterModule($"layer{s + 1}", new Sequential(blocks.ToArray()));
        }
        (Layer1, Layer2, Layer3, Layer4) = (stages[0], stages[1], stages[2], stages[3]);
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Flatten = RegisterModule("flatten", new Flatten());
        Fc = RegisterModule("fc", new Linear(inPlanes, numClasses));
        ModelInit.KaimingConvs(this);
        if (zeroInitResidual)
        {
            foreach (var (_, m) in NamedModules())
            {
                if (m is Bottleneck bottleneck) Init.Zeros(bottleneck.Bn3.Weight!);
                else if (m is BasicBlock basic) Init.Zeros(basic.Bn2.Weight!);
            }
        }
    }

    /// <summary>ResNet-18: basic blocks [2, 2, 2, 2].</summary>
    public static ResNet ResNet18(int numClasses = 1000, int inChannels = 3) => new(ResNetBlockKind.Basic, [2, 2, 2, 2], numClasses, inChannels);
    /// <summary>ResNet-18 for 32×32 inputs (CIFAR): 3×3 stem, no max pool, basic blocks [2, 2, 2, 2].</summary>
    public static ResNet CifarResNet18(int numClasses = 10, int inChannels = 3) =>
        new(ResNetBlockKind.Basic, [2, 2, 2, 2], numClasses, inChannels, smallInputStem: true);
    /// <summary>ResNet-34: basic blocks [3, 4, 6, 3].</summary>
    public static ResNet ResNet34(int numClasses = 1000, int inChannels = 3) => new(ResNetBlockKind.Basic, [3, 4, 6, 3], numClasses, inChannels);
    /// <summary>ResNet-50: bottlenecks [3, 4, 6, 3]; <paramref name="strideInFirst1x1"/> selects the paper's v1 layout.</summary>
    public static ResNet ResNet50(int numClasses = 1000, int inChannels = 3, bool strideInFirst1x1 = false) =>
        new(ResNetBlockKind.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, strideInFirst1x1: strideInFirst1x1);
    /// <summary>ResNet-101: bottlenecks [3, 4, 23, 3].</summary>
    public static ResNet ResNet101(int numClasses = 1000, int inChannels = 3, bool strideInFirst1x1 = false) =>
        new(ResNetBlockKind.Bottleneck, [3, 4, 23, 3], numClasses, inChannels, strideInFirst1x1: strideInFirst1x1);
    /// <summary>ResNet-152: bottlenecks [3, 8, 36, 3].</summary>
    public static ResNet ResNet152(int numClasses = 1000, int inChannels = 3, bool strideInFirst1x1 = false) =>
        new(ResNetBlockKind.Bottleneck, [3, 8, 36, 3], numClasses, inChannels, strideInFirst1x1: strideInFirst1x1);
    /// <summary>ResNeXt-50 32×4d (25,028,904 parameters).</summary>
    public static ResNet ResNeXt50_32x4d(int numClasses = 1000, int inChannels = 3) =>
        new(ResNetBlockKind.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, groups: 32, widthPerGroup: 4);
    /// <summary>Wide ResNet-50-2 (68,883,240 parameters).</summary>
    public static ResNet WideResNet50_2(int numClasses = 1000, int inChannels = 3) =>
        new(ResNetBlockKind.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, widthPerGroup: 128);

    /// <summary>The block kind.</summary>
    public ResNetBlockKind Block { get; }
    /// <summary>Stem convolution.</summary>
    public Conv2d Conv1 { get; }
    /// <summary>Stem batch norm.</summary>
    public BatchNorm2d Bn1 { get; }
    /// <summary>Stem ReLU.</summary>
    public ReLU Relu { get; }
    /// <summary>Stem max pool (identity with the small-input stem).</summary>
    public Module<Tensor, Tensor> MaxPool { get; }
    /// <summary>Stage 1.</summary>
    public Sequential Layer1 { get; }
    /// <summary>Stage 2.</summary>
    public Sequential Layer2 { get; }
    /// <summary>Stage 3.</summary>
    public Sequential Layer3 { get; }
    /// <summary>Stage 4.</summary>
    public Sequential Layer4 { get; }
    /// <summary>Global average pool.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }
    /// <summary>Flatten before fc.</summary>
    public Flatten Flatten { get; }
    /// <summary>The classifier.</summary>
    public Linear Fc { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = MaxPool.Call(Relu.Call(Bn1.Call(Conv1.Call(input))));
        x = Layer4.Call(Layer3.Call(Layer2.Call(Layer1.Call(x))));
        return Fc.Call(Flatten.Call(AvgPool.Call(x)));
    }
}

/// <summary>Shortcuts of the CIFAR ResNets where a stage changes shape (He et al. 2015, §4.1/§4.2).</summary>
public enum CifarShortcut
{
    /// <summary>Option A: identity on every second pixel with zero-padded extra channels (no parameters; the paper's CIFAR choice).</summary>
    A,
    /// <summary>Option B: projection, a 1×1 convolution with the stride plus batch norm (as the ImageNet ResNets).</summary>
    B,
}

/// <summary>Makes one residual block: <paramref name="inPlanes"/> → <paramref name="planes"/> channels with the given stride and shortcut (null: identity).</summary>
/// <param name="inPlanes">Input channels.</param>
/// <param name="planes">Output channels.</param>
/// <param name="stride">Spatial stride of the block.</param>
/// <param name="downsample">The shortcut to use when the shape changes, or null for identity.</param>
public delegate Module<Tensor, Tensor> ResidualBlockFactory(int inPlanes, int planes, int stride, Module<Tensor, Tensor>? downsample);

/// <summary>Option-A shortcut: takes every <c>stride</c>-th pixel and pads the channels with zeros on both sides (parameter-free).</summary>
public sealed class PadShortcut(int inChannels, int outChannels, int stride) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || input.Size(1) != inChannels) throw new ArgumentException($"PadShortcut: expected [N, {inChannels}, H, W], got {input.Shape}");
        var x = stride == 1 ? input : input.Slice(2, step: stride).Slice(3, step: stride);
        int extra = outChannels - inChannels, before = extra / 2;
        return x.Pad([0, 0, 0, 0, before, extra - before]);
    }
}

/// <summary>
/// The CIFAR-10 ResNets of He et al. (2015, §4.2): depth 6n + 2 — a 3×3 stem with 16 channels, three stages of n basic
/// blocks with 16, 32 and 64 channels (stride 2 entering stages 2 and 3), global average pool and fc. ResNet-20/32/44/56/110
/// (n = 3, 5, 7, 9, 18). Option-A shortcuts give the paper's 0.27/0.46/0.66/0.85/1.7 M parameters (269,722 for ResNet-20);
/// option B (the default here) adds two 1×1 projections + BN (+2,752). Keys as torchvision's ResNet:
/// <c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, <c>layer2.0.downsample.0</c>, <c>fc</c>.
/// </summary>
public sealed class CifarResNet : Module<Tensor, Tensor>
{
    /// <summary>A CIFAR ResNet of the given depth (6n + 2).</summary>
    /// <param name="depth">20, 32, 44, 56, 110, … (6n + 2).</param>
    /// <param name="numClasses">Outputs of fc.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="shortcut">Option A (zero-padding identity) or B (projection) where a stage changes shape.</param>
    /// <param name="basePlanes">Channels of the stem and stage 1 (16 in the paper); the stages use ×1, ×2, ×4.</param>
    /// <param name="block">Makes each residual block (default: <see cref="BasicBlock"/>); use it to drop a custom block (e.g. squeeze-and-excitation) into the stages.</param>
    public CifarResNet(int depth, int numClasses = 10, int inChannels = 3, CifarShortcut shortcut = CifarShortcut.B, int basePlanes = 16, ResidualBlockFactory? block = null)
    {
        block ??= (inPlanes, planes, stride, downsample) => new BasicBlock(inPlanes, planes, stride, downsample);
        if (depth < 8 || (depth - 2) % 6 != 0) throw new ArgumentException($"CifarResNet: depth must be 6n + 2 (20, 32, 44, 56, 110, …), got {depth}");
        Depth = depth;
        Shortcut = shortcut;
        int n = (depth - 2) / 6;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, basePlanes, 3, padding: 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(basePlanes));
        Relu = RegisterModule("relu", new ReLU());
        int inPlanes = basePlanes;
        var stages = new Sequential[3];
        for (int s = 0; s < 3; s++)
        {
            int planes = basePlanes << s, stride = s == 0 ? 1 : 2;
            var blocks = new List<Module<Tensor, Tensor>>();
            for (int b = 0; b < n; b++)
            {
                Module<Tensor, Tensor>? downsample = null;
                if (b == 0 && (stride != 1 || inPlanes != planes))
                    downsample = shortcut == CifarShortcut.B
                        ? new Sequential(new Conv2d(inPlanes, planes, 1, stride: stride, bias: false), new BatchNorm2d(planes))
                        : new PadShortcut(inPlanes, planes, stride);
                blocks.Add(block(inPlanes, planes, b == 0 ? stride : 1, downsample));
                inPlanes = planes;
            }
            stages[s] = RegisterModule($"layer{s + 1}", new Sequential(blocks.ToArray()));
        }
        (Layer1, Layer2, Layer3) = (stages[0], stages[1], stages[2]);
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Flatten = RegisterModule("flatten", new Flatten());
        Fc = RegisterModule("fc", new Linear(inPlanes, numClasses));
        ModelInit.KaimingConvs(this);
    }

    /// <summary>ResNet-20 (n = 3).</summary>
    public static CifarResNet ResNet20(int numClasses = 10, CifarShortcut shortcut = CifarShortcut.B) => new(20, numClasses, shortcut: shortcut);
    /// <summary>ResNet-32 (n = 5).</summary>
    public static CifarResNet ResNet32(int numClasses = 10, CifarShortcut shortcut = CifarShortcut.B) => new(32, numClasses, shortcut: shortcut);
    /// <summary>ResNet-44 (n = 7).</summary>
    public static CifarResNet ResNet44(int numClasses = 10, CifarShortcut shortcut = CifarShortcut.B) => new(44, numClasses, shortcut: shortcut);
    /// <summary>ResNet-56 (n = 9).</summary>
    public static CifarResNet ResNet56(int numClasses = 10, CifarShortcut shortcut = CifarShortcut.B) => new(56, numClasses, shortcut: shortcut);
    /// <summary>ResNet-110 (n = 18).</summary>
    public static CifarResNet ResNet110(int numClasses = 10, CifarShortcut shortcut = CifarShortcut.B) => new(110, numClasses, shortcut: shortcut);

    /// <summary>Number of weight layers (6n + 2).</summary>
    public int Depth { get; }
    /// <summary>The shortcut option.</summary>
    public CifarShortcut Shortcut { get; }
    /// <summary>Stem 3×3 convolution.</summary>
    public Conv2d Conv1 { get; }
    /// <summary>Stem batch norm.</summary>
    public BatchNorm2d Bn1 { get; }
    /// <summary>Stem ReLU.</summary>
    public ReLU Relu { get; }
    /// <summary>Stage 1 (16 channels, 32×32).</summary>
    public Sequential Layer1 { get; }
    /// <summary>Stage 2 (32 channels, 16×16).</summary>
    public Sequential Layer2 { get; }
    /// <summary>Stage 3 (64 channels, 8×8).</summary>
    public Sequential Layer3 { get; }
    /// <summary>Global average pool.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }
    /// <summary>Flatten before fc.</summary>
    public Flatten Flatten { get; }
    /// <summary>The classifier.</summary>
    public Linear Fc { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = Relu.Call(Bn1.Call(Conv1.Call(input)));
        x = Layer3.Call(Layer2.Call(Layer1.Call(x)));
        return Fc.Call(Flatten.Call(AvgPool.Call(x)));
    }
}
