namespace AutoGradNet.Tests;

public class GradCheckTests
{
    private static Tensor Input(params int[] shape) => Tensor.Randn(shape, DType.Float64, new Generator(3)).RequiresGrad_();

    /// <summary>x², with a backward supplied by the test (a user-defined op, like torch.autograd.Function).</summary>
    private static Tensor Square(Tensor x, BackwardFn backward)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = x.Mul(x);
        return Tape.Record(y, "TestSquareBackward", backward, [x], [x]);
    }

    [Fact]
    public void CorrectCustomOpPasses()
    {
        var x = Input(2, 3);
        Assert.True(GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Mul(s[0]).Mul(2.0)]), [x]));
        Assert.True(GradCheck.GradGradCheck(t => Square(t[0], (g, s, _) => [g.Mul(s[0]).Mul(2.0)]), [x]));
        Assert.True(GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Mul(s[0]).Mul(2.0)]), [x], new GradCheckOptions { FastMode = true }));
    }

    [Fact]
    public void WrongBackwardIsReportedWithElementAndValues()
    {
        var x = Input(2, 3);
        var e = Assert.Throws<GradCheckException>(() => GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Mul(s[0]).Mul(3.0)]), [x]));
        Assert.Contains("input 0", e.Message);
        Assert.Contains("numerical", e.Message);
        Assert.Contains("analytical", e.Message);
        Assert.Contains("[0, 0]", e.Message);
    }

    [Fact]
    public void FastModeCatchesWrongBackward()
    {
        var x = Input(20);
        var e = Assert.Throws<GradCheckException>(() =>
            GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Mul(s[0]).Mul(2.1)]), [x], new GradCheckOptions { FastMode = true }));
        Assert.Contains("fast-mode", e.Message);
    }

    [Fact]
    public void NonReentrantBackwardIsReported()
    {
        var x = Input(3);
        int calls = 0;
        var e = Assert.Throws<GradCheckException>(() =>
            GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Mul(s[0]).Mul(2.0 + 1e-9 * ++calls)]), [x], new GradCheckOptions { Atol = 1e-3 }));
        Assert.Contains("reentrant", e.Message);
    }

    [Fact]
    public void BackwardIgnoringUpstreamGradientIsReported()
    {
        var x = Input(3);
        var e = Assert.Throws<GradCheckException>(() => GradCheck.Check(t => Square(t[0], (g, s, _) => [s[0].Mul(2.0)]), [x]));
        Assert.Contains("zero upstream gradient", e.Message);
    }

    [Fact]
    public void WrongSecondOrderIsCaughtByGradGradCheck()
    {
        // First order is right, but the backward is built from a detached copy, so its own derivative is wrong.
        var x = Input(3);
        Assert.True(GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Mul(s[0].Detach()).Mul(2.0)]), [x]));
        var e = Assert.Throws<GradCheckException>(() => GradCheck.GradGradCheck(t => Square(t[0], (g, s, _) => [g.Mul(s[0].Detach()).Mul(2.0)]), [x]));
        Assert.Contains("second order", e.Message);
    }

    [Fact]
    public void Float32InputsAreRejected()
    {
        var x = Tensor.Randn(3).RequiresGrad_();
        var e = Assert.Throws<ArgumentException>(() => GradCheck.Check(t => t[0].Exp(), [x]));
        Assert.Contains("float64", e.Message);
    }

    [Fact]
    public void NoInputRequiringGradIsRejected()
    {
        var x = Tensor.Randn([3], DType.Float64);
        Assert.Throws<ArgumentException>(() => GradCheck.Check(t => t[0].Exp(), [x]));
    }

    [Fact]
    public void WrongGradientShapeFromCustomOpIsNamed()
    {
        var x = Input(2, 3);
        var e = Assert.Throws<InvalidOperationException>(() =>
            GradCheck.Check(t => Square(t[0], (g, s, _) => [g.Sum(0)]), [x]));
        Assert.Contains("TestSquareBackward", e.Message);
        Assert.Contains("[3]", e.Message);
    }
}
