using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.Cnn;

/// <summary>Whole building blocks of the seed architectures pass gradcheck end to end in float64.</summary>
public class BlockTests
{
    private static Tensor P(int[] shape, ulong seed) => Tensor.Randn(shape, DType.Float64, new Generator(seed)).Mul(0.5).RequiresGrad_();

    [Fact]
    public void ResidualBlockGradCheck()
    {
        // relu(bn(conv(relu(bn(conv(x))))) + x), batch-norm in training mode.
        var x = P([2, 2, 4, 4], 1);
        var w1 = P([2, 2, 3, 3], 2);
        var w2 = P([2, 2, 3, 3], 3);
        var g1 = P([2], 4);
        var g2 = P([2], 5);
        Tensor Block(Tensor[] t)
        {
            var h = F.BatchNorm(F.Conv2d(t[0], t[1], padding: 1), null, null, t[3], null, training: true).Relu();
            h = F.BatchNorm(F.Conv2d(h, t[2], padding: 1), null, null, t[4], null, training: true);
            return h.Add(t[0]).Relu();
        }
        Assert.True(GradCheck.Check(Block, [x, w1, w2, g1, g2]));
    }

    [Fact]
    public void DenseBlockGradCheck()
    {
        // Each layer takes the concatenation of all previous feature maps (growth rate 2).
        var x = P([1, 2, 3, 3], 6);
        var w1 = P([2, 2, 3, 3], 7);
        var w2 = P([2, 4, 3, 3], 8);
        var w3 = P([2, 6, 1, 1], 9);
        Tensor Block(Tensor[] t)
        {
            var features = new List<Tensor> { t[0] };
            foreach (var w in t[1..])
                features.Add(F.Conv2d(Tensor.Cat(features, 1).Tanh(), w, padding: w.Size(2) / 2));
            return Tensor.Cat(features, 1);
        }
        Assert.True(GradCheck.Check(Block, [x, w1, w2, w3]));
        Assert.True(GradCheck.GradGradCheck(Block, [x, w1, w2, w3], new GradCheckOptions { FastMode = true }));
    }
}
