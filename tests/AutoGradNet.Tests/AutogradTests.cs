namespace AutoGradNet.Tests;

public class AutogradTests
{
    private static Tensor Leaf(params double[] values) => Tensor.From(values).RequiresGrad_();

    [Fact]
    public void BackwardOnScalarFillsLeafGrad()
    {
        var x = Leaf(1, 2, 3);
        var y = (x * x).Sum();
        y.Backward();
        Assert.Equal([2.0, 4, 6], x.Grad!.ToArray<double>());
        Assert.Equal(14, y.Item());
    }

    [Fact]
    public void GradAccumulatesAcrossBackwardCalls()
    {
        var x = Leaf(1, 2);
        (x * 3.0).Sum().Backward();
        (x * x).Sum().Backward();
        Assert.Equal([3.0 + 2, 3 + 4], x.Grad!.ToArray<double>());
        x.ZeroGrad();
        Assert.Null(x.Grad);
        (x * 2.0).Sum().Backward();
        Assert.Equal([2.0, 2], x.Grad!.ToArray<double>());
        x.ZeroGrad(setToNone: false);
        Assert.Equal([0.0, 0], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void TensorUsedInSeveralPlacesReceivesSumOfGradients()
    {
        // ResNet rule: y = f(x) + x; DenseNet rule: concatenation reuses earlier features.
        var x = Leaf(0.5, -1.5, 2.0);
        var residual = x.Tanh().Mul(2.0).Add(x);
        var dense = Tensor.Cat([x, x.Mul(x), residual]).Sum();
        dense.Backward();
        var expected = new double[3];
        var xs = new[] { 0.5, -1.5, 2.0 };
        for (int i = 0; i < 3; i++)
        {
            double t = Math.Tanh(xs[i]);
            expected[i] = 1 + 2 * xs[i] + (2 * (1 - t * t) + 1);
        }
        var grad = x.Grad!.ToArray<double>();
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], grad[i], 12);
    }

