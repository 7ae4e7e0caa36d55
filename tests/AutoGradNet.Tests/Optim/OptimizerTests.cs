using System.Reflection;
using AutoGradNet.Optim;
using static AutoGradNet.Tests.Optim.Problem;

namespace AutoGradNet.Tests.Optim;

public class OptimizerTests
{
    /// <summary>Every optimizer variant, built over the given groups.</summary>
    public static readonly Dictionary<string, Func<IEnumerable<ParamGroup>, Optimizer>> Factories = new()
    {
        ["sgd"] = g => new SGD(g, lr: 0.1),
        ["sgd-momentum-wd"] = g => new SGD(g, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        ["sgd-nesterov"] = g => new SGD(g, lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true),
        ["sgd-velocity"] = g => new SGD(g, lr: 0.1, momentum: 0.9, weightDecay: 0.01, velocityForm: true),
        ["adagrad"] = g => new Adagrad(g, lr: 0.1, lrDecay: 0.1, weightDecay: 0.01, initialAccumulatorValue: 0.1),
        ["rmsprop"] = g => new RMSprop(g, lr: 0.01, weightDecay: 0.01),
        ["rmsprop-centered-momentum"] = g => new RMSprop(g, lr: 0.01, alpha: 0.9, weightDecay: 0.01, momentum: 0.5, centered: true),
        ["adam"] = g => new Adam(g, lr: 0.1, weightDecay: 0.01),
        ["adam-amsgrad"] = g => new Adam(g, lr: 0.1, weightDecay: 0.01, amsgrad: true),
        ["adamw-amsgrad"] = g => new AdamW(g, lr: 0.1, amsgrad: true),
    };

    public static TheoryData<string> FactoryNames => [.. Factories.Keys];

    private static (Tensor A, Tensor B, ParamGroup[] Groups) TwoGroups(DType dtype = DType.Float64)
    {
        var a = NewParam(dtype);
        var b = NewParam(dtype, [1.5, -0.25]);
        return (a, b, [new ParamGroup([a]), new ParamGroup([b]) { Lr = 0.03 }]);
    }

    [Theory]
    [MemberData(nameof(FactoryNames))]
    public void StateDictRestoresABitIdenticalContinuation(string name)
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var (a1, b1, g1) = TwoGroups(dtype);
            var uninterrupted = Factories[name](g1);
            var full = Run(uninterrupted, 7, a1, b1);

            var (a2, b2, g2) = TwoGroups(dtype);
            var first = Factories[name](g2);
            Run(first, 3, a2, b2);
            using var saved = first.StateDict();
            first.Dispose();

            // A fresh optimizer with other hyper-parameters over fresh parameters holding the saved values.
            var a3 = NewParam(dtype, a2.ToDoubleArray());
            var b3 = NewParam(dtype, b2.ToDoubleArray());
            var resumed = Factories[name]([new ParamGroup([a3]) { Lr = 7 }, new ParamGroup([b3]) { Lr = 9 }]);
            resumed.LoadStateDict(saved.State, saved.ParamGroupsJson);
            Assert.Equal(0.03, resumed.ParamGroups[1].Lr);
            var rest = Run(resumed, 4, a3, b3);

            for (int t = 0; t < 4; t++)
                Assert.Equal(full[3 + t], rest[t]); // exact equality: bit-identical
        }
    }

    [Fact]
    public void StateDictUsesPyTorchNames()
    {
        var (a, b, groups) = TwoGroups();
        var adam = new Adam(groups, amsgrad: true);
        Run(adam, 2, a, b);
        using var sd = adam.StateDict();
        Assert.Equal(
            ["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.0.step",
             "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq", "state.1.step"],
            sd.State.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2.0, sd.State["state.1.step"].Item());
        Assert.Equal(DType.Float64, sd.State["state.1.step"].DType);
        Assert.Equal(
            """{"optimizer":"Adam","param_groups":[{"amsgrad":true,"beta1":0.9,"beta2":0.999,"eps":1E-08,"lr":0.001,"weight_decay":0,"params":[0]},{"amsgrad":true,"beta1":0.9,"beta2":0.999,"eps":1E-08,"lr":0.03,"weight_decay":0,"params":[1]}]}""",
            sd.ParamGroupsJson);
        // The dict holds copies: later steps do not change it.
        var before = sd.State["state.0.exp_avg"].ToDoubleArray();
        Run(adam, 1, a, b);
        Assert.Equal(before, sd.State["state.0.exp_avg"].ToDoubleArray());

        var sgd = new SGD([NewParam()], momentum: 0.9);
        Run(sgd, 1, sgd.ParamGroups[0].Params[0]);
        using var sgdState = sgd.StateDict();
        Assert.Equal(["state.0.momentum_buffer"], sgdState.State.Keys);
    }

    [Fact]
    public void LoadStateDictConvertsStateToTheParameterDtype()
    {
        var p32 = NewParam(DType.Float32);
        var adam32 = new Adam([p32], lr: 0.1);
        Run(adam32, 2, p32);
        using var sd = adam32.StateDict();

        var p64 = NewParam(DType.Float64, p32.ToDoubleArray());
        var adam64 = new Adam([p64]);
        adam64.LoadStateDict(sd);
        var state = adam64.GetState(p64)!;
        Assert.Equal(2, state.Step);
        Assert.Equal(DType.Float64, state.Tensors["exp_avg"].DType);
        Assert.Equal(sd.State["state.0.exp_avg_sq"].ToDoubleArray(), state.Tensors["exp_avg_sq"].ToDoubleArray());
        Assert.Equal(0.1, adam64.ParamGroups[0].Lr);
    }

    [Fact]
    public void LoadStateDictRejectsMismatches()
    {
        var (a, b, groups) = TwoGroups();
        var adam = new Adam(groups);
        Run(adam, 1, a, b);
        using var sd = adam.StateDict();

        var sgd = new SGD([new ParamGroup([NewParam()]), new ParamGroup([NewParam(values: [1, 2])])]);
        Assert.Contains("saved by Adam", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(sd)).Message);

        var oneGroup = new Adam([NewParam()]);
        Assert.Contains("2 parameter groups", Assert.Throws<ArgumentException>(() => oneGroup.LoadStateDict(sd)).Message);

        var otherShapes = new Adam([new ParamGroup([NewParam()]), new ParamGroup([NewParam(values: [1, 2, 3])])]);
        var e = Assert.Throws<ArgumentException>(() => otherShapes.LoadStateDict(sd));
        Assert.Contains("shape", e.Message);
        Assert.Null(otherShapes.GetState(otherShapes.ParamGroups[0].Params[0])); // nothing was changed

        var state = new Dictionary<string, Tensor>(sd.State) { ["state.0.momentum"] = sd.State["state.0.exp_avg"] };
        Assert.Contains("unknown state 'momentum'", Assert.Throws<ArgumentException>(() => new Adam(TwoGroups().Groups).LoadStateDict(state, sd.ParamGroupsJson)).Message);
        Assert.Contains("malformed", Assert.Throws<ArgumentException>(() => new Adam(TwoGroups().Groups).LoadStateDict(sd.State, "{")).Message);
    }

    [Fact]
    public void ParamGroupsHaveTheirOwnOptions()
    {
        // Group 0 uses the defaults (lr 0.1, momentum 0.9); group 1 overrides lr and momentum.
        var (a, b, _) = TwoGroups();
        var groups = new[] { new ParamGroup([a]), new ParamGroup([b]) { Lr = 0.01, ["momentum"] = 0.5 } };
        var sgd = new SGD(groups, lr: 0.1, momentum: 0.9);
        Assert.Equal(0.9, sgd.ParamGroups[0].GetDouble("momentum"));
        Assert.Equal(0.5, sgd.ParamGroups[1].GetDouble("momentum"));
        Assert.Equal(0.01, sgd.ParamGroups[1].Lr);
        Assert.Equal(0.0, sgd.ParamGroups[1].WeightDecay);
        var together = Run(sgd, 4, a, b);

        var (a2, b2, _) = TwoGroups();
        var alone0 = Run(new SGD([a2], lr: 0.1, momentum: 0.9), 4, a2);
        var alone1 = Run(new SGD([b2], lr: 0.01, momentum: 0.5), 4, b2);
        for (int t = 0; t < 4; t++)
            Assert.Equal([.. alone0[t], .. alone1[t]], together[t]);
    }

    [Fact]
    public void StepSkipsParametersWithoutGradientAndZeroGradClears()
    {
        var (a, b, groups) = TwoGroups();
        var adam = new Adam(groups);
        SetGrad(a);
        var bBefore = b.ToDoubleArray();
        adam.Step();
        Assert.Equal(bBefore, b.ToDoubleArray());
        Assert.Null(adam.GetState(b));
        Assert.Equal(1, adam.GetState(a)!.Step);
        Assert.NotEqual(Theta0, a.ToDoubleArray());

        adam.ZeroGrad(setToNone: false);
        Assert.Equal(new double[4], a.Grad!.ToDoubleArray());
        adam.ZeroGrad();
        Assert.Null(a.Grad);
        Assert.Null(b.Grad);
    }

    [Fact]
    public void StepDoesNotRecordOnTheTapeAndWorksWithBackward()
    {
        var w = NewParam();
        var sgd = new SGD([w], lr: 0.1);
        var target = Tensor.From(new double[] { 1, 2, 3, 4 }, 4);
        double first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            sgd.ZeroGrad();
            using var diff = w.Sub(target);
            using var loss = diff.Mul(diff).Sum();
            if (i == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            sgd.Step();
        }
        Assert.True(w.IsLeaf);
        Assert.True(last < first * 1e-3, $"loss went from {first} to {last}");
    }

    [Theory]
    [MemberData(nameof(FactoryNames))]
    public void SteadyStateStepsCreateNoTensor(string name)
    {
        var (a, b, groups) = TwoGroups();
        var opt = Factories[name](groups);
        Run(opt, 2, a, b); // warm-up: state and scratch buffers are created
        var buffers = opt.GetState(a)!.Tensors.Values.ToList();
        SetGrad(a);
        SetGrad(b);
        using var scope = Tensor.NewDisposeScope();
        for (int i = 0; i < 3; i++) opt.Step();
        // Every tensor made on this thread registers in the innermost scope (even if disposed since).
        var registered = (List<Tensor>)typeof(DisposeScope).GetField("_tensors", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(scope)!;
        Assert.Empty(registered);
        Assert.Equal(buffers, opt.GetState(a)!.Tensors.Values.ToList());
    }

    [Fact]
    public void StateSurvivesTheDisposeScopeOfTheFirstStep()
    {
        var p = NewParam();
        var adam = new Adam([p]);
        using (Tensor.NewDisposeScope())
        {
            SetGrad(p);
            adam.Step();
        }
        Assert.All(adam.GetState(p)!.Tensors.Values, t => Assert.False(t.IsDisposed));
        SetGrad(p);
        adam.Step();
        Assert.Equal(2, adam.GetState(p)!.Step);
    }

    // ---- misuse ----------------------------------------------------------------------------------------------

    [Fact]
    public void InvalidHyperParametersThrow()
    {
        Assert.Contains("learning rate", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([NewParam()], lr: -0.1)).Message);
        Assert.Contains("learning rate", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([NewParam()], lr: -1e-3)).Message);
        Assert.Contains("[0, 1)", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([NewParam()], beta1: 1.0)).Message);
        Assert.Contains("[0, 1)", Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([NewParam()], beta2: -0.1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adagrad([NewParam()], lrDecay: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RMSprop([NewParam()], momentum: -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([NewParam()], weightDecay: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([NewParam()], lr: double.NaN));
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new SGD([NewParam()], nesterov: true)).Message);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new SGD([NewParam()], momentum: 0.9, dampening: 0.1, nesterov: true)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParamGroup([NewParam()]) { Lr = -1 });
    }

    [Fact]
    public void InvalidGroupOptionsThrow()
    {
        Assert.Contains("unknown option 'momentun'",
            Assert.Throws<ArgumentException>(() => new SGD([new ParamGroup([NewParam()]) { ["momentun"] = 0.9 }])).Message);
        Assert.Contains("must be a boolean",
            Assert.Throws<ArgumentException>(() => new SGD([new ParamGroup([NewParam()]) { ["nesterov"] = 1 }])).Message);
        Assert.Contains("group 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([new ParamGroup([NewParam()]), new ParamGroup([NewParam()]) { ["beta1"] = 1.5 }])).Message);

        // Options changed after construction are checked at the next step.
        var p = NewParam();
        var adam = new Adam([p]);
        adam.ParamGroups[0]["beta2"] = 1.0;
        SetGrad(p);
        Assert.Throws<ArgumentOutOfRangeException>(adam.Step);
    }

    [Fact]
    public void InvalidParametersThrow()
    {
        var frozen = Tensor.From(Theta0, 4);
        Assert.Contains("does not require grad", Assert.Throws<ArgumentException>(() => new SGD([frozen])).Message);

        var p = NewParam();
        var q = NewParam();
        Assert.Contains("already appears in another parameter group", Assert.Throws<ArgumentException>(() => new Adam([new ParamGroup([p, q]), new ParamGroup([q])])).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => new SGD([p, p])).Message);
        Assert.Contains("empty parameter list", Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<Tensor>())).Message);
        using var nonLeaf = p.Mul(2.0);
        Assert.Contains("not a leaf", Assert.Throws<ArgumentException>(() => new SGD([nonLeaf])).Message);

        var r = NewParam();
        var adam = new Adam([r]);
        SetGrad(r);
        r.Grad!.Dispose();
        Assert.Contains("gradient of the parameter", Assert.Throws<ObjectDisposedException>(adam.Step).Message);

        var sgd = new SGD([p]);
        Assert.Contains("already appears", Assert.Throws<ArgumentException>(() => sgd.AddParamGroup(new ParamGroup([p]))).Message);
        var group = new ParamGroup([q]);
        sgd.AddParamGroup(group);
        Assert.Contains("already belongs", Assert.Throws<ArgumentException>(() => new SGD([group])).Message);
        Assert.Equal(2, sgd.ParamGroups.Count);
    }
}
