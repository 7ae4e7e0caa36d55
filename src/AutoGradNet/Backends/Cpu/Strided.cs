namespace AutoGradNet.Backends.Cpu;

/// <summary>A loop body over one row: n elements, with a start offset and a stride per operand (up to four).</summary>
internal interface IRowAction
{
    void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3);
}

/// <summary>
/// The one place that walks strided memory on the CPU. Dimensions that are contiguous for every operand are
/// merged, the innermost remaining dimension becomes a row, and rows (or, for a single long row, chunks of it)
/// are spread over the cores when the work is large.
/// </summary>
internal static class Strided
{
    /// <summary>Elements below which a loop stays on the calling thread.</summary>
    public const int ParallelThreshold = 1 << 15;

    public static void ForEachRow<TAction>(int[] shape, Tensor t0, Tensor? t1, Tensor? t2, Tensor? t3, TAction action)
        where TAction : struct, IRowAction
    {
        int numel = ShapeUtil.Numel(shape);
        if (numel == 0) return;
        if (TrySingleRow(shape, t0, t1, t2, t3, numel, action)) return;
        int operands = t3 is not null ? 4 : t2 is not null ? 3 : t1 is not null ? 2 : 1;
        int[][] strides = new int[operands][];
        int[] bases = new int[4];
        var all = new[] { t0, t1, t2, t3 };
        for (int k = 0; k < operands; k++)
        {
            strides[k] = all[k]!.Strides;
            bases[k] = all[k]!.Offset;
        }
        var (dims, st) = Coalesce(shape, strides);
        int rank = dims.Length;
        int inner = dims[rank - 1];
        int rows = numel / inner;
        var innerStride = new int[4];
        for (int k = 0; k < operands; k++) innerStride[k] = st[k][rank - 1];

        int chunks = numel >= ParallelThreshold ? Environment.ProcessorCount : 1;
        if (rows == 1)
        {
            if (chunks == 1)
            {
                action.Row(inner, bases[0], innerStride[0], bases[1], innerStride[1], bases[2], innerStride[2], bases[3], innerStride[3]);
                return;
            }
            int per = (inner + chunks - 1) / chunks;
            CpuParallel.For(chunks, c =>
            {
                int start = c * per, n = Math.Min(per, inner - start);
                if (n <= 0) return;
                action.Row(n, bases[0] + start * innerStride[0], innerStride[0], bases[1] + start * innerStride[1], innerStride[1],
                    bases[2] + start * innerStride[2], innerStride[2], bases[3] + start * innerStride[3], innerStride[3]);
            });
            return;
        }
        chunks = Math.Min(chunks, rows);
        if (chunks == 1)
        {
            RunRows(0, rows, dims, st, bases, innerStride, operands, action);
            return;
        }
        int rowsPer = (rows + chunks - 1) / chunks;
        CpuParallel.For(chunks, c =>
        {
            int start = c * rowsPer, end = Math.Min(rows, start + rowsPer);
            if (start < end) RunRows(start, end, dims, st, bases, innerStride, operands, action);
        });
    }

    /// <summary>
    /// The common case without the general walk's tables: every operand is dense in y's shape or a single broadcast
    /// element (all strides 0), so the whole loop is one row — run here when small, else cut into one chunk per core
    /// (the only allocation is that loop's closure).
    /// </summary>
    private static bool TrySingleRow<TAction>(int[] shape, Tensor t0, Tensor? t1, Tensor? t2, Tensor? t3, int numel, TAction action)
        where TAction : struct, IRowAction
    {
        if (!RowStride(shape, t0, out int s0) || !RowStride(shape, t1, out int s1) || !RowStride(shape, t2, out int s2) || !RowStride(shape, t3, out int s3))
            return false;
        int o0 = t0.Offset, o1 = t1?.Offset ?? 0, o2 = t2?.Offset ?? 0, o3 = t3?.Offset ?? 0;
        int chunks = numel >= ParallelThreshold ? Environment.ProcessorCount : 1;
        if (chunks == 1)
        {
            action.Row(numel, o0, s0, o1, s1, o2, s2, o3, s3);
            return true;
        }
        int per = (numel + chunks - 1) / chunks;
        CpuParallel.For(chunks, c =>
        {
            int start = c * per, n = Math.Min(per, numel - start);
            if (n > 0) action.Row(n, o0 + start * s0, s0, o1 + start * s1, s1, o2 + start * s2, s2, o3 + start * s3, s3);
        });
        return true;
    }

    private static bool RowStride(int[] shape, Tensor? t, out int stride)
    {
        stride = 1;
        if (t is null) return true;
        var strides = t.Strides;
        bool allZero = true;
        foreach (int st in strides) allZero &= st == 0;
        if (allZero && strides.Length > 0) { stride = 0; return true; }
        return ShapeUtil.SequenceEqual(t.ShapeArray, shape) && t.IsContiguous;
    }

    private static void RunRows<TAction>(int start, int end, int[] dims, int[][] st, int[] bases, int[] innerStride, int operands, TAction action)
        where TAction : struct, IRowAction
    {
        int outerRank = dims.Length - 1;
        int inner = dims[outerRank];
        Span<int> index = stackalloc int[outerRank];
        Span<int> offset = stackalloc int[4];
        // Position the odometer at row `start`.
        int r = start;
        for (int d = outerRank - 1; d >= 0; d--)
        {
            index[d] = r % dims[d];
            r /= dims[d];
        }
        for (int k = 0; k < 4; k++)
        {
            int o = bases[k];
            if (k < operands)
                for (int d = 0; d < outerRank; d++) o += index[d] * st[k][d];
            offset[k] = o;
        }
        for (int row = start; row < end; row++)
        {
            action.Row(inner, offset[0], innerStride[0], offset[1], innerStride[1], offset[2], innerStride[2], offset[3], innerStride[3]);
            for (int d = outerRank - 1; d >= 0; d--)
            {
                index[d]++;
                for (int k = 0; k < operands; k++) offset[k] += st[k][d];
                if (index[d] < dims[d]) break;
                for (int k = 0; k < operands; k++) offset[k] -= st[k][d] * dims[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>Drops size-1 dimensions and merges neighbours that are contiguous for every operand.</summary>
    internal static (int[] Dims, int[][] Strides) Coalesce(int[] shape, int[][] strides)
    {
        var dims = new List<int>(shape.Length);
        var st = new List<int>[strides.Length];
        for (int k = 0; k < strides.Length; k++) st[k] = new List<int>(shape.Length);
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            if (dims.Count > 0)
            {
                int last = dims.Count - 1;
                bool merge = true;
                for (int k = 0; k < strides.Length && merge; k++)
                    merge = st[k][last] == strides[k][d] * shape[d];
                if (merge)
                {
                    dims[last] *= shape[d];
                    for (int k = 0; k < strides.Length; k++) st[k][last] = strides[k][d];
                    continue;
                }
            }
            dims.Add(shape[d]);
            for (int k = 0; k < strides.Length; k++) st[k].Add(strides[k][d]);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            for (int k = 0; k < strides.Length; k++) st[k].Add(1);
        }
        var result = new int[strides.Length][];
        for (int k = 0; k < strides.Length; k++) result[k] = st[k].ToArray();
        return (dims.ToArray(), result);
    }
}
