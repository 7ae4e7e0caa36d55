namespace AutoGradNet.Tests;

public class SmokeTests
{
    [Fact]
    public void SimpleBackward()
    {
        var x = Tensor.From(new double[] { 1, 2, 3 }).RequiresGrad_();
        var y = (x * x).Sum();
        y.Backward();
        Assert.Equal(new double[] { 2, 4, 6 }, x.Grad!.ToArray<double>());
        Assert.Equal(14, y.Item());
    }

    [Fact]
    public void GradCheckMatmul()
    {
        var g = new Generator(1);
        var a = Tensor.Randn([2, 3], DType.Float64, g).RequiresGrad_();
        var b = Tensor.Randn([3, 4], DType.Float64, g).RequiresGrad_();
        Assert.True(GradCheck.Check(x => x[0].Matmul(x[1]).Tanh(), [a, b]));
        Assert.True(GradCheck.GradGradCheck(x => x[0].Matmul(x[1]).Tanh(), [a, b]));
    }
}
