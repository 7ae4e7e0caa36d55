using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>
/// One DenseNet-BC layer (torchvision's <c>_DenseLayer</c>): on the concatenation of all earlier feature maps,
/// norm1 → ReLU → conv1 1×1 (bnSize·growth channels) → norm2 → ReLU → conv2 3×3 (growth channels) [→ dropout].
/// </summary>
/// <remarks>
/// With <c>memoryEfficient</c> the bottleneck (concatenation, norm1, ReLU, conv1) is checkpointed (<see cref="Checkpoint.Run"/>):
/// the forward pass runs it without recording, keeping only its inputs, and backward recomputes it — the concatenated
/// maps and their normalised copies, which grow quadratically with depth, are not kept. Gradients are the same; batch-norm
/// running statistics are updated once (the recomputation uses the batch statistics without updating them).
/// </remarks>
public sealed class DenseLayer : Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly double _dropRate;

    /// <summary>A layer reading <paramref name="inFeatures"/> channels and adding <paramref name="growthRate"/>.</summary>
    public DenseLayer(int inFeatures, int growthRate, int bnSize, double dropRate = 0, bool memoryEfficient = false)
    {
        Norm1 = RegisterModule("norm1", new BatchNorm2d(inFeatures));
        Relu1 = RegisterModule("relu1", new ReLU());
        Conv1 = RegisterModule("conv1", new Conv2d(inFeatures, bnSize * growthRate, 1, bias: false));
        Norm2 = RegisterModule("norm2", new BatchNorm2d(bnSize * growthRate));
        Relu2 = RegisterModule("relu2", new ReLU());
        Conv2 = RegisterModule("conv2", new Conv2d(bnSize * growthRate, growthRate, 3, padding: 1, bias: false));
        _dropRate = dropRate;
        MemoryEfficient = memoryEfficient;
    }

    /// <summary>Whether the bottleneck is recomputed in backward instead of stored.</summary>
    public bool MemoryEfficient { get; }
    /// <summary>Batch norm of the concatenated input.</summary>
    public BatchNorm2d Norm1 { get; }
    /// <summary>ReLU after norm1.</summary>
    public ReLU Relu1 { get; }
    /// <summary>1×1 bottleneck convolution.</summary>
    public Conv2d Conv1 { get; }
    /// <summary>Batch norm after conv1.</summary>
    public BatchNorm2d Norm2 { get; }
    /// <summary>ReLU after norm2.</summary>
    public ReLU Relu2 { get; }
    /// <summary>3×3 convolution producing the new maps.</summary>
    public Conv2d Conv2 { get; }

    /// <inheritdoc/>
    public override Tensor Forward(IReadOnlyList<Tensor> input)
    {
        var bottleneck = MemoryEfficient ? CheckpointedBottleneck(input) : Bottleneck(input);
        var x = Conv2.Call(Relu2.Call(Norm2.Call(bottleneck)));
        return _dropRate > 0 ? Functional.Dropout(x, _dropRate, Training) : x;
    }

    private Tensor Bottleneck(IReadOnlyList<Tensor> features) =>
        Conv1.Call(Relu1.Call(Norm1.Call(features.Count == 1 ? features[0] : Tensor.Cat(features, 1))));

    private Tensor CheckpointedBottleneck(IReadOnlyList<Tensor> features)
    {
        // Inputs: γ, β of norm1, the conv1 kernel, then the feature maps (the functions read them from the list).
        var inputs = new List<Tensor> { Norm1.Weight!, Norm1.Bias!, Conv1.Weight };
        inputs.AddRange(features);
        return Checkpoint.Run(inputs, _ => Bottleneck(features), xs =>
        {
            var cat = xs.Count == 4 ? xs[3] : Tensor.Cat(xs.Skip(3).ToList(), 1);
            bool batchStats = Norm1.Training || Norm1.RunningMean is null;
            var normalized = Functional.BatchNorm(cat, batchStats ? null : Norm1.RunningMean, batchStats ? null : Norm1.RunningVar,
                xs[0], xs[1], training: batchStats, momentum: 0, eps: Norm1.Eps);
            return Functional.Conv2d(normalized.Relu(), xs[2]);
        }, "DenseBottleneckCheckpoint");
    }
}

