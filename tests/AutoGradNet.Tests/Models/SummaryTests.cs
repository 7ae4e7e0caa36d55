using AutoGradNet.Models;
using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Models;

public class SummaryTests
{
    private static long Round(double value) => (long)Math.Round(value, MidpointRounding.AwayFromZero);

    // The seed deck's AlexNet table (seed 003), verbatim: layer, output C, output H/W (0 for flatten's vector), memory (KB),
    // params (k), flop (M) — with the module that each deck row is in our (torchvision-keyed) AlexNet.
    private static readonly (string Deck, string Module, int C, int HW, long Kb, long ParamsK, long FlopM)[] DeckTable =
    [
        ("conv1", "features.0", 64, 56, 784, 23, 73),
        ("pool1", "features.2", 64, 27, 182, 0, 0),
        ("conv2", "features.3", 192, 27, 547, 307, 224),
        ("pool2", "features.5", 192, 13, 127, 0, 0),
        ("conv3", "features.6", 384, 13, 254, 664, 112),
        ("conv4", "features.8", 256, 13, 169, 885, 145),
        ("conv5", "features.10", 256, 13, 169, 590, 100),
        ("pool5", "features.12", 256, 6, 36, 0, 0),
        ("flatten", "flatten", 9216, 0, 36, 0, 0),
        ("fc6", "classifier.1", 4096, 0, 16, 37_749, 38),
        ("fc7", "classifier.4", 4096, 0, 16, 16_777, 17),
        ("fc8", "classifier.6", 1000, 0, 4, 4_096, 4),
    ];

    // Cells where the deck is wrong, with the correct value. conv4: 256·13·13 outputs × 384·3·3 = 149,520,384 multiply-adds
    // (150 M, the deck prints 145). fc6–fc8: the deck's params column counts the weights only (9216·4096 = 37,748,736 → 37,749k),
    // leaving out the 4,096/4,096/1,000 biases that its own formula "Cin × Cout + Cout" includes.
    private static readonly Dictionary<(string Deck, string Column), long> Errata = new()
    {
        [("conv4", "flop")] = 150,
        [("fc6", "params")] = 37_753,
        [("fc7", "params")] = 16_781,
        [("fc8", "params")] = 4_097,
    };

    [Fact]
    public void SeedAlexNetSummaryReproducesTheDeckTableCellByCell()
    {
        var model = ModelZooTests.Meta("alexnet-seed003");
        var summary = model.Summary([1, 3, 227, 227]);
        Assert.Equal(SummaryPass.EmptyBatch, summary.Pass);
        foreach (var (deck, module, c, hw, kb, paramsK, flopM) in DeckTable)
        {
            var row = summary[module];
            int[] shape = hw == 0 ? [1, c] : [1, c, hw, hw];
            Assert.Equal(shape, row.OutputShape!);
            Assert.Equal(kb, Round(row.OutputKB));
            Assert.Equal(Errata.GetValueOrDefault((deck, "params"), paramsK), Round(row.Parameters / 1000.0));
            Assert.Equal(Errata.GetValueOrDefault((deck, "flop"), flopM), Round(row.MultAdds / 1e6));
        }
        // The deck's worked examples, exactly.
        Assert.Equal(200_704 * 4, summary["features.0"].OutputBytes);
        Assert.Equal(23_296, summary["features.0"].Parameters);
        Assert.Equal(72_855_552, summary["features.0"].MultAdds);
        Assert.Equal(182.25, summary["features.2"].OutputKB);
        Assert.Equal(419_904, summary["features.2"].MultAdds); // "0.4 MFLOP": 64·27·27 outputs × 3·3 comparisons
        Assert.Equal(37_748_736, summary["classifier.1"].MultAdds);
        // The errata: the deck's fc params are the weight counts; conv4's multiply-adds are 149.5 M.
        foreach (var (deck, module) in new[] { ("fc6", "classifier.1"), ("fc7", "classifier.4"), ("fc8", "classifier.6") })
            Assert.Equal(DeckTable.Single(r => r.Deck == deck).ParamsK, Round(summary[module].MultAdds / 1000.0));
        Assert.Equal(149_520_384, summary["features.8"].MultAdds);
    }

    [Fact]
    public void SeedLeNetSummaryMatchesTheDeckTable()
    {
        // Deck (seed 003): output size and weight size of every layer of the modern LeNet-5 on 1×28×28.
        (string Row, int[] Shape, int[]? Weight)[] table =
        [
            ("conv1", [1, 20, 28, 28], [20, 1, 5, 5]),
            ("relu1", [1, 20, 28, 28], null),
            ("pool1", [1, 20, 14, 14], null),
            ("conv2", [1, 50, 14, 14], [50, 20, 5, 5]),
            ("relu2", [1, 50, 14, 14], null),
            ("pool2", [1, 50, 7, 7], null),
            ("flatten", [1, 2450], null),
            ("fc1", [1, 500], [500, 2450]),
            ("relu3", [1, 500], null),
            ("fc2", [1, 10], [10, 500]),
        ];
        var model = new LeNet();
        var summary = model.Summary([1, 1, 28, 28]);
        Assert.Equal(table.Select(r => r.Row), summary.Rows.Select(r => r.Name));
        var state = model.StateDict();
        foreach (var (row, shape, weight) in table)
        {
            Assert.Equal(shape, summary[row].OutputShape!);
            if (weight is not null) Assert.Equal(new Shape(weight), state[row + ".weight"].Shape);
            else Assert.Equal(0, summary[row].Parameters);
        }
        Assert.Equal(1_256_080, summary.TotalParameters);
    }

