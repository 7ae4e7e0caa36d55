namespace AutoGradNet.Tests.OpTable;

/// <summary>
/// The op table: one <see cref="OpInfo"/> row per differentiable (or forward-only) op of the core and of <see cref="Functional"/>. The rows
/// live in the <c>OpTable.*.cs</c> files, one per op family; the tests in <see cref="OpTableTests"/> and
/// <see cref="OpTableProperties"/> are driven entirely by them.
/// </summary>
public static partial class OpTable
{
    private static readonly Lazy<OpInfo[]> s_all = new(() =>
    {
        var rows = new List<OpInfo>();
        rows.AddRange(ElementwiseRows());
        rows.AddRange(BinaryRows());
        rows.AddRange(ActivationRows());
        rows.AddRange(ReduceRows());
        rows.AddRange(ShapeRows());
        rows.AddRange(IndexRows());
        rows.AddRange(LinalgRows());
        rows.AddRange(LossRows());
        rows.AddRange(CompareRows());
        rows.AddRange(ConvRows());
        rows.AddRange(PoolRows());
        rows.AddRange(NormRows());
        rows.AddRange(FusedNormRows());
        var duplicate = rows.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOperationException($"op table: row {duplicate.Key} appears twice");
        return rows.ToArray();
    });

    public static OpInfo[] All => s_all.Value;

    public static OpInfo Get(string name) => All.Single(r => r.Name == name);

    // ---- helpers for writing rows ---------------------------------------------------------------------------

    private static InputSpec In(params int[] shape) => new(shape);
    private static InputSpec In(Domain domain, params int[] shape) => new(shape, domain);
    private static InputSpec Idx(int high, params int[] shape) => new(shape, Domain.Index) { IndexHigh = high };
    private static InputSpec Fixed(double[] values, params int[] shape) => new(shape) { Values = values };
    private static SampleCase S(string name, InputSpec[] inputs, params object?[] args) => new(name, inputs, args);

    /// <summary>Shapes every elementwise op is sampled on: a 0-d scalar, a vector, a matrix, a 3-d tensor with a size-1 dim.</summary>
    private static readonly int[][] ElementwiseShapes = [[], [5], [2, 3], [3, 1, 2]];

    private static IEnumerable<SampleCase> OnShapes(Domain domain, params object?[] args) =>
        ElementwiseShapes.Select(s => S($"rank{s.Length}", [In(domain, s)], args));

    /// <summary>
    /// A shape that broadcasts against <paramref name="shape"/>, picked by the bits of <paramref name="v"/>:
    /// bits 0–3 turn dims into 1, bits 4–5 drop leading dims (possibly all: a 0-d operand).
    /// </summary>
    internal static int[] Partner(int[] shape, int v)
    {
        int drop = ((v >> 4) & 3) % (shape.Length + 1);
        var result = shape.Skip(drop).ToArray();
        for (int i = 0; i < result.Length; i++)
            if (((v >> i) & 1) != 0) result[i] = 1;
        return result;
    }

    /// <summary>Reduction dims picked by bits of v (none set: null, i.e. all dims), some written negative.</summary>
    internal static int[]? DimsOf(int rank, int v)
    {
        var dims = new List<int>();
        for (int d = 0; d < rank; d++)
            if (((v >> d) & 1) != 0) dims.Add(((v >> 6) & 1) != 0 ? d - rank : d);
        return dims.Count == 0 ? null : dims.ToArray();
    }
}
