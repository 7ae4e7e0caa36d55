namespace AutoGradNet.Tests;

// Storage counters are process-wide, so these tests must not run beside other tests that allocate.
[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public class MemoryCollection;

[Collection(nameof(MemoryCollection))]
public class MemoryTests
{
    private static long Live => Device.Cpu.MemoryStats().LiveStorages;

    [Fact]
    public void DisposeReturnsStorageAndViewsKeepItAlive()
    {
        long before = Live;
        var t = Tensor.Zeros(3, 4);
        var view = t.Transpose(0, 1);
        Assert.Equal(before + 1, Live);
        t.Dispose();
        Assert.Equal(before + 1, Live); // the view still holds the storage
        Assert.Equal(0.0, view.Sum().Item());
        view.Dispose();
        Assert.True(Live <= before + 1); // the sum's result may still be alive in no scope
    }

    [Fact]
    public void DisposedTensorThrowsNamingTheOp()
    {
        var t = Tensor.Ones(2);
        t.Dispose();
        t.Dispose(); // idempotent
        var e = Assert.Throws<ObjectDisposedException>(() => t.Exp());
        Assert.Contains("exp", e.Message);
    }

    [Fact]
    public void DisposeScopeFreesTemporariesAndKeepsMovedOut()
    {
        long before = Live;
        Tensor kept;
        using (var scope = Tensor.NewDisposeScope())
        {
            var a = Tensor.Randn(8, 8);
            var b = a.Matmul(a).Relu().Sum(0);
            kept = b.Mul(2.0).MoveToOuterDisposeScope();
            Assert.True(scope.Count >= 3);
        }
        Assert.Equal(before + 1, Live);
        Assert.False(kept.IsDisposed);
        kept.Dispose();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void CnnTrainingStepAllocatesTheSameSmallAmountEveryStep()
    {
        // Managed garbage per step of a small CNN (conv + bias, relu, max pool, linear, cross-entropy, SGD with
        // momentum): the same from step to step, and bounded. The step allocates 17.1 KB on the calling thread since
        // session 7 (shared geometries, closure-free composites and formulas, saved tensors kept without aliases);
        // 19.5 KB at the end of session 6 and 61.9 KB before it, when each kernel call allocated a closure, each scope
        // regrew its list and ops recorded their composite forms. The bound leaves 17 % of headroom.
        var model = new AutoGradNet.Nn.Sequential(new AutoGradNet.Nn.Conv2d(1, 4, 3, padding: 1), new AutoGradNet.Nn.ReLU(), new AutoGradNet.Nn.MaxPool2d(2), new AutoGradNet.Nn.Flatten(),
            new AutoGradNet.Nn.Linear(4 * 4 * 4, 10));
        var sgd = new AutoGradNet.Optim.SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        var x = Tensor.Randn(4, 1, 8, 8);
        var target = Tensor.Randint(0, 10, [4]);
        long Step()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            using (var scope = Tensor.NewDisposeScope())
            {
                sgd.ZeroGrad();
                Loss.CrossEntropy(model.Call(x), target).Backward();
                sgd.Step();
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        for (int i = 0; i < 5; i++) Step(); // JIT, pools, optimizer state
        long first = Step(), second = Step(), third = Step();
        Assert.InRange(Math.Abs(second - first), 0, 256);
        Assert.InRange(Math.Abs(third - second), 0, 256);
        Assert.InRange(second, 1, BoundBytes);
    }

    private const long BoundBytes = 20 * 1024;

    [Fact]
    public void ContiguousStridesAreRightAcrossTheSharedTable()
    {
        // More shapes than the per-thread table has slots, asked for twice in interleaved order: every answer must be
        // the row-major strides of its own shape (a stale slot would hand out another shape's strides).
        var rng = new Random(7);
        var shapes = Enumerable.Range(0, 400).Select(_ => Enumerable.Range(0, rng.Next(0, 5)).Select(_ => rng.Next(0, 6)).ToArray()).ToList();
        foreach (var round in new[] { shapes, Enumerable.Reverse(shapes).ToList() })
            foreach (var shape in round)
            {
                var strides = ShapeUtil.ContiguousStrides(shape);
                Assert.Equal(shape.Length, strides.Length);
                int expected = 1;
                for (int d = shape.Length - 1; d >= 0; d--)
                {
                    Assert.Equal(expected, strides[d]);
                    expected *= Math.Max(shape[d], 1);
                }
            }
    }

    [Fact]
    public void TrainingStepsInScopesDoNotLeak()
    {
        var w = Tensor.Randn([16, 8], DType.Float32).RequiresGrad_();
        var b = Tensor.Zeros([8], DType.Float32).RequiresGrad_();
        var x = Tensor.Randn(32, 16);
        var target = Tensor.Randint(0, 8, [32]);
        void Step()
        {
            using var scope = Tensor.NewDisposeScope();
            var loss = Loss.CrossEntropy(Tensor.Linear(x, w.T, b).Relu(), target);
            loss.Backward();
            using (GradMode.NoGrad())
            {
                w.SubInPlace(w.Grad!, 0.01);
                b.SubInPlace(b.Grad!, 0.01);
            }
            w.ZeroGrad(setToNone: false);
            b.ZeroGrad(setToNone: false);
        }
        Step(); // grads now exist: steady state
        long steady = Live;
        for (int i = 0; i < 50; i++) Step();
        Assert.Equal(steady, Live);
    }

    [Fact]
    public void BackwardFreesSavedTensors()
    {
        var x = Tensor.Randn([4, 4], DType.Float64).RequiresGrad_();
        long before = Live;
        using (var scope = Tensor.NewDisposeScope())
        {
            var y = x.Exp().Mul(x).Tanh().Sum();
            y.Backward();
        }
        // Only x's gradient survives the step; every saved alias was released by backward.
        Assert.Equal(before + 1, Live);
        x.Dispose();
        Assert.Equal(before - 1, Live);
    }

    [Fact]
    public void SavedTensorsDisposedBeforeBackwardAreFreedByIt()
    {
        long before = Live;
        var x = Tensor.Randn([3, 3], DType.Float64).RequiresGrad_();
        var y = x.Exp();
        var m = y.Mul(x);
        var s = m.Sum();
        y.Dispose(); // still saved by ExpBackward and MulBackward: the elements stay alive for backward
        Assert.Equal(before + 4, Live);
        s.Backward();
        s.Dispose();
        m.Dispose();
        Assert.Equal(before + 2, Live); // x and its gradient; y's storage went with the saved references
        x.Dispose();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void CompositeOpsFreeTheirIntermediatesWithoutAScope()
    {
        long before = Live;
        var x = Tensor.Randn(2, 3, 6, 6);
        var w = Tensor.Randn(4, 3, 3, 3);
        long start = Live;
        using (var y = Functional.Conv2d(x, w, padding: 1)) { }
        Assert.Equal(start, Live);
        using (var p = Functional.MaxPool2d(x, 2)) { }
        Assert.Equal(start, Live);
        using (var avg = Functional.AvgPool2d(x, 2)) { }
        Assert.Equal(start, Live);
        using (var n = Functional.BatchNorm(x, null, null, training: true)) { }
        Assert.Equal(start, Live);
        var a = Tensor.Ones(4, 4);
        var target = Tensor.From(new long[] { 0, 1, 2, 3 });
        long withInputs = Live;
        using (var c = a.Matmul(a)) { }
        using (var row = a[0])
        using (var l = Tensor.Linear(a, a, row)) { }
        using (var ce = Loss.CrossEntropy(a, target)) { }
        using (var sm = a.Softmax(1))
        using (var half = sm.Div(2.0))
        using (var v = half.Var()) { }
        Assert.Equal(withInputs, Live);
        a.Dispose();
        target.Dispose();
        x.Dispose();
        w.Dispose();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void ScopesMustCloseInnermostFirst()
    {
        var outer = Tensor.NewDisposeScope();
        var inner = Tensor.NewDisposeScope();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
    }

    [Fact]
    public void CnnOpsFreeTheirIntermediatesWithoutAScope()
    {
        long before = Live;
        var x = Tensor.Randn(2, 4, 5, 5);
        var w = Tensor.Randn(4, 2, 3, 3);
        var c = Tensor.Randn(4);
        var positive = Tensor.From(new float[] { 0.5f, 1f, 1.5f, 2f }, 4);
        var plane = Tensor.Randn(4, 5, 5);
        long start = Live;
        void Freed(params Tensor[] results)
        {
            foreach (var r in results) r.Dispose();
            Assert.Equal(start, Live);
        }
        Freed(Functional.Conv2d(x, w, c, padding: "same", groups: 2));
        Freed(Functional.ConvTranspose2d(x, w, null, stride: 2, padding: 1, outputPadding: 1));
        Freed(Functional.Unfold(plane, 2, padding: 1));
        var cols = Functional.Unfold(x, 2);
        Freed(Functional.Fold(cols, (5, 5), 2), cols);
        Freed(Functional.MaxPool2d(x, 2, 1, 1, dilation: 3));
        Freed(Functional.AvgPool2d(plane, 3, 2, 1, ceilMode: true, countIncludePad: false));
        Freed(Functional.AdaptiveAvgPool2d(x, (2, 3)));
        Freed(Functional.AdaptiveMaxPool2d(x, 2));
        Freed(Functional.GlobalAvgPool(x));
        Freed(Functional.BatchNorm(x, null, null, c, c, training: true));
        Freed(Functional.LayerNorm(x, [5, 5]));
        Freed(Functional.InstanceNorm(x, c, c));
        Freed(Functional.GroupNorm(x, 2, c, c));
        Freed(Functional.LocalResponseNorm(x, 3));
        Freed(Functional.Dropout(x, 0.5, true, new Generator(1)));
        Freed(Functional.Dropout2d(x, 0.5, true, new Generator(1)));
        var (foldedWeight, foldedBias) = Functional.FoldBatchNorm(w, c, c, positive, c, c);
        Freed(foldedWeight, foldedBias);
        foreach (var t in new[] { x, w, c, positive, plane }) t.Dispose();
        Assert.Equal(before, Live);
    }
}
