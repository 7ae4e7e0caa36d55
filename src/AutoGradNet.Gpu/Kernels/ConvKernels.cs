using System.Numerics;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Convolution as implicit GEMM, one product per group of channels (grid z), in the tiling of
/// <see cref="GemmKernels.Gemm{T}"/>: a GX × GY thread group computes a (4·GY) × (4·GX) tile of the product from
/// BK-deep slices of both operands staged in shared memory, each thread a 4 × 4 register block. The operand that
/// im2col would materialise is gathered from the input while it is staged (zero where a window leaves the input),
/// so no columns are written. Every index decomposition is done once per tile column (a table in shared memory, for
/// the whole K loop) and once per slice row (a BK-entry table per slice): staging an element is then table lookups,
/// additions and a bounds test.
/// <list type="bullet">
/// <item><b>Forward</b>: y[n, grp·Cout/G + co, l] = Σ_(ci,k) w[co, (ci,k)] · x[n, ci, o(l)·s − p + k·d];
/// rows co, columns (n, l) (the whole batch side by side), depth (ci, k).</item>
/// <item><b>Input gradient</b>: gx[n, ci, i] = Σ_(co,k) w[co, (ci,k)] · gy[n, co, (i + p − k·d)/s] over the taps k for
/// which that is a whole output position; rows ci, columns (n, i), depth (co, k). Each gx element is one thread's
/// sum (no scatter, no atomics). With stride s the input positions are split into s₀·s₁·s₂ phases
/// (i + p ≡ r mod s), one launch each: within a phase the contributing taps are a fixed arithmetic progression, so
/// the depth holds only taps that contribute (no multiplications by structural zeros, no divisions per element).</item>
/// <item><b>Weight gradient</b>: gw[co, (ci,k)] += Σ_(n,l) gy[n, co, l] · x[n, ci, o(l)·s − p + k·d]; rows co,
/// columns (ci, k), depth (n, l): the batch is summed inside the K loop. When the product has few tiles and a long
/// depth, the depth is split over grid z into partial products that <see cref="SumSplits{T}"/> adds in split order.</item>
/// </list>
/// </summary>
internal static class ConvKernels
{
    private const int BK = GemmKernels.BK;
    private const int MaxTile = GemmKernels.MaxTile;

