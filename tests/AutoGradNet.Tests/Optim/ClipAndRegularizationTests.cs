using AutoGradNet.Optim;
using static AutoGradNet.Tests.Optim.Problem;

namespace AutoGradNet.Tests.Optim;

public class ClipAndRegularizationTests
{
    private static (Tensor A, Tensor B, Tensor NoGrad) WithGrads(double[] ga, double[] gb, DType dtype = DType.Float64)
    {
        var a = NewParam(dtype, new double[ga.Length]);
        var b = NewParam(dtype, new double[gb.Length]);
        a.Grad = Tensor.From(ga, ga.Length).To(dtype);
        b.Grad = Tensor.From(gb, gb.Length).To(dtype);
        return (a, b, NewParam(dtype));
    }

    [Fact]
    public void ClipNormScalesAllGradientsTogether()
    {
        var (a, b, none) = WithGrads([3, 4], [12]);
        double total = ClipGrad.Norm([a, b, none], maxNorm: 6.5);
        Assert.Equal(13, total, 12);
        double c = 6.5 / (13 + 1e-6);
        AssertClose([3 * c, 4 * c], a.Grad!.ToDoubleArray());
        AssertClose([12 * c], b.Grad!.ToDoubleArray());
        Assert.Null(none.Grad);
    }

    [Fact]
    public void ClipNormLeavesSmallGradientsUnchanged()
    {
        var (a, b, _) = WithGrads([3, 4], [12]);
        Assert.Equal(13, ClipGrad.Norm([a, b], maxNorm: 20), 12);
        Assert.Equal([3.0, 4], a.Grad!.ToDoubleArray());
        Assert.Equal([12.0], b.Grad!.ToDoubleArray());
        Assert.Equal(0, ClipGrad.Norm([NewParam()], 1.0));
    }

    [Fact]
    public void ClipNormOtherNormTypes()
    {
        var (a, b, _) = WithGrads([3, -4], [-12]);
        Assert.Equal(12, ClipGrad.Norm([a, b], maxNorm: 6, normType: double.PositiveInfinity), 12);
        double c = 6 / (12 + 1e-6);
        AssertClose([3 * c, -4 * c], a.Grad!.ToDoubleArray());
        AssertClose([-12 * c], b.Grad!.ToDoubleArray());

        var (a1, b1, _) = WithGrads([3, -4], [-12], DType.Float32);
        Assert.Equal(19, ClipGrad.Norm([a1, b1], maxNorm: 100, normType: 1), 5);
        var (a3, b3, _) = WithGrads([1, -2], [3]);
        Assert.Equal(Math.Pow(36, 1.0 / 3), ClipGrad.Norm([a3, b3], maxNorm: 100, normType: 3), 12);
    }

    [Fact]
    public void ClipNormNonFinite()
    {
        var (a, b, _) = WithGrads([double.NaN, 1], [2]);
        Assert.Throws<ArithmeticException>(() => ClipGrad.Norm([a, b], 1, errorIfNonfinite: true));
        Assert.Equal([2.0], b.Grad!.ToDoubleArray());
        Assert.True(double.IsNaN(ClipGrad.Norm([a, b], 1)));
        Assert.True(double.IsNaN(b.Grad!.ToDoubleArray()[0])); // as PyTorch: a NaN norm poisons every gradient
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipGrad.Norm([a], -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipGrad.Norm([a], 1, normType: 0));
    }

    [Fact]
    public void ClipValueClamps()
    {
        var (a, b, none) = WithGrads([3, -4, 0.5], [-0.2, 12]);
        ClipGrad.Value([a, b, none], 1);
        Assert.Equal([1.0, -1, 0.5], a.Grad!.ToDoubleArray());
        Assert.Equal([-0.2, 1], b.Grad!.ToDoubleArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipGrad.Value([a], -1));
    }

    // ---- regularization --------------------------------------------------------------------------------------

    private static Tensor[] Weights() =>
    [
        Tensor.From(new double[] { 0.7, -1.3, 2.1 }, 3).RequiresGrad_(),
        Tensor.From(new double[] { -0.4, 0.9, 1.6, -2.2 }, 2, 2).RequiresGrad_(),
    ];

    [Fact]
    public void PenaltyValues()
    {
        var w = Weights();
        double abs = 0.7 + 1.3 + 2.1 + 0.4 + 0.9 + 1.6 + 2.2;
        double sq = 0.49 + 1.69 + 4.41 + 0.16 + 0.81 + 2.56 + 4.84;
        Assert.Equal(0.1 * abs, Regularization.L1(w, 0.1).Item(), 12);
        Assert.Equal(0.5 / 2 * sq, Regularization.L2(w, 0.5).Item(), 12); // seed convention: λ/2·‖W‖²
        Assert.Equal(0.1 * abs + 0.5 / 2 * sq, Regularization.ElasticNet(w, 0.1, 0.5).Item(), 12);
        Assert.Equal(0, Regularization.ElasticNet(w, 0, 0).Item());
        Assert.Equal(0, Regularization.ElasticNet(w, 0, 0).Rank);
    }

    [Fact]
    public void PenaltyGradients()
    {
        var w = Weights();
        Assert.True(GradCheck.Check(x => Regularization.L1(x, 0.3), w));
        Assert.True(GradCheck.Check(x => Regularization.L2(x, 0.7), w));
        Assert.True(GradCheck.Check(x => Regularization.ElasticNet(x, 0.3, 0.7), w));

        Regularization.ElasticNet(w, 0.3, 0.7).Backward();
        var expected = new[] { 0.7, -1.3, 2.1 }.Select(x => 0.3 * Math.Sign(x) + 0.7 * x).ToArray();
        AssertClose(expected, w[0].Grad!.ToDoubleArray());
    }

    [Fact]
    public void L2PenaltyEqualsWeightDecay()
    {
        // ∂(λ/2·‖W‖²)/∂W = λW: SGD on loss + L2(λ) takes the same step as SGD with weight_decay λ.
        var p = NewParam();
        var q = NewParam();
        var withPenalty = new SGD([p], lr: 0.1, momentum: 0.9);
        var withDecay = new SGD([q], lr: 0.1, momentum: 0.9, weightDecay: 0.05);
        for (int t = 0; t < 3; t++)
        {
            SetGrad(p);
            Regularization.L2([p], 0.05).Backward();
            withPenalty.Step();
            SetGrad(q);
            withDecay.Step();
        }
        AssertClose(q.ToDoubleArray(), p.ToDoubleArray());
    }

    [Fact]
    public void PenaltyMisuseThrows()
    {
        Assert.Throws<ArgumentException>(() => Regularization.L1([], 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Regularization.L2(Weights(), -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Regularization.ElasticNet(Weights(), double.NaN, 1));
    }
}
