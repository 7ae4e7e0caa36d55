using AutoGradNet.Models;
using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Models;

public class CheckpointTests
{
    [Fact]
    public void CheckpointGivesThePlainGradientsAndKeepsOnlyItsInputs()
    {
        var a = Tensor.Randn([3, 4], DType.Float64).RequiresGrad_();
        var w = Tensor.Randn([4, 5], DType.Float64).RequiresGrad_();
        Tensor F(IReadOnlyList<Tensor> xs) => xs[0].Matmul(xs[1]).Tanh().Mul(xs[0].Sum());

        var plain = F([a, w]);
        var (ga, gw) = (Autograd.Grad(plain.Pow(2.0).Sum(), a), Autograd.Grad(F([a, w]).Pow(2.0).Sum(), w));

        int calls = 0;
        using var scope = Tensor.NewDisposeScope();
        var checkpointed = Checkpoint.Run([a, w], xs => { calls++; return F(xs); });
        Assert.Equal(1, scope.Count); // the function's four temporaries were freed at once; only the output is left
        Assert.Equal("CheckpointBackward", checkpointed.GradFn!.Name);
        Assert.True(checkpointed.AllClose(plain));
        checkpointed.Pow(2.0).Sum().Backward();
        Assert.Equal(2, calls); // forward, then the recomputation in backward
        Assert.True(a.Grad!.AllClose(ga, 1e-12, 1e-12));
        Assert.True(w.Grad!.AllClose(gw, 1e-12, 1e-12));
    }

    [Fact]
    public void CheckpointWithoutGradRunsPlainly()
    {
        var a = Tensor.Randn(3);
        var y = Checkpoint.Run([a], xs => xs[0].Exp());
        Assert.Null(y.GradFn);
        using (GradMode.NoGrad())
            Assert.Null(Checkpoint.Run([a.RequiresGrad_()], xs => xs[0].Exp()).GradFn);
    }

    [Fact]
    public void CheckpointRejectsHigherOrderGradients()
    {
        var a = Tensor.Randn([3], DType.Float64).RequiresGrad_();
        var y = Checkpoint.Run([a], xs => xs[0].Pow(3.0)).Sum();
        Assert.Throws<NotSupportedException>(() => Autograd.Grad([y], [a], createGraph: true));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MemoryEfficientDenseNetGivesIdenticalGradientsAndUpdatesStatisticsOnce(bool training)
    {
        // Block 2 has 33 layers, so both blocks merge their earliest maps once (at 32 maps per concatenation, 29 per checkpoint).
        DenseNet Make(bool efficient) =>
            new DenseNet(growthRate: 2, blockConfig: [3, 33], numInitFeatures: 4, bnSize: 2, numClasses: 5, memoryEfficient: efficient).To(DType.Float64);
        var plain = Make(false);
        var efficient = Make(true);
        Assert.True(efficient.LoadStateDict(plain.StateDict()).IsClean);
        if (!training)
        {
            plain.Eval();
            efficient.Eval();
        }
        var x = Tensor.Randn([2, 3, 16, 16], DType.Float64, new Generator(3));
        var weights = Tensor.Randn([2, 5], DType.Float64, new Generator(4));
        using var scope1 = Tensor.NewDisposeScope();
        var y1 = plain.Call(x);
        int plainLive = scope1.Count;
        using var scope2 = Tensor.NewDisposeScope();
        var y2 = efficient.Call(x);
        // Each of the 36 checkpointed layers frees its concatenation (none for a block's first layer), normalised and
        // rectified maps right away: 3·36 − 2 fewer live tensors.
        Assert.True(scope2.Count <= plainLive - (3 * 36 - 2), $"live tensors after forward: plain {plainLive}, memory-efficient {scope2.Count}");
        Assert.True(y1.AllClose(y2, 1e-12, 1e-12));
        Assert.Contains(NodeNames(y2), n => n == "DenseBottleneckCheckpoint");
        Assert.DoesNotContain(NodeNames(y1), n => n == "DenseBottleneckCheckpoint");
        y1.Mul(weights).Sum().Backward();
        y2.Mul(weights).Sum().Backward();
        var p2 = efficient.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (name, p) in plain.NamedParameters())
            Assert.True(p.Grad!.AllClose(p2[name].Grad!, 1e-10, 1e-12), $"{name}: gradients differ");
        var s2 = efficient.StateDict();
        foreach (var (name, buffer) in plain.NamedBuffers())
            Assert.True(buffer.AllClose(s2[name], 1e-12, 1e-12), $"{name}: buffers differ (running statistics updated twice?)");
    }

    private static List<string> NodeNames(Tensor y)
    {
        var names = new List<string>();
        var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Node>();
        stack.Push(y.GradFn!);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (!seen.Add(n)) continue;
            names.Add(n.Name);
            foreach (var edge in n.Edges) if (edge.Next is { } next) stack.Push(next);
        }
        return names;
    }
}