    /// <summary>y = conv(x, w): x [N, Cin, I], w [Cout, Cin/G·K], y [N, Cout, O] (offsets XOffset, WOffset, YOffset).</summary>
    public static void Forward<T>(ArrayView<T> x, ArrayView<T> w, ArrayView<T> y, ConvGemmArgs p) where T : unmanaged, INumber<T>
    {
        var sa = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        var sb = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        // Per tile column (n, l): x offset of sample n's group (−1 past the last column), the window origin
        // o·s − p per dim, and where the column's outputs go (channel 0 of the group).
        var colIn = SharedMemory.Allocate<int>(MaxTile);
        var col0 = SharedMemory.Allocate<int>(MaxTile);
        var col1 = SharedMemory.Allocate<int>(MaxTile);
        var col2 = SharedMemory.Allocate<int>(MaxTile);
        var colOut = SharedMemory.Allocate<int>(MaxTile);
        // Per slice row (ci, k): the channel's offset (−1 past the depth) and the tap's displacement k·d per dim.
        var rowIn = SharedMemory.Allocate<int>(BK);
        var row0 = SharedMemory.Allocate<int>(BK);
        var row1 = SharedMemory.Allocate<int>(BK);
        var row2 = SharedMemory.Allocate<int>(BK);

        var g = p.G;
        int gdx = Group.DimX, gdy = Group.DimY, tx = Group.IdxX, ty = Group.IdxY;
        int tm = 4 * gdy, tn = 4 * gdx, pa = tm + 1, pb = tn + 1;
        int m0 = Grid.IdxY * tm, n0 = Grid.IdxX * tn, grp = p.FirstGroup + Grid.IdxZ;
        int threads = gdx * gdy, tid = ty * gdx + tx;
        int kSize = g.K0 * g.K1 * g.K2, inSize = g.I0 * g.I1 * g.I2, outSize = g.O0 * g.O1 * g.O2;
        int depth = p.CinG * kSize, columns = p.Batch * outSize;

        for (int c = tid; c < tn; c += threads)
        {
            int j = n0 + c, n = j / outSize, l = j - n * outSize;
            int o2 = l % g.O2, o1 = l / g.O2 % g.O1, o0 = l / (g.O2 * g.O1);
            bool inside = j < columns;
            colIn[c] = inside ? p.XOffset + (n * p.Cin + grp * p.CinG) * inSize : -1;
            colOut[c] = inside ? p.YOffset + (n * p.Cout + grp * p.CoutG) * outSize + l : -1;
            col0[c] = o0 * g.S0 - g.P0;
            col1[c] = o1 * g.S1 - g.P1;
            col2[c] = o2 * g.S2 - g.P2;
        }

        int aBase = p.WOffset + grp * p.CoutG * depth;
        // NOTE: the store reads other threads' column entries, and a launch may have no K slice to order them
        // (an input-gradient phase no tap reaches).
        Group.Barrier();
        var acc = default(Accumulator4x4<T>);
        for (int k0 = 0; k0 < depth; k0 += BK)
        {
            for (int r = tid; r < BK; r += threads)
            {
                int q = k0 + r, ci = q / kSize, k = q - ci * kSize;
                rowIn[r] = q < depth ? ci * inSize : -1;
                row0[r] = k / (g.K2 * g.K1) * g.D0;
                row1[r] = k / g.K2 % g.K1 * g.D1;
                row2[r] = k % g.K2 * g.D2;
            }
            Group.Barrier();
            // w[m, q] walked along q by consecutive threads.
            for (int e = tid; e < tm * BK; e += threads)
            {
                int mm = e / BK, kk = e - mm * BK;
                int m = m0 + mm, q = k0 + kk;
                sa[kk * pa + mm] = m < p.CoutG && q < depth ? w[aBase + m * depth + q] : T.Zero;
            }
            // The im2col element (q, j), walked along the columns (output positions) by consecutive threads.
            for (int e = tid; e < tn * BK; e += threads)
            {
                int kk = e / tn, nn = e - kk * tn;
                int rb = rowIn[kk], cb = colIn[nn];
                T v = T.Zero;
                if (rb >= 0 && cb >= 0)
                {
                    int i0 = col0[nn] + row0[kk], i1 = col1[nn] + row1[kk], i2 = col2[nn] + row2[kk];
                    if ((uint)i0 < (uint)g.I0 && (uint)i1 < (uint)g.I1 && (uint)i2 < (uint)g.I2)
                        v = x[cb + rb + (i0 * g.I1 + i1) * g.I2 + i2];
                }
                sb[kk * pb + nn] = v;
            }
            Group.Barrier();
            acc = Accumulator4x4<T>.MultiplySlice(acc, sa, sb, pa, pb, ty, tx, gdy, gdx);
            Group.Barrier();
        }
        acc.Store(y, colOut, m0 + ty, p.CoutG, outSize, tx, gdy, gdx, accumulate: false);
    }

