using System.Collections;

namespace AutoGradNet;

/// <summary>
/// The sizes of a tensor's dimensions (PyTorch's <c>torch.Size</c>). Immutable; compares by value.
/// </summary>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private static readonly int[] Empty = [];
    private readonly int[]? _dims;

    /// <summary>A shape with the given sizes (copied).</summary>
    public Shape(params int[] dims)
    {
        _dims = (int[])dims.Clone();
        Validate(_dims);
    }

    private Shape(int[] dims, bool _) => _dims = dims;

    /// <summary>Wraps an array the caller promises never to change again.</summary>
    internal static Shape Wrap(int[] dims) => new(dims, false);

    internal int[] Dims => _dims ?? Empty;

    /// <summary>Number of dimensions (PyTorch's <c>dim()</c>).</summary>
    public int Rank => Dims.Length;

    /// <summary>Number of elements: the product of the sizes (1 for a 0-d tensor).</summary>
    public int Numel => ShapeUtil.Numel(Dims);

    /// <summary>Size of dimension <paramref name="dim"/>; negative indices count from the end.</summary>
    public int this[int dim] => Dims[ShapeUtil.NormalizeDim(dim, Rank, "Shape[]")];

    int IReadOnlyCollection<int>.Count => Rank;

    /// <summary>The sizes as a fresh array.</summary>
    public int[] ToArray() => (int[])Dims.Clone();

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)Dims).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(Shape other) => Dims.AsSpan().SequenceEqual(other.Dims);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    /// <summary>A shape from an array of sizes.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    /// <summary>Formats as <c>[2, 3, 4]</c>.</summary>
    public override string ToString() => ShapeUtil.Format(Dims);

    private static void Validate(int[] dims)
    {
        foreach (int d in dims)
            if (d < 0) throw new ArgumentException($"shape {ShapeUtil.Format(dims)} has a negative size");
        _ = ShapeUtil.Numel(dims);
    }
}

/// <summary>Shape arithmetic shared by ops and backends.</summary>
internal static class ShapeUtil
{
    public static string Format(ReadOnlySpan<int> dims)
    {
        if (dims.Length == 0) return "[]";
        var sb = new System.Text.StringBuilder("[");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i]);
        }
        return sb.Append(']').ToString();
    }

    public static int Numel(ReadOnlySpan<int> dims)
    {
        long n = 1;
        foreach (int d in dims)
        {
            n *= d;
            if (n > int.MaxValue) throw new ArgumentException($"shape {Format(dims)} has more than {int.MaxValue} elements");
        }
        return (int)n;
    }

    /// <summary>
    /// The row-major strides of <paramref name="dims"/>. Tensors of the same shape share one array (a tensor's shape
    /// and stride arrays are never written once it holds them): a training step allocates the same few shapes over
    /// and over, and each fresh stride array was 40 bytes of garbage. A small per-thread table keyed by the shape.
    /// </summary>
    public static int[] ContiguousStrides(ReadOnlySpan<int> dims)
    {
        var cache = t_strideCache ??= new int[2 * StrideCacheSize][];
        int slot = 0;
        foreach (int d in dims) slot = slot * 31 + d;
        slot = 2 * (int)((uint)slot % StrideCacheSize);
        if (cache[slot] is { } key && dims.SequenceEqual(key)) return cache[slot + 1];
        var strides = ComputeContiguousStrides(dims);
        cache[slot] = dims.ToArray();
        cache[slot + 1] = strides;
        return strides;
    }

    private const int StrideCacheSize = 61;
    [ThreadStatic] private static int[][]? t_strideCache;

    private static int[] ComputeContiguousStrides(ReadOnlySpan<int> dims)
    {
        var strides = new int[dims.Length];
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(dims[i], 1);
        }
        return strides;
    }

    public static int NormalizeDim(int dim, int rank, string op)
    {
        int r = Math.Max(rank, 1); // a 0-d tensor accepts dim 0 and -1, like PyTorch
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for a tensor of rank {rank} (expected -{r}..{r - 1})");
        return dim < 0 ? dim + r : dim;
    }

    /// <summary>NumPy broadcasting of two shapes; throws naming the op and both shapes.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db})");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    public static bool SequenceEqual(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>Element counts before and after <paramref name="dim"/>: the tensor as [outer, size(dim), inner].</summary>
    public static (int Outer, int Inner) SplitAround(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, inner);
    }

    /// <summary>The error every backend raises for an index outside [0, size) (one message, so devices agree).</summary>
    public static IndexOutOfRangeException IndexOutOfBounds(string op, long index, int size) =>
        new($"{op}: index {index} is out of bounds for a dimension of size {size} (expected 0..{size - 1})");
}
