using AutoGradNet.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AutoGradNet.Tests.Testing;

public class TensorGenTests
{
    private static readonly Rnd Seed = new(12345UL, 67891UL);

    private static T[] Sample<T>(Gen<T> gen, int count) => Gen.Sample(gen, count, Seed, 50);

    // ---- shapes -------------------------------------------------------------------------------------------

    [Fact]
    public void Shapes_default_bounds_cover_rank_0_to_4_and_sizes_1_to_5()
    {
        var shapes = Sample(TensorGen.Shapes().Generator, 300);
        Assert.All(shapes, s =>
        {
            Assert.InRange(s.Rank, 0, 4);
            Assert.All(s.Dims, d => Assert.InRange(d, 1, 5));
        });
        Assert.Equal([0, 1, 2, 3, 4], shapes.Select(s => s.Rank).Distinct().Order());
        Assert.Equal([1, 2, 3, 4, 5], shapes.SelectMany(s => s.Dims).Distinct().Order());
    }

    [Property(MaxTest = 30)]
    public Property Shapes_respect_custom_bounds_and_make_tensors_of_that_shape() =>
        Prop.ForAll(TensorGen.Shapes(minRank: 1, maxRank: 3, minSize: 2, maxSize: 3), s =>
        {
            using var t = Tensor.Zeros(s);
            return s.Rank is >= 1 and <= 3 && s.Dims.All(d => d is 2 or 3) && t.Shape == s.Shape && t.Numel == s.Numel;
        });

    [Property(MaxTest = 30)]
    public Property Shape_shrinks_are_strictly_smaller_and_within_bounds() =>
        Prop.ForAll(TensorGen.Shapes(minRank: 1, maxRank: 4, minSize: 2, maxSize: 5), s =>
        {
            var shrinks = TensorGen.ShrinkShape(s, minRank: 1, minSize: 2).ToArray();
            return shrinks.Length == shrinks.Distinct().Count()
                && shrinks.All(c => c != s && c.Rank >= 1 && c.Dims.All(d => d >= 2) && IsSmaller(c, s));
        });

    [Fact]
    public void Shape_shrinker_prefers_fewer_dims_then_smaller_sizes()
    {
        var shrinks = TensorGen.ShrinkShape(new ShapeSample(3, 5)).Select(s => s.ToString()).ToArray();
        Assert.Equal(["[5]", "[3]", "[1, 5]", "[2, 5]", "[3, 1]", "[3, 3]", "[3, 4]"], shrinks);
        Assert.Empty(TensorGen.ShrinkShape(new ShapeSample()));
        Assert.Empty(TensorGen.ShrinkShape(new ShapeSample(1, 1), minRank: 2));
    }

    [Fact]
    public void Shrinking_a_failing_shape_property_reaches_a_minimal_shape()
    {
        // Fails whenever rank >= 2 and some size >= 3: the minimal counterexamples are [1, 3] and [3, 1].
        var result = FsCheckResults.Run(Prop.ForAll(TensorGen.Shapes(), (Func<ShapeSample, bool>)(s => s.Rank < 2 || s.Dims.Max() < 3)), maxTest: 200);
        var shrunk = Assert.IsType<ShapeSample>(Assert.Single(result.Shrunk));
        Assert.Equal(2, shrunk.Rank);
        Assert.Equal([1, 3], shrunk.Dims.Order());
    }

    [Property(Arbitrary = [typeof(TensorArbitraries)], MaxTest = 30)]
    public bool Registered_arbitraries_feed_property_parameters(ShapeSample shape, BroadcastPair pair) =>
        shape.Rank <= 4 && shape.Dims.All(d => d is >= 1 and <= 5) && pair.Result.Rank <= 4;

    [Fact]
    public void ShapeSample_converts_compares_and_prints_like_Shape()
    {
        var s = new ShapeSample(2, 3);
        int[] dims = s;
        Shape shape = s;
        Assert.Equal([2, 3], dims);
        Assert.Equal(new Shape(2, 3), shape);
        Assert.Equal(shape.ToString(), s.ToString());
        Assert.Equal("[]", new ShapeSample().ToString());
        Assert.Equal(new ShapeSample(2, 3), s);
        Assert.NotEqual(new ShapeSample(3, 2), s);
        Assert.Equal(3, s[-1]);
        Assert.Equal(6, s.Numel);
        Assert.Throws<ArgumentException>(() => new ShapeSample(2, -1));
    }

