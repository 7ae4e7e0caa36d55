using AutoGradNet.Models;
using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Models;

/// <summary>
/// The model zoo: exact parameter counts, output shapes, torchvision state-dict keys and strict loading, and backward
/// passes. Full-size models are built on the meta device (no storage, no arithmetic), so these tests take milliseconds per
/// model; backward passes with real arithmetic use small inputs or reduced widths.
/// </summary>
public class ModelZooTests
{
    internal static readonly Dictionary<string, Func<Module<Tensor, Tensor>>> Zoo = new()
    {
        ["lenet"] = () => new LeNet(),
        ["lenet5"] = () => new LeNet5(),
        ["lenet5-rbf"] = () => new LeNet5(rbfOutput: true),
        ["lenet5-modern"] = () => new LeNet5(activation: LeNet5Activation.Sigmoid, paperConnections: false, trainableSubsampling: false),
        ["alexnet"] = () => new AlexNet(),
        ["alexnet-seed003"] = () => new AlexNet(layout: AlexNetLayout.Seed003),
        ["alexnet-lrn"] = () => new AlexNet(layout: AlexNetLayout.Seed003, localResponseNorm: true),
        ["vgg11"] = () => Vgg.Vgg11(),
        ["vgg13"] = () => Vgg.Vgg13(),
        ["vgg16"] = () => Vgg.Vgg16(),
        ["vgg19"] = () => Vgg.Vgg19(),
        ["vgg11_bn"] = () => Vgg.Vgg11(batchNorm: true),
        ["vgg13_bn"] = () => Vgg.Vgg13(batchNorm: true),
        ["vgg16_bn"] = () => Vgg.Vgg16(batchNorm: true),
        ["vgg19_bn"] = () => Vgg.Vgg19(batchNorm: true),
        ["resnet18"] = () => ResNet.ResNet18(),
        ["cifar-resnet18"] = () => ResNet.CifarResNet18(),
        ["resnet34"] = () => ResNet.ResNet34(),
        ["resnet50"] = () => ResNet.ResNet50(),
        ["resnet101"] = () => ResNet.ResNet101(),
        ["resnet152"] = () => ResNet.ResNet152(),
        ["resnet50-v1"] = () => ResNet.ResNet50(strideInFirst1x1: true),
        ["resnext50_32x4d"] = () => ResNet.ResNeXt50_32x4d(),
        ["wide_resnet50_2"] = () => ResNet.WideResNet50_2(),
        ["cifar-resnet20-A"] = () => CifarResNet.ResNet20(shortcut: CifarShortcut.A),
        ["cifar-resnet32-A"] = () => CifarResNet.ResNet32(shortcut: CifarShortcut.A),
        ["cifar-resnet44-A"] = () => CifarResNet.ResNet44(shortcut: CifarShortcut.A),
        ["cifar-resnet56-A"] = () => CifarResNet.ResNet56(shortcut: CifarShortcut.A),
        ["cifar-resnet110-A"] = () => CifarResNet.ResNet110(shortcut: CifarShortcut.A),
        ["cifar-resnet20-B"] = () => CifarResNet.ResNet20(),
        ["cifar-resnet110-B"] = () => CifarResNet.ResNet110(),
        ["densenet121"] = () => DenseNet.DenseNet121(),
        ["densenet169"] = () => DenseNet.DenseNet169(),
        ["densenet201"] = () => DenseNet.DenseNet201(),
        ["densenet161"] = () => DenseNet.DenseNet161(),
        ["densenet121-memory-efficient"] = () => DenseNet.DenseNet121(memoryEfficient: true),
        ["googlenet"] = () => new GoogLeNet(),
        ["googlenet-aux"] = () => new GoogLeNet(auxLogits: true),
        ["inception_v3"] = () => new InceptionV3(),
        ["inception_v3-noaux"] = () => new InceptionV3(auxLogits: false),
    };

    /// <summary>Builds a zoo model on the meta device: shapes and names only, no memory, no initialisation arithmetic.</summary>
    internal static Module<Tensor, Tensor> Meta(string name)
    {
        using (Device.Meta.AsDefault()) return Zoo[name]();
    }