    /// <summary>
    /// One stride phase of gx = conv_transpose(gy, w): every input position i of the phase (per dim
    /// i = PosFirst + b·s, b &lt; PosCount) gets Σ over co and the phase's taps (per dim k = TapFirst + a·TapStep,
    /// a &lt; TapCount) of w[co, (ci, k)] · gy[n, co, o], o = (i + p − k·d)/s (whole by construction), 0 ≤ o &lt; O.
    /// gx is overwritten.
    /// </summary>
    public static void Input<T>(ArrayView<T> gy, ArrayView<T> w, ArrayView<T> gx, ConvGemmArgs p) where T : unmanaged, INumber<T>
    {
        var sa = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        var sb = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        // Per tile column (n, i): gy offset of sample n's group (−1 past the last column), the output position
        // (i + p − TapFirst·d)/s per dim, and gx's offset of the column (channel 0 of the group).
        var colIn = SharedMemory.Allocate<int>(MaxTile);
        var col0 = SharedMemory.Allocate<int>(MaxTile);
        var col1 = SharedMemory.Allocate<int>(MaxTile);
        var col2 = SharedMemory.Allocate<int>(MaxTile);
        var colOut = SharedMemory.Allocate<int>(MaxTile);
        // Per slice row (co, a): gy's channel offset (−1 past the depth), the tap's offset in a weight row
        // (co·Cin/G·K + k), and how far the tap moves the output position, a·TapStep·d/s, per dim.
        var rowIn = SharedMemory.Allocate<int>(BK);
        var rowW = SharedMemory.Allocate<int>(BK);
        var row0 = SharedMemory.Allocate<int>(BK);
        var row1 = SharedMemory.Allocate<int>(BK);
        var row2 = SharedMemory.Allocate<int>(BK);

        var g = p.G;
        var ph = p.Phase;
        int gdx = Group.DimX, gdy = Group.DimY, tx = Group.IdxX, ty = Group.IdxY;
        int tm = 4 * gdy, tn = 4 * gdx, pa = tm + 1, pb = tn + 1;
        int m0 = Grid.IdxY * tm, n0 = Grid.IdxX * tn, grp = p.FirstGroup + Grid.IdxZ;
        int threads = gdx * gdy, tid = ty * gdx + tx;
        int kSize = g.K0 * g.K1 * g.K2, inSize = g.I0 * g.I1 * g.I2, outSize = g.O0 * g.O1 * g.O2;
        int taps = ph.TapCount0 * ph.TapCount1 * ph.TapCount2, positions = ph.PosCount0 * ph.PosCount1 * ph.PosCount2;
        int depth = p.CoutG * taps, columns = p.Batch * positions, ckg = p.CinG * kSize;

        for (int c = tid; c < tn; c += threads)
        {
            int j = n0 + c, n = j / positions, b = j - n * positions;
            int i2 = ph.PosFirst2 + b % ph.PosCount2 * g.S2;
            int i1 = ph.PosFirst1 + b / ph.PosCount2 % ph.PosCount1 * g.S1;
            int i0 = ph.PosFirst0 + b / (ph.PosCount2 * ph.PosCount1) * g.S0;
            bool inside = j < columns;
            colIn[c] = inside ? p.YOffset + (n * p.Cout + grp * p.CoutG) * outSize : -1;
            colOut[c] = inside ? p.XOffset + (n * p.Cin + grp * p.CinG) * inSize + (i0 * g.I1 + i1) * g.I2 + i2 : -1;
            col0[c] = (i0 + g.P0 - ph.TapFirst0 * g.D0) / g.S0;
            col1[c] = (i1 + g.P1 - ph.TapFirst1 * g.D1) / g.S1;
            col2[c] = (i2 + g.P2 - ph.TapFirst2 * g.D2) / g.S2;
        }

        int aBase = p.WOffset + grp * p.CoutG * ckg;
        // NOTE: the store reads other threads' column entries, and a launch may have no K slice to order them
        // (an input-gradient phase no tap reaches).
        Group.Barrier();
        var acc = default(Accumulator4x4<T>);
        for (int k0 = 0; k0 < depth; k0 += BK)
        {
            for (int r = tid; r < BK; r += threads)
            {
                int q = k0 + r, co = q / taps, a = q - co * taps;
                int a2 = a % ph.TapCount2, a1 = a / ph.TapCount2 % ph.TapCount1, a0 = a / (ph.TapCount2 * ph.TapCount1);
                int t0 = ph.TapFirst0 + a0 * ph.TapStep0, t1 = ph.TapFirst1 + a1 * ph.TapStep1, t2 = ph.TapFirst2 + a2 * ph.TapStep2;
                rowIn[r] = q < depth ? co * outSize : -1;
                rowW[r] = co * ckg + (t0 * g.K1 + t1) * g.K2 + t2;
                row0[r] = a0 * ph.TapStep0 * g.D0 / g.S0;
                row1[r] = a1 * ph.TapStep1 * g.D1 / g.S1;
                row2[r] = a2 * ph.TapStep2 * g.D2 / g.S2;
            }
            Group.Barrier();
            // w[co, ci·K + k] as a[ci, (co, a)], walked along the depth (the taps of one co are close in memory).
            for (int e = tid; e < tm * BK; e += threads)
            {
                int mm = e / BK, kk = e - mm * BK;
                int m = m0 + mm;
                sa[kk * pa + mm] = m < p.CinG && rowIn[kk] >= 0 ? w[aBase + rowW[kk] + m * kSize] : T.Zero;
            }
            // gy at the output position each (column, tap) pair reads, walked along the columns.
            for (int e = tid; e < tn * BK; e += threads)
            {
                int kk = e / tn, nn = e - kk * tn;
                int rb = rowIn[kk], cb = colIn[nn];
                T v = T.Zero;
                if (rb >= 0 && cb >= 0)
                {
                    int o0 = col0[nn] - row0[kk], o1 = col1[nn] - row1[kk], o2 = col2[nn] - row2[kk];
                    if ((uint)o0 < (uint)g.O0 && (uint)o1 < (uint)g.O1 && (uint)o2 < (uint)g.O2)
                        v = gy[cb + rb + (o0 * g.O1 + o1) * g.O2 + o2];
                }
                sb[kk * pb + nn] = v;
            }
            Group.Barrier();
            acc = Accumulator4x4<T>.MultiplySlice(acc, sa, sb, pa, pb, ty, tx, gdy, gdx);
            Group.Barrier();
        }
        acc.Store(gx, colOut, m0 + ty, p.CinG, inSize, tx, gdy, gdx, accumulate: false);
    }

