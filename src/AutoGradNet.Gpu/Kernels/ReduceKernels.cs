using System.Numerics;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Row reductions over contiguous x viewed as [outer, inner]. Short rows: one thread per row (a sequential loop,
/// the CPU's order). Long rows: one group per row, each thread striding over the row, then a tree in shared memory.
/// </summary>
internal static class ReduceKernels
{
    /// <summary>Largest group the group-per-row kernels use (their shared arrays have this many slots).</summary>
    public const int MaxGroup = 256;

    public static void SumRowsThread<T>(Index1D row, ArrayView<T> x, ArrayView<T> y, int xOffset, int yOffset, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        int start = xOffset + row * inner;
        for (int i = 0; i < inner; i++) sum += x[start + i];
        y[yOffset + row] = sum;
    }

    /// <summary>
    /// Sums segment s of row r into y[r·segments + s], one group per (r, s): the segment is elements
    /// [s·segment, min((s+1)·segment, inner)) of the row (one segment per row for a plain row sum).
    /// </summary>
    public static void SumRowsGroup<T>(ArrayView<T> x, ArrayView<T> y, SegmentArgs p)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shared = SharedMemory.Allocate<T>(MaxGroup);
        int g = Grid.IdxX, tid = Group.IdxX, size = Group.DimX;
        int row = g / p.Segments, seg = g - row * p.Segments;
        int first = seg * p.Segment;
        int length = Math.Min(p.Segment, p.Inner - first);
        int start = p.XOffset + row * p.Inner + first;
        T sum = T.Zero;
        for (int i = tid; i < length; i += size) sum += x[start + i];
        shared[tid] = sum;
        Group.Barrier();
        for (int half = size / 2; half > 0; half /= 2)
        {
            if (tid < half) shared[tid] += shared[tid + half];
            Group.Barrier();
        }
        if (tid == 0) y[p.YOffset + g] = shared[0];
    }

    public static void ArgReduceRowsThread<T>(Index1D row, ArrayView<T> x, ArrayView<T> values, ArrayView<long> indices, ArgArgs args)
        where T : unmanaged, INumber<T>
    {
        int start = args.XOffset + row * args.Inner;
        T best = x[start];
        int bestAt = 0;
        // NOTE: the CPU rule: ties keep the first index; the first NaN wins and stays.
        if (!T.IsNaN(best))
        {
            for (int i = 1; i < args.Inner; i++)
            {
                T v = x[start + i];
                if (T.IsNaN(v)) { best = v; bestAt = i; break; }
                if (args.Max != 0 ? v > best : v < best) { best = v; bestAt = i; }
            }
        }
        values[args.ValuesOffset + row] = best;
        indices[args.IndicesOffset + row] = bestAt;
    }

    public static void ArgReduceRowsGroup<T>(ArrayView<T> x, ArrayView<T> values, ArrayView<long> indices, ArgArgs args)
        where T : unmanaged, INumber<T>
    {
        var sharedValue = SharedMemory.Allocate<T>(MaxGroup);
        var sharedIndex = SharedMemory.Allocate<int>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, size = Group.DimX;
        int start = args.XOffset + row * args.Inner;
        bool max = args.Max != 0;
        T best = T.Zero;
        int bestAt = -1;
        for (int i = tid; i < args.Inner; i += size)
        {
            T v = x[start + i];
            if (Better(v, i, best, bestAt, max)) { best = v; bestAt = i; }
        }
        sharedValue[tid] = best;
        sharedIndex[tid] = bestAt;
        Group.Barrier();
        for (int half = size / 2; half > 0; half /= 2)
        {
            if (tid < half)
            {
                T v = sharedValue[tid + half];
                int at = sharedIndex[tid + half];
                if (at >= 0 && Better(v, at, sharedValue[tid], sharedIndex[tid], max))
                {
                    sharedValue[tid] = v;
                    sharedIndex[tid] = at;
                }
            }
            Group.Barrier();
        }
        if (tid == 0)
        {
            values[args.ValuesOffset + row] = sharedValue[0];
            indices[args.IndicesOffset + row] = sharedIndex[0];
        }
    }

    /// <summary>
    /// Whether (v, i) beats the current (best, bestAt) under the sequential rule: the lowest-index NaN if any,
    /// else the lowest index of the extreme value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Better<T>(T v, int i, T best, int bestAt, bool max) where T : unmanaged, INumber<T>
    {
        if (bestAt < 0) return true;
        bool vNaN = T.IsNaN(v), bestNaN = T.IsNaN(best);
        if (bestNaN) return vNaN && i < bestAt;
        if (vNaN) return true;
        if (v == best) return i < bestAt;
        return max ? v > best : v < best;
    }
}

/// <summary>Arguments of the segmented row sum.</summary>
internal struct SegmentArgs
{
    public int XOffset, YOffset, Inner, Segment, Segments;
}

/// <summary>Arguments of the arg-reduce kernels.</summary>
internal struct ArgArgs
{
    public int XOffset, ValuesOffset, IndicesOffset, Inner, Max;
}
