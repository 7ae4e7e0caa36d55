namespace AutoGradNet.Tests;

public class ProfilerTests
{
    [Fact]
    public void CountsForwardAndBackwardCallsPerOp()
    {
        using var x = Tensor.Randn([4, 3], generator: new Generator(1)).RequiresGrad_();
        using var w = Tensor.Randn([3, 2], generator: new Generator(2)).RequiresGrad_();
        Profiler prof;
        using (prof = Profiler.Start())
        {
            for (int i = 0; i < 3; i++)
            {
                using var scope = Tensor.NewDisposeScope();
                x.ZeroGrad();
                w.ZeroGrad();
                x.Matmul(w).Relu().Sum().Backward();
            }
        }
        var ops = prof.Ops;
        Assert.Equal(3, ops["Relu"].ForwardCalls);
        Assert.Equal(3, ops["Relu"].BackwardCalls);
        Assert.Equal(3, ops["Sum"].BackwardCalls);
        Assert.True(ops.Values.All(s => s.ForwardMilliseconds >= 0 && s.BackwardMilliseconds >= 0));
        Assert.Equal(3, ops["(backward engine)"].BackwardCalls);
        // Ops that the backward formulas run are charged to the backward node, not counted as forward calls.
        Assert.Equal(3, ops["Sum"].ForwardCalls);
        string table = prof.Table();
        Assert.Contains("Relu", table);
        Assert.Contains("total", table);

        // Stopped: further ops are not seen.
        using (var s = Tensor.NewDisposeScope()) x.Relu();
        Assert.Equal(3, prof.Ops["Relu"].ForwardCalls);
    }

    [Fact]
    public void OpsInsideBackwardFormulasAreNotForwardWork()
    {
        using var x = Tensor.Randn([5], generator: new Generator(1)).RequiresGrad_();
        Profiler prof;
        using (prof = Profiler.Start())
        {
            using var scope = Tensor.NewDisposeScope();
            x.Exp().Sum().Backward();   // exp's backward multiplies the gradient by the result
        }
        Assert.Equal(1, prof.Ops["Exp"].ForwardCalls);
        Assert.Equal(1, prof.Ops["Exp"].BackwardCalls);
        Assert.False(prof.Ops.TryGetValue("Mul", out var mul) && mul.ForwardCalls > 0, "the Mul of exp's backward was counted as forward work");
    }

    [Fact]
    public void BackwardTimeGoesToTheSlowNode()
    {
        using var x = Tensor.Randn([64, 64, 8, 8], generator: new Generator(3)).RequiresGrad_();
        using var k = (Tensor.Randn([64, 64, 3, 3], generator: new Generator(4)) * 0.1).RequiresGrad_();
        Profiler prof;
        using (prof = Profiler.Start())
        {
            using var scope = Tensor.NewDisposeScope();
            Functional.Conv2d(x, k, null, 1, 1).Sum().Backward();
        }
        // The convolution's backward (two GEMMs of 2·64·64·576·64 flops each) dwarfs the sum's.
        Assert.True(prof.Ops["Convolution"].BackwardMilliseconds > prof.Ops["Sum"].BackwardMilliseconds);
        Assert.Equal(1, prof.Ops["Convolution"].BackwardCalls);
    }

    [Fact]
    public void NestedProfilersRestoreTheOuterOne()
    {
        using var x = Tensor.Ones([2]).RequiresGrad_();
        using var outer = Profiler.Start();
        using (var inner = Profiler.Start())
        {
            using var s = Tensor.NewDisposeScope();
            x.Exp();
            Assert.Equal(1, inner.Ops["Exp"].ForwardCalls);
        }
        using (var s = Tensor.NewDisposeScope()) x.Exp();
        Assert.Equal(1, outer.Ops["Exp"].ForwardCalls);
    }
}
