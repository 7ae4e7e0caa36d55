using FsCheck;
using FsCheck.Fluent;

namespace AutoGradNet.Testing;

/// <summary>
/// FsCheck generators for tensor shapes, broadcast-compatible shape pairs, float tensors and int64 index tensors.
/// Shapes come as <see cref="Arbitrary{T}"/> (generator + shrinker toward fewer dims and smaller sizes);
/// tensor values are drawn from AutoGradNet's Philox generator seeded by an FsCheck-generated seed, so they are
/// reproducible and stay stable while a shape shrinks.
/// </summary>
/// <example>
/// <code>
/// Prop.ForAll(TensorGen.Shapes(maxRank: 3), s => Tensor.Randn(s).Sum().Rank == 0).QuickCheckThrowOnFailure();
/// Prop.ForAll(TensorGen.BroadcastPairs(), p => (Tensor.Ones(p.Left) + Tensor.Ones(p.Right)).Shape == p.Result.Shape);
/// </code>
/// </example>
public static class TensorGen
{
    /// <summary>Default lower bound of the rank of generated shapes.</summary>
    public const int DefaultMinRank = 0;

    /// <summary>Default upper bound of the rank of generated shapes.</summary>
    public const int DefaultMaxRank = 4;

    /// <summary>Default lower bound of each generated size.</summary>
    public const int DefaultMinSize = 1;

    /// <summary>Default upper bound of each generated size.</summary>
    public const int DefaultMaxSize = 5;

    // ---- shapes ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Shapes with rank in [<paramref name="minRank"/>, <paramref name="maxRank"/>] and every size in
    /// [<paramref name="minSize"/>, <paramref name="maxSize"/>] (bounds inclusive; rank 0 is a scalar).
    /// Shrinks toward fewer dims and smaller sizes, never below the lower bounds (see <see cref="ShrinkShape"/>).
    /// </summary>
    public static Arbitrary<ShapeSample> Shapes(int minRank = DefaultMinRank, int maxRank = DefaultMaxRank, int minSize = DefaultMinSize, int maxSize = DefaultMaxSize)
    {
        CheckBounds(minRank, maxRank, minSize, maxSize, nameof(Shapes));
        var gen =
            from rank in Gen.Choose(minRank, maxRank)
            from dims in Gen.ArrayOf(Gen.Choose(minSize, maxSize), rank)
            select new ShapeSample(dims);
        return Arb.From(gen, shape => ShrinkShape(shape, minRank, minSize));
    }

    /// <summary>
    /// Shapes of exactly rank <paramref name="rank"/> with sizes in [<paramref name="minSize"/>, <paramref name="maxSize"/>]
    /// (e.g. rank 3 for a sample <c>s</c> that describes a matmul <c>[s[0], s[1]] @ [s[1], s[2]]</c>).
    /// </summary>
    public static Arbitrary<ShapeSample> ShapesOfRank(int rank, int minSize = DefaultMinSize, int maxSize = DefaultMaxSize) =>
        Shapes(rank, rank, minSize, maxSize);