/// <summary>A dense block (torchvision's <c>_DenseBlock</c>): layers <c>denselayer1</c>…, each fed all earlier maps; returns their concatenation.</summary>
public sealed class DenseBlock : Module<Tensor, Tensor>
{
    private readonly List<DenseLayer> _layers = [];

    /// <summary>A block of <paramref name="numLayers"/> layers on <paramref name="inFeatures"/> input channels.</summary>
    public DenseBlock(int numLayers, int inFeatures, int bnSize, int growthRate, double dropRate = 0, bool memoryEfficient = false)
    {
        for (int i = 0; i < numLayers; i++)
            _layers.Add(RegisterModule($"denselayer{i + 1}", new DenseLayer(inFeatures + i * growthRate, growthRate, bnSize, dropRate, memoryEfficient)));
        OutFeatures = inFeatures + numLayers * growthRate;
    }

    /// <summary>Output channels (input + layers·growth).</summary>
    public int OutFeatures { get; }

    /// <summary>The layers.</summary>
    public IReadOnlyList<DenseLayer> Layers => _layers;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var features = new List<Tensor> { input };
        foreach (var layer in _layers) features.Add(layer.Call(features));
        return features.Count == 1 ? features[0] : Tensor.Cat(features, 1);
    }
}

/// <summary>A transition (torchvision's <c>_Transition</c>): <c>norm</c> → <c>relu</c> → <c>conv</c> 1×1 → <c>pool</c> 2×2 average.</summary>
public sealed class DenseTransition : Module<Tensor, Tensor>
{
    /// <summary>A transition from <paramref name="inFeatures"/> to <paramref name="outFeatures"/> channels, halving the resolution.</summary>
    public DenseTransition(int inFeatures, int outFeatures)
    {
        Norm = RegisterModule("norm", new BatchNorm2d(inFeatures));
        Relu = RegisterModule("relu", new ReLU());
        Conv = RegisterModule("conv", new Conv2d(inFeatures, outFeatures, 1, bias: false));
        Pool = RegisterModule("pool", new AvgPool2d(2, 2));
    }