    // ---- broadcast pairs ----------------------------------------------------------------------------------

    [Property(MaxTest = 30)]
    public Property Broadcast_pairs_really_broadcast_with_tensor_ops() =>
        Prop.ForAll(TensorGen.BroadcastPairs(maxRank: 3, maxSize: 3), p =>
        {
            using var scope = Tensor.NewDisposeScope();
            var sum = Tensor.Ones(p.Left) + Tensor.Ones(p.Right);
            var expanded = Tensor.Ones(p.Left).Expand(p.Result) * Tensor.Ones(p.Right).Expand(p.Result);
            return sum.Shape == p.Result.Shape && expanded.Shape == p.Result.Shape && sum.AllClose(expanded * 2);
        });

    [Fact]
    public void Broadcast_pairs_cover_differing_ranks_and_size_one_dims()
    {
        var pairs = Sample(TensorGen.BroadcastPairs().Generator, 300);
        Assert.Contains(pairs, p => p.Left.Rank != p.Right.Rank);
        Assert.Contains(pairs, p => p.Left.Rank == p.Right.Rank && p.Left != p.Right);
        Assert.Contains(pairs, p => p.Left == p.Right && p.Left.Rank > 0);
        Assert.All(pairs, p =>
        {
            Assert.InRange(p.Result.Rank, 0, 4);
            Assert.Equal(p.Result, BroadcastPair.BroadcastShapes(p.Left, p.Right));
        });
    }

    [Property(MaxTest = 30)]
    public Property Broadcast_pair_shrinks_stay_compatible_and_get_smaller() =>
        Prop.ForAll(TensorGen.BroadcastPairs(maxRank: 3, maxSize: 4), p =>
            TensorGen.ShrinkBroadcastPair(p).All(c =>
                !c.Equals(p) && BroadcastPair.BroadcastShapes(c.Left, c.Right) is not null
                && (IsSmaller(c.Left, p.Left) && IsSmallerOrEqual(c.Right, p.Right) || IsSmallerOrEqual(c.Left, p.Left) && IsSmaller(c.Right, p.Right)
                    || IsSmaller(c.Result, p.Result))));

    [Fact]
    public void BroadcastPair_rejects_incompatible_shapes()
    {
        var error = Assert.Throws<ArgumentException>(() => new BroadcastPair(new ShapeSample(2, 3), new ShapeSample(4)));
        Assert.Contains("[2, 3] and [4]", error.Message);
        Assert.Equal(new ShapeSample(4, 2, 3), new BroadcastPair(new ShapeSample(2, 1), new ShapeSample(4, 1, 3)).Result);
    }

    // ---- tensors -------------------------------------------------------------------------------------------

    [Fact]
    public void CreateTensor_is_deterministic_in_range_and_a_prefix_of_a_larger_draw()
    {
        using var a = TensorGen.CreateTensor([2, 3], -1, 3, DType.Float64, seed: 7);
        using var b = TensorGen.CreateTensor([2, 3], -1, 3, DType.Float64, seed: 7);
        using var c = TensorGen.CreateTensor([2, 3], -1, 3, DType.Float64, seed: 8);
        using var longer = TensorGen.CreateTensor([10], -1, 3, DType.Float64, seed: 7);
        Assert.Equal(a.ToDoubleArray(), b.ToDoubleArray());
        Assert.NotEqual(a.ToDoubleArray(), c.ToDoubleArray());
        Assert.Equal(a.ToDoubleArray(), longer.ToDoubleArray()[..6]);
        Assert.All(longer.ToDoubleArray(), v => Assert.InRange(v, -1, 3));
        Assert.False(a.RequiresGrad);
    }