    /// <summary>
    /// gw[co, (ci, k)] (+)= Σ_(n,l) gy[n, co, l] · x[n, ci, o(l)·s − p + k·d] over the depth range of split
    /// Grid.IdxZ % Splits (positions [split·SplitDepth, +SplitDepth) of the N·O flattened batch), into
    /// gw at WOffset + split·SplitStride; adds when Accumulate is 1.
    /// </summary>
    public static void Weight<T>(ArrayView<T> x, ArrayView<T> gy, ArrayView<T> gw, ConvGemmArgs p) where T : unmanaged, INumber<T>
    {
        var sa = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        var sb = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        // Per tile column (ci, k): the channel's offset in x (−1 past the last column), the tap displacement k·d
        // per dim, and gw's offset of the column (output channel 0 of the group).
        var colIn = SharedMemory.Allocate<int>(MaxTile);
        var col0 = SharedMemory.Allocate<int>(MaxTile);
        var col1 = SharedMemory.Allocate<int>(MaxTile);
        var col2 = SharedMemory.Allocate<int>(MaxTile);
        var colOut = SharedMemory.Allocate<int>(MaxTile);
        // Per slice row (n, l): x offset of sample n's group (−1 past the split's depth), gy's offset of (n, l)
        // (output channel 0 of the group), and the window origin o·s − p per dim.
        var rowIn = SharedMemory.Allocate<int>(BK);
        var rowY = SharedMemory.Allocate<int>(BK);
        var row0 = SharedMemory.Allocate<int>(BK);
        var row1 = SharedMemory.Allocate<int>(BK);
        var row2 = SharedMemory.Allocate<int>(BK);

        var g = p.G;
        int gdx = Group.DimX, gdy = Group.DimY, tx = Group.IdxX, ty = Group.IdxY;
        int tm = 4 * gdy, tn = 4 * gdx, pa = tm + 1, pb = tn + 1;
        int split = Grid.IdxZ % p.Splits, grp = p.FirstGroup + Grid.IdxZ / p.Splits;
        int m0 = Grid.IdxY * tm, n0 = Grid.IdxX * tn;
        int threads = gdx * gdy, tid = ty * gdx + tx;
        int kSize = g.K0 * g.K1 * g.K2, inSize = g.I0 * g.I1 * g.I2, outSize = g.O0 * g.O1 * g.O2;
        int ckg = p.CinG * kSize;
        int first = split * p.SplitDepth, end = Math.Min(first + p.SplitDepth, p.Batch * outSize);

        for (int c = tid; c < tn; c += threads)
        {
            int q = n0 + c, ci = q / kSize, k = q - ci * kSize;
            bool inside = q < ckg;
            colIn[c] = inside ? ci * inSize : -1;
            colOut[c] = inside ? p.WOffset + split * p.SplitStride + grp * p.CoutG * ckg + q : -1;
            col0[c] = k / (g.K2 * g.K1) * g.D0;
            col1[c] = k / g.K2 % g.K1 * g.D1;
            col2[c] = k % g.K2 * g.D2;
        }

        // NOTE: the store reads other threads' column entries, and a launch may have no K slice to order them
        // (an input-gradient phase no tap reaches).
        Group.Barrier();
        var acc = default(Accumulator4x4<T>);
        for (int k0 = first; k0 < end; k0 += BK)
        {
            for (int r = tid; r < BK; r += threads)
            {
                int j = k0 + r, n = j / outSize, l = j - n * outSize;
                int o2 = l % g.O2, o1 = l / g.O2 % g.O1, o0 = l / (g.O2 * g.O1);
                rowIn[r] = j < end ? p.XOffset + (n * p.Cin + grp * p.CinG) * inSize : -1;
                rowY[r] = p.YOffset + (n * p.Cout + grp * p.CoutG) * outSize + l;
                row0[r] = o0 * g.S0 - g.P0;
                row1[r] = o1 * g.S1 - g.P1;
                row2[r] = o2 * g.S2 - g.P2;
            }
            Group.Barrier();
            // gy[n, co, l] as a[co, (n, l)], walked along the positions.
            for (int e = tid; e < tm * BK; e += threads)
            {
                int mm = e / BK, kk = e - mm * BK;
                int m = m0 + mm;
                sa[kk * pa + mm] = m < p.CoutG && rowIn[kk] >= 0 ? gy[rowY[kk] + m * outSize] : T.Zero;
            }
            // The im2col element ((ci, k), (n, l)) as b[(n, l), (ci, k)], walked along the positions.
            for (int e = tid; e < tn * BK; e += threads)
            {
                int nn = e / BK, kk = e - nn * BK;
                int rb = rowIn[kk], cb = colIn[nn];
                T v = T.Zero;
                if (rb >= 0 && cb >= 0)
                {
                    int i0 = row0[kk] + col0[nn], i1 = row1[kk] + col1[nn], i2 = row2[kk] + col2[nn];
                    if ((uint)i0 < (uint)g.I0 && (uint)i1 < (uint)g.I1 && (uint)i2 < (uint)g.I2)
                        v = x[rb + cb + (i0 * g.I1 + i1) * g.I2 + i2];
                }
                sb[kk * pb + nn] = v;
            }
            Group.Barrier();
            acc = Accumulator4x4<T>.MultiplySlice(acc, sa, sb, pa, pb, ty, tx, gdy, gdx);
            Group.Barrier();
        }
        acc.Store(gw, colOut, m0 + ty, p.CoutG, ckg, tx, gdy, gdx, p.Accumulate != 0);
    }

