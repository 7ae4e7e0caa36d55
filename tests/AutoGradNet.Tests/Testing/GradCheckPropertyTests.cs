using AutoGradNet.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AutoGradNet.Tests.Testing;

/// <summary>Hand-written blocks with correct and deliberately wrong backward formulas, registered via <see cref="Tape.Record"/>.</summary>
internal static class CustomBlocks
{
    /// <summary>y[..., i] = x[..., (i + 1) mod n]. The broken backward forgets to roll the gradient back (wrong once n ≥ 2).</summary>
    public static Tensor RollLeft(Tensor x, bool broken = false)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = Roll(x, 1);
        return Tape.Record(y, "RollLeftBackward", (g, _, _) => [broken ? g.Clone() : Roll(g, -1)], [x]);
    }

    /// <summary>Cat(t[..., shift:], t[..., :shift]) along the last dim, with differentiable ops (so gradgrad works).</summary>
    private static Tensor Roll(Tensor t, int shift)
    {
        int n = t.Size(-1);
        shift = ((shift % n) + n) % n;
        return shift == 0 ? t.Clone() : Tensor.Cat([t.Slice(-1, shift), t.Slice(-1, 0, shift)], -1);
    }

    /// <summary>y = x². Broken: backward g·x (missing the factor 2), wrong for every shape.</summary>
    public static Tensor Square(Tensor x, bool broken = false)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = x * x;
        return Tape.Record(y, "SquareBackward", (g, s, _) => [broken ? g * s[0] : g * s[0] * 2.0], [x], [x]);
    }

    /// <summary>y = x² whose backward detaches x: first derivatives are right, second derivatives are not.</summary>
    public static Tensor SquareDetachedBackward(Tensor x)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = x * x;
        return Tape.Record(y, "SquareBackward", (g, s, _) => [g * s[0].Detach() * 2.0], [x], [x]);
    }

    /// <summary>Broadcasting a·b whose backward forgets to sum the gradient back to each input's shape.</summary>
    public static Tensor MulWithoutReduce(Tensor a, Tensor b)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = a * b;
        return Tape.Record(y, "MulWithoutReduceBackward", (g, s, _) => [g * s[1], g * s[0]], [a, b], [a, b]);
    }
}

public class GradCheckPropertyTests
{
    private static readonly Arbitrary<ShapeSample> Tiny = TensorGen.Shapes(maxRank: 3, maxSize: 3);

    [Fact]
    public void Readme_example_passes()
    {
        GradCheckProperty.ForAll(s => [s, s], x => (x[0] * x[1].Sigmoid()).Sum()).Check();
    }

    [Property(MaxTest = 15)]
    public Property A_correct_block_passes_as_an_xunit_property() =>
        GradCheckProperty.ForAll(Tiny, s => [s, InputSpec.Of(s).InRange(0.5, 2)], x => (x[0] * x[1].Log()).Tanh());

    [Fact]
    public void A_correct_custom_backward_passes_first_and_second_order()
    {
        GradCheckProperty
            .ForAll(TensorGen.Shapes(minRank: 1, maxRank: 3, maxSize: 3), s => [s], x => CustomBlocks.RollLeft(x[0]).Tanh())
            .WithGradGrad()
            .WithMaxTest(15)
            .Check();
    }

    [Fact]
    public void A_wrong_backward_is_caught_and_shrunk_to_the_smallest_failing_shape()
    {
        var property = GradCheckProperty
            .ForAll(TensorGen.Shapes(minRank: 1, maxRank: 4, maxSize: 4), s => [s], x => CustomBlocks.RollLeft(x[0], broken: true))
            .WithMaxTest(30);
        var error = Assert.Throws<GradCheckPropertyException>(property.Check);
        // The roll is the identity when the last dim is 1, so the smallest failing shape is [2].
        Assert.Equal(new ShapeSample(2), error.Sample);
        Assert.Equal([new Shape(2)], error.InputShapes);
        Assert.IsType<GradCheckException>(error.InnerException);
        Assert.Contains("Smallest failing sample: [2]", error.Message);
        Assert.Contains("Jacobian mismatch", error.Message);
        Assert.True(error.NumberOfShrinks > 0 || error.OriginalSample!.Equals(error.Sample));

        // The report is enough to re-run the smallest case directly, or to replay the whole run.
        Assert.Throws<GradCheckException>(() => property.Verify(new ShapeSample(2), error.Seed));
        property.Verify(new ShapeSample(3, 1), error.Seed);
        var (seed, gamma, size) = error.Replay;
        var replayed = Assert.Throws<GradCheckPropertyException>(property.WithReplay(seed, gamma, size).Check);
        Assert.Equal(error.Sample, replayed.Sample);
        Assert.Equal(error.Seed, replayed.Seed);
    }