    /// <summary>
    /// The immediate shrinks of <paramref name="shape"/>, most aggressive first: each dim removed (while the rank
    /// exceeds <paramref name="minRank"/>), then each size lowered to <paramref name="minSize"/>, halved toward it,
    /// and decremented. Every candidate is strictly smaller (fewer dims or a smaller size) and within the bounds,
    /// so repeated shrinking ends at a shape none of whose shrinks still fails.
    /// </summary>
    public static IEnumerable<ShapeSample> ShrinkShape(ShapeSample shape, int minRank = DefaultMinRank, int minSize = DefaultMinSize)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var dims = shape.ToArray();
        var seen = new HashSet<ShapeSample> { shape };
        var candidates = new List<ShapeSample>();
        void Add(int[] candidate)
        {
            var s = new ShapeSample(candidate);
            if (seen.Add(s)) candidates.Add(s);
        }
        if (dims.Length > minRank)
            for (int i = 0; i < dims.Length; i++)
                Add([.. dims[..i], .. dims[(i + 1)..]]);
        for (int i = 0; i < dims.Length; i++)
            foreach (int smaller in SmallerSizes(dims[i], minSize))
            {
                var copy = (int[])dims.Clone();
                copy[i] = smaller;
                Add(copy);
            }
        return candidates;
    }

    /// <summary>
    /// Pairs of shapes that broadcast together (NumPy/PyTorch rules): a common shape of rank ≤ <paramref name="maxRank"/>
    /// with sizes in [1, <paramref name="maxSize"/>], from which each side keeps some trailing dims (ranks may differ)
    /// and turns some sizes into 1. Shrinks toward fewer dims and smaller sizes while staying compatible
    /// (see <see cref="ShrinkBroadcastPair"/>).
    /// </summary>
    public static Arbitrary<BroadcastPair> BroadcastPairs(int maxRank = DefaultMaxRank, int maxSize = DefaultMaxSize)
    {
        CheckBounds(0, maxRank, 1, maxSize, nameof(BroadcastPairs));
        Gen<ShapeSample> Side(int[] common) =>
            from rank in Gen.Frequency((2, Gen.Constant(common.Length)), (1, Gen.Choose(0, common.Length)))
            from ones in Gen.ArrayOf(Gen.Choose(0, 2), rank)
            select new ShapeSample(Enumerable.Range(0, rank).Select(i => ones[i] == 0 ? 1 : common[common.Length - rank + i]).ToArray());
        var gen =
            from rank in Gen.Choose(0, maxRank)
            from common in Gen.ArrayOf(Gen.Choose(1, maxSize), rank)
            from left in Side(common)
            from right in Side(common)
            select new BroadcastPair(left, right);
        return Arb.From(gen, ShrinkBroadcastPair);
    }

    /// <summary>
    /// The immediate shrinks of a broadcast pair, all still compatible: drop the leading dim of either side,
    /// drop an aligned dim from both, lower a size of the common shape (on every side that has it in full),
    /// or turn one side's size into 1.
    /// </summary>
    public static IEnumerable<BroadcastPair> ShrinkBroadcastPair(BroadcastPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        int[] left = pair.Left.ToArray(), right = pair.Right.ToArray();
        int rank = pair.Result.Rank;
        var seen = new HashSet<BroadcastPair> { pair };
        var candidates = new List<BroadcastPair>();
        void Add(int[] l, int[] r)
        {
            var candidate = new BroadcastPair(new ShapeSample(l), new ShapeSample(r));
            if (seen.Add(candidate)) candidates.Add(candidate);
        }
        // Aligned from the right: position j (1-based from the end) is index Length - j of each side, when it has it.
        static int[] Without(int[] dims, int j) => j <= dims.Length ? [.. dims[..(dims.Length - j)], .. dims[(dims.Length - j + 1)..]] : dims;
        static int[] With(int[] dims, int j, int value)
        {
            if (j > dims.Length) return dims;
            var copy = (int[])dims.Clone();
            copy[dims.Length - j] = value;
            return copy;
        }

        if (left.Length > 0) Add(left[1..], right);
        if (right.Length > 0) Add(left, right[1..]);
        for (int j = rank; j >= 1; j--) Add(Without(left, j), Without(right, j));
        for (int j = rank; j >= 1; j--)
        {
            int size = pair.Result[rank - j];
            foreach (int smaller in SmallerSizes(size, 1))
            {
                int[] l = j <= left.Length && left[^j] == size ? With(left, j, smaller) : left;
                int[] r = j <= right.Length && right[^j] == size ? With(right, j, smaller) : right;
                Add(l, r);
            }
        }
        for (int j = rank; j >= 1; j--)
        {
            if (j <= left.Length && left[^j] > 1) Add(With(left, j, 1), right);
            if (j <= right.Length && right[^j] > 1) Add(left, With(right, j, 1));
        }
        return candidates;
    }

    // ---- seeds and tensors ----------------------------------------------------------------------------------

    /// <summary>Uniform 64-bit seeds (for <see cref="CreateTensor"/>, <see cref="InputSpec.Create"/>).</summary>
    public static Gen<ulong> Seeds() =>
        from hi in Gen.Choose(0, int.MaxValue)
        from lo in Gen.Choose(0, int.MaxValue)
        select Mix(((ulong)hi << 31) ^ (ulong)lo);

    /// <summary>SplitMix64 finalizer: spreads FsCheck's 62 random bits over all 64.</summary>
    internal static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// Tensors of a fixed shape with values uniform in [<paramref name="low"/>, <paramref name="high"/>], keeping
    /// |x| ≥ <paramref name="awayFromZero"/> when positive (for ops with a kink at 0). Each value is
    /// <see cref="CreateTensor"/> of a generated seed. The consumer disposes the tensors.
    /// </summary>
    /// <remarks>For a property over shapes and values that shrinks the shape with stable values, use <see cref="TensorSamples"/>.</remarks>
    public static Gen<Tensor> Tensors(int[] shape, double low = -2, double high = 2, DType dtype = DType.Float64, double awayFromZero = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var dims = (int[])shape.Clone();
        CheckValues(low, high, dtype, awayFromZero);
        return Seeds().Select(seed => CreateTensor(dims, low, high, dtype, seed, awayFromZero));
    }

    /// <summary>
    /// Int64 index tensors of a fixed shape with values uniform in [0, <paramref name="high"/>) (for Gather,
    /// IndexSelect, ScatterAdd, class targets). The consumer disposes the tensors.
    /// </summary>
    public static Gen<Tensor> IndexTensors(int[] shape, long high)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (high <= 0) throw new ArgumentOutOfRangeException(nameof(high), $"TensorGen.IndexTensors: the exclusive bound must be positive, got {high}");
        var dims = (int[])shape.Clone();
        return Seeds().Select(seed => CreateIndex(dims, high, seed));
    }

    /// <summary>
    /// Shape + seed + value range, materialized with <see cref="TensorSample.ToTensor"/>. Shrinking shrinks the
    /// shape with <paramref name="shapes"/>' shrinker and keeps the seed, so a shrunk sample holds a prefix of the
    /// same random stream: the failure being shrunk does not change with the values.
    /// </summary>
    /// <param name="shapes">Shape generator (default <see cref="Shapes"/> with its defaults).</param>
    /// <param name="low">Smallest value.</param>
    /// <param name="high">Largest value.</param>
    /// <param name="dtype">Float32 or Float64.</param>
    /// <param name="awayFromZero">When positive, values keep |x| ≥ this.</param>
    public static Arbitrary<TensorSample> TensorSamples(Arbitrary<ShapeSample>? shapes = null, double low = -2, double high = 2, DType dtype = DType.Float64, double awayFromZero = 0)
    {
        CheckValues(low, high, dtype, awayFromZero);
        shapes ??= Shapes();
        var gen =
            from shape in shapes.Generator
            from seed in Seeds()
            select new TensorSample(shape, seed, low, high, dtype, awayFromZero);
        return Arb.From(gen, sample => shapes.Shrinker(sample.Shape).Select(sample.WithShape));
    }

    /// <summary>
    /// A tensor of <paramref name="shape"/> with values uniform in [<paramref name="low"/>, <paramref name="high"/>]
    /// drawn from AutoGradNet's Philox generator seeded with <paramref name="seed"/>: deterministic on every machine,
    /// and element i depends only on (seed, i). When <paramref name="awayFromZero"/> is positive the values are
    /// uniform on [low, high] minus (−awayFromZero, awayFromZero). Does not require grad.
    /// </summary>
    public static Tensor CreateTensor(int[] shape, double low, double high, DType dtype, ulong seed, double awayFromZero = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckValues(low, high, dtype, awayFromZero);
        var dims = (int[])shape.Clone();
        int n = new Shape(dims).Numel;
        double[] u;
        using (var uniform = Tensor.Rand([n], DType.Float64, new Generator(seed))) u = uniform.ToDoubleArray();
        // Map [0, 1) onto [low, high] minus the hole (-m, m): a negative piece then a positive piece, by length.
        double m = awayFromZero;
        double negEnd = m > 0 ? Math.Min(high, -m) : high;
        double posStart = m > 0 ? Math.Max(low, m) : high;
        double negLength = Math.Max(0, negEnd - low), posLength = m > 0 ? Math.Max(0, high - posStart) : 0;
        double total = negLength + posLength;
        if (m > 0 && !(total > 0))
            throw new ArgumentException($"TensorGen: no value of [{low}, {high}] has |x| ≥ {m}");
        var values = new double[n];
        for (int i = 0; i < n; i++)
        {
            double t = u[i] * total;
            values[i] = t < negLength ? low + t : posStart + (t - negLength);
        }
        var t64 = dims.Length == 0 ? Tensor.Scalar(values[0], DType.Float64) : Tensor.From(values, dims);
        if (dtype == DType.Float64) return t64;
        using (t64) return t64.To(dtype);
    }

    /// <summary>
    /// An int64 tensor of <paramref name="shape"/> with values uniform in [0, <paramref name="high"/>), drawn
    /// deterministically from <paramref name="seed"/> (AutoGradNet's Philox generator).
    /// </summary>
    public static Tensor CreateIndex(int[] shape, long high, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (high <= 0) throw new ArgumentOutOfRangeException(nameof(high), $"TensorGen.CreateIndex: the exclusive bound must be positive, got {high}");
        return Tensor.Randint(0, high, (int[])shape.Clone(), DType.Int64, new Generator(seed));
    }

    private static IEnumerable<int> SmallerSizes(int size, int minSize)
    {
        if (size <= minSize) yield break;
        yield return minSize;
        int half = minSize + (size - minSize) / 2;
        if (half > minSize && half < size) yield return half;
        if (size - 1 > half) yield return size - 1;
    }

    private static void CheckBounds(int minRank, int maxRank, int minSize, int maxSize, string who)
    {
        if (minRank < 0 || maxRank < minRank)
            throw new ArgumentOutOfRangeException(nameof(maxRank), $"TensorGen.{who}: need 0 ≤ minRank ≤ maxRank, got [{minRank}, {maxRank}]");
        if (minSize < 0 || maxSize < minSize)
            throw new ArgumentOutOfRangeException(nameof(maxSize), $"TensorGen.{who}: need 0 ≤ minSize ≤ maxSize, got [{minSize}, {maxSize}]");
    }

    private static void CheckValues(double low, double high, DType dtype, double awayFromZero)
    {
        if (!(low <= high) || !double.IsFinite(low) || !double.IsFinite(high))
            throw new ArgumentException($"TensorGen: need finite low ≤ high, got [{low}, {high}]");
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"TensorGen: value tensors are float32 or float64, not {dtype.Name()} (use IndexTensors for int64)");
        if (!(awayFromZero >= 0) || !double.IsFinite(awayFromZero))
            throw new ArgumentOutOfRangeException(nameof(awayFromZero), $"TensorGen: awayFromZero must be finite and non-negative, got {awayFromZero}");
    }
}

