using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Nn;

public class InitTests
{
    private static (double Mean, double Std, double MaxAbs) Stats(Tensor t)
    {
        var v = t.ToDoubleArray();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Average(x => (x - mean) * (x - mean))), v.Max(Math.Abs));
    }

    [Fact]
    public void KaimingAndXavierMatchTheirFormulas()
    {
        var w = Tensor.Zeros(256, 128, 3, 3); // fan_in 1152, fan_out 2304
        var g = new Generator(1);
        Init.KaimingNormal(w, nonlinearity: "relu", generator: g);
        Assert.Equal(Math.Sqrt(2.0 / 1152), Stats(w).Std, 3);
        Init.KaimingNormal(w, mode: FanMode.FanOut, nonlinearity: "relu", generator: g);
        Assert.Equal(Math.Sqrt(2.0 / 2304), Stats(w).Std, 3);
        Init.KaimingUniform(w, nonlinearity: "relu", generator: g);
        double bound = Math.Sqrt(6.0 / 1152);
        Assert.InRange(Stats(w).MaxAbs, bound * 0.99, bound);
        Init.XavierUniform(w, generator: g);
        bound = Math.Sqrt(6.0 / (1152 + 2304));
        Assert.InRange(Stats(w).MaxAbs, bound * 0.99, bound);
        Init.XavierNormal(w, gain: 2, generator: g);
        Assert.Equal(2 * Math.Sqrt(2.0 / (1152 + 2304)), Stats(w).Std, 3);
        Assert.Equal(Math.Sqrt(2 / (1 + 0.2 * 0.2)), Init.CalculateGain("leaky_relu", 0.2), 12);
        Assert.Equal(5.0 / 3, Init.CalculateGain("tanh"), 12);
    }

    [Fact]
    public void DefaultLayerInitIsUniformOverRootFanIn()
    {
        var conv = new Conv2d(16, 32, 3);
        double bound = 1 / Math.Sqrt(16 * 9);
        Assert.InRange(Stats(conv.Weight).MaxAbs, bound * 0.95, bound);
        Assert.InRange(Stats(conv.Bias!).MaxAbs, 0, bound);
        var bn = new BatchNorm2d(4);
        Assert.Equal([1f, 1, 1, 1], bn.Weight!.ToArray<float>());
        Assert.Equal([0f, 0, 0, 0], bn.Bias!.ToArray<float>());
    }

    [Fact]
    public void SeededInitIsReproducible()
    {
        var a = new Linear(10, 10, generator: new Generator(7));
        var b = new Linear(10, 10, generator: new Generator(7));
        Assert.Equal(a.Weight.ToArray<float>(), b.Weight.ToArray<float>());
        Tensor.ManualSeed(3);
        var c = new Linear(10, 10);
        Tensor.ManualSeed(3);
        var d = new Linear(10, 10);
        Assert.Equal(c.Weight.ToArray<float>(), d.Weight.ToArray<float>());
    }
}