    [Fact]
    public void A_wrong_backward_that_fails_everywhere_shrinks_to_a_scalar()
    {
        var error = Assert.Throws<GradCheckPropertyException>(() =>
            GradCheckProperty
                .ForAll(Tiny, s => [InputSpec.Of(s).AwayFromZero(0.5)], x => CustomBlocks.Square(x[0], broken: true))
                .WithMaxTest(10)
                .Check());
        Assert.Equal(new ShapeSample(), error.Sample);
        Assert.Equal([new Shape()], error.InputShapes);
        Assert.Contains("numerical", error.InnerException!.Message);
    }

    [Fact]
    public void The_correct_square_passes_and_gradgrad_catches_a_detached_backward()
    {
        GradCheckProperty.ForAll(Tiny, s => [s], x => CustomBlocks.Square(x[0])).WithGradGrad().WithMaxTest(10).Check();
        var detached = GradCheckProperty.ForAll(Tiny, s => [s], x => CustomBlocks.SquareDetachedBackward(x[0])).WithMaxTest(10);
        detached.Check(); // first derivatives are right
        var error = Assert.Throws<GradCheckPropertyException>(() => detached.WithGradGrad().Check());
        Assert.Equal(new ShapeSample(), error.Sample);
        Assert.StartsWith("GradGradCheck", error.InnerException!.Message);
    }

    [Fact]
    public void Broadcast_pairs_check_a_broadcasting_block()
    {
        GradCheckProperty
            .ForAll(TensorGen.BroadcastPairs(maxRank: 3, maxSize: 3), p => [p.Left, p.Right], x => (x[0] * x[1]).Tanh())
            .WithMaxTest(20)
            .Check();
    }

    [Fact]
    public void A_backward_that_forgets_to_unbroadcast_shrinks_to_scalar_versus_one_element()
    {
        var error = Assert.Throws<GradCheckPropertyException>(() =>
            GradCheckProperty
                .ForAll(TensorGen.BroadcastPairs(maxRank: 3, maxSize: 3), p => [p.Left, p.Right], x => CustomBlocks.MulWithoutReduce(x[0], x[1]))
                .WithMaxTest(30)
                .Check());
        var pair = Assert.IsType<BroadcastPair>(error.Sample);
        Assert.Contains(pair.ToString(), new[] { "[] ~ [1]", "[1] ~ []" });
    }

    [Fact]
    public void Related_shapes_come_from_one_sample()
    {
        // Linear: input [n, k], weight [m, k], bias [m], all derived from one rank-3 sample s = [n, k, m].
        GradCheckProperty
            .ForAll(TensorGen.ShapesOfRank(3, maxSize: 3),
                s => [InputSpec.Of(s[0], s[1]), InputSpec.Of(s[2], s[1]), InputSpec.Of(s[2])],
                x => Tensor.Linear(x[0], x[1], x[2]).Tanh())
            .WithMaxTest(10)
            .Check();
    }

    [Fact]
    public void Index_and_constant_inputs_are_not_differentiated()
    {
        GradCheckProperty
            .ForAll(TensorGen.Shapes(minRank: 1, maxRank: 3, maxSize: 3),
                s => [s, InputSpec.Index(s, high: s[0]), InputSpec.Of(s).NoGrad()],
                x => x[0].Gather(0, x[1]) * x[2])
            .WithMaxTest(15)
            .Check();
    }

    [Fact]
    public void Multi_output_blocks_check_every_output()
    {
        GradCheckProperty.ForAll(Tiny, s => [s], x => [x[0].Tanh(), x[0].Exp().Sum()]).WithMaxTest(10).Check();
        var error = Assert.Throws<GradCheckPropertyException>(() =>
            GradCheckProperty.ForAll(Tiny, s => [s], x => [x[0].Tanh(), CustomBlocks.Square(x[0], broken: true)])
                .WithOptions(new GradCheckOptions { Atol = 1e-6 })
                .WithMaxTest(10)
                .Check());
        Assert.Equal(new ShapeSample(), error.Sample);
        Assert.Throws<InvalidOperationException>(() => GradCheckProperty.ForAll(s => [s], x => [x[0]]).WithGradGrad());
    }

    [Fact]
    public void Cases_keep_their_seed_while_shrinking_and_print_their_inputs()
    {
        var property = GradCheckProperty.ForAll(Tiny, s => [s, InputSpec.Of(s).NoGrad()], x => x[0] * x[1]);
        var testCase = Gen.Sample(property.Cases().Generator.Where(c => c.Sample.Rank > 0), 1, new Rnd(1UL, 3UL), 50)[0];
        Assert.All(property.Cases().Shrinker(testCase), c => Assert.Equal(testCase.Seed, c.Seed));
        Assert.Contains($"sample {testCase.Sample}: inputs float64{testCase.Sample} in [-2, 2] requires_grad, float64{testCase.Sample} in [-2, 2];", testCase.ToString());
        using var scope = Tensor.NewDisposeScope();
        var first = testCase.CreateInputs();
        var again = testCase.CreateInputs();
        Assert.Equal(first[0].ToDoubleArray(), again[0].ToDoubleArray());
        Assert.NotEqual(first[0].ToDoubleArray(), first[1].ToDoubleArray());
    }
}