    public static TheoryData<string, double> MultAddsAt224() => new()
    {
        // He et al. 2015, Table 1 (the paper's layout puts a bottleneck's stride in its first 1×1).
        { "resnet18", 1.8e9 },
        { "resnet34", 3.6e9 },
        { "resnet50-v1", 3.8e9 },
        // torchvision's v1.5 (stride in the 3×3) as it reports them.
        { "resnet50", 4.1e9 },
        // Other published totals: AlexNet (torchvision 0.71 G), VGG-16 15.5 G, GoogLeNet "1.5 billion", DenseNet-121 2.9 G.
        { "alexnet", 0.71e9 },
        { "vgg16", 15.5e9 },
        { "googlenet", 1.5e9 },
        { "densenet121", 2.87e9 },
    };

    [Theory]
    [MemberData(nameof(MultAddsAt224))]
    public void MultAddsMatchPublishedNumbers(string name, double expected)
    {
        var summary = ModelZooTests.Meta(name).Summary([1, 3, 224, 224]);
        Assert.InRange(summary.TotalMultAdds, expected * 0.95, expected * 1.05);
    }

    [Theory]
    [InlineData(101, 7.6e9, 7.8e9)]
    [InlineData(152, 11.3e9, 11.5e9)]
    public void DeepResNetMultAddsInBothLayouts(int depth, double paper, double torchvision)
    {
        using var meta = Device.Meta.AsDefault();
        var v1 = depth == 101 ? ResNet.ResNet101(strideInFirst1x1: true) : ResNet.ResNet152(strideInFirst1x1: true);
        var v15 = depth == 101 ? ResNet.ResNet101() : ResNet.ResNet152();
        Assert.InRange(v1.Summary([1, 3, 224, 224]).TotalMultAdds, paper * 0.99, paper * 1.01);
        Assert.InRange(v15.Summary([1, 3, 224, 224]).TotalMultAdds, torchvision * 0.99, torchvision * 1.01);
    }

    [Fact]
    public void InceptionV3MultAddsAt299()
    {
        // The paper: "5 billion multiply-adds"; torchvision reports 5.71 GFLOPS.
        Assert.InRange(ModelZooTests.Meta("inception_v3").Summary([1, 3, 299, 299]).TotalMultAdds, 5.6e9, 5.8e9);
    }