    /// <summary>gw[offset + e] += Σ_s partial[s·size + e], the splits in order (one thread per element).</summary>
    public static void SumSplits<T>(Index1D e, ArrayView<T> partial, ArrayView<T> gw, int offset, int size, int splits) where T : unmanaged, INumber<T>
    {
        T sum = T.Zero;
        for (int s = 0; s < splits; s++) sum += partial[s * size + e];
        gw[offset + e] += sum;
    }
}

/// <summary>The 4 × 4 register block of one thread of the tiled GEMM: rows ty + i·GY, columns tx + j·GX of the tile.</summary>
internal struct Accumulator4x4<T> where T : unmanaged, INumber<T>
{
    public T C00, C01, C02, C03, C10, C11, C12, C13, C20, C21, C22, C23, C30, C31, C32, C33;

    /// <summary>Adds the product of one staged slice (sa[kk·pa + row], sb[kk·pb + column], kk &lt; BK) and returns the block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Accumulator4x4<T> MultiplySlice(Accumulator4x4<T> c, ArrayView<T> sa, ArrayView<T> sb, int pa, int pb, int ty, int tx, int gy, int gx)
    {
        for (int kk = 0; kk < GemmKernels.BK; kk++)
        {
            int ra = kk * pa + ty, rb = kk * pb + tx;
            T a0 = sa[ra], a1 = sa[ra + gy], a2 = sa[ra + 2 * gy], a3 = sa[ra + 3 * gy];
            T b0 = sb[rb], b1 = sb[rb + gx], b2 = sb[rb + 2 * gx], b3 = sb[rb + 3 * gx];
            c.C00 += a0 * b0; c.C01 += a0 * b1; c.C02 += a0 * b2; c.C03 += a0 * b3;
            c.C10 += a1 * b0; c.C11 += a1 * b1; c.C12 += a1 * b2; c.C13 += a1 * b3;
            c.C20 += a2 * b0; c.C21 += a2 * b1; c.C22 += a2 * b2; c.C23 += a2 * b3;
            c.C30 += a3 * b0; c.C31 += a3 * b1; c.C32 += a3 * b2; c.C33 += a3 * b3;
        }
        return c;
    }

