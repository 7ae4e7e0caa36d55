using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Nn;

/// <summary>A ResNet basic block written as plain C#: two conv-bn pairs and an identity shortcut.</summary>
internal sealed class BasicBlock : Module<Tensor, Tensor>
{
    public BasicBlock(int channels)
    {
        Conv1 = RegisterModule("conv1", new Conv2d(channels, channels, 3, padding: 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(channels));
        Conv2 = RegisterModule("conv2", new Conv2d(channels, channels, 3, padding: 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(channels));
    }

    public Conv2d Conv1 { get; }
    public BatchNorm2d Bn1 { get; }
    public Conv2d Conv2 { get; }
    public BatchNorm2d Bn2 { get; }

    public override Tensor Forward(Tensor x) => Bn2.Call(Conv2.Call(Bn1.Call(Conv1.Call(x)).Relu())).Add(x).Relu();
}

/// <summary>A DenseNet block: every layer sees the concatenation of all earlier feature maps.</summary>
internal sealed class DenseBlock : Module<Tensor, Tensor>
{
    private readonly ModuleList<Sequential> _layers = new();

    public DenseBlock(int inChannels, int growth, int count)
    {
        RegisterModule("layers", _layers);
        for (int i = 0; i < count; i++)
            _layers.Add(new Sequential(new BatchNorm2d(inChannels + i * growth), new ReLU(), new Conv2d(inChannels + i * growth, growth, 3, padding: 1, bias: false)));
    }

    public override Tensor Forward(Tensor x)
    {
        var features = new List<Tensor> { x };
        foreach (var layer in _layers) features.Add(layer.Call(Tensor.Cat(features, 1)));
        return Tensor.Cat(features, 1);
    }
}

internal sealed class TinyResNet : Module<Tensor, Tensor>
{
    public TinyResNet()
    {
        RegisterModule("conv1", new Conv2d(1, 4, 3, padding: 1, bias: false));
        RegisterModule("bn1", new BatchNorm2d(4));
        RegisterModule("layer1", new Sequential(new BasicBlock(4), new BasicBlock(4)));
        RegisterModule("fc", new Linear(4, 3));
    }

    public override Tensor Forward(Tensor x)
    {
        var children = NamedChildren().ToDictionary(c => c.Name, c => (Module<Tensor, Tensor>)c.Module);
        var h = children["bn1"].Call(children["conv1"].Call(x)).Relu();
        h = children["layer1"].Call(h);
        return children["fc"].Call(Functional.GlobalAvgPool(h).Flatten(1));
    }
}

public class ModuleTests
{
    [Fact]
    public void DottedNamesFollowPyTorch()
    {
        var model = new TinyResNet();
        var names = model.StateDict().Keys.ToList();
        Assert.Contains("conv1.weight", names);
        Assert.Contains("bn1.running_mean", names);
        Assert.Contains("bn1.num_batches_tracked", names);
        Assert.Contains("layer1.0.conv1.weight", names);
        Assert.Contains("layer1.1.bn2.running_var", names);
        Assert.Contains("fc.bias", names);
        Assert.DoesNotContain("conv1.bias", names); // bias=false registers nothing
        Assert.Equal("layer1.0.conv1.weight", model.NamedParameters().Select(p => p.Name).ElementAt(3));
        // conv1 36 + bn1 8 + 2 blocks × (2·144 + 2·8) + fc 15
        Assert.Equal(36 + 8 + 2 * (288 + 16) + 15, model.ParameterCount());
    }

    [Fact]
    public void TrainAndEvalSwitchBatchNormAndDropout()
    {
        var bn = new BatchNorm1d(3);
        var x = Tensor.Randn(8, 3).Mul(3.0).Add(2.0);
        var trained = bn.Call(x);
        Assert.True(trained.Mean(0).AllClose(Tensor.Zeros(3), 0, 1e-5)); // batch statistics
        Assert.Equal(1L, bn.NumBatchesTracked!.Item<long>());
        Assert.NotEqual(0.0, bn.RunningMean!.Abs().Sum().Item());
        bn.Eval();
        Assert.False(bn.Training);
        var evaluated = bn.Call(x);
        Assert.False(evaluated.Mean(0).AllClose(Tensor.Zeros(3), 0, 1e-3)); // running statistics
        Assert.Equal(1L, bn.NumBatchesTracked!.Item<long>());

        var model = new Sequential(new Linear(4, 4), new Dropout(0.5));
        var input = Tensor.Ones(16, 4);
        model.Eval();
        Assert.True(model.Call(input).AllClose(model.Call(input)));
        model.Train();
        Assert.False(model.Call(input).AllClose(model.Call(input)));
    }

    [Fact]
    public void BatchCounterFollowsWritesFromOutsideTheModule()
    {
        // The module remembers the count it wrote; a fill, a state-dict load or a replaced tensor must win over that.
        var bn = new BatchNorm1d(2, momentum: null);
        var x = Tensor.Randn(4, 2);
        bn.Call(x);
        bn.Call(x);
        Assert.Equal(2L, bn.NumBatchesTracked!.Item<long>());
        bn.NumBatchesTracked!.FillInPlace(10);
        bn.Call(x);
        Assert.Equal(11L, bn.NumBatchesTracked!.Item<long>());

        var other = new BatchNorm1d(2, momentum: null);
        for (int i = 0; i < 5; i++) other.Call(x);
        bn.LoadStateDict(other.StateDict());
        bn.Call(x);
        Assert.Equal(6L, bn.NumBatchesTracked!.Item<long>());

        // With momentum = null the running mean is the plain average over the batches counted: after a counter of
        // 6 the next batch gets weight 1/7.
        using var before = bn.RunningMean!.Clone();
        var shifted = x.Add(5.0);
        bn.Call(shifted);
        Assert.Equal(7L, bn.NumBatchesTracked!.Item<long>());
        var expected = before.Mul(6.0 / 7).Add(shifted.Mean(0).Mul(1.0 / 7));
        Assert.True(bn.RunningMean!.AllClose(expected, 1e-5, 1e-6));
    }

    [Fact]
    public void CumulativeMomentumAveragesAllBatches()
    {
        var bn = new BatchNorm1d(1, momentum: null);
        bn.Call(Tensor.From(new float[] { 0, 2 }).Reshape(2, 1));
        bn.Call(Tensor.From(new float[] { 4, 6 }).Reshape(2, 1));
        Assert.Equal(3.0, bn.RunningMean!.Item(), 6); // mean of batch means 1 and 5
    }

    [Fact]
    public void StateDictRoundTripAndStrictErrors()
    {
        var a = new TinyResNet();
        var b = new TinyResNet();
        Assert.False(a.StateDict()["fc.weight"].AllClose(b.StateDict()["fc.weight"]));
        var result = b.LoadStateDict(a.StateDict());
        Assert.True(result.IsClean);
        foreach (var (key, value) in a.StateDict()) Assert.True(value.AllClose(b.StateDict()[key]), key);

        var broken = new Dictionary<string, Tensor>(a.StateDict());
        broken.Remove("fc.bias");
        broken["extra.weight"] = Tensor.Zeros(1);
        broken["conv1.weight"] = Tensor.Zeros(2, 2);
        var e = Assert.Throws<InvalidOperationException>(() => b.LoadStateDict(broken));
        Assert.Contains("missing keys: fc.bias", e.Message);
        Assert.Contains("unexpected keys: extra.weight", e.Message);
        Assert.Contains("conv1.weight: checkpoint [2, 2], model [4, 1, 3, 3]", e.Message);
        var lenient = b.LoadStateDict(broken, strict: false);
        Assert.Equal(["fc.bias"], lenient.MissingKeys);
        Assert.Equal(["extra.weight"], lenient.UnexpectedKeys);
        Assert.Single(lenient.ShapeMismatches);
    }

    [Fact]
    public void ForwardHooksSeeAndReplaceOutputs()
    {
        var layer = new Linear(2, 2);
        Tensor? seen = null;
        using (layer.RegisterForwardHook((m, input, output) => { seen = output; return output.Mul(0.0); }))
        {
            var y = layer.Call(Tensor.Ones(1, 2));
            Assert.NotNull(seen);
            Assert.Equal(new Shape(1, 2), seen!.Shape);
            Assert.NotEqual(0.0, seen.Abs().Sum().Item()); // the hook saw the real output…
            Assert.Equal(0.0, y.Abs().Sum().Item());       // …and replaced it
        }
        Assert.NotEqual(0.0, layer.Call(Tensor.Ones(1, 2)).Abs().Sum().Item());
    }

    [Fact]
    public void ApplyVisitsChildrenBeforeParentAndInitialises()
    {
        var model = new Sequential(new Linear(3, 3), new Sequential(new Linear(3, 2)));
        var order = new List<string>();
        model.Apply(m => order.Add(m.GetType().Name));
        Assert.Equal(["Linear", "Linear", "Sequential", "Sequential"], order);
        model.Apply(m => { if (m is Linear l) { Init.Zeros(l.Weight); Init.Ones(l.Bias!); } });
        Assert.True(model.Call(Tensor.Randn(4, 3)).AllClose(Tensor.Ones(4, 2))); // zero weights: each layer outputs its bias
    }

    [Fact]
    public void ToDTypeKeepsTensorObjects()
    {
        var model = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
        var weight = model.Parameters().First();
        model.To(DType.Float64);
        Assert.Same(weight, model.Parameters().First());
        Assert.Equal(DType.Float64, weight.DType);
        Assert.Equal(DType.Int64, model.StateDict()["1.num_batches_tracked"].DType);
        Assert.Equal(new Shape(3, 2), model.Call(Tensor.Randn([3, 2], DType.Float64)).Shape);
    }

    [Fact]
    public void ZeroGradAndParameterRegistrationRules()
    {
        var layer = new Linear(2, 1);
        layer.Call(Tensor.Ones(1, 2)).Sum().Backward();
        Assert.NotNull(layer.Weight.Grad);
        layer.ZeroGrad();
        Assert.Null(layer.Weight.Grad);
        Assert.All(layer.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void ResidualAndDenseBlocksBackpropagateToEveryParameter()
    {
        var res = new BasicBlock(2).To(DType.Float64);
        var dense = new DenseBlock(2, 2, 3).To(DType.Float64);
        var x = Tensor.Randn([2, 2, 4, 4], DType.Float64).RequiresGrad_();
        var y = dense.Call(res.Call(x));
        Assert.Equal(new Shape(2, 8, 4, 4), y.Shape);
        y.Pow(2.0).Sum().Backward();
        foreach (var (name, p) in res.NamedParameters().Concat(dense.NamedParameters()))
            Assert.True(p.Grad is not null && p.Grad.Abs().Sum().Item() > 0, $"{name} got no gradient");
        Assert.Contains(dense.NamedParameters(), p => p.Name == "layers.2.2.weight");
    }

    [Fact]
    public void ModulePrintsLikePyTorch()
    {
        var text = new Sequential(new Linear(2, 3), new ReLU()).ToString();
        Assert.Equal("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n)", text);
    }
}

public class ModuleSerializationTests
{
    [Fact]
    public void ModuleRoundTripsThroughSafeTensors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"agn-module-{Guid.NewGuid():N}.safetensors");
        try
        {
            var a = new TinyResNet();
            a.Call(Tensor.Randn(2, 1, 6, 6)); // move batch-norm statistics away from their initial values
            AutoGradNet.Serialization.ModuleSerialization.Save(a, path);
            var b = new TinyResNet();
            Assert.True(AutoGradNet.Serialization.ModuleSerialization.Load(b, path).IsClean);
            var x = Tensor.Randn(3, 1, 6, 6);
            Assert.Equal(a.Eval().Call(x).ToArray<float>(), b.Eval().Call(x).ToArray<float>());
            var header = AutoGradNet.Serialization.SafeTensors.ReadHeader(path);
            Assert.Contains(header.Tensors, t => t.Name == "layer1.1.bn2.num_batches_tracked");
        }
        finally { File.Delete(path); }
    }
}
