using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>Which AlexNet to build.</summary>
public enum AlexNetLayout
{
    /// <summary>torchvision's <c>alexnet</c>: features, <c>AdaptiveAvgPool2d(6)</c>, flatten, classifier (any input ≥ 63×63; 224×224 canonical).</summary>
    Torchvision,
    /// <summary>The seed deck's (seed 003) table for 3×227×227 inputs: the same layers without the adaptive pool, so pool5 must be 6×6.</summary>
    Seed003,
}

/// <summary>
/// AlexNet (Krizhevsky, Sutskever and Hinton 2012) with torchvision's state-dict keys: <c>features.0</c> conv1 64@11×11/4 pad 2,
/// <c>features.2</c> pool1 3×3/2, <c>features.3</c> conv2 192@5×5 pad 2, <c>features.5</c> pool2, <c>features.6/8/10</c>
/// conv3–5 384/256/256@3×3 pad 1, <c>features.12</c> pool5; <c>classifier.1/4/6</c> fc6 9216→4096, fc7 4096→4096,
/// fc8 4096→classes, with dropout at <c>classifier.0/3</c>. 61,100,840 parameters at 1,000 classes.
/// </summary>
/// <remarks>
/// <c>localResponseNorm</c> inserts the paper's LRN (size 5, α = 1e-4, β = 0.75, k = 2) after the ReLUs of conv1 and conv2,
/// which shifts the <c>features</c> indices after them (conv2 becomes <c>features.4</c>, …); the layer has no parameters.
/// A <c>flatten</c> module is registered so that summaries list it (it has no state).
/// </remarks>
public sealed class AlexNet : Module<Tensor, Tensor>
{
    /// <summary>The network with the given options.</summary>
    public AlexNet(int numClasses = 1000, int inChannels = 3, AlexNetLayout layout = AlexNetLayout.Torchvision, bool localResponseNorm = false, double dropout = 0.5)
    {
        var features = new List<Module<Tensor, Tensor>>();
        features.Add(new Conv2d(inChannels, 64, 11, stride: 4, padding: 2));
        features.Add(new ReLU());
        if (localResponseNorm) features.Add(new LocalResponseNorm(5, 1e-4, 0.75, 2));
        features.Add(new MaxPool2d(3, 2));
        features.Add(new Conv2d(64, 192, 5, padding: 2));
        features.Add(new ReLU());
        if (localResponseNorm) features.Add(new LocalResponseNorm(5, 1e-4, 0.75, 2));
        features.Add(new MaxPool2d(3, 2));
        features.Add(new Conv2d(192, 384, 3, padding: 1));
        features.Add(new ReLU());
        features.Add(new Conv2d(384, 256, 3, padding: 1));
        features.Add(new ReLU());
        features.Add(new Conv2d(256, 256, 3, padding: 1));
        features.Add(new ReLU());
        features.Add(new MaxPool2d(3, 2));
        Features = RegisterModule("features", new Sequential(features.ToArray()));
        Layout = layout;
        if (layout == AlexNetLayout.Torchvision) AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(6));
        Flatten = RegisterModule("flatten", new Flatten());
        Classifier = RegisterModule("classifier", new Sequential(
            new Dropout(dropout), new Linear(256 * 6 * 6, 4096), new ReLU(),
            new Dropout(dropout), new Linear(4096, 4096), new ReLU(),
            new Linear(4096, numClasses)));
    }

    /// <summary>The layout this network was built with.</summary>
    public AlexNetLayout Layout { get; }
    /// <summary>Convolutions and pools.</summary>
    public Sequential Features { get; }
    /// <summary>The adaptive 6×6 pool (torchvision layout only).</summary>
    public AdaptiveAvgPool2d? AvgPool { get; }
    /// <summary>Flattens [N, 256, 6, 6] to [N, 9216].</summary>
    public Flatten Flatten { get; }
    /// <summary>fc6, fc7, fc8 with dropout.</summary>
    public Sequential Classifier { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = Features.Call(input);
        if (AvgPool is not null) x = AvgPool.Call(x);
        else if (x.Rank != 4 || x.Size(2) != 6 || x.Size(3) != 6)
            throw new ArgumentException($"AlexNet (seed-003 layout): fc6 needs pool5 maps of 256×6×6 (inputs of 224–227 pixels, 227 in the paper), got {x.Shape}");
        return Classifier.Call(Flatten.Call(x));
    }
}