    /// <summary>Batch norm.</summary>
    public BatchNorm2d Norm { get; }
    /// <summary>ReLU.</summary>
    public ReLU Relu { get; }
    /// <summary>1×1 compression convolution.</summary>
    public Conv2d Conv { get; }
    /// <summary>2×2 average pool.</summary>
    public AvgPool2d Pool { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Pool.Call(Conv.Call(Relu.Call(Norm.Call(input))));
}

/// <summary>
/// DenseNet-BC (Huang et al. 2017) as torchvision: <c>features</c> = conv0 7×7/2, norm0, relu0, pool0 3×3/2, then
/// <c>denseblock1</c>, <c>transition1</c>, …, <c>denseblock4</c>, <c>norm5</c>; then ReLU, global average pool, flatten and
/// <c>classifier</c>. Bottleneck layers of bnSize·growth channels, transitions compress by <c>compression</c> (0.5).
/// Parameters at 1,000 classes: DenseNet-121 7,978,856, -169 14,149,480, -201 20,013,928, -161 28,681,000.
/// </summary>
public sealed class DenseNet : Module<Tensor, Tensor>
{
    /// <summary>A DenseNet with the given configuration (defaults: DenseNet-121).</summary>
    /// <param name="growthRate">Channels each layer adds (k = 32).</param>
    /// <param name="blockConfig">Layers per dense block.</param>
    /// <param name="numInitFeatures">Channels of the stem convolution.</param>
    /// <param name="bnSize">Bottleneck width factor (4: 4·k channels).</param>
    /// <param name="dropRate">Dropout after each layer.</param>
    /// <param name="numClasses">Outputs of the classifier.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="memoryEfficient">Checkpoint each layer's bottleneck (see <see cref="DenseLayer"/>).</param>
    /// <param name="compression">Channel factor of the transitions (θ = 0.5).</param>
    public DenseNet(int growthRate = 32, int[]? blockConfig = null, int numInitFeatures = 64, int bnSize = 4, double dropRate = 0,
        int numClasses = 1000, int inChannels = 3, bool memoryEfficient = false, double compression = 0.5)
    {
        blockConfig ??= [6, 12, 24, 16];
        if (blockConfig.Length == 0 || blockConfig.Any(n => n <= 0)) throw new ArgumentException("DenseNet: block sizes must be positive");
        var layers = new List<(string, Module<Tensor, Tensor>)>
        {
            ("conv0", new Conv2d(inChannels, numInitFeatures, 7, stride: 2, padding: 3, bias: false)),
            ("norm0", new BatchNorm2d(numInitFeatures)),
            ("relu0", new ReLU()),
            ("pool0", new MaxPool2d(3, 2, 1)),
        };
        int features = numInitFeatures;
        for (int i = 0; i < blockConfig.Length; i++)
        {
            var block = new DenseBlock(blockConfig[i], features, bnSize, growthRate, dropRate, memoryEfficient);
            layers.Add(($"denseblock{i + 1}", block));
            features = block.OutFeatures;
            if (i == blockConfig.Length - 1) continue;
            int outFeatures = (int)(features * compression);
            layers.Add(($"transition{i + 1}", new DenseTransition(features, outFeatures)));
            features = outFeatures;
        }
        layers.Add(("norm5", new BatchNorm2d(features)));
        Features = RegisterModule("features", new Sequential(layers.ToArray()));
        Relu = RegisterModule("relu", new ReLU());
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Flatten = RegisterModule("flatten", new Flatten());
        Classifier = RegisterModule("classifier", new Linear(features, numClasses));
        foreach (var (_, m) in NamedModules())
        {
            if (m is Conv2d conv) Init.KaimingNormal(conv.Weight);
            else if (m is BatchNormBase bn) ModelInit.ResetNorm(bn);
        }
        Init.Zeros(Classifier.Bias!);
    }

    /// <summary>DenseNet-121: blocks (6, 12, 24, 16), k = 32.</summary>
    public static DenseNet DenseNet121(int numClasses = 1000, int inChannels = 3, bool memoryEfficient = false) =>
        new(32, [6, 12, 24, 16], 64, numClasses: numClasses, inChannels: inChannels, memoryEfficient: memoryEfficient);
    /// <summary>DenseNet-169: blocks (6, 12, 32, 32), k = 32.</summary>
    public static DenseNet DenseNet169(int numClasses = 1000, int inChannels = 3, bool memoryEfficient = false) =>
        new(32, [6, 12, 32, 32], 64, numClasses: numClasses, inChannels: inChannels, memoryEfficient: memoryEfficient);
    /// <summary>DenseNet-201: blocks (6, 12, 48, 32), k = 32.</summary>
    public static DenseNet DenseNet201(int numClasses = 1000, int inChannels = 3, bool memoryEfficient = false) =>
        new(32, [6, 12, 48, 32], 64, numClasses: numClasses, inChannels: inChannels, memoryEfficient: memoryEfficient);
    /// <summary>DenseNet-161: blocks (6, 12, 36, 24), k = 48, 96 stem channels.</summary>
    public static DenseNet DenseNet161(int numClasses = 1000, int inChannels = 3, bool memoryEfficient = false) =>
        new(48, [6, 12, 36, 24], 96, numClasses: numClasses, inChannels: inChannels, memoryEfficient: memoryEfficient);

    /// <summary>Stem, dense blocks, transitions and the final norm.</summary>
    public Sequential Features { get; }
    /// <summary>ReLU after norm5.</summary>
    public ReLU Relu { get; }
    /// <summary>Global average pool.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }
    /// <summary>Flatten before the classifier.</summary>
    public Flatten Flatten { get; }
    /// <summary>The classifier.</summary>
    public Linear Classifier { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Flatten.Call(AvgPool.Call(Relu.Call(Features.Call(input)))));
}
