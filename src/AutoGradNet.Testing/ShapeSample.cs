namespace AutoGradNet.Testing;

/// <summary>
/// A generated tensor shape (the value FsCheck generates, prints and shrinks). Converts implicitly to
/// <c>int[]</c>, <see cref="AutoGradNet.Shape"/> and <see cref="InputSpec"/>, so it can be passed to tensor
/// factories or returned from an input function as is. Prints as <c>[2, 3]</c>.
/// </summary>
/// <remarks>
/// Generate with <see cref="TensorGen.Shapes"/>, whose shrinker moves toward fewer dims and smaller sizes.
/// A value type in all but name: two samples with the same dims are equal.
/// </remarks>
public sealed class ShapeSample : IEquatable<ShapeSample>
{
    private readonly int[] _dims;

    /// <summary>A shape with the given sizes (none: a scalar). Sizes must be non-negative.</summary>
    public ShapeSample(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (int d in dims)
            if (d < 0) throw new ArgumentException($"ShapeSample: sizes must be non-negative, got [{string.Join(", ", dims)}]", nameof(dims));
        _dims = (int[])dims.Clone();
    }

    /// <summary>The sizes, outermost first.</summary>
    public IReadOnlyList<int> Dims => _dims;

    /// <summary>Number of dims (0 for a scalar).</summary>
    public int Rank => _dims.Length;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Numel
    {
        get
        {
            int n = 1;
            foreach (int d in _dims) n *= d;
            return n;
        }
    }

    /// <summary>Size of dim <paramref name="dim"/>; negative values count from the end, as in PyTorch.</summary>
    public int this[int dim]
    {
        get
        {
            int d = dim < 0 ? dim + _dims.Length : dim;
            if ((uint)d >= (uint)_dims.Length)
                throw new ArgumentOutOfRangeException(nameof(dim), $"ShapeSample: dim {dim} is out of range for shape {this}");
            return _dims[d];
        }
    }

    /// <summary>The sizes as a new array.</summary>
    public int[] ToArray() => (int[])_dims.Clone();

    /// <summary>The shape as AutoGradNet's <see cref="AutoGradNet.Shape"/>.</summary>
    public Shape Shape => new(_dims);

    /// <summary>The sizes as a new array (for tensor factories such as <c>Tensor.Randn(shape)</c>).</summary>
    public static implicit operator int[](ShapeSample shape) => shape.ToArray();

    /// <summary>The shape as AutoGradNet's <see cref="AutoGradNet.Shape"/>.</summary>
    public static implicit operator Shape(ShapeSample shape) => shape.Shape;

    /// <summary>True when both have the same sizes.</summary>
    public bool Equals(ShapeSample? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);

    /// <summary>True when <paramref name="obj"/> is a <see cref="ShapeSample"/> with the same sizes.</summary>
    public override bool Equals(object? obj) => Equals(obj as ShapeSample);

    /// <summary>A hash of the sizes.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int d in _dims) hash.Add(d);
        return hash.ToHashCode();
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(ShapeSample? a, ShapeSample? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(ShapeSample? a, ShapeSample? b) => !(a == b);

    /// <summary>The sizes as <c>[2, 3]</c> (<c>[]</c> for a scalar), as <see cref="AutoGradNet.Shape"/> prints.</summary>
    public override string ToString() => "[" + string.Join(", ", _dims) + "]";
}

/// <summary>
/// Two shapes that broadcast together under NumPy/PyTorch rules: aligned from the right, each pair of sizes
/// is equal or one of them is 1, and the shorter shape is padded with leading 1s. Ranks may differ.
/// </summary>
/// <remarks>Generate with <see cref="TensorGen.BroadcastPairs"/>; prints as <c>[3, 1] ~ [4]</c>.</remarks>
public sealed class BroadcastPair : IEquatable<BroadcastPair>
{
    /// <summary>A pair of broadcast-compatible shapes; throws <see cref="ArgumentException"/> when they do not broadcast.</summary>
    public BroadcastPair(ShapeSample left, ShapeSample right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        Left = left;
        Right = right;
        Result = BroadcastShapes(left, right)
            ?? throw new ArgumentException($"BroadcastPair: shapes {left} and {right} do not broadcast (aligned from the right, sizes must be equal or 1)");
    }

    /// <summary>The first shape.</summary>
    public ShapeSample Left { get; }

    /// <summary>The second shape.</summary>
    public ShapeSample Right { get; }

    /// <summary>The shape both broadcast to.</summary>
    public ShapeSample Result { get; }

    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/> (NumPy rules), or null when they do not broadcast.</summary>
    public static ShapeSample? BroadcastShapes(ShapeSample a, ShapeSample b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var result = new int[rank];
        for (int i = 1; i <= rank; i++)
        {
            int x = i <= a.Rank ? a.Dims[a.Rank - i] : 1;
            int y = i <= b.Rank ? b.Dims[b.Rank - i] : 1;
            if (x != y && x != 1 && y != 1) return null;
            result[rank - i] = x == 1 ? y : x;
        }
        return new ShapeSample(result);
    }

    /// <summary>Deconstructs into the two shapes, for <c>var (a, b) = pair</c>.</summary>
    public void Deconstruct(out ShapeSample left, out ShapeSample right) => (left, right) = (Left, Right);

    /// <summary>True when both shapes are equal.</summary>
    public bool Equals(BroadcastPair? other) => other is not null && Left == other.Left && Right == other.Right;

    /// <summary>True when <paramref name="obj"/> is a <see cref="BroadcastPair"/> with the same shapes.</summary>
    public override bool Equals(object? obj) => Equals(obj as BroadcastPair);

    /// <summary>A hash of both shapes.</summary>
    public override int GetHashCode() => HashCode.Combine(Left, Right);

    /// <summary>The shapes as <c>[3, 1] ~ [4]</c>.</summary>
    public override string ToString() => $"{Left} ~ {Right}";
}
