namespace AutoGradNet;

/// <summary>
/// An int or one int per spatial dim, as PyTorch's <c>int | tuple</c> arguments: <c>stride: 2</c>,
/// <c>stride: (2, 1)</c> or <c>stride: new[] { 2, 1, 1 }</c>.
/// </summary>
public readonly struct Ints
{
    private readonly int[]? _values;
    private Ints(int[] values) => _values = values;

    /// <summary>The same value for every dim.</summary>
    public static implicit operator Ints(int value) => new([value]);
    /// <summary>One value per dim.</summary>
    public static implicit operator Ints(int[] values) => new((int[])values.Clone());
    /// <summary>Two dims.</summary>
    public static implicit operator Ints((int, int) v) => new([v.Item1, v.Item2]);
    /// <summary>Three dims.</summary>
    public static implicit operator Ints((int, int, int) v) => new([v.Item1, v.Item2, v.Item3]);

    internal bool IsDefault => _values is null;

    /// <summary>The values for <paramref name="rank"/> dims (a single value is repeated); throws naming the op otherwise.</summary>
    internal int[] For(int rank, string op, string what)
    {
        if (_values is null) throw new ArgumentException($"{op}: {what} is required");
        if (_values.Length == 1) return Enumerable.Repeat(_values[0], rank).ToArray();
        if (_values.Length != rank) throw new ArgumentException($"{op}: {what} must have 1 or {rank} values, got [{string.Join(", ", _values)}]");
        return (int[])_values.Clone();
    }

    /// <summary>
    /// <see cref="For"/> without a copy: the values for <paramref name="rank"/> dims as a shared array that callers only
    /// read (a single value comes from a per-rank table for 0–15). Ops call this at every step.
    /// </summary>
    internal int[] Shared(int rank, string op, string what)
    {
        if (_values is null) throw new ArgumentException($"{op}: {what} is required");
        if (_values.Length == 1 && _values[0] is >= 0 and < SharedMax && rank is >= 1 and <= 3)
            return s_repeated[rank - 1][_values[0]];
        if (_values.Length == rank) return _values; // cloned when this Ints was made, never written
        return For(rank, op, what);
    }

    private const int SharedMax = 16;
    private static readonly int[][][] s_repeated = [.. Enumerable.Range(1, 3).Select(rank => Enumerable.Range(0, SharedMax).Select(v => Enumerable.Repeat(v, rank).ToArray()).ToArray())];

    /// <inheritdoc/>
    public override string ToString() => _values is null ? "default" : _values.Length == 1 ? _values[0].ToString() : "(" + string.Join(", ", _values) + ")";
}

/// <summary>Convolution padding: an int or one per dim (zeros on both sides), or <see cref="Same"/> / <see cref="Valid"/>.</summary>
public readonly struct Padding
{
    private readonly Ints _amount;
    private readonly string? _mode;
    private Padding(Ints amount, string? mode)
    {
        _amount = amount;
        _mode = mode;
    }

    /// <summary>No padding (PyTorch's <c>padding="valid"</c>).</summary>
    public static Padding Valid => new(0, null);

    /// <summary>Pads so the output has the input's size (stride 1 only); odd totals put the extra zero after, as PyTorch.</summary>
    public static Padding Same => new(0, "same");

    /// <summary>The same padding on every dim.</summary>
    public static implicit operator Padding(int value) => new(value, null);
    /// <summary>Per-dim padding.</summary>
    public static implicit operator Padding(int[] values) => new(values, null);
    /// <summary>Per-dim padding for two dims.</summary>
    public static implicit operator Padding((int, int) v) => new(v, null);
    /// <summary>Per-dim padding for three dims.</summary>
    public static implicit operator Padding((int, int, int) v) => new(v, null);
    /// <summary>"same" or "valid".</summary>
    public static implicit operator Padding(string mode) => mode switch
    {
        "same" => Same,
        "valid" => Valid,
        _ => throw new ArgumentException($"padding: expected \"same\", \"valid\" or numbers, got \"{mode}\""),
    };

    internal bool IsSame => _mode == "same";

    /// <summary>(before, after) per dim for the given kernel and dilation.</summary>
    internal (int[] Before, int[] After) Resolve(int rank, ReadOnlySpan<int> kernel, int[] dilation, string op)
    {
        var before = new int[rank];
        var after = new int[rank];
        if (IsSame)
        {
            for (int d = 0; d < rank; d++)
            {
                int total = dilation[d] * (kernel[d] - 1);
                before[d] = total / 2;
                after[d] = total - before[d];
            }
            return (before, after);
        }
        var amount = (_amount.IsDefault ? (Ints)0 : _amount).Shared(rank, op, "padding");
        foreach (int p in amount)
            if (p < 0) throw new ArgumentException($"{op}: padding must be non-negative, got {_amount}");
        return (amount, amount); // shared and read-only, as the geometry's arrays
    }

    /// <inheritdoc/>
    public override string ToString() => _mode ?? _amount.ToString();
}