/// <summary>
/// A generated float tensor, kept symbolic (shape, seed, value range) so FsCheck can print and shrink it;
/// <see cref="ToTensor"/> materializes it deterministically. Made by <see cref="TensorGen.TensorSamples"/>.
/// </summary>
/// <param name="Shape">The shape.</param>
/// <param name="Seed">The Philox seed of the values.</param>
/// <param name="Low">Smallest value.</param>
/// <param name="High">Largest value.</param>
/// <param name="DType">Float32 or Float64.</param>
/// <param name="AwayFromZero">When positive, values keep |x| ≥ this.</param>
public sealed record TensorSample(ShapeSample Shape, ulong Seed, double Low, double High, DType DType, double AwayFromZero)
{
    /// <summary>The tensor (same values for the same sample; does not require grad; the caller disposes it).</summary>
    public Tensor ToTensor() => TensorGen.CreateTensor(Shape, Low, High, DType, Seed, AwayFromZero);

    /// <summary>The same sample (seed, range) with another shape.</summary>
    public TensorSample WithShape(ShapeSample shape) => this with { Shape = shape };

    /// <summary>Like <c>float64[2, 3] seed 42</c>.</summary>
    public override string ToString() => $"{DType.Name()}{Shape} seed {Seed}";
}

/// <summary>
/// Default <see cref="Arbitrary{T}"/> instances to register with FsCheck, e.g.
/// <c>[Property(Arbitrary = [typeof(TensorArbitraries)])] public bool P(ShapeSample s, BroadcastPair p) =&gt; ...</c>.
/// </summary>
public static class TensorArbitraries
{
    /// <summary><see cref="TensorGen.Shapes"/> with the default bounds (rank 0–4, sizes 1–5).</summary>
    public static Arbitrary<ShapeSample> ShapeSamples() => TensorGen.Shapes();

    /// <summary><see cref="TensorGen.BroadcastPairs"/> with the default bounds (rank ≤ 4, sizes 1–5).</summary>
    public static Arbitrary<BroadcastPair> BroadcastPairs() => TensorGen.BroadcastPairs();

    /// <summary><see cref="TensorGen.TensorSamples"/> with the default shapes and values in [−2, 2], float64.</summary>
    public static Arbitrary<TensorSample> TensorSamples() => TensorGen.TensorSamples();
}