    internal static int[] CanonicalInput(string name) => name switch
    {
        _ when name.StartsWith("lenet5", StringComparison.Ordinal) => [1, 1, 32, 32],
        "lenet" => [1, 1, 28, 28],
        "alexnet-seed003" or "alexnet-lrn" => [1, 3, 227, 227],
        _ when name.StartsWith("cifar", StringComparison.Ordinal) => [1, 3, 32, 32],
        _ when name.StartsWith("inception", StringComparison.Ordinal) => [1, 3, 299, 299],
        _ => [1, 3, 224, 224],
    };

    public static TheoryData<string, long> ParameterCounts() => new()
    {
        // The seed deck's modern LeNet: 20·25+20 + 50·20·25+50 + 2450·500+500 + 500·10+10.
        { "lenet", 1_256_080 },
        // LeCun et al. 1998: C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 + F6 10,164 = 60,000, plus a linear output 850.
        { "lenet5", 60_850 },
        { "lenet5-rbf", 60_840 },
        { "lenet5-modern", 61_706 },
        { "alexnet", 61_100_840 },
        { "alexnet-seed003", 61_100_840 },
        { "alexnet-lrn", 61_100_840 },
        { "vgg11", 132_863_336 },
        { "vgg13", 133_047_848 },
        { "vgg16", 138_357_544 },
        { "vgg19", 143_667_240 },
        { "vgg11_bn", 132_868_840 },
        { "vgg13_bn", 133_053_736 },
        { "vgg16_bn", 138_365_992 },
        { "vgg19_bn", 143_678_248 },
        { "resnet18", 11_689_512 },
        { "cifar-resnet18", 11_173_962 },
        { "resnet34", 21_797_672 },
        { "resnet50", 25_557_032 },
        { "resnet101", 44_549_160 },
        { "resnet152", 60_192_808 },
        { "resnet50-v1", 25_557_032 },
        { "resnext50_32x4d", 25_028_904 },
        { "wide_resnet50_2", 68_883_240 },
        // He et al. 2015 §4.2 with option A: 0.27 M, 0.46 M, 0.66 M, 0.85 M, 1.7 M.
        { "cifar-resnet20-A", 269_722 },
        { "cifar-resnet32-A", 464_154 },
        { "cifar-resnet44-A", 658_586 },
        { "cifar-resnet56-A", 853_018 },
        { "cifar-resnet110-A", 1_727_962 },
        // Option B adds 16→32 and 32→64 1×1 projections with BN: 512 + 64 + 2,048 + 128.
        { "cifar-resnet20-B", 269_722 + 2_752 },
        { "cifar-resnet110-B", 1_727_962 + 2_752 },
        { "densenet121", 7_978_856 },
        { "densenet169", 14_149_480 },
        { "densenet201", 20_013_928 },
        { "densenet161", 28_681_000 },
        { "densenet121-memory-efficient", 7_978_856 },
        { "googlenet", 6_624_904 },
        { "googlenet-aux", 13_004_888 },
        { "inception_v3", 27_161_264 },
        { "inception_v3-noaux", 23_834_568 },
    };

    [Theory]
    [MemberData(nameof(ParameterCounts))]
    public void ParameterCountsAreExact(string name, long expected)
    {
        var model = Meta(name);
        Assert.Equal(expected, model.ParameterCount());
        Assert.All(model.StateDict().Values, t => Assert.Same(Device.Meta, t.Device));
    }

    [Fact]
    public void EveryZooModelHasACountedParameterTotal()
    {
        var counted = ParameterCounts().Select(row => (string)row[0]).ToHashSet();
        Assert.DoesNotContain(Zoo.Keys, k => !counted.Contains(k));
    }

