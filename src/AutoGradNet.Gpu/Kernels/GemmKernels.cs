using System.Numerics;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Batched GEMM c[b] = a[b] · b[b] with shared-memory tiling and register blocking. A group of GX × GY threads
/// computes a (4·GY) × (4·GX) tile of c, each thread a 4 × 4 block (rows ty + i·GY, columns tx + j·GX, so a warp
/// reads consecutive shared-memory words). The K loop stages BK-deep slices of a and b in shared memory.
/// Operands are addressed by general row and column strides, so every transposed layout is the same kernel;
/// the staging loop only picks the thread-to-element mapping that reads global memory contiguously.
/// </summary>
internal static class GemmKernels
{
    /// <summary>Depth of one K slice.</summary>
    public const int BK = 16;

    /// <summary>Largest tile edge (4 × the largest group edge, 16).</summary>
    public const int MaxTile = 64;

    public static void Gemm<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs p) where T : unmanaged, INumber<T>
    {
        var sa = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        var sb = SharedMemory.Allocate<T>(BK * (MaxTile + 1));
        int gx = Group.DimX, gy = Group.DimY, tx = Group.IdxX, ty = Group.IdxY;
        int tm = 4 * gy, tn = 4 * gx;
        // NOTE: shared rows are padded by one element, so staging a k-contiguous operand (consecutive threads
        // walking k, i.e. down a shared column) does not hit one memory bank 16 times.
        int pa = tm + 1, pb = tn + 1;
        int m0 = Grid.IdxY * tm, n0 = Grid.IdxX * tn, batch = Grid.IdxZ;
        int threads = gx * gy, tid = ty * gx + tx;
        int aBase = p.AOffset + batch * p.ABatch, bBase = p.BOffset + batch * p.BBatch;

        T c00 = T.Zero, c01 = T.Zero, c02 = T.Zero, c03 = T.Zero;
        T c10 = T.Zero, c11 = T.Zero, c12 = T.Zero, c13 = T.Zero;
        T c20 = T.Zero, c21 = T.Zero, c22 = T.Zero, c23 = T.Zero;
        T c30 = T.Zero, c31 = T.Zero, c32 = T.Zero, c33 = T.Zero;

        for (int k0 = 0; k0 < p.K; k0 += BK)
        {
            // Stage a[m0 .. m0+tm, k0 .. k0+BK] as sa[kk·pa + mm] (zeros outside the matrix).
            for (int e = tid; e < tm * BK; e += threads)
            {
                int mm, kk;
                if (p.ACol == 1) { mm = e / BK; kk = e - mm * BK; }
                else { kk = e / tm; mm = e - kk * tm; }
                int m = m0 + mm, k = k0 + kk;
                sa[kk * pa + mm] = m < p.M && k < p.K ? a[aBase + m * p.ARow + k * p.ACol] : T.Zero;
            }
            // Stage b[k0 .. k0+BK, n0 .. n0+tn] as sb[kk·pb + nn].
            for (int e = tid; e < tn * BK; e += threads)
            {
                int nn, kk;
                if (p.BCol == 1) { kk = e / tn; nn = e - kk * tn; }
                else { nn = e / BK; kk = e - nn * BK; }
                int n = n0 + nn, k = k0 + kk;
                sb[kk * pb + nn] = n < p.N && k < p.K ? b[bBase + k * p.BRow + n * p.BCol] : T.Zero;
            }
            Group.Barrier();
            for (int kk = 0; kk < BK; kk++)
            {
                int ra = kk * pa + ty, rb = kk * pb + tx;
                T a0 = sa[ra], a1 = sa[ra + gy], a2 = sa[ra + 2 * gy], a3 = sa[ra + 3 * gy];
                T b0 = sb[rb], b1 = sb[rb + gx], b2 = sb[rb + 2 * gx], b3 = sb[rb + 3 * gx];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }

        int cBase = p.COffset + batch * p.CBatch;
        Store(c, cBase, p, m0 + ty, n0 + tx, gx, c00, c01, c02, c03);
        Store(c, cBase, p, m0 + ty + gy, n0 + tx, gx, c10, c11, c12, c13);
        Store(c, cBase, p, m0 + ty + 2 * gy, n0 + tx, gx, c20, c21, c22, c23);
        Store(c, cBase, p, m0 + ty + 3 * gy, n0 + tx, gx, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ArrayView<T> c, int cBase, GemmArgs p, int m, int n, int gx, T v0, T v1, T v2, T v3) where T : unmanaged, INumber<T>
    {
        if (m >= p.M) return;
        int row = cBase + m * p.CRow;
        if (p.Accumulate != 0)
        {
            if (n < p.N) c[row + n] += v0;
            if (n + gx < p.N) c[row + n + gx] += v1;
            if (n + 2 * gx < p.N) c[row + n + 2 * gx] += v2;
            if (n + 3 * gx < p.N) c[row + n + 3 * gx] += v3;
            return;
        }
        if (n < p.N) c[row + n] = v0;
        if (n + gx < p.N) c[row + n + gx] = v1;
        if (n + 2 * gx < p.N) c[row + n + 2 * gx] = v2;
        if (n + 3 * gx < p.N) c[row + n + 3 * gx] = v3;
    }
}

/// <summary>Sizes, offsets and strides of one batched GEMM.</summary>
internal struct GemmArgs
{
    public int M, N, K;
    public int AOffset, ABatch, ARow, ACol;
    public int BOffset, BBatch, BRow, BCol;
    public int COffset, CBatch, CRow;
    /// <summary>1: add into c (c += a·b); 0: overwrite.</summary>
    public int Accumulate;
}