    [Fact]
    public void CreateTensor_away_from_zero_float32_and_scalar()
    {
        using var t = TensorGen.CreateTensor([1000], -1, 1, DType.Float32, seed: 3, awayFromZero: 0.25);
        Assert.Equal(DType.Float32, t.DType);
        var values = t.ToDoubleArray();
        Assert.All(values, v => Assert.True(Math.Abs(v) >= 0.25 - 1e-6 && Math.Abs(v) <= 1, $"{v}"));
        Assert.Contains(values, v => v < 0);
        Assert.Contains(values, v => v > 0);
        using var positive = TensorGen.CreateTensor([100], 0, 2, DType.Float64, seed: 3, awayFromZero: 0.5);
        Assert.All(positive.ToDoubleArray(), v => Assert.InRange(v, 0.5, 2));
        using var scalar = TensorGen.CreateTensor([], -1, 1, DType.Float64, seed: 3);
        Assert.Equal(0, scalar.Rank);
        Assert.Throws<ArgumentException>(() => TensorGen.CreateTensor([2], 0.1, 0.2, DType.Float64, seed: 3, awayFromZero: 0.5));
    }

    [Property(MaxTest = 20)]
    public Property Tensors_generator_gives_the_shape_and_range() =>
        Prop.ForAll(TensorGen.Tensors([2, 3], low: 1, high: 2, dtype: DType.Float32).ToArbitrary(), t =>
        {
            using (t) return t.Shape == new Shape(2, 3) && t.DType == DType.Float32 && t.ToDoubleArray().All(v => v is >= 1 and <= 2);
        });

    [Property(MaxTest = 20)]
    public Property Index_tensors_are_int64_within_bounds() =>
        Prop.ForAll(TensorGen.IndexTensors([3, 4], high: 3).ToArbitrary(), t =>
        {
            using (t) return t.DType == DType.Int64 && t.Shape == new Shape(3, 4) && t.ToArray<long>().All(v => v is >= 0 and < 3);
        });

    [Fact]
    public void Tensor_samples_shrink_the_shape_and_keep_the_seed()
    {
        var arb = TensorGen.TensorSamples(TensorGen.Shapes(maxRank: 2, maxSize: 3), low: 0, high: 1);
        var sample = Sample(arb.Generator.Where(t => t.Shape.Rank == 2), 1)[0].WithShape(new ShapeSample(3, 3));
        using var big = sample.ToTensor();
        Assert.Equal(new Shape(3, 3), big.Shape);
        var shrinks = arb.Shrinker(sample).ToArray();
        Assert.NotEmpty(shrinks);
        Assert.All(shrinks, s => Assert.Equal(sample.Seed, s.Seed));
        using var small = shrinks[0].ToTensor();
        Assert.Equal(big.ToDoubleArray()[..small.Numel], small.ToDoubleArray());
    }

    [Fact]
    public void InputSpec_materializes_float64_with_grad_constants_and_indices()
    {
        using var x = InputSpec.Of(2, 3).InRange(0.5, 1).Create(1);
        Assert.True(x.RequiresGrad);
        Assert.Equal(DType.Float64, x.DType);
        Assert.All(x.ToDoubleArray(), v => Assert.InRange(v, 0.5, 1));
        using var c = InputSpec.Of(new ShapeSample(4)).NoGrad().Create(1);
        Assert.False(c.RequiresGrad);
        using var i = InputSpec.Index([5], high: 2).Create(1);
        Assert.Equal(DType.Int64, i.DType);
        Assert.All(i.ToArray<long>(), v => Assert.InRange(v, 0, 1));
        Assert.Equal("float64[2, 3] in [-2, 2] |x|≥0.1 requires_grad", InputSpec.Of(2, 3).AwayFromZero().ToString());
        Assert.Throws<InvalidOperationException>(() => InputSpec.Index([2], 3).InRange(0, 1));
    }

    private static bool IsSmaller(ShapeSample a, ShapeSample b) => a.Rank < b.Rank || a.Rank == b.Rank && a.Numel < b.Numel;

    private static bool IsSmallerOrEqual(ShapeSample a, ShapeSample b) => a == b || IsSmaller(a, b);
}