    [Fact]
    public void LeNet5HasThePapersSixtyThousandTrainableParameters()
    {
        var model = new LeNet5(rbfOutput: true);
        Assert.Equal(60_000, model.ParameterCount(trainableOnly: true));
        var perLayer = model.NamedParameters().GroupBy(p => p.Name.Split('.')[0]).ToDictionary(g => g.Key, g => g.Sum(p => (long)p.Parameter.Numel));
        Assert.Equal(156, perLayer["c1"]);
        Assert.Equal(12, perLayer["s2"]);
        Assert.Equal(1_516, perLayer["c3"]);
        Assert.Equal(32, perLayer["s4"]);
        Assert.Equal(48_120, perLayer["c5"]);
        Assert.Equal(10_164, perLayer["f6"]);
        Assert.False(model.StateDict()["output.weight"].RequiresGrad); // fixed RBF centres
        // Table I: 6 maps of 3 inputs, 9 of 4, 1 of 6 = 60 connections; every S2 map feeds 10 C3 maps.
        Assert.Equal(60, LeNet5C3.Connections.Sum(c => c.Length));
        for (int i = 0; i < 6; i++) Assert.Equal(10, LeNet5C3.Connections.Count(c => c.Contains(i)));
    }

    [Fact]
    public void LeNet5C3MatchesAMaskedFullConvolution()
    {
        var c3 = new LeNet5C3().To(DType.Float64);
        var x = Tensor.Randn([2, 6, 7, 7], DType.Float64);
        var full = Tensor.Zeros([16, 6, 5, 5], DType.Float64);
        int k = 0;
        for (int o = 0; o < 16; o++)
            foreach (int i in LeNet5C3.Connections[o])
                full[o][i].CopyInPlace(c3.Weight[k++][0]);
        var expected = Functional.Conv2d(x, full, c3.Bias);
        Assert.True(c3.Call(x).AllClose(expected, 1e-12, 1e-12));
    }

    [Theory]
    [InlineData("lenet", 10)]
    [InlineData("lenet5", 10)]
    [InlineData("lenet5-rbf", 10)]
    [InlineData("alexnet", 1000)]
    [InlineData("alexnet-seed003", 1000)]
    [InlineData("alexnet-lrn", 1000)]
    [InlineData("vgg16_bn", 1000)]
    [InlineData("resnet152", 1000)]
    [InlineData("resnet50-v1", 1000)]
    [InlineData("cifar-resnet110-A", 10)]
    [InlineData("cifar-resnet18", 10)]
    [InlineData("densenet201", 1000)]
    [InlineData("googlenet-aux", 1000)]
    [InlineData("inception_v3", 1000)]
    public void OutputShapesAtCanonicalInputSizes(string name, int classes)
    {
        // Evaluation mode: a batch of one has no batch statistics where the maps are 1×1 (Inception-v3's auxiliary head).
        var model = Meta(name).Eval();
        var input = CanonicalInput(name);
        var y = model.Call(Tensor.Zeros(input, DType.Float32, Device.Meta));
        Assert.Equal(new Shape(1, classes), y.Shape);
        Assert.Equal([1, classes], model.Summary(input).OutputShape!);
    }

    [Fact]
    public void ConfigurableClassesAndInputChannels()
    {
        using var meta = Device.Meta.AsDefault();
        (Module<Tensor, Tensor> Model, int[] Input)[] cases =
        [
            (new LeNet(numClasses: 7, inChannels: 3, inputSize: 32), [2, 3, 32, 32]),
            (new LeNet5(numClasses: 7, inChannels: 3), [2, 3, 32, 32]),
            (new AlexNet(numClasses: 7, inChannels: 1), [2, 1, 224, 224]),
            (Vgg.Vgg11(batchNorm: true, numClasses: 7, inChannels: 1), [2, 1, 64, 64]),
            (ResNet.ResNet18(numClasses: 7, inChannels: 1), [2, 1, 64, 64]),
            (new CifarResNet(20, numClasses: 7, inChannels: 1), [2, 1, 32, 32]),
            (DenseNet.DenseNet121(numClasses: 7, inChannels: 1), [2, 1, 64, 64]),
            (new GoogLeNet(numClasses: 7, inChannels: 1, auxLogits: true), [2, 1, 96, 96]),
            (new InceptionV3(numClasses: 7, inChannels: 1), [2, 1, 299, 299]),
        ];
        foreach (var (model, input) in cases)
            Assert.Equal(new Shape(2, 7), model.Call(Tensor.Zeros(input, DType.Float32, Device.Meta)).Shape);
    }

