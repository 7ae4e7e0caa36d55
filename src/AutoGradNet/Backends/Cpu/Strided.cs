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
        // The walk's table (see Walk) lives on the stack, and in a pooled array when the rows go to other cores.
        int size = Walk.Size(shape.Length, operands);
        Span<int> walk = size <= 256 ? stackalloc int[size] : new int[size];
        walk = walk[..Walk.Build(walk, shape, t0, t1, t2, t3, operands)];
        int rank = walk[Walk.Rank];
        int inner = walk[Walk.Dims + rank - 1];
        int rows = numel / inner;

        int chunks = numel >= ParallelThreshold ? Environment.ProcessorCount : 1;
        if (rows == 1)
        {
            if (chunks == 1)
            {
                Walk.Row(walk, action, inner, walk[Walk.Base], walk[Walk.Base + 1], walk[Walk.Base + 2], walk[Walk.Base + 3]);
                return;
            }
            int per = (inner + chunks - 1) / chunks;
            CpuParallel.For(chunks, (action, per, inner, b0: walk[Walk.Base], b1: walk[Walk.Base + 1], b2: walk[Walk.Base + 2], b3: walk[Walk.Base + 3],
                s0: walk[Walk.InnerStride], s1: walk[Walk.InnerStride + 1], s2: walk[Walk.InnerStride + 2], s3: walk[Walk.InnerStride + 3]), static (s, c) =>
            {
                int start = c * s.per, n = Math.Min(s.per, s.inner - start);
                if (n > 0) s.action.Row(n, s.b0 + start * s.s0, s.s0, s.b1 + start * s.s1, s.s1, s.b2 + start * s.s2, s.s2, s.b3 + start * s.s3, s.s3);
            });
            return;
        }
        chunks = Math.Min(chunks, rows);
        if (chunks == 1)
        {
            RunRows(0, rows, walk, action);
            return;
        }
        int rowsPer = (rows + chunks - 1) / chunks;
        int[] shared = System.Buffers.ArrayPool<int>.Shared.Rent(walk.Length);
        try
        {
            walk.CopyTo(shared);
            CpuParallel.For(chunks, (action, shared, length: walk.Length, rowsPer, rows), static (s, c) =>
            {
                int start = c * s.rowsPer, end = Math.Min(s.rows, start + s.rowsPer);
                if (start < end) RunRows(start, end, s.shared.AsSpan(0, s.length), s.action);
            });
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(shared);
        }
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
        CpuParallel.For(chunks, (action, per, numel, o0, s0, o1, s1, o2, s2, o3, s3), static (s, c) =>
        {
            int start = c * s.per, n = Math.Min(s.per, s.numel - start);
            if (n > 0) s.action.Row(n, s.o0 + start * s.s0, s.s0, s.o1 + start * s.s1, s.s1, s.o2 + start * s.s2, s.s2, s.o3 + start * s.s3, s.s3);
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

    private static void RunRows<TAction>(int start, int end, ReadOnlySpan<int> walk, TAction action)
        where TAction : struct, IRowAction
    {
        int rank = walk[Walk.Rank], operands = walk[Walk.Operands];
        int outerRank = rank - 1;
        ReadOnlySpan<int> dims = walk.Slice(Walk.Dims, rank);
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
            int o = walk[Walk.Base + k];
            if (k < operands)
            {
                var st = Walk.Strides(walk, k);
                for (int d = 0; d < outerRank; d++) o += index[d] * st[d];
            }
            offset[k] = o;
        }
        for (int row = start; row < end; row++)
        {
            Walk.Row(walk, action, dims[outerRank], offset[0], offset[1], offset[2], offset[3]);
            for (int d = outerRank - 1; d >= 0; d--)
            {
                index[d]++;
                for (int k = 0; k < operands; k++) offset[k] += walk[Walk.Dims + rank * (1 + k) + d];
                if (index[d] < dims[d]) break;
                for (int k = 0; k < operands; k++) offset[k] -= walk[Walk.Dims + rank * (1 + k) + d] * dims[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>
    /// The general walk's table in one int buffer: coalesced rank, operand count, each operand's base offset and
    /// innermost stride, the coalesced dims, then each operand's strides.
    /// </summary>
    private static class Walk
    {
        public const int Rank = 0, Operands = 1, Base = 2, InnerStride = 6, Dims = 10;

        public static int Size(int rank, int operands) => Dims + Math.Max(rank, 1) * (1 + operands);

        public static ReadOnlySpan<int> Strides(ReadOnlySpan<int> walk, int k) => walk.Slice(Dims + walk[Rank] * (1 + k), walk[Rank]);

        /// <summary>Fills the table for the operands' views of <paramref name="shape"/>; returns the length used.</summary>
        public static int Build(Span<int> walk, int[] shape, Tensor t0, Tensor? t1, Tensor? t2, Tensor? t3, int operands)
        {
            walk[Base..Dims].Clear();
            Span<int> scratch = walk[Dims..];
            int rank = Coalesce(shape, t0.Strides, t1?.Strides, t2?.Strides, t3?.Strides, operands, scratch);
            walk[Rank] = rank;
            walk[Operands] = operands;
            for (int k = 0; k < operands; k++)
            {
                var t = k switch { 0 => t0, 1 => t1, 2 => t2, _ => t3 };
                walk[Base + k] = t!.Offset;
                walk[InnerStride + k] = scratch[rank * (1 + k) + rank - 1];
            }
            return Dims + rank * (1 + operands);
        }

        public static void Row<TAction>(ReadOnlySpan<int> walk, TAction action, int n, int o0, int o1, int o2, int o3)
            where TAction : struct, IRowAction =>
            action.Row(n, o0, walk[InnerStride], o1, walk[InnerStride + 1], o2, walk[InnerStride + 2], o3, walk[InnerStride + 3]);
    }

    /// <summary>
    /// Drops size-1 dimensions and merges neighbours that are contiguous for every operand. Writes the coalesced
    /// dims to <c>result[0..rank)</c> and operand k's strides to <c>result[rank·(1 + k)..]</c>; returns the rank (≥ 1).
    /// The strides are written to their final place as the rank grows, so they are laid out with the shape's rank
    /// first and compacted at the end.
    /// </summary>
    private static int Coalesce(int[] shape, int[] s0, int[]? s1, int[]? s2, int[]? s3, int operands, Span<int> result)
    {
        int full = shape.Length;
        Span<int> dims = result[..Math.Max(full, 1)];
        int rank = 0;
        for (int d = 0; d < full; d++)
        {
            if (shape[d] == 1) continue;
            if (rank > 0)
            {
                int last = rank - 1;
                bool merge = true;
                for (int k = 0; k < operands && merge; k++)
                    merge = result[full * (1 + k) + last] == Of(k)[d] * shape[d];
                if (merge)
                {
                    dims[last] *= shape[d];
                    for (int k = 0; k < operands; k++) result[full * (1 + k) + last] = Of(k)[d];
                    continue;
                }
            }
            dims[rank] = shape[d];
            for (int k = 0; k < operands; k++) result[full * (1 + k) + rank] = Of(k)[d];
            rank++;
        }
        if (rank == 0)
        {
            dims[0] = 1;
            for (int k = 0; k < operands; k++) result[Math.Max(full, 1) * (1 + k)] = 1;
            rank = 1;
            full = Math.Max(full, 1);
        }
        // Compact operand k's strides from stride full to stride rank (rank ≤ full, so moving forward is safe).
        for (int k = 0; k < operands; k++)
            result.Slice(full * (1 + k), rank).CopyTo(result.Slice(rank * (1 + k), rank));
        return rank;

        int[] Of(int k) => k switch { 0 => s0, 1 => s1!, 2 => s2!, _ => s3! };
    }

    /// <summary>Drops size-1 dimensions and merges neighbours that are contiguous for every operand (array form, for the GPU layouts).</summary>
    internal static (int[] Dims, int[][] Strides) Coalesce(int[] shape, int[][] strides)
    {
        int operands = strides.Length;
        if (operands is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(strides), "coalesce: 1 to 4 operands");
        var buffer = new int[Math.Max(shape.Length, 1) * (1 + operands)];
        int rank = Coalesce(shape, strides[0], operands > 1 ? strides[1] : null, operands > 2 ? strides[2] : null, operands > 3 ? strides[3] : null, operands, buffer);
        var result = new int[operands][];
        for (int k = 0; k < operands; k++) result[k] = buffer.AsSpan(rank * (1 + k), rank).ToArray();
        return (buffer.AsSpan(0, rank).ToArray(), result);
    }
}