/// <summary>
/// VGG-11/13/16/19 (Simonyan and Zisserman 2014, configurations A, B, D, E) with or without batch norm, as torchvision:
/// <c>features</c> (3×3 pad-1 convolutions [+ BN] + ReLU, 2×2 max pools), <c>AdaptiveAvgPool2d(7)</c>, flatten and
/// <c>classifier</c> (<c>classifier.0/3/6</c>: 25088→4096→4096→classes with ReLU and dropout).
/// Parameters at 1,000 classes: VGG-11 132,863,336, VGG-13 133,047,848, VGG-16 138,357,544, VGG-19 143,667,240
/// (with BN: +2 per conv channel).
/// </summary>
public sealed class Vgg : Module<Tensor, Tensor>
{
    private static readonly Dictionary<int, int[]> Configs = new()
    {
        [11] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [13] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [16] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        [19] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    };

    /// <summary>VGG-<paramref name="depth"/> (11, 13, 16 or 19 weight layers), initialised as torchvision.</summary>
    public Vgg(int depth, bool batchNorm = false, int numClasses = 1000, int inChannels = 3, double dropout = 0.5)
    {
        if (!Configs.TryGetValue(depth, out var config)) throw new ArgumentException($"Vgg: depth must be 11, 13, 16 or 19, got {depth}");
        Depth = depth;
        BatchNorm = batchNorm;
        var features = new List<Module<Tensor, Tensor>>();
        int channels = inChannels;
        foreach (int v in config)
        {
            if (v == 0)
            {
                features.Add(new MaxPool2d(2, 2));
                continue;
            }
            features.Add(new Conv2d(channels, v, 3, padding: 1));
            if (batchNorm) features.Add(new BatchNorm2d(v));
            features.Add(new ReLU());
            channels = v;
        }
        Features = RegisterModule("features", new Sequential(features.ToArray()));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(7));
        Flatten = RegisterModule("flatten", new Flatten());
        Classifier = RegisterModule("classifier", new Sequential(
            new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(dropout),
            new Linear(4096, 4096), new ReLU(), new Dropout(dropout),
            new Linear(4096, numClasses)));
        ModelInit.KaimingConvs(this);
        foreach (var layer in Classifier.OfType<Linear>())
        {
            Init.Normal(layer.Weight, 0, 0.01);
            Init.Zeros(layer.Bias!);
        }
    }

    /// <summary>VGG-11 (configuration A).</summary>
    public static Vgg Vgg11(bool batchNorm = false, int numClasses = 1000, int inChannels = 3) => new(11, batchNorm, numClasses, inChannels);
    /// <summary>VGG-13 (configuration B).</summary>
    public static Vgg Vgg13(bool batchNorm = false, int numClasses = 1000, int inChannels = 3) => new(13, batchNorm, numClasses, inChannels);
    /// <summary>VGG-16 (configuration D).</summary>
    public static Vgg Vgg16(bool batchNorm = false, int numClasses = 1000, int inChannels = 3) => new(16, batchNorm, numClasses, inChannels);
    /// <summary>VGG-19 (configuration E).</summary>
    public static Vgg Vgg19(bool batchNorm = false, int numClasses = 1000, int inChannels = 3) => new(19, batchNorm, numClasses, inChannels);

    /// <summary>Number of weight layers.</summary>
    public int Depth { get; }
    /// <summary>Whether every convolution is followed by batch norm.</summary>
    public bool BatchNorm { get; }
    /// <summary>Convolutions and pools.</summary>
    public Sequential Features { get; }
    /// <summary>Adaptive 7×7 average pool.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }
    /// <summary>Flattens to [N, 25088].</summary>
    public Flatten Flatten { get; }
    /// <summary>The three fully connected layers.</summary>
    public Sequential Classifier { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Flatten.Call(AvgPool.Call(Features.Call(input))));
}