    public static TheoryData<string, string, int[]> TorchvisionKeys() => new()
    {
        { "alexnet", "features.0.weight", [64, 3, 11, 11] },
        { "alexnet", "features.3.bias", [192] },
        { "alexnet", "features.10.weight", [256, 256, 3, 3] },
        { "alexnet", "classifier.1.weight", [4096, 9216] },
        { "alexnet", "classifier.4.weight", [4096, 4096] },
        { "alexnet", "classifier.6.bias", [1000] },
        { "alexnet-lrn", "features.4.weight", [192, 64, 5, 5] },
        { "vgg16", "features.0.weight", [64, 3, 3, 3] },
        { "vgg16", "features.28.weight", [512, 512, 3, 3] },
        { "vgg16", "classifier.0.weight", [4096, 25088] },
        { "vgg16", "classifier.6.weight", [1000, 4096] },
        { "vgg16_bn", "features.1.running_mean", [64] },
        { "vgg16_bn", "features.40.weight", [512, 512, 3, 3] },
        { "vgg16_bn", "features.41.num_batches_tracked", [] },
        { "vgg19", "features.34.weight", [512, 512, 3, 3] },
        { "resnet18", "conv1.weight", [64, 3, 7, 7] },
        { "cifar-resnet18", "conv1.weight", [64, 3, 3, 3] },
        { "resnet18", "bn1.running_mean", [64] },
        { "resnet18", "layer1.0.conv1.weight", [64, 64, 3, 3] },
        { "resnet18", "layer2.0.downsample.0.weight", [128, 64, 1, 1] },
        { "resnet18", "layer2.0.downsample.1.running_var", [128] },
        { "resnet18", "fc.weight", [1000, 512] },
        { "resnet50", "layer1.0.downsample.0.weight", [256, 64, 1, 1] },
        { "resnet50", "layer3.5.conv3.weight", [1024, 256, 1, 1] },
        { "resnet50", "layer4.2.bn3.weight", [2048] },
        { "resnet50", "fc.weight", [1000, 2048] },
        { "resnet152", "layer3.35.conv2.weight", [256, 256, 3, 3] },
        { "resnext50_32x4d", "layer1.0.conv2.weight", [128, 4, 3, 3] },
        { "cifar-resnet20-B", "conv1.weight", [16, 3, 3, 3] },
        { "cifar-resnet20-B", "layer2.0.downsample.0.weight", [32, 16, 1, 1] },
        { "cifar-resnet20-B", "layer3.2.bn2.weight", [64] },
        { "cifar-resnet20-B", "fc.weight", [10, 64] },
        { "densenet121", "features.conv0.weight", [64, 3, 7, 7] },
        { "densenet121", "features.norm0.running_mean", [64] },
        { "densenet121", "features.denseblock1.denselayer1.norm1.weight", [64] },
        { "densenet121", "features.denseblock1.denselayer1.conv1.weight", [128, 64, 1, 1] },
        { "densenet121", "features.denseblock1.denselayer6.conv2.weight", [32, 128, 3, 3] },
        { "densenet121", "features.transition1.norm.weight", [256] },
        { "densenet121", "features.transition1.conv.weight", [128, 256, 1, 1] },
        { "densenet121", "features.denseblock4.denselayer16.norm2.running_var", [128] },
        { "densenet121", "features.norm5.weight", [1024] },
        { "densenet121", "classifier.weight", [1000, 1024] },
        { "googlenet", "conv1.conv.weight", [64, 3, 7, 7] },
        { "googlenet", "conv1.bn.running_var", [64] },
        { "googlenet", "inception3a.branch1.conv.weight", [64, 192, 1, 1] },
        { "googlenet", "inception3a.branch2.1.conv.weight", [128, 96, 3, 3] },
        { "googlenet", "inception3a.branch3.1.conv.weight", [32, 16, 3, 3] },
        { "googlenet", "inception3a.branch4.1.conv.weight", [32, 192, 1, 1] },
        { "googlenet", "inception5b.branch1.bn.bias", [384] },
        { "googlenet", "fc.weight", [1000, 1024] },
        { "googlenet-aux", "aux1.conv.conv.weight", [128, 512, 1, 1] },
        { "googlenet-aux", "aux1.fc1.weight", [1024, 2048] },
        { "googlenet-aux", "aux2.conv.conv.weight", [128, 528, 1, 1] },
        { "googlenet-aux", "aux2.fc2.weight", [1000, 1024] },
        { "inception_v3", "Conv2d_1a_3x3.conv.weight", [32, 3, 3, 3] },
        { "inception_v3", "Conv2d_4a_3x3.bn.running_mean", [192] },
        { "inception_v3", "Mixed_5b.branch1x1.conv.weight", [64, 192, 1, 1] },
        { "inception_v3", "Mixed_5b.branch5x5_2.conv.weight", [64, 48, 5, 5] },
        { "inception_v3", "Mixed_5b.branch_pool.conv.weight", [32, 192, 1, 1] },
        { "inception_v3", "Mixed_6a.branch3x3.conv.weight", [384, 288, 3, 3] },
        { "inception_v3", "Mixed_6b.branch7x7_2.conv.weight", [128, 128, 1, 7] },
        { "inception_v3", "Mixed_6e.branch7x7dbl_4.conv.weight", [192, 192, 7, 1] },
        { "inception_v3", "Mixed_7a.branch7x7x3_4.conv.weight", [192, 192, 3, 3] },
        { "inception_v3", "Mixed_7b.branch3x3_2b.conv.weight", [384, 384, 3, 1] },
        { "inception_v3", "Mixed_7c.branch3x3dbl_3a.conv.weight", [384, 384, 1, 3] },
        { "inception_v3", "AuxLogits.conv0.conv.weight", [128, 768, 1, 1] },
        { "inception_v3", "AuxLogits.conv1.conv.weight", [768, 128, 5, 5] },
        { "inception_v3", "AuxLogits.fc.weight", [1000, 768] },
        { "inception_v3", "fc.weight", [1000, 2048] },
    };