    [Fact]
    public void SummaryOfARealModelComputesNothingAndLeavesItUnchanged()
    {
        var model = CifarResNet.ResNet20();
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToDoubleArray());
        var summary = model.Summary([8, 3, 32, 32]);
        Assert.Equal(SummaryPass.EmptyBatch, summary.Pass);
        Assert.True(model.Training);
        Assert.All(model.NamedModules(), m => Assert.True(m.Module.Training, m.Name));
        foreach (var (key, value) in model.StateDict()) Assert.Equal(before[key], value.ToDoubleArray());
        // Hooks are removed: a later forward is not observed.
        var y = model.Call(Tensor.Randn(2, 3, 8, 8));
        Assert.Equal(new Shape(2, 10), y.Shape);
        // Same rows as the meta-built twin, with the batch of 8.
        var meta = ModelZooTests.Meta("cifar-resnet20-B").Summary([8, 3, 32, 32]);
        Assert.Equal(meta.Rows.Select(r => (r.Name, r.Type, r.OutputShape?.Length, r.Parameters, r.MultAdds)),
            summary.Rows.Select(r => (r.Name, r.Type, r.OutputShape?.Length, r.Parameters, r.MultAdds)));
        Assert.Equal([8, 16, 32, 32], summary["layer1.0.conv1"].OutputShape!);
        Assert.Equal([8, 64, 8, 8], summary["layer3"].OutputShape!);
        Assert.Equal(8L * 16 * 32 * 32 * 16 * 9, summary["layer1.0.conv1"].MultAdds);
        Assert.Equal(summary.TotalMultAdds, 8 * ModelZooTests.Meta("cifar-resnet20-B").Summary([1, 3, 32, 32]).TotalMultAdds);
    }

    [Fact]
    public void TotalsRowsAndTable()
    {
        var summary = new LeNet5(rbfOutput: true).Summary([1, 1, 32, 32]);
        Assert.Equal(60_000, summary.TrainableParameters);
        Assert.Equal(840, summary.NonTrainableParameters);
        Assert.Equal(summary.TotalParameters, summary.Rows.Sum(r => r.Parameters));
        Assert.Equal(summary.TotalParameters * 4, summary.ParameterBytes);
        Assert.Equal(32 * 32 * 4, summary.InputBytes);
        Assert.Equal(summary.Rows.Where(r => r.IsLeaf).Sum(r => r.OutputBytes), summary.ActivationBytes);
        // Custom layers count themselves: C3 has 60 connections of 25 taps at 10×10 outputs.
        Assert.Equal(100 * 60 * 25, summary["c3"].MultAdds);
        Assert.Equal(6 * 14 * 14 * 4, summary["s2"].MultAdds);
        Assert.Equal(10 * 84, summary["output"].MultAdds);
        Assert.Equal(6 * 28 * 28 * 25, summary["c1"].MultAdds);
        var text = summary.ToString();
        Assert.Contains("Layer (type)", text);
        Assert.Contains("└─c3 (LeNet5C3)", text);
        Assert.Contains("Total params: 60,840", text);
        Assert.Contains("Trainable params: 60,000", text);
        Assert.Contains("Non-trainable params: 840", text);
        Assert.Throws<KeyNotFoundException>(() => summary["nope"]);
    }

    [Fact]
    public void ContainersAndUncalledModules()
    {
        var model = ModelZooTests.Meta("googlenet-aux");
        var training = model.Summary([1, 3, 224, 224]);
        Assert.Equal([1, 1000], training["aux1"].OutputShape!);
        Assert.Equal(1, training["aux1.fc2"].Calls);
        Assert.Equal(training["inception3a"].TotalMultAdds, training.Rows.Where(r => r.Name.StartsWith("inception3a.", StringComparison.Ordinal)).Sum(r => r.MultAdds));
        Assert.Equal(training["inception3a"].TotalParameters, training.Rows.Where(r => r.Name.StartsWith("inception3a.", StringComparison.Ordinal)).Sum(r => r.Parameters));
        Assert.Equal([1, 256, 28, 28], training["inception3a"].OutputShape!);
        Assert.Equal([1, 832, 7, 7], training["inception5a"].OutputShape!);
        model.Eval();
        var eval = model.Summary([1, 3, 224, 224]);
        Assert.Equal(0, eval["aux1"].Calls);
        Assert.Null(eval["aux1"].OutputShape!);
        Assert.Equal(training.TotalParameters, eval.TotalParameters);
        Assert.True(eval.TotalMultAdds < training.TotalMultAdds);
        Assert.Contains("--", eval.ToString());
    }

    [Fact]
    public void SharedModulesCountEveryCall()
    {
        var summary = ModelZooTests.Meta("resnet18").Summary([1, 3, 224, 224]);
        Assert.Equal(2, summary["layer1.0.relu"].Calls); // torchvision's blocks reuse one ReLU
        Assert.Equal(2L * 64 * 56 * 56 * 4, summary["layer1.0.relu"].OutputBytes);
        Assert.Equal([1, 64, 56, 56], summary["layer1.0.relu"].OutputShape!);
    }

    [Fact]
    public void MemoryEfficientDenseNetSummaryEqualsThePlainOne()
    {
        var plain = ModelZooTests.Meta("densenet121").Summary([1, 3, 224, 224]);
        var efficient = ModelZooTests.Meta("densenet121-memory-efficient").Summary([1, 3, 224, 224]);
        Assert.Equal(plain.TotalMultAdds, efficient.TotalMultAdds);
        Assert.Equal([1, 1024, 7, 7], plain["features"].OutputShape!);
        Assert.Equal([1, 32, 56, 56], plain["features.denseblock1.denselayer1"].OutputShape!);
        Assert.Equal([1, 256, 56, 56], plain["features.denseblock1"].OutputShape!);
        Assert.Equal([1, 128, 28, 28], plain["features.transition1"].OutputShape!);
    }

    private sealed class RejectsEmptyBatch : Module<Tensor, Tensor>
    {
        public RejectsEmptyBatch() => RegisterModule("fc", new Linear(4, 2));

        public override Tensor Forward(Tensor input)
        {
            if (input.Size(0) == 0) throw new InvalidOperationException("needs a sample");
            return ((Linear)Children().First()).Call(input);
        }
    }

    [Fact]
    public void FallsBackToARealForwardWhenALayerRejectsAnEmptyBatch()
    {
        var summary = new RejectsEmptyBatch().Summary([3, 4]);
        Assert.Equal(SummaryPass.RealForward, summary.Pass);
        Assert.Equal([3, 2], summary["fc"].OutputShape!);
        Assert.Equal(3 * 4 * 2, summary["fc"].MultAdds);
        Assert.Throws<InvalidOperationException>(() => new RejectsEmptyBatch().Summary([3, 4], allowRealForward: false));
    }

    [Fact]
    public void FullSizeSummariesTakeMilliseconds()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        foreach (var name in new[] { "vgg19_bn", "resnet152", "densenet201", "inception_v3" })
            ModelZooTests.Meta(name).Summary(ModelZooTests.CanonicalInput(name));
        Assert.True(watch.ElapsedMilliseconds < 10_000, $"took {watch.ElapsedMilliseconds} ms");
    }
}
