using AutoGradNet.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AutoGradNet.Tests.Testing;

/// <summary>The code of docs/testing-your-blocks.md, compiled and run (with fewer cases where the doc uses the defaults).</summary>
public class DocExamplesTests
{
    /// Swish: x·σ(x), with the derivative σ(x)·(1 + x·(1 − σ(x))) written by hand.
    public static Tensor Swish(Tensor x)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = x * x.Sigmoid();
        return Tape.Record(y, "SwishBackward", (g, saved, _) =>
        {
            var s = saved[0].Sigmoid();
            return [g * s * (1.0 + saved[0] * (1.0 - s))];
        }, inputs: [x], saved: [x]);
    }

    [Fact]
    public void SwishGradients() => GradCheckProperty.ForAll(s => [s], x => Swish(x[0])).WithGradGrad().WithMaxTest(10).Check();

    [Property(MaxTest = 10)]
    public Property SwishGradientsProperty() => GradCheckProperty.ForAll(s => [s], x => Swish(x[0]));

    [Fact]
    public void Fixed_inputs()
    {
        var g = new Generator(0);
        var a = Tensor.Randn([2, 3], DType.Float64, g).RequiresGrad_();
        var b = Tensor.Randn([3, 4], DType.Float64, g).RequiresGrad_();
        Assert.True(GradCheck.Check(x => x[0].Matmul(x[1]).Tanh(), [a, b]));
        Assert.True(GradCheck.GradGradCheck(x => x[0].Matmul(x[1]).Tanh(), [a, b]));
    }

    [Fact]
    public void Input_specs_and_shape_families()
    {
        GradCheckProperty
            .ForAll(TensorGen.Shapes(minRank: 1), s => [s, InputSpec.Index(s, high: s[0])], x => x[0].Gather(0, x[1]))
            .WithMaxTest(10).Check();
        GradCheckProperty.ForAll(TensorGen.Shapes(minRank: 1, maxRank: 3, maxSize: 4), s => [s], x => x[0].Softmax(-1)).WithMaxTest(10).Check();
        GradCheckProperty.ForAll(TensorGen.ShapesOfRank(3),
            s => [InputSpec.Of(s[0], s[1]), InputSpec.Of(s[2], s[1]), InputSpec.Of(s[2])],
            x => Tensor.Linear(x[0], x[1], x[2])).WithMaxTest(10).Check();
        GradCheckProperty.ForAll(TensorGen.BroadcastPairs(), p => [p.Left, p.Right], x => x[0] * x[1].Tanh()).WithMaxTest(10).Check();
        GradCheckProperty.ForAll(s => [InputSpec.Of(s).InRange(0.1, 3), InputSpec.Of(s).AwayFromZero(0.1), InputSpec.Of(s).NoGrad()],
            x => x[0].Log() * x[1].Abs() + x[2]).WithOptions(new GradCheckOptions { Atol = 1e-4, FastMode = true }).WithMaxTest(10).Check();
    }

    [Fact]
    public void Plain_fscheck_with_tensor_generators()
    {
        Prop.ForAll(TensorGen.BroadcastPairs(), p =>
        {
            using var scope = Tensor.NewDisposeScope();
            return (Tensor.Ones(p.Left) + Tensor.Ones(p.Right)).Shape == p.Result.Shape;
        }).QuickCheckThrowOnFailure();
    }
}