    /// <summary>
    /// Writes (or adds) the block: element (row m, tile column t) goes to out[colOut[t] + m·rowStride]; rows at or
    /// past <paramref name="rows"/> and columns marked −1 are skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Store(ArrayView<T> output, ArrayView<int> colOut, int m, int rows, int rowStride, int tx, int gy, int gx, bool accumulate)
    {
        int o0 = colOut[tx], o1 = colOut[tx + gx], o2 = colOut[tx + 2 * gx], o3 = colOut[tx + 3 * gx];
        StoreRow(output, m, rows, rowStride, o0, o1, o2, o3, accumulate, C00, C01, C02, C03);
        StoreRow(output, m + gy, rows, rowStride, o0, o1, o2, o3, accumulate, C10, C11, C12, C13);
        StoreRow(output, m + 2 * gy, rows, rowStride, o0, o1, o2, o3, accumulate, C20, C21, C22, C23);
        StoreRow(output, m + 3 * gy, rows, rowStride, o0, o1, o2, o3, accumulate, C30, C31, C32, C33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ArrayView<T> output, int m, int rows, int rowStride, int o0, int o1, int o2, int o3, bool accumulate, T v0, T v1, T v2, T v3)
    {
        if (m >= rows) return;
        int r = m * rowStride;
        Put(output, o0, r, accumulate, v0);
        Put(output, o1, r, accumulate, v1);
        Put(output, o2, r, accumulate, v2);
        Put(output, o3, r, accumulate, v3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ArrayView<T> output, int column, int row, bool accumulate, T v)
    {
        if (column < 0) return;
        if (accumulate) output[column + row] += v;
        else output[column + row] = v;
    }
}

/// <summary>One stride phase of the input gradient: per dim, its input positions and the taps that reach them.</summary>
internal struct ConvPhase
{
    /// <summary>Input positions PosFirst + b·s for b &lt; PosCount.</summary>
    public int PosFirst0, PosFirst1, PosFirst2, PosCount0, PosCount1, PosCount2;
    /// <summary>Kernel taps TapFirst + a·TapStep for a &lt; TapCount (TapCount 0: no tap reaches the phase).</summary>
    public int TapFirst0, TapFirst1, TapFirst2, TapStep0, TapStep1, TapStep2, TapCount0, TapCount1, TapCount2;
}

/// <summary>Sizes and offsets of one implicit-GEMM convolution launch.</summary>
internal struct ConvGemmArgs
{
    /// <summary>The geometry (its XOffset, WindowOffset and IndicesOffset are unused).</summary>
    public WindowArgs G;
    public int Batch, Cin, Cout, CinG, CoutG;
    /// <summary>The group of grid z = 0 (groups beyond the grid's z limit take several launches).</summary>
    public int FirstGroup;
    /// <summary>Offsets of the input-shaped tensor (x or gx), the weight-shaped one (w, gw or the split partials) and the output-shaped one (y or gy).</summary>
    public int XOffset, WOffset, YOffset;
    /// <summary>Weight gradient: splits of the depth per group, positions per split (a multiple of BK), distance between splits' outputs.</summary>
    public int Splits, SplitDepth, SplitStride;
    /// <summary>Weight gradient: 1 adds into gw, 0 overwrites (split partials).</summary>
    public int Accumulate;
    /// <summary>Input gradient: the stride phase of this launch.</summary>
    public ConvPhase Phase;
}