    [Theory]
    [MemberData(nameof(TorchvisionKeys))]
    public void StateDictKeysAreTorchvisions(string model, string key, int[] shape)
    {
        var state = Meta(model).StateDict();
        Assert.True(state.ContainsKey(key), $"{model} has no '{key}'; keys start: {string.Join(", ", state.Keys.Take(8))}");
        Assert.Equal(new Shape(shape), state[key].Shape);
    }

    [Fact]
    public void KeysAreTheSameWithAndWithoutMemoryEfficientDenseNetAndInV1Layout()
    {
        Assert.Equal(Meta("densenet121").StateDict().Keys, Meta("densenet121-memory-efficient").StateDict().Keys);
        Assert.Equal(Meta("resnet50").StateDict().Select(kv => (kv.Key, kv.Value.Shape)), Meta("resnet50-v1").StateDict().Select(kv => (kv.Key, kv.Value.Shape)));
        Assert.Equal(Meta("alexnet").StateDict().Select(kv => (kv.Key, kv.Value.Shape)), Meta("alexnet-seed003").StateDict().Select(kv => (kv.Key, kv.Value.Shape)));
        Assert.DoesNotContain(Meta("googlenet").StateDict().Keys, k => k.StartsWith("aux", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("alexnet")]
    [InlineData("vgg19_bn")]
    [InlineData("resnet101")]
    [InlineData("cifar-resnet56-A")]
    [InlineData("densenet169")]
    [InlineData("googlenet-aux")]
    [InlineData("inception_v3")]
    public void StrictLoadingOfAStateDictAssembledFromNamesAndShapes(string name)
    {
        var model = Meta(name);
        Dictionary<string, Tensor> checkpoint;
        using (Device.Meta.AsDefault())
            checkpoint = model.StateDict().ToDictionary(kv => kv.Key, kv => Tensor.Zeros(kv.Value.Shape.ToArray(), kv.Value.DType));
        Assert.True(model.LoadStateDict(checkpoint).IsClean);
        var extra = new Dictionary<string, Tensor>(checkpoint) { ["fc.extra"] = Tensor.Zeros([1], DType.Float32, Device.Meta) };
        Assert.Throws<InvalidOperationException>(() => model.LoadStateDict(extra));
    }

    [Fact]
    public void StrictLoadingCopiesValuesIntoARealModel()
    {
        var model = CifarResNet.ResNet20();
        var checkpoint = model.StateDict().ToDictionary(kv => kv.Key,
            kv => kv.Value.DType == DType.Int64 ? Tensor.Full(kv.Value.Shape.ToArray(), 3, DType.Int64) : Tensor.Randn(kv.Value.Shape.ToArray()));
        Assert.True(model.LoadStateDict(checkpoint).IsClean);
        foreach (var (key, value) in model.StateDict()) Assert.True(value.AllClose(checkpoint[key]), key);
    }

    [Theory]
    [InlineData("lenet5")]
    [InlineData("alexnet-lrn")]
    [InlineData("vgg11_bn")]
    [InlineData("resnet152")]
    [InlineData("resnet50-v1")]
    [InlineData("resnext50_32x4d")]
    [InlineData("cifar-resnet20-A")]
    [InlineData("densenet121")]
    [InlineData("densenet121-memory-efficient")]
    [InlineData("densenet169")]
    [InlineData("densenet201")]
    [InlineData("googlenet-aux")]
    [InlineData("inception_v3")]
    public void FullSizeBackwardReachesEveryParameterOnMeta(string name)
    {
        // Structure only (meta tensors carry no values): every trainable parameter is on the tape and gets a gradient of its shape.
        var model = Meta(name);
        var input = CanonicalInput(name);
        input[0] = 2;
        var x = Tensor.Zeros(input, DType.Float32, Device.Meta);
        var target = Tensor.Zeros([2], DType.Int64, Device.Meta);
        var loss = Loss.CrossEntropy(model.Call(x), target);
        foreach (var aux in Auxiliaries(model, x)) loss = loss.Add(Loss.CrossEntropy(aux, target).Mul(0.3));
        loss.Backward();
        foreach (var (key, p) in model.NamedParameters().Where(p => p.Parameter.RequiresGrad))
            Assert.True(p.Grad is { } g && g.Shape == p.Shape, $"{name}: {key} got no gradient");
    }

    private static IEnumerable<Tensor> Auxiliaries(Module<Tensor, Tensor> model, Tensor x) => model switch
    {
        GoogLeNet g when g.Aux1 is not null => g.ForwardWithAux(x) is var o ? [o.Aux1!, o.Aux2!] : [],
        InceptionV3 v when v.AuxLogits is not null => [v.ForwardWithAux(x).Aux2!],
        _ => [],
    };

    /// <summary>Backward with real arithmetic in float64; every trainable parameter must get a non-zero gradient.</summary>
    private static void AssertBackwardReachesEveryParameter(Module<Tensor, Tensor> model, int[] input, Func<Tensor, Tensor>? forward = null, int classes = 10)
    {
        model.To(DType.Float64);
        var generator = new Generator(7);
        var x = Tensor.Randn(input, DType.Float64, generator);
        var target = Tensor.Randint(0, classes, [input[0]], generator: generator);
        var logits = forward is null ? model.Call(x) : forward(x);
        Assert.Equal(new Shape(input[0], classes), logits.Shape);
        Loss.CrossEntropy(logits, target).Backward();
        foreach (var (key, p) in model.NamedParameters().Where(p => p.Parameter.RequiresGrad))
        {
            Assert.True(p.Grad is not null, $"{model.GetType().Name}: {key} got no gradient");
            Assert.True(p.Grad!.Abs().Sum().Item() > 0, $"{model.GetType().Name}: {key} got a zero gradient");
            Assert.True(p.Grad.AllFinite(), $"{model.GetType().Name}: {key} got a non-finite gradient");
        }
    }

    [Theory]
    [InlineData(CifarShortcut.A)]
    [InlineData(CifarShortcut.B)]
    public void CifarResNet20BackwardOnASmallBatch(CifarShortcut shortcut) =>
        AssertBackwardReachesEveryParameter(CifarResNet.ResNet20(shortcut: shortcut), [2, 3, 8, 8]);

    [Theory]
    [InlineData(ResNetBlockKind.Basic, false)]
    [InlineData(ResNetBlockKind.Bottleneck, false)]
    [InlineData(ResNetBlockKind.Bottleneck, true)]
    public void ReducedWidthResNetBackward(ResNetBlockKind block, bool v1) =>
        AssertBackwardReachesEveryParameter(new ResNet(block, [1, 2, 1, 1], numClasses: 10, basePlanes: 4, strideInFirst1x1: v1), [2, 3, 32, 32]);

    [Fact]
    public void TinyDenseNetBackward() =>
        AssertBackwardReachesEveryParameter(new DenseNet(growthRate: 4, blockConfig: [2, 3], numInitFeatures: 8, bnSize: 2, numClasses: 10), [2, 3, 16, 16]);

    [Fact]
    public void ReducedWidthGoogLeNetBackwardThroughBothAuxiliaryHeads()
    {
        var model = new GoogLeNet(numClasses: 10, auxLogits: true, width: 0.125);
        AssertBackwardReachesEveryParameter(model, [2, 3, 64, 64], x =>
        {
            var o = model.ForwardWithAux(x);
            // Route the heads into the logits so that one cross-entropy covers all three (the paper weights them 0.3).
            return o.Logits.Add(o.Aux1!.Mul(0.3)).Add(o.Aux2!.Mul(0.3));
        });
    }

    [Fact]
    public void ReducedWidthInceptionV3BackwardThroughTheAuxiliaryHead()
    {
        var model = new InceptionV3(numClasses: 10, width: 0.0625);
        AssertBackwardReachesEveryParameter(model, [2, 3, 299, 299], x =>
        {
            var o = model.ForwardWithAux(x);
            return o.Logits.Add(o.Aux2!.Mul(0.3));
        });
    }

    [Fact]
    public void LeNetsAlexNetAndVggBlocksBackward()
    {
        AssertBackwardReachesEveryParameter(new LeNet(), [2, 1, 28, 28]);
        AssertBackwardReachesEveryParameter(new LeNet5(), [2, 1, 32, 32]);
        var rbf = new LeNet5(rbfOutput: true);
        AssertBackwardReachesEveryParameter(rbf, [2, 1, 32, 32], x => rbf.Call(x).Neg());
        Assert.Null(rbf.StateDict()["output.weight"].Grad);
    }

    [Fact]
    public void EvalModeSkipsAuxiliaryHeads()
    {
        var model = Meta("googlenet-aux").Eval();
        var o = ((GoogLeNet)model).ForwardWithAux(Tensor.Zeros([1, 3, 224, 224], DType.Float32, Device.Meta));
        Assert.Null(o.Aux1);
        Assert.Null(o.Aux2);
        var train = (GoogLeNet)Meta("googlenet-aux");
        var t = train.ForwardWithAux(Tensor.Zeros([2, 3, 224, 224], DType.Float32, Device.Meta));
        Assert.Equal(new Shape(2, 1000), t.Aux1!.Shape);
        Assert.Equal(new Shape(2, 1000), t.Aux2!.Shape);
    }

    [Fact]
    public void SeedAlexNetRequires227Inputs()
    {
        var model = Meta("alexnet-seed003");
        Assert.Equal(new Shape(1, 1000), model.Call(Tensor.Zeros([1, 3, 224, 224], DType.Float32, Device.Meta)).Shape);
        var e = Assert.Throws<ArgumentException>(() => model.Call(Tensor.Zeros([1, 3, 256, 256], DType.Float32, Device.Meta)));
        Assert.Contains("227", e.Message);
        Assert.Equal(new Shape(1, 1000), Meta("alexnet").Call(Tensor.Zeros([1, 3, 256, 256], DType.Float32, Device.Meta)).Shape);
    }

    [Fact]
    public void CifarShortcutAPadsChannelsAndSubsamples()
    {
        var shortcut = new PadShortcut(2, 6, 2);
        var x = Tensor.Arange(2 * 2 * 4 * 4, DType.Float64).Reshape(2, 2, 4, 4);
        var y = shortcut.Call(x);
        Assert.Equal(new Shape(2, 6, 2, 2), y.Shape);
        Assert.Equal(0.0, y.Narrow(1, 0, 2).Abs().Sum().Item());
        Assert.True(y.Narrow(1, 2, 2).AllClose(x.Slice(2, step: 2).Slice(3, step: 2)));
        Assert.Equal(0.0, y.Narrow(1, 4, 2).Abs().Sum().Item());
    }
}