    [Fact]
    public void BackwardWithExplicitGradientOnNonScalar()
    {
        var x = Leaf(1, 2, 3);
        var y = x * x;
        y.Backward(Tensor.From(new double[] { 1, 0.5, -1 }));
        Assert.Equal([2.0, 2, -6], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void BackwardOnNonScalarWithoutGradientThrows()
    {
        var x = Leaf(1, 2, 3);
        var y = x * x;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void BackwardOnTensorWithoutGradThrows()
    {
        var x = Tensor.From(new double[] { 1, 2 });
        var e = Assert.Throws<InvalidOperationException>(() => x.Sum().Backward());
        Assert.Contains("does not require grad", e.Message);
    }

    [Fact]
    public void GradientShapeMismatchInBackwardThrows()
    {
        var x = Leaf(1, 2, 3);
        var y = x * 2.0;
        var e = Assert.Throws<ArgumentException>(() => y.Backward(Tensor.From(new double[] { 1, 2 })));
        Assert.Contains("[2]", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void SecondBackwardThroughFreedGraphThrowsNamingTheOp()
    {
        var x = Leaf(1, 2);
        var y = (x.Exp() * x).Sum();
        y.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("retainGraph", e.Message);
        Assert.Contains("Backward", e.Message);
    }

    [Fact]
    public void RetainGraphAllowsSecondBackward()
    {
        var x = Leaf(1, 2);
        var y = (x.Exp() * x).Sum();
        y.Backward(null, retainGraph: true);
        y.Backward();
        var e1 = Math.Exp(1) * 2;
        Assert.Equal(2 * e1, x.Grad!.ToArray<double>()[0], 12);
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        var x = Leaf(2, 3);
        var d = (x * x).Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        var y = (d * x).Sum();
        y.Backward();
        Assert.Equal([4.0, 9], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void NoGradScopeRecordsNothingAndRestores()
    {
        var x = Leaf(1, 2);
        Tensor y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = x * 2.0;
        }
        Assert.True(GradMode.IsEnabled);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
    }

    [Fact]
    public void FunctionalGradDoesNotTouchLeafGrad()
    {
        var x = Leaf(1, 2, 3);
        var y = (x * x * x).Sum();
        var g = Autograd.Grad(y, x);
        Assert.Equal([3.0, 12, 27], g.ToArray<double>());
        Assert.Null(x.Grad);
    }

    [Fact]
    public void CreateGraphGivesSecondDerivative()
    {
        var x = Leaf(1, 2, 3);
        var y = (x * x * x).Sum();
        var g = Autograd.Grad([y], [x], createGraph: true)[0]!;
        Assert.True(g.RequiresGrad);
        var gg = Autograd.Grad(g.Sum(), x);
        Assert.Equal([6.0, 12, 18], gg.ToArray<double>());
    }

    [Fact]
    public void ThirdDerivativeThroughExp()
    {
        var x = Leaf(0.3);
        var y = x.Exp().Mul(x).Sum(); // x·eˣ, third derivative (x + 3)eˣ
        var d1 = Autograd.Grad([y], [x], createGraph: true)[0]!;
        var d2 = Autograd.Grad([d1.Sum()], [x], createGraph: true)[0]!;
        var d3 = Autograd.Grad(d2.Sum(), x);
        Assert.Equal((0.3 + 3) * Math.Exp(0.3), d3.Item(), 12);
    }

    [Fact]
    public void GradWithRespectToIntermediateTensor()
    {
        var x = Leaf(1, 2);
        var h = x * 3.0;
        var y = (h * h).Sum();
        var grads = Autograd.Grad([y], [h, x]);
        Assert.Equal([6.0, 12], grads[0]!.ToArray<double>());
        Assert.Equal([18.0, 36], grads[1]!.ToArray<double>());
    }

    [Fact]
    public void UnusedInputThrowsUnlessAllowed()
    {
        var x = Leaf(1, 2);
        var unused = Leaf(5);
        var y = (x * x).Sum();
        var e = Assert.Throws<InvalidOperationException>(() => Autograd.Grad([y], [x, unused], retainGraph: true));
        Assert.Contains("input 1", e.Message);
        var grads = Autograd.Grad([y], [x, unused], allowUnused: true);
        Assert.Null(grads[1]);
    }

    /// <summary>A backward pass started inside another (here from a hook) runs on its own walk state: the engine
    /// keeps one set of collections per thread for reuse, and the inner pass must not share the outer one's.</summary>
    [Fact]
    public void BackwardInsideAHookAndRepeatedPassesAgree()
    {
        var x = Leaf(1, 2);
        var y = Leaf(3, 4);
        var h = x * x;
        var z = (y * y * y).Sum();
        Tensor? inner = null;
        h.RegisterHook(g =>
        {
            inner = Autograd.Grad([z], [y])[0];
            return g;
        });
        (h * 3.0).Sum().Backward();
        Assert.Equal([6.0, 12], x.Grad!.ToArray<double>());
        Assert.Equal([27.0, 48], inner!.ToArray<double>());
        for (int pass = 0; pass < 3; pass++)
        {
            x.ZeroGrad();
            (x * x * 2.0).Sum().Backward();
            Assert.Equal([4.0, 8], x.Grad!.ToArray<double>());
        }
    }

    [Fact]
    public void HookSeesAndReplacesGradient()
    {
        var x = Leaf(1, 2);
        var h = x * 2.0;
        Tensor? seen = null;
        h.RegisterHook(g => { seen = g.Clone(); return g * 10.0; });
        h.Sum().Backward();
        Assert.Equal([1.0, 1], seen!.ToArray<double>());
        Assert.Equal([20.0, 20], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void LeafHookRunsBeforeAccumulationAndCanBeRemoved()
    {
        var x = Leaf(1, 2);
        var handle = x.RegisterHook(g => g * 0.5);
        (x * 4.0).Sum().Backward();
        Assert.Equal([2.0, 2], x.Grad!.ToArray<double>());
        handle.Dispose();
        x.ZeroGrad();
        (x * 4.0).Sum().Backward();
        Assert.Equal([4.0, 4], x.Grad!.ToArray<double>());
    }

    [Fact]
    public void HookOnTensorWithoutGradThrows()
    {
        var x = Tensor.From(new double[] { 1 });
        Assert.Throws<InvalidOperationException>(() => x.RegisterHook(g => g));
    }

    [Fact]
    public void InPlaceModificationOfSavedTensorThrowsNamingTheOp()
    {
        var w = Leaf(1, 2);
        var x = Tensor.From(new double[] { 3, 4 });
        var y = (w * x).Sum(); // MulBackward saves x
        x.AddInPlace(1.0);
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("MulBackward", e.Message);
        Assert.Contains("in-place", e.Message);
    }

    [Fact]
    public void SavedTensorDisposedBeforeBackwardStillGivesTheGradient()
    {
        var x = Leaf(0.5, -1.0);
        var y = x.Exp(); // ExpBackward saves y itself, not an alias of it
        var s = (y * 3.0).Sum();
        y.Dispose();
        s.Backward();
        Assert.Equal(3 * Math.Exp(0.5), x.Grad!.ToArray<double>()[0], 12);
        Assert.Equal(3 * Math.Exp(-1.0), x.Grad!.ToArray<double>()[1], 12);
    }

    [Fact]
    public void SavedTensorGivenNewDataBeforeBackwardThrows()
    {
        var w = Leaf(1, 2);
        var y = (w * w).Sum(); // MulBackward saves w
        w.ReplaceData(Tensor.From(new double[] { 5, 6 }));
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("MulBackward", e.Message);
        Assert.Contains("new data", e.Message);
    }

    [Fact]
    public void InPlaceOnLeafRequiringGradThrowsOutsideNoGrad()
    {
        var w = Leaf(1, 2);
        var e = Assert.Throws<InvalidOperationException>(() => w.MulInPlace(2.0));
        Assert.Contains("mul_", e.Message);
        using (GradMode.NoGrad()) w.MulInPlace(2.0);
        Assert.Equal([2.0, 4], w.ToArray<double>());
    }

    [Fact]
    public void InPlaceOpsComputeExpectedValues()
    {
        var t = Tensor.From(new double[] { 1, 2, 3 });
        t.AddInPlace(Tensor.From(new double[] { 1, 1, 1 }), alpha: 2).MulInPlace(2.0).SubInPlace(Tensor.From(new double[] { 1, 1, 1 }));
        Assert.Equal([5.0, 7, 9], t.ToArray<double>());
        t.AddcmulInPlace(Tensor.From(new double[] { 1, 2, 3 }), Tensor.From(new double[] { 2, 2, 2 }), 0.5);
        Assert.Equal([6.0, 9, 12], t.ToArray<double>());
        t.AddcdivInPlace(Tensor.From(new double[] { 6, 9, 12 }), Tensor.From(new double[] { 3, 3, 3 }), -1);
        Assert.Equal([4.0, 6, 8], t.ToArray<double>());
        t.DivInPlace(Tensor.From(new double[] { 2 })).SqrtInPlace();
        Assert.Equal([Math.Sqrt(2), Math.Sqrt(3), 2], t.ToArray<double>());
        t.ClampInPlace(max: 1.5).FillInPlace(7).CopyInPlace(Tensor.From(new double[] { 9 }));
        Assert.Equal([9.0, 9, 9], t.ToArray<double>());
        t.ZeroInPlace();
        Assert.Equal([0.0, 0, 0], t.ToArray<double>());
    }

    [Fact]
    public void SettingRequiresGradOnNonLeafThrows()
    {
        var x = Leaf(1);
        var y = x * 2.0;
        var e = Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        Assert.Contains("leaf", e.Message);
    }

    [Fact]
    public void IntegerTensorsCannotRequireGrad()
    {
        var i = Tensor.From(new long[] { 1, 2 });
        Assert.Throws<InvalidOperationException>(() => i.RequiresGrad = true);
    }

    [Fact]
    public void AnomalyModeNamesTheOpThatProducedNaN()
    {
        var x = Leaf(0.0, 1.0);
        using var anomaly = GradMode.DetectAnomaly();
        var y = x.Sqrt().Sum(); // d/dx √x at 0 is infinite
        var e = Assert.Throws<AnomalyException>(() => y.Backward());
        Assert.Contains("SqrtBackward", e.Message);
        Assert.Contains("forward call", e.Message);
    }

    [Fact]
    public void WithoutAnomalyModeNonFiniteGradientsPassThrough()
    {
        var x = Leaf(0.0, 1.0);
        x.Sqrt().Sum().Backward();
        Assert.True(double.IsPositiveInfinity(x.Grad!.ToArray<double>()[0]));
    }

    [Fact]
    public void GradModeAndTapeArePerThread()
    {
        using var noGrad = GradMode.NoGrad();
        bool otherThreadEnabled = false;
        var thread = new Thread(() => otherThreadEnabled = GradMode.IsEnabled);
        thread.Start();
        thread.Join();
        Assert.True(otherThreadEnabled);
        Assert.False(GradMode.IsEnabled);
    }

    [Fact]
    public void TwoThreadsTrainingGiveSequentialResults()
    {
        static double[] Train(ulong seed)
        {
            Tensor.ManualSeed(seed);
            using var scope = Tensor.NewDisposeScope();
            var w = Tensor.Randn([4, 3], DType.Float64).RequiresGrad_().DetachFromDisposeScope();
            var x = Tensor.Randn([16, 4], DType.Float64);
            var target = Tensor.Randint(0, 3, [16]);
            for (int step = 0; step < 20; step++)
            {
                using var stepScope = Tensor.NewDisposeScope();
                var loss = Loss.CrossEntropy(x.Matmul(w).Tanh(), target);
                w.ZeroGrad();
                loss.Backward();
                using (GradMode.NoGrad()) w.SubInPlace(w.Grad!, 0.1);
            }
            return w.ToArray<double>();
        }

        var sequentialA = Train(1);
        var sequentialB = Train(2);
        double[]? parallelA = null, parallelB = null;
        var ta = new Thread(() => parallelA = Train(1));
        var tb = new Thread(() => parallelB = Train(2));
        ta.Start(); tb.Start();
        ta.Join(); tb.Join();
        Assert.Equal(sequentialA, parallelA);
        Assert.Equal(sequentialB, parallelB);
        Assert.NotEqual(sequentialA, sequentialB);
    }
}

public class ManyInputTests
{
    [Fact]
    public void OneOpCanTakeMoreThanThirtyTwoDifferentiableInputs()
    {
        var parts = Enumerable.Range(0, 40).Select(i => Tensor.Full([1, 2], i, DType.Float64).RequiresGrad_()).ToList();
        var cat = Tensor.Cat(parts, 1);
        cat.Mul(cat).Sum().Backward();
        for (int i = 0; i < parts.Count; i++) Assert.Equal([2.0 * i, 2.0 * i], parts[i].Grad!.ToArray<double>());
    }
}
