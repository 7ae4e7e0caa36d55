using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoGradNet.Backends.Cpu;

/// <summary>
/// Batched, strided single- and double-precision matrix multiplication (GEMM) for the CPU backend.
/// </summary>
/// <remarks>
/// The AVX2/FMA path follows the BLIS structure: the k dimension is cut into KC-deep slabs, a KC×NC slab of
/// op(B) and an MC×KC block of op(A) are copied ("packed") into contiguous, zero-padded micro-panels, and a
/// register-blocked MR×NR micro-kernel streams through them. Packing is where the transposes are resolved, so the
/// kernel only ever sees one memory layout. Machines without AVX2/FMA take a plain scalar loop.
/// </remarks>
[SkipLocalsInit]
internal static unsafe class Gemm
{
    /// <summary>Elements (float) a whole packed A of m×k takes in <see cref="PackA"/>'s layout, with 64 bytes of
    /// alignment slack.</summary>
    public static int PackedASize(int m, int k) => Impl<float>.PackedASize(m, k) + 16;

    private static long s_throughTranspose;

    /// <summary>Products computed as their transpose so far in this process (tests check that a shape took that
    /// route; see <c>TryRunThroughTranspose</c>).</summary>
    internal static long ProductsThroughTranspose => Interlocked.Read(ref s_throughTranspose);

    /// <summary>
    /// Packs A (m×k, row-major, rows <paramref name="lda"/> apart) once, for any number of
    /// <see cref="RunPrepacked"/> calls: the 16 products of a Winograd convolution each multiply one transformed
    /// weight by many chunks of tiles. Returns the packed panels' start (aligned) inside <paramref name="buffer"/>.
    /// Needs AVX2 and FMA.
    /// </summary>
    public static float* PackA(float* a, int lda, int m, int k, float* buffer)
    {
        float* aligned = (float*)(((nuint)buffer + 63) & ~(nuint)63);
        return Impl<float>.PackWholeA(false, m, k, a, lda, aligned);
    }

    /// <summary>C (m×n, rows <paramref name="ldc"/> apart) = A · B (+ C when <paramref name="accumulate"/>) on the
    /// calling thread, A from <see cref="PackA"/>, B row-major k×n. Needs AVX2 and FMA.</summary>
    public static void RunPrepacked(float* packedA, int m, int n, int k, float* b, int ldb, float* c, int ldc, bool accumulate) =>
        Impl<float>.RunPrepacked(packedA, m, n, k, b, ldb, c, ldc, accumulate);

    /// <summary>
    /// Computes C[b] (m×n) = op(A[b]) (m×k) · op(B[b]) (k×n), adding to the existing C[b] when
    /// <paramref name="accumulate"/> is true, for every b in 0..batch-1. All matrices are row-major; T is float or double.
    /// </summary>
    /// <remarks>
    /// Element (i,p) of op(A[b]) is <c>a[aOffset + b*strideA + i*lda + p]</c> when <paramref name="transA"/> is
    /// false and <c>a[aOffset + b*strideA + p*lda + i]</c> when it is true; B follows the same convention with
    /// <paramref name="ldb"/>, and element (i,j) of C[b] is <c>c[cOffset + b*strideC + i*ldc + j]</c>. A stride of
    /// 0 broadcasts one matrix over the batch; strideC = 0 applies the items to one C in batch order (so with
    /// <paramref name="accumulate"/> it sums the batch's products). C must not alias A or B. When k is 0 the product
    /// is zero.
    /// <para>
    /// B may instead be an <i>indexed</i> matrix, which is how convolutions multiply by im2col columns without
    /// building them: with <paramref name="bRows"/> and <paramref name="bCols"/> given (and <paramref name="ldb"/>
    /// ignored), the stored matrix S has element (r, q) at <c>b[bOffset + item*strideB + bRows[r] + bCols[q]]</c>, and
    /// op(B) is S (k×n) or, with <paramref name="transB"/>, Sᵀ (S is n×k). <paramref name="bCols"/> must be strictly
    /// increasing; runs of consecutive offsets in it are read with vector loads (two runs blended, else gathered).
    /// </para>
    /// <para>
    /// A may be indexed the same way (<paramref name="aRows"/>, <paramref name="aCols"/>; <paramref name="lda"/> ignored,
    /// <paramref name="transA"/> false): A(i, p) at <c>a[aOffset + item*strideA + aRows[i] + aCols[p]]</c>. It is never
    /// packed: the micro-kernel broadcasts its elements from where they lie, any offsets being as cheap as any other —
    /// which is how a convolution's weight gradient reads the input (taps × positions) without transposing it.
    /// </para>
    /// <para>
    /// With <paramref name="singleThreaded"/> the call runs on the calling thread only (for callers that already split
    /// their work across the cores: then no per-call closure for the worker team is allocated either).
    /// </para>
    /// </remarks>
    public static void Run<T>(bool transA, bool transB, int batch, int m, int n, int k,
        T[] a, long aOffset, int lda, long strideA,
        T[] b, long bOffset, int ldb, long strideB,
        T[] c, long cOffset, int ldc, long strideC, bool accumulate, int[]? bRows = null, int[]? bCols = null,
        int[]? aRows = null, int[]? aCols = null, bool singleThreaded = false)
        where T : unmanaged, INumber<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"GEMM runs on float and double, not {typeof(T).Name}.");
        Impl<T>.Run(transA, transB, batch, m, n, k, a, aOffset, lda, strideA,
            b, bOffset, ldb, strideB, c, cOffset, ldc, strideC, accumulate, bRows, bCols, aRows, aCols, singleThreaded);
    }

    /// <summary>Whether an indexed A is read in place by the micro-kernel (AVX2/FMA machines); without AVX2 every
    /// product takes the scalar loop, where an indexed A is no faster than the other orientation.</summary>
    public static bool ReadsIndexedAInPlace => Fma.IsSupported && Avx2.IsSupported;

    /// <summary>Whether the float micro-kernel runs on zmm registers (AVX-512).</summary>
    public static bool WideTile => Impl<float>.WideTile;

    /// <summary>Columns of the float micro-tile: a product's N is computed in panels of this width.</summary>
    public static int TileColumns => Impl<float>.TileColumns;

    /// <summary>
    /// The algorithm, written once for float and double. T is only ever float or double, so every
    /// <c>typeof(T)</c> test and <c>Vector256&lt;T&gt;.Count</c> is a JIT-time constant and each instantiation
    /// compiles to straight-line code for its element type.
    /// </summary>
    private static class Impl<T> where T : unmanaged, INumber<T>
    {
        /// <summary>Micro-tile rows. With ymm registers, 6 rows × 2 vectors = 12 accumulators, plus 2 B vectors and
        /// 1 broadcast register, fills the 16 registers of AVX2 without spilling. With zmm (32 registers) the tile has
        /// 8 rows: 16 accumulators, and channel counts of 64, 128, 256 and 512 leave no ragged row panel (measured on
        /// the 2-core Zen 5 box: 2–4 % on the 128-channel 3×3 products, within noise elsewhere).</summary>
        private static int MR
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => Wide ? 8 : 6;
        }

        /// <summary>Elements per ymm register: 8 floats or 4 doubles. The packing routines work in pieces of W.</summary>
        private static int W
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => Vector256<T>.Count;
        }

        /// <summary>
        /// Whether the micro-kernel uses zmm registers (AVX-512): Zen 5 runs two 512-bit FMAs per cycle, so a 6×2-zmm
        /// tile does twice the work of the 6×2-ymm one per instruction (measured on the 2-core Zen 5 box: 212 against
        /// 105 GFLOP/s per core with the panels in L1); on Zen 4, which splits zmm operations in two, it issues half
        /// the instructions for the same FLOPs. A JIT-time constant (<see cref="VectorWidth.Wide"/>).
        /// </summary>
        private static bool Wide
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => VectorWidth.Wide;
        }

        /// <summary>Elements per micro-kernel vector: a zmm (16 floats, 8 doubles) or a ymm (8, 4) register.</summary>
        private static int KW
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => Wide ? Vector512<T>.Count : Vector256<T>.Count;
        }

        /// <summary>Micro-tile columns (two micro-kernel vectors): 32 or 16 floats, 16 or 8 doubles.</summary>
        private static int NR
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => 2 * KW;
        }

        public static bool WideTile => Wide;

        public static int TileColumns => NR;

        /// <summary>
        /// Depth of a packed slab. A KC×NR micro-panel of B (16 KiB for both types at KC=256) stays resident in
        /// the 32 KiB L1d while the kernel sweeps every MR-row panel of the packed A block past it.
        /// </summary>
        private static int KC => 256;

        /// <summary>
        /// Rows of the packed A block (a multiple of MR). MC×KC is 144 KiB for float and for double,
        /// well inside a Zen 4 core's 1 MiB L2 with room left for the B micro-panels and C lines streaming through.
        /// </summary>
        private static int MC => typeof(T) == typeof(float) ? 144 : 72;

        /// <summary>
        /// Columns of the packed B slab (a multiple of NR). KC×NC is about 4 MiB, which lives in the shared L3;
        /// large NC amortises the packing of A over many columns.
        /// </summary>
        private static int NC => typeof(T) == typeof(float) ? 4096 : 2048;

        /// <summary>Below this many multiply-adds (m·n·k summed over the batch) the work is done on the calling
        /// thread: handing work to a pool thread costs ~10 µs, and two threads only measured faster from about
        /// 105³ upwards.</summary>
        private const long ParallelThreshold = 1_200_000;


        /// <summary>Per-thread packing storage, pinned so it can be addressed by pointer and reused by every call
        /// on the thread; it only grows, so steady-state calls allocate nothing.</summary>
        [ThreadStatic] private static T[]? t_pack;
        [ThreadStatic] private static T[]? t_packWholeA;

        public static void Run(bool transA, bool transB, int batch, int m, int n, int k,
            T[] a, long aOffset, int lda, long strideA,
            T[] b, long bOffset, int ldb, long strideB,
            T[] c, long cOffset, int ldc, long strideC, bool accumulate, int[]? bRows, int[]? bCols, int[]? aRows, int[]? aCols,
            bool singleThreaded)
        {
            ArgumentNullException.ThrowIfNull(a);
            ArgumentNullException.ThrowIfNull(b);
            ArgumentNullException.ThrowIfNull(c);
            ArgumentOutOfRangeException.ThrowIfNegative(batch);
            ArgumentOutOfRangeException.ThrowIfNegative(m);
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfNegative(k);
            if (batch == 0 || m == 0 || n == 0) return;
            if (aRows is null != aCols is null) throw new ArgumentException("An indexed A needs both index tables.", nameof(aRows));
            if (aRows is not null && transA) throw new ArgumentException("An indexed A is read untransposed.", nameof(transA));
            if (aRows is null) CheckExtent(batch, transA ? k : m, transA ? m : k, a.Length, aOffset, lda, strideA, nameof(a));
            else CheckIndexed(batch, m, k, a.Length, aOffset, strideA, aRows, aCols!, nameof(a));
            if (bRows is null != bCols is null) throw new ArgumentException("An indexed B needs both index tables.", nameof(bRows));
            if (bRows is null) CheckExtent(batch, transB ? n : k, transB ? k : n, b.Length, bOffset, ldb, strideB, nameof(b));
            else CheckIndexed(batch, transB ? n : k, transB ? k : n, b.Length, bOffset, strideB, bRows, bCols!, nameof(b));
            CheckExtent(batch, m, n, c.Length, cOffset, ldc, strideC, nameof(c));

            if (k == 0)
            {
                if (!accumulate) ClearC(batch, m, n, c, cOffset, ldc, strideC);
                return;
            }

            if (batch == 1 && aRows is null && bRows is null && !singleThreaded
                && TryRunThroughTranspose(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate))
                return;

            var job = new Job(transA, transB, m, n, k, aOffset, lda, strideA, bOffset, ldb, strideB,
                cOffset, ldc, strideC, accumulate, bRows, bCols, aRows, aCols);
            long work = (long)batch * m * n * k;
            int threads = Environment.ProcessorCount;
            if (singleThreaded || threads < 2 || work < ParallelThreshold || !Fma.IsSupported || !Avx2.IsSupported)
            {
                fixed (T* pa = a, pb = b, pc = c)
                fixed (int* rows = bRows, cols = bCols)
                {
                    T* wholeA = job.PackSharedA(pa, batch);
                    for (int i = 0; i < batch; i++) job.Compute(i, 0, m, 0, n, pa, pb, pc, rows, cols, wholeA);
                }
                return;
            }
            RunParallel(job, batch, threads, a, b, c, sharedC: strideC == 0 && batch > 1);
        }

        /// <summary>Rows of C up to which a large product goes through <see cref="TryRunThroughTranspose"/>.</summary>
        private const int TransposedMaxRows = 64;

        /// <summary>
        /// A product with few rows and a large transposed B (a linear layer's forward on a batch: x·Wᵀ, 64 × 500 ×
        /// 2,450 in LeNet) spends much of its time packing B, a transposing copy each of whose elements then serves
        /// only m rows. Its transpose, Cᵀ = W · op(A)ᵀ, reads W in place as an indexed A (row i at i·ldb, k step p at
        /// p: a micro-panel walks eight rows of W side by side) and packs only the small op(A)ᵀ; Cᵀ goes to a pooled
        /// buffer and is added or copied into C transposed (x·Wᵀ 0.71 → 0.65 ms on the AVX-512 Xeon). Not for an
        /// untransposed B (gy·W): a micro-panel would step down W's columns, a row (a page) apart per k step, and
        /// that measured 0.70 → 1.21 ms.
        /// </summary>
        private static bool TryRunThroughTranspose(bool transA, bool transB, int m, int n, int k,
            T[] a, long aOffset, int lda, T[] b, long bOffset, int ldb, T[] c, long cOffset, int ldc, bool accumulate)
        {
            if (!transB || m > TransposedMaxRows || n < 4 * NR || k < 64 || (long)m * n * k < ParallelThreshold
                || (long)(n - 1) * ldb > int.MaxValue || !Fma.IsSupported || !Avx2.IsSupported)
                return false;
            // Element (i, p) of op(B)ᵀ = W is b[bOffset + i·ldb + p].
            int[] rows = Sequence(n, ldb), cols = Sequence(k, 1);
            Interlocked.Increment(ref s_throughTranspose);
            T[] ct = System.Buffers.ArrayPool<T>.Shared.Rent(n * m);
            try
            {
                // op(A)ᵀ (k×m) is A's storage read the other way round: transposed exactly when A is not.
                Run(false, !transA, 1, n, m, k, b, bOffset, 1, 0, a, aOffset, lda, 0, ct, 0, m, 0, false,
                    null, null, rows, cols, singleThreaded: false);
                for (int i = 0; i < m; i++)
                {
                    long row = cOffset + (long)i * ldc;
                    if (accumulate) for (int j = 0; j < n; j++) c[row + j] += ct[j * m + i];
                    else for (int j = 0; j < n; j++) c[row + j] = ct[j * m + i];
                }
            }
            finally
            {
                System.Buffers.ArrayPool<T>.Shared.Return(ct);
            }
            return true;
        }

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Count, int Step), int[]> s_sequences = new();

        /// <summary>0, step, 2·step, … (count values), cached: the offset tables of <see cref="TryRunThroughTranspose"/>.</summary>
        private static int[] Sequence(int count, int step) =>
            s_sequences.GetOrAdd((count, step), static key =>
            {
                var values = new int[key.Count];
                for (int i = 0; i < values.Length; i++) values[i] = i * key.Step;
                return values;
            });

        /// <summary>
        /// Splits the batch into <paramref name="threads"/> equal shares of independent C blocks. When the batch
        /// does not divide evenly, each matrix is also cut into <paramref name="threads"/> row or column strips
        /// (aligned to the micro-tile) so every worker gets the same amount of work; each worker packs its own
        /// operands, so no synchronisation is needed beyond the final join. A C shared by the whole batch
        /// (strideC = 0) is always cut into strips, so each worker owns one strip and applies the batch items to
        /// it in order, exactly as the single-threaded path does.
        /// </summary>
        private static void RunParallel(Job job, int batch, int threads, T[] a, T[] b, T[] c, bool sharedC)
        {
            if (sharedC && job.Accumulate && batch >= threads && (long)job.M * job.N <= PrivateSumMaxElements)
            {
                RunBatchSum(job, batch, threads, a, b, c);
                return;
            }
            int split = batch % threads == 0 && !sharedC ? 1 : threads;
            // Row strips make every worker pack all of B, column strips all of A. An indexed B (a convolution's
            // implicit im2col operand, read with blends and gathers) costs more to pack than a dense A, so it gets
            // column strips unless C is much taller than wide (ResNet-18's 512-channel 4×4 layers: M = N = 512).
            bool splitRows = job.BRows is null ? job.M >= job.N : job.M >= 2 * job.N;
            int unit = splitRows ? MR : NR;
            int extent = splitRows ? job.M : job.N;
            int units = (extent + unit - 1) / unit;
            long tasks = (long)batch * split;

            CpuParallel.For(threads, (job, a, b, c, tasks, threads, split, batch, extent, units, unit, splitRows), static (s, worker) =>
            {
                var (job, a, b, c, tasks, threads, split, batch, extent, units, unit, splitRows) = s;
                long first = tasks * worker / threads, last = tasks * (worker + 1) / threads;
                fixed (T* pa = a, pb = b, pc = c)
                fixed (int* rows = job.BRows, cols = job.BCols)
                {
                    // Whole items only (split = 1): then every task of this worker multiplies all of A.
                    T* wholeA = split == 1 ? job.PackSharedA(pa, (int)(last - first)) : null;
                    for (long t = first; t < last; t++)
                    {
                        // Part-major order: with split = threads, worker w gets strip w of every item.
                        int part = (int)(t / batch), item = (int)(t % batch);
                        int lo = Math.Min(extent, (int)((long)units * part / split) * unit);
                        int hi = Math.Min(extent, (int)((long)units * (part + 1) / split) * unit);
                        if (lo >= hi) continue;
                        if (splitRows) job.Compute(item, lo, hi, 0, job.N, pa, pb, pc, rows, cols, wholeA);
                        else job.Compute(item, 0, job.M, lo, hi, pa, pb, pc, rows, cols, wholeA);
                    }
                }
            });
        }

        /// <summary>
        /// A batch summed into one small C (a convolution's weight gradient with few filters or taps: 20×25 for
        /// LeNet's first layer, 64×27 for a 3-channel stem) is split by items rather than cut into strips: a strip
        /// of such a C is a fraction of a micro-tile row or column, and every worker would re-pack the whole A or B of
        /// each item. Worker 0 adds its items into C; the others sum theirs into zeroed private copies (pooled),
        /// added into C after the join.
        /// </summary>
        private static void RunBatchSum(Job job, int batch, int threads, T[] a, T[] b, T[] c)
        {
            int m = job.M, n = job.N;
            var partials = new T[threads - 1][];
            for (int w = 1; w < threads; w++)
            {
                partials[w - 1] = System.Buffers.ArrayPool<T>.Shared.Rent(m * n);
                Array.Clear(partials[w - 1], 0, m * n);
            }
            CpuParallel.For(threads, (job, a, b, c, partials, batch, threads, m, n), static (s, worker) =>
            {
                var (job, a, b, c, partials, batch, threads, m, n) = s;
                int first = (int)((long)batch * worker / threads), last = (int)((long)batch * (worker + 1) / threads);
                var own = worker == 0 ? job : job.WithPrivateC(n);
                fixed (T* pa = a, pb = b, pc = worker == 0 ? c : partials[worker - 1])
                fixed (int* rows = job.BRows, cols = job.BCols)
                {
                    T* wholeA = own.PackSharedA(pa, last - first);
                    for (int item = first; item < last; item++)
                        own.Compute(item, 0, m, 0, n, pa, pb, pc, rows, cols, wholeA);
                }
            });
            fixed (T* pc = c)
            {
                T* c0 = pc + job.COffset;
                foreach (var partial in partials)
                {
                    for (int i = 0; i < m; i++)
                    {
                        var row = new Span<T>(c0 + (nint)i * job.Ldc, n);
                        System.Numerics.Tensors.TensorPrimitives.Add(row, partial.AsSpan(i * n, n), row);
                    }
                    System.Buffers.ArrayPool<T>.Shared.Return(partial);
                }
            }

        }

        /// <summary>Largest shared C (elements) that <see cref="RunBatchSum"/> copies per worker.</summary>
        private const int PrivateSumMaxElements = 1 << 16;

        /// <summary>Throws unless every element the call may touch lies inside the array (pointers are used below,
        /// so this is the only bounds check).</summary>
        private static void CheckExtent(int batch, int rows, int cols, int length, long offset, int ld, long stride,
            string name)
        {
            if (rows == 0 || cols == 0) return;
            if (offset < 0 || ld < 0 || stride < 0)
                throw new ArgumentOutOfRangeException(name, "Offsets, leading dimensions and strides must be non-negative.");
            Int128 last = (Int128)offset + (Int128)(batch - 1) * stride + (Int128)(rows - 1) * ld + (cols - 1);
            if (last >= length)
                throw new ArgumentException($"Matrix '{name}' extends past the end of its array ({length} elements).", name);
        }

        /// <summary>The bounds check of an indexed matrix: every offset non-negative, column offsets strictly increasing,
        /// and the largest element in range.</summary>
        private static void CheckIndexed(int batch, int rows, int cols, int length, long offset, long stride,
            int[] bRows, int[] bCols, string name)
        {
            if (bRows.Length < rows || bCols.Length < cols)
                throw new ArgumentException($"Index tables of {name} ({bRows.Length} rows, {bCols.Length} columns) are shorter than the matrix ({rows}×{cols}).");
            if (rows == 0 || cols == 0) return;
            int maxRow = 0, maxCol = 0;
            for (int r = 0; r < rows; r++)
            {
                if (bRows[r] < 0) throw new ArgumentOutOfRangeException(nameof(bRows), "Row offsets must be non-negative.");
                maxRow = Math.Max(maxRow, bRows[r]);
            }
            for (int q = 0; q < cols; q++)
            {
                if (bCols[q] < 0 || (q > 0 && bCols[q] <= bCols[q - 1]))
                    throw new ArgumentOutOfRangeException(nameof(bCols), "Column offsets must be non-negative and strictly increasing.");
                maxCol = bCols[q];
            }
            if (offset < 0 || stride < 0)
                throw new ArgumentOutOfRangeException(nameof(offset), "Offsets and strides must be non-negative.");
            Int128 last = (Int128)offset + (Int128)(batch - 1) * stride + maxRow + maxCol;
            if (last >= length)
                throw new ArgumentException($"Indexed matrix '{name}' extends past the end of its array ({length} elements).", name);
        }

        private static void ClearC(int batch, int m, int n, T[] c, long cOffset, int ldc, long strideC)
        {
            for (int bi = 0; bi < batch; bi++)
                for (int i = 0; i < m; i++)
                    c.AsSpan((int)(cOffset + bi * strideC + (long)i * ldc), n).Clear();
        }

        /// <summary>The call's geometry; computes any rectangle of C for one batch item.</summary>
        private readonly struct Job(bool transA, bool transB, int m, int n, int k,
            long aOffset, int lda, long strideA, long bOffset, int ldb, long strideB,
            long cOffset, int ldc, long strideC, bool accumulate, int[]? bRows, int[]? bCols, int[]? aRows = null, int[]? aCols = null)
        {
            public int M => m;
            public int N => n;
            public int[]? BRows => bRows;
            public int[]? BCols => bCols;
            public bool Accumulate => accumulate;

            /// <summary>
            /// All of A packed once on this thread when <paramref name="items"/> items will multiply the same A
            /// (batch stride 0) and it is small enough to keep; null otherwise (then each item packs as it goes).
            /// </summary>
            public T* PackSharedA(T* pa, int items)
            {
                if (strideA != 0 || items < 2 || aRows is not null || !Fma.IsSupported || !Avx2.IsSupported
                    || (long)RoundUp(m, MR) * k > WholeAMaxElements) return null;
                return PackWholeA(transA, m, k, pa + aOffset, lda);
            }
            public long COffset => cOffset;
            public int Ldc => ldc;

            /// <summary>The same product accumulated into a private dense C (offset 0, row length <paramref name="ld"/>,
            /// shared by the batch).</summary>
            public Job WithPrivateC(int ld) => new(transA, transB, m, n, k, aOffset, lda, strideA, bOffset, ldb, strideB,
                0, ld, 0, true, bRows, bCols, aRows, aCols);

            /// <summary>Computes rows [i0, i1) × columns [j0, j1) of C[item]; <paramref name="rows"/> and
            /// <paramref name="cols"/> are the pinned index tables of an indexed B (else null).</summary>
            public void Compute(int item, int i0, int i1, int j0, int j1, T* pa, T* pb, T* pc, int* rows, int* cols, T* wholeA = null)
            {
                // Element (i0, 0) of op(A), (0, j0) of op(B) and (i0, j0) of C as origins.
                fixed (int* ar = aRows, ac = aCols)
                {
                    var a = new Source(pa + aOffset + item * strideA, lda, ar, ac).At(transA ? 0 : i0, transA ? i0 : 0);
                    var b = new Source(pb + bOffset + item * strideB, ldb, rows, cols).At(transB ? j0 : 0, transB ? 0 : j0);
                    T* c = pc + cOffset + item * strideC + (nint)i0 * ldc + j0;
                    if (Fma.IsSupported && Avx2.IsSupported)
                        Blocked(transA, transB, i1 - i0, j1 - j0, k, a, b, c, ldc, accumulate, i0 == 0 && i1 == m ? wholeA : null);
                    else
                        Scalar(transA, transB, i1 - i0, j1 - j0, k, a, b, c, ldc, accumulate);
                }
            }
        }

        /// <summary>
        /// The stored matrix behind op(B): element (r, q) at <c>Ptr[r*Ld + q]</c>, or for an indexed matrix at
        /// <c>Ptr[Rows[r] + Cols[q]]</c>. <see cref="At"/> moves the origin without touching the data.
        /// </summary>
        private readonly struct Source(T* ptr, nint ld, int* rows, int* cols)
        {
            public readonly T* Ptr = ptr;
            public readonly nint Ld = ld;
            public readonly int* Rows = rows;
            public readonly int* Cols = cols;

            public bool Indexed => Rows != null;

            /// <summary>The same matrix with element (r, q) as its origin.</summary>
            public Source At(int r, int q) =>
                Indexed ? new(Ptr, Ld, Rows + r, Cols + q) : new(Ptr + r * Ld + q, Ld, null, null);

            public T this[int r, int q] => Indexed ? Ptr[Rows[r] + Cols[q]] : Ptr[r * Ld + q];
        }

        /// <summary>The BLIS loop nest: NC column slabs, KC-deep k slabs (B packed once per slab), MC row blocks
        /// (A packed once per block), then the macro-kernel over micro-tiles.</summary>
        private static void Blocked(bool transA, bool transB, int m, int n, int k,
            Source a, Source b, T* c, nint ldc, bool accumulate, T* wholeA = null)
        {
            nint lda = a.Ld;
            int kcMax = SlabDepth(k), mPad = RoundUp(m, MR);
            int ncMax = Math.Min(NC, RoundUp(n, NR));
            int mcMax = Math.Min(MC, RoundUp(m, MR));
            // A goes last: the vectorised A packing may write up to W elements past its block.
            T* packB = PackBuffer(ncMax * kcMax + mcMax * kcMax + W);
            T* packA = packB + ncMax * kcMax;

            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, k - pc);
                    var slab = transB ? b.At(jc, pc) : b.At(pc, jc);
                    PackB(transB, slab, kc, nc, packB);
                    // An indexed B read untransposed is used in place wherever a micro-panel's columns are two runs of
                    // consecutive offsets (PackB skipped those panels); a dense or transposed B is always packed.
                    var direct = slab.Indexed && !transB ? slab : default;
                    bool load = accumulate || pc > 0;
                    for (int ic = 0; ic < m; ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        T* blockA = packA;
                        if (a.Indexed) blockA = null; // read in place
                        else if (wholeA != null) blockA = wholeA + (nint)pc * mPad + (nint)ic * kc;
                        else if (transA) PackATransposed(a.Ptr + pc * lda + ic, lda, mc, kc, packA);
                        else PackANormal(a.Ptr + ic * lda + pc, lda, mc, kc, packA);
                        MacroKernel(mc, nc, kc, blockA, packB, c + ic * ldc + jc, ldc, load, direct, a.Indexed ? a.At(ic, pc) : default);
                    }
                }
            }
        }

        private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

        /// <summary>Returns this thread's packing buffer, grown to at least <paramref name="elements"/> and aligned
        /// to <see cref="ScratchBuffer.Alignment"/> bytes.</summary>
        private static T* PackBuffer(int elements) => ScratchBuffer.Aligned(ref t_pack, elements);

        /// <summary>This thread's buffer for a whole packed A (<see cref="PackWholeA(bool, int, int, T*, nint)"/>).</summary>
        private static T* WholeABuffer(int elements) => ScratchBuffer.Aligned(ref t_packWholeA, elements);

        /// <summary>The depth of the equal k slabs: k = 300 runs as 2×150 instead of 256 + 44, keeping every pass
        /// equally efficient.</summary>
        private static int SlabDepth(int k)
        {
            int kSlabs = (k + KC - 1) / KC;
            return (k + kSlabs - 1) / kSlabs;
        }

        /// <summary>
        /// Packs all of op(A) (m×k) once, in the layout <see cref="Blocked"/> reads block by block: slab pc's blocks
        /// at <c>pc·RoundUp(m, MR)</c>, row block ic at <c>ic·kc</c> within it. Used when every item of a batch
        /// multiplies the same A (a convolution's weight): packing it per item cost ~9 % of a 256-channel 3×3 layer.
        /// </summary>
        private static T* PackWholeA(bool transA, int m, int k, T* a, nint lda) =>
            PackWholeA(transA, m, k, a, lda, WholeABuffer(PackedASize(m, k)));

        /// <summary>Elements of a whole packed A (<see cref="PackWholeA(bool, int, int, T*, nint, T*)"/>).</summary>
        public static int PackedASize(int m, int k) => RoundUp(m, MR) * k + W;

        /// <summary><see cref="PackWholeA(bool, int, int, T*, nint)"/> into the caller's buffer.</summary>
        public static T* PackWholeA(bool transA, int m, int k, T* a, nint lda, T* whole)
        {
            int kcMax = SlabDepth(k), mPad = RoundUp(m, MR);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    T* dst = whole + (nint)pc * mPad + (nint)ic * kc;
                    if (transA) PackATransposed(a + pc * lda + ic, lda, mc, kc, dst);
                    else PackANormal(a + ic * lda + pc, lda, mc, kc, dst);
                }
            }
            return whole;
        }

        /// <summary>C (m×n) = A · B (+ C) on the calling thread, A packed beforehand by <see cref="PackWholeA(bool, int, int, T*, nint, T*)"/>.</summary>
        public static void RunPrepacked(T* packedA, int m, int n, int k, T* b, int ldb, T* c, int ldc, bool accumulate)
        {
            if (m == 0 || n == 0) return;
            if (k == 0)
            {
                if (!accumulate) for (int i = 0; i < m; i++) new Span<T>(c + (nint)i * ldc, n).Clear();
                return;
            }
            Blocked(false, false, m, n, k, new Source(null, 0, null, null), new Source(b, ldb, null, null), c, ldc, accumulate, packedA);
        }

        /// <summary>Largest whole packed A (elements) kept per thread for reuse across a batch.</summary>
        private const int WholeAMaxElements = 1 << 22;

        /// <summary>
        /// Packs op(A) rows for A stored untransposed (A(i,p) = a[i*lda + p]) into MR-row micro-panels: panel r
        /// holds, for each p in order, the MR values A(r*MR.., p) — exactly the order the kernel broadcasts them.
        /// Rows past <paramref name="mc"/> are zero so edge tiles can run the full kernel. Full panels are
        /// transposed W columns at a time in registers; element-wise gathering from six strided rows measured
        /// ~6% of the whole multiply at 1024³.
        /// </summary>
        private static void PackANormal(T* a, nint lda, int mc, int kc, T* dst)
        {
            for (int ir = 0; ir < mc; ir += MR, dst += MR * kc)
            {
                T* r0 = a + ir * lda;
                int mr = Math.Min(MR, mc - ir);
                int p = 0;
                if (mr == MR)
                {
                    // 8-row panels are W×W block transposes (one for float, two for double) with columns MR apart.
                    if (MR == 8)
                        for (; p + W <= kc; p += W)
                            for (int r = 0; r < MR; r += W) TransposeBlock(r0 + r * lda + p, lda, dst + p * MR + r, MR);
                    else for (; p + W <= kc; p += W) TransposeRows6(r0 + p, lda, dst + p * MR);
                }
                for (; p < kc; p++)
                {
                    for (int r = 0; r < MR; r++)
                        dst[p * MR + r] = r < mr ? r0[r * lda + p] : T.Zero;
                }
            }
        }

        /// <summary>Transposes the 6×W block at <paramref name="src"/> (row stride <paramref name="lds"/>) into W
        /// consecutive groups of 6 at <paramref name="dst"/>. For float the eight 8-wide results are stored 6 apart,
        /// each store's two surplus lanes being overwritten by the next one; the last store therefore writes
        /// 2 elements past the block, which the caller's buffer layout allows for.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TransposeRows6(T* src, nint lds, T* dst)
        {
            if (typeof(T) == typeof(float))
            {
                float* s = (float*)src, d = (float*)dst;
                Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + lds);
                Vector256<float> r2 = Avx.LoadVector256(s + 2 * lds), r3 = Avx.LoadVector256(s + 3 * lds);
                Vector256<float> r4 = Avx.LoadVector256(s + 4 * lds), r5 = Avx.LoadVector256(s + 5 * lds);
                Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
                Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
                Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
                Vector256<float> u4 = Avx.Shuffle(t4, t4, 0x44), u5 = Avx.Shuffle(t4, t4, 0xEE);
                Vector256<float> u6 = Avx.Shuffle(t5, t5, 0x44), u7 = Avx.Shuffle(t5, t5, 0xEE);
                Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
                Avx.Store(d + 6, Avx.Permute2x128(u1, u5, 0x20));
                Avx.Store(d + 12, Avx.Permute2x128(u2, u6, 0x20));
                Avx.Store(d + 18, Avx.Permute2x128(u3, u7, 0x20));
                Avx.Store(d + 24, Avx.Permute2x128(u0, u4, 0x31));
                Avx.Store(d + 30, Avx.Permute2x128(u1, u5, 0x31));
                Avx.Store(d + 36, Avx.Permute2x128(u2, u6, 0x31));
                Avx.Store(d + 42, Avx.Permute2x128(u3, u7, 0x31));
            }
            else
            {
                double* s = (double*)src, d = (double*)dst;
                Vector256<double> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + lds);
                Vector256<double> r2 = Avx.LoadVector256(s + 2 * lds), r3 = Avx.LoadVector256(s + 3 * lds);
                Vector256<double> r4 = Avx.LoadVector256(s + 4 * lds), r5 = Avx.LoadVector256(s + 5 * lds);
                Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                Vector256<double> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
                // Rows 0-3 of column q go to d + 6q; rows 4-5 (one 128-bit half of t4/t5) right after them.
                Avx.Store(d, Avx.Permute2x128(t0, t2, 0x20));
                Sse2.Store(d + 4, t4.GetLower());
                Avx.Store(d + 6, Avx.Permute2x128(t1, t3, 0x20));
                Sse2.Store(d + 10, t5.GetLower());
                Avx.Store(d + 12, Avx.Permute2x128(t0, t2, 0x31));
                Sse2.Store(d + 16, t4.GetUpper());
                Avx.Store(d + 18, Avx.Permute2x128(t1, t3, 0x31));
                Sse2.Store(d + 22, t5.GetUpper());
            }
        }

        /// <summary>Packs op(A) for A stored transposed (A(i,p) = a[p*lda + i]) into the layout of
        /// <see cref="PackANormal"/>. The MR values of one p are contiguous in the source, so each is a 6-element
        /// copy; working on 8 source rows at a time keeps both the source lines and each panel's destination
        /// lines in L1 (row-at-a-time or panel-at-a-time orders each miss on one side).</summary>
        private static void PackATransposed(T* a, nint lda, int mc, int kc, T* dst)
        {
            const int Rows = 8;
            int full = mc / MR * MR;
            for (int p0 = 0; p0 < kc; p0 += Rows)
            {
                int p1 = Math.Min(kc, p0 + Rows);
                int ir = 0;
                for (; ir < full; ir += MR)
                {
                    T* src = a + p0 * lda + ir;
                    T* d = dst + ir * kc + p0 * MR;
                    if (MR == 8) for (int p = p0; p < p1; p++, src += lda, d += MR) Copy8(src, d);
                    else for (int p = p0; p < p1; p++, src += lda, d += MR) Copy6(src, d);
                }
                if (ir < mc)
                {
                    for (int p = p0; p < p1; p++)
                    {
                        T* d = dst + ir * kc + p * MR;
                        int r = 0;
                        for (; r < mc - ir; r++) d[r] = a[p * lda + ir + r];
                        for (; r < MR; r++) d[r] = T.Zero;
                    }
                }
            }
        }

        /// <summary>Copies MR = 8 elements: one 8-float or two 4-double vectors.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Copy8(T* src, T* dst)
        {
            Vector256.Store(Vector256.Load(src), dst);
            if (typeof(T) == typeof(double)) Vector256.Store(Vector256.Load(src + 4), dst + 4);
        }

        /// <summary>Copies MR = 6 elements as one 4-element vector plus one 2-element piece.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Copy6(T* src, T* dst)
        {
            if (typeof(T) == typeof(float))
            {
                Vector128.Store(Vector128.Load((float*)src), (float*)dst);
                *(ulong*)(dst + 4) = *(ulong*)(src + 4);
            }
            else
            {
                Vector256.Store(Vector256.Load((double*)src), (double*)dst);
                Vector128.Store(Vector128.Load((double*)src + 4), (double*)dst + 4);
            }
        }

        /// <summary>Packs the kc×nc slab of op(B) starting at <paramref name="s"/>'s origin into NR-wide
        /// micro-panels, by the packer for its layout (stored untransposed or transposed, dense or indexed).</summary>
        private static void PackB(bool transB, Source s, int kc, int nc, T* dst)
        {
            if (s.Indexed)
            {
                if (transB) PackBTransposedIndexed(s, kc, nc, dst);
                else PackBNormalIndexed(s, kc, nc, dst);
            }
            else if (transB) PackBTransposed(s.Ptr, s.Ld, kc, nc, dst);
            else PackBNormal(s.Ptr, s.Ld, kc, nc, dst);
        }

        /// <summary>
        /// Packs op(B) for B stored untransposed (B(p,j) = b[p*ldb + j]) into NR-column micro-panels: panel q holds,
        /// for each p in order, the NR values B(p, q*NR..) — two vector loads per k step in the kernel. Columns
        /// past <paramref name="nc"/> are zero. As in <see cref="PackATransposed"/>, 8 source rows are handled at
        /// a time so the source and destination lines in flight stay in L1.
        /// </summary>
        private static void PackBNormal(T* b, nint ldb, int kc, int nc, T* dst)
        {
            const int Rows = 8;
            int full = nc / NR * NR;
            for (int p0 = 0; p0 < kc; p0 += Rows)
            {
                int p1 = Math.Min(kc, p0 + Rows);
                int jr = 0;
                for (; jr < full; jr += NR)
                {
                    T* src = b + p0 * ldb + jr;
                    T* d = dst + jr * kc + p0 * NR;
                    for (int p = p0; p < p1; p++, src += ldb, d += NR)
                        for (int v = 0; v < NR; v += W)
                            Vector256.Store(Vector256.Load(src + v), d + v);
                }
                if (jr < nc)
                {
                    for (int p = p0; p < p1; p++)
                    {
                        T* d = dst + jr * kc + p * NR;
                        int j = 0;
                        for (; j < nc - jr; j++) d[j] = b[p * ldb + jr + j];
                        for (; j < NR; j++) d[j] = T.Zero;
                    }
                }
            }
        }

        /// <summary><see cref="PackBNormal"/> for an indexed B: each W-wide piece of a packed row is read as its
        /// <see cref="ColumnGroup"/> says (one vector load inside an output row of a convolution, two loads and a
        /// blend across one row boundary, a gather otherwise); the groups are worked out once per slab.</summary>
        private static void PackBNormalIndexed(Source s, int kc, int nc, T* dst)
        {
            int full = nc / NR * NR;
            // Group-major: each W-wide column group is packed down all kc rows with its kind of read decided once.
            // Panels the micro-kernel reads in place (DirectPanel) are not packed at all.
            for (int j = 0; j < full; j += W)
                if (!DirectPanel(s.Cols + j / NR * NR))
                    new ColumnGroup(s.Cols + j).PackRows(s.Ptr, s.Rows, kc, dst + j / NR * NR * kc + j % NR);
            if (full < nc)
            {
                // The ragged last panel (196 output positions = 6 panels and 4 columns): its whole column groups as
                // above, then per k step vector zeros over the padding and the last few columns one by one.
                T* panel = dst + full * kc;
                int whole = full + (nc - full) / W * W, at = whole - full;
                for (int j = full; j < whole; j += W) new ColumnGroup(s.Cols + j).PackRows(s.Ptr, s.Rows, kc, panel + (j - full));
                for (int p = 0; p < kc; p++)
                {
                    T* row = s.Ptr + s.Rows[p];
                    T* d = panel + p * NR;
                    for (int v = at; v < NR; v += W) Vector256.Store(Vector256<T>.Zero, d + v);
                    for (int j = whole; j < nc; j++) d[j - full] = row[s.Cols[j]];
                }
            }
        }

        /// <summary>
        /// How to read W elements <c>row[q[0]], …, row[q[W-1]]</c> of an indexed matrix (q strictly increasing) as
        /// one vector. The common shapes of convolution offsets get cheap reads: one run of consecutive offsets is
        /// a plain load; two runs (a group that crosses from one output row into the next) are two overlapping
        /// loads blended at the split, both inside [q[0], q[W-1]] so nothing outside the matrix is touched; every
        /// second offset (a stride-2 convolution's output row) is two loads whose even elements are permuted
        /// together, again inside [q[0], q[W-1]]; anything else is a hardware gather.
        /// </summary>
        private readonly struct ColumnGroup : IVectorLoad
        {
            private readonly int* _offsets;
            private readonly int _first, _second, _split;

            public ColumnGroup(int* q)
            {
                _offsets = q;
                _first = q[0];
                int split = 1;
                while (split < W && q[split] - _first == split) split++;
                _second = split < W ? q[split] - split : _first;
                // Lanes from the split on must form one run as well, else the group is gathered (split 0) — unless
                // it is a stride-2 run (split −1).
                _split = split == W || q[W - 1] - _second == W - 1 ? split : StrideTwo(q) ? -1 : 0;
            }

            private static bool StrideTwo(int* q)
            {
                for (int j = 1; j < W; j++)
                    if (q[j] - q[0] != 2 * j) return false;
                return true;
            }

            /// <summary>row[first], row[first + 2], …: even lanes of the load at first, odd lanes of the load at
            /// first + W − 1 (which ends exactly at the group's last offset).</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static Vector256<T> LoadEven(T* at)
            {
                if (typeof(T) == typeof(float))
                {
                    var lo = Avx2.PermuteVar8x32(Vector256.Load((float*)at), Vector256.Create(0, 2, 4, 6, 0, 0, 0, 0));
                    var hi = Avx2.PermuteVar8x32(Vector256.Load((float*)at + 7), Vector256.Create(0, 0, 0, 0, 1, 3, 5, 7));
                    return Avx.Blend(lo, hi, 0xF0).As<float, T>();
                }
                var dlo = Avx2.Permute4x64(Vector256.Load((double*)at), 0b00_00_10_00);
                var dhi = Avx2.Permute4x64(Vector256.Load((double*)at + 3), 0b11_01_00_00);
                return Avx.Blend(dlo, dhi, 0b1100).As<double, T>();
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector256<T> Load(T* row)
            {
                if (_split == W) return Vector256.Load(row + _first);
                if (_split > 0)
                    return Vector256.ConditionalSelect(LanesFrom(_split), Vector256.Load(row + _second), Vector256.Load(row + _first));
                if (_split < 0) return LoadEven(row + _first);
                if (typeof(T) == typeof(float))
                    return Avx2.GatherVector256((float*)row, Vector256.Load(_offsets), 4).As<float, T>();
                return Avx2.GatherVector256((double*)row, Vector128.Load(_offsets), 8).As<double, T>();
            }

            /// <summary>Writes this group of row <c>rows[p]</c> to <c>dst + p·NR</c> for p in [0, kc): a packed B
            /// micro-panel's W-wide column slice, with the kind of read chosen once for all rows.</summary>
            public void PackRows(T* src, int* rows, int kc, T* dst)
            {
                if (_split == W)
                {
                    T* s = src + _first;
                    for (int p = 0; p < kc; p++) Vector256.Store(Vector256.Load(s + rows[p]), dst + p * NR);
                }
                else if (_split > 0)
                {
                    var upper = LanesFrom(_split);
                    T* s0 = src + _first, s1 = src + _second;
                    for (int p = 0; p < kc; p++)
                        Vector256.Store(Vector256.ConditionalSelect(upper, Vector256.Load(s1 + rows[p]), Vector256.Load(s0 + rows[p])), dst + p * NR);
                }
                else if (_split < 0)
                {
                    T* s = src + _first;
                    for (int p = 0; p < kc; p++) Vector256.Store(LoadEven(s + rows[p]), dst + p * NR);
                }
                else
                {
                    for (int p = 0; p < kc; p++) Vector256.Store(Load(src + rows[p]), dst + p * NR);
                }
            }

            /// <summary>All-ones in lanes <paramref name="split"/>..W-1.</summary>
            private static Vector256<T> LanesFrom(int split) => typeof(T) == typeof(float)
                ? Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(split)).As<int, T>()
                : Vector256.GreaterThanOrEqual(Vector256<long>.Indices, Vector256.Create((long)split)).As<long, T>();
        }

        /// <summary>Packs op(B) for B stored transposed (B(p,j) = b[j*ldb + p]) into the layout of
        /// <see cref="PackBNormal"/>. Each of the NR source rows is read sequentially and W×W blocks are transposed in
        /// registers, so the packed rows are written with whole-vector stores. A ragged last panel (N = 20 or 50
        /// filters: a convolution's weight gradient) does the same for its whole blocks of W rows, copies a partial
        /// block's rows into a zero-padded W×W block first, and stores zeros for the rest: element by element, such a
        /// panel had cost as much as LeNet's first-layer weight-gradient product itself.</summary>
        private static void PackBTransposed(T* b, nint ldb, int kc, int nc, T* dst)
        {
            T* block = stackalloc T[W * W];
            int kw = kc / W * W;
            for (int jr = 0; jr < nc; jr += NR, dst += NR * kc)
            {
                int nr = Math.Min(NR, nc - jr);
                T* src = b + jr * ldb;
                for (int v = 0; v < NR; v += W)
                {
                    int rows = Math.Min(W, nr - v);
                    if (rows == W)
                    {
                        for (int p = 0; p < kw; p += W) TransposeBlock(src + v * ldb + p, ldb, dst + p * NR + v, NR);
                    }
                    else if (rows > 0)
                    {
                        for (int i = rows; i < W; i++) Vector256.Store(Vector256<T>.Zero, block + i * W);
                        for (int p = 0; p < kw; p += W)
                        {
                            for (int i = 0; i < rows; i++) Vector256.Store(Vector256.Load(src + (v + i) * ldb + p), block + i * W);
                            TransposeBlock(block, W, dst + p * NR + v, NR);
                        }
                    }
                    else
                    {
                        for (int p = 0; p < kw; p++) Vector256.Store(Vector256<T>.Zero, dst + p * NR + v);
                    }
                }
                for (int p = kw; p < kc; p++)
                {
                    T* d = dst + p * NR;
                    int j = 0;
                    for (; j < nr; j++) d[j] = src[j * ldb + p];
                    for (; j < NR; j++) d[j] = T.Zero;
                }
            }
        }

        /// <summary><see cref="PackBTransposed"/> for an indexed B (S = the n×k stored matrix): W×W blocks are
        /// transposed in registers from W row pointers, each row read as the block's <see cref="ColumnGroup"/>
        /// of k offsets says.</summary>
        private static void PackBTransposedIndexed(Source s, int kc, int nc, T* dst)
        {
            int blocks = kc / W;
            ColumnGroup* groups = stackalloc ColumnGroup[blocks];
            for (int g = 0; g < blocks; g++) groups[g] = new ColumnGroup(s.Cols + g * W);
            for (int jr = 0; jr < nc; jr += NR, dst += NR * kc)
            {
                int nr = Math.Min(NR, nc - jr);
                int p = 0;
                if (nr == NR)
                {
                    for (; p + W <= kc; p += W)
                        for (int v = 0; v < NR; v += W)
                            TransposeRows(s.Ptr, new TableRows(s.Rows + jr + v), groups[p / W], dst + p * NR + v, NR);
                }
                for (; p < kc; p++)
                {
                    T* d = dst + p * NR;
                    int j = 0;
                    for (; j < nr; j++) d[j] = s[jr + j, p];
                    for (; j < NR; j++) d[j] = T.Zero;
                }
            }
        }

        /// <summary>Writes the transpose of the W×W block at <paramref name="src"/> (row stride
        /// <paramref name="lds"/>) to <paramref name="dst"/> (row stride <paramref name="ldd"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TransposeBlock(T* src, nint lds, T* dst, nint ldd) => TransposeRows(src, new StridedRows(lds), default(Contiguous), dst, ldd);

        /// <summary>Where row i of a block starts, relative to its first element (a stride, or a table of offsets);
        /// a struct type parameter, so each kind compiles to its own straight-line code.</summary>
        private interface IRowOffsets
        {
            nint this[int i] { get; }
        }

        private readonly struct StridedRows(nint stride) : IRowOffsets
        {
            public nint this[int i] => i * stride;
        }

        private readonly struct TableRows(int* offsets) : IRowOffsets
        {
            public nint this[int i] => offsets[i];
        }

        /// <summary>Reads W elements starting at a row pointer: contiguously, or as a <see cref="ColumnGroup"/>.</summary>
        private interface IVectorLoad
        {
            Vector256<T> Load(T* row);
        }

        private readonly struct Contiguous : IVectorLoad
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector256<T> Load(T* row) => Vector256.Load(row);
        }

        /// <summary>Writes the transpose of the W×W block whose row i is read by <paramref name="load"/> from
        /// <c>src + rows[i]</c> to <paramref name="dst"/> (row stride <paramref name="ldd"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void TransposeRows<TRows, TLoad>(T* src, TRows rows, TLoad load, T* dst, nint ldd)
            where TRows : struct, IRowOffsets where TLoad : struct, IVectorLoad
        {
            if (typeof(T) == typeof(float))
            {
                float* d = (float*)dst;
                // Classic 8×8 transpose: interleave pairs of rows, then 64-bit pairs, then swap 128-bit lanes.
                Vector256<float> r0 = load.Load(src + rows[0]).AsSingle(), r1 = load.Load(src + rows[1]).AsSingle();
                Vector256<float> r2 = load.Load(src + rows[2]).AsSingle(), r3 = load.Load(src + rows[3]).AsSingle();
                Vector256<float> r4 = load.Load(src + rows[4]).AsSingle(), r5 = load.Load(src + rows[5]).AsSingle();
                Vector256<float> r6 = load.Load(src + rows[6]).AsSingle(), r7 = load.Load(src + rows[7]).AsSingle();
                Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
                Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
                Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
                Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
                Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
                Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
                Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
                Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
                Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
                Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
                Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
                Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
                Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
                Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
            }
            else
            {
                double* d = (double*)dst;
                Vector256<double> r0 = load.Load(src + rows[0]).AsDouble(), r1 = load.Load(src + rows[1]).AsDouble();
                Vector256<double> r2 = load.Load(src + rows[2]).AsDouble(), r3 = load.Load(src + rows[3]).AsDouble();
                Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                Avx.Store(d, Avx.Permute2x128(t0, t2, 0x20));
                Avx.Store(d + ldd, Avx.Permute2x128(t1, t3, 0x20));
                Avx.Store(d + 2 * ldd, Avx.Permute2x128(t0, t2, 0x31));
                Avx.Store(d + 3 * ldd, Avx.Permute2x128(t1, t3, 0x31));
            }
        }

        /// <summary>Runs the micro-kernel over every MR×NR tile of an mc×nc block of C. The B micro-panel is the
        /// outer loop so it stays in L1 while the A micro-panels stream from L2. Partial edge tiles are computed
        /// into a scratch tile and only their valid part is merged into C.</summary>
        private static void MacroKernel(int mc, int nc, int kc, T* packA, T* packB, T* c, nint ldc, bool load, Source direct, Source inPlaceA)
        {
            if (inPlaceA.Indexed) MacroKernel<InPlaceA>(mc, nc, kc, packA, packB, c, ldc, load, direct, inPlaceA);
            else MacroKernel<PackedA>(mc, nc, kc, packA, packB, c, ldc, load, direct, inPlaceA);
        }

        private static void MacroKernel<TA>(int mc, int nc, int kc, T* packA, T* packB, T* c, nint ldc, bool load, Source direct, Source inPlaceA)
            where TA : struct, IAPanel<TA>
        {
            T* tile = stackalloc T[MR * NR];
            for (int jr = 0; jr < nc; jr += NR)
            {
                int nr = Math.Min(NR, nc - jr);
                T* bPanel = packB + jr * kc;
                if (nr == NR && direct.Indexed && DirectPanel(direct.Cols + jr))
                {
                    // The panel's two vector-wide column groups are runs in the stored matrix: read B where it lies.
                    T* b0 = direct.Ptr + direct.Cols[jr], b1 = direct.Ptr + direct.Cols[jr + KW];
                    for (int ir = 0; ir < mc; ir += MR)
                    {
                        int mr = Math.Min(MR, mc - ir);
                        var a = TA.Panel(packA, inPlaceA, ir, mr, kc);
                        if (Wide) MicroKernel<TA, InPlacePanel<Vector512<T>, V512<T>>, Vector512<T>, V512<T>>(kc, a, new(b0, b1, direct.Rows), c + ir * ldc + jr, ldc, load, mr);
                        else MicroKernel<TA, InPlacePanel<Vector256<T>, V256<T>>, Vector256<T>, V256<T>>(kc, a, new(b0, b1, direct.Rows), c + ir * ldc + jr, ldc, load, mr);
                    }
                    continue;
                }
                for (int ir = 0; ir < mc; ir += MR)
                {
                    int mr = Math.Min(MR, mc - ir);
                    var a = TA.Panel(packA, inPlaceA, ir, mr, kc);
                    T* cTile = c + ir * ldc + jr;
                    if (nr == NR)
                    {
                        // Full-width tiles write their valid rows straight to C; only ragged columns need the scratch tile.
                        MicroKernel(kc, a, bPanel, cTile, ldc, load, mr);
                    }
                    else
                    {
                        MicroKernel(kc, a, bPanel, tile, NR, false, mr, narrow: nr <= KW);
                        for (int i = 0; i < mr; i++)
                            for (int j = 0; j < nr; j++)
                                cTile[i * ldc + j] = load ? cTile[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
                    }
                }
            }
        }

        /// <summary>
        /// C tile (MR×NR) = Σ_p A[p] ⊗ packB[p] (+ C when <paramref name="load"/>), for the first
        /// <paramref name="rows"/> rows; with <paramref name="narrow"/>, only the first KW columns are computed (the
        /// rest of the tile is left as it was). Tiles with only 1–2 or 3–4 valid rows (the last row panel when M is
        /// not a multiple of 6: M = 20, 50, 64, 128, … all end that way) or at most KW valid columns run a kernel
        /// that issues only the FMAs of those rows and columns, instead of computing a full tile and discarding part.
        /// </summary>
        private static void MicroKernel<TA>(int kc, TA a, T* b, T* c, nint ldc, bool load, int rows, bool narrow = false)
            where TA : struct, IAPanel<TA>
        {
            if (Wide) MicroKernel<TA, PackedPanel<Vector512<T>, V512<T>>, Vector512<T>, V512<T>>(kc, a, new(b), c, ldc, load, rows, narrow);
            else MicroKernel<TA, PackedPanel<Vector256<T>, V256<T>>, Vector256<T>, V256<T>>(kc, a, new(b), c, ldc, load, rows, narrow);
        }

        /// <summary>Picks the trimmed kernel for <paramref name="rows"/> and <paramref name="narrow"/>, for any A and B
        /// micro-panels and vector width.</summary>
        private static void MicroKernel<TA, TB, TV, TO>(int kc, TA a, TB b, T* c, nint ldc, bool load, int rows, bool narrow = false)
            where TA : struct, IAPanel<TA> where TB : struct, IPanel<TV> where TV : struct where TO : struct, IVector<T, TV>
        {
            // Ask for the C tile now so its lines arrive while the k loop runs (a C block can sit in L3 or DRAM).
            for (int i = 0; i < rows; i++)
            {
                Sse.Prefetch0(c + i * ldc);
                Sse.Prefetch0(c + i * ldc + KW);
                Sse.Prefetch0(c + i * ldc + NR - 1);
            }
            if (narrow)
            {
                if (rows <= 2) MicroKernel<Two, One, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
                else if (rows <= 4) MicroKernel<Four, One, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
                else if (rows <= 6) MicroKernel<Six, One, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
                else MicroKernel<Eight, One, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
            }
            else
            {
                if (rows <= 2) MicroKernel<Two, Two, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
                else if (rows <= 4) MicroKernel<Four, Two, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
                else if (rows <= 6) MicroKernel<Six, Two, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
                else MicroKernel<Eight, Two, TA, TB, TV, TO>(kc, a, b, c, ldc, load, rows);
            }
        }

        /// <summary>Where the micro-kernel reads the MR values of A it broadcasts at each k step; a struct type
        /// parameter, so each kind compiles to its own inner loop.</summary>
        private interface IAPanel<TSelf> where TSelf : struct, IAPanel<TSelf>
        {
            /// <summary>The panel of rows [ir, ir + rows) of a block: packed at <paramref name="packA"/>, or read in
            /// place from <paramref name="a"/>.</summary>
            static abstract TSelf Panel(T* packA, Source a, int ir, int rows, int kc);

            /// <summary>Row <paramref name="i"/>'s value at the current k step (i a JIT-time constant).</summary>
            T Get(int i);

            /// <summary>Moves to the next k step.</summary>
            void Next();
        }

        /// <summary>A packed A micro-panel: MR consecutive values per k step.</summary>
        private struct PackedA : IAPanel<PackedA>
        {
            private T* _a;

            public static PackedA Panel(T* packA, Source a, int ir, int rows, int kc) => new() { _a = packA + ir * kc };

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public readonly T Get(int i) => _a[i];

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Next() => _a += MR;
        }

        /// <summary>
        /// An indexed A read in place: row i's value at k step p is <c>row_i[cols[p]]</c>, with one pointer per row
        /// (rows past the panel's last point at its first row; their results are never stored). The pointers walk
        /// the input planes of a convolution's weight gradient in step, one element per output position.
        /// </summary>
        private struct InPlaceA : IAPanel<InPlaceA>
        {
            private T* _r0, _r1, _r2, _r3, _r4, _r5, _r6, _r7;
            private int* _cols;

            public static InPlaceA Panel(T* packA, Source a, int ir, int rows, int kc)
            {
                T* Row(int i) => a.Ptr + a.Rows[ir + (i < rows ? i : 0)];
                return new() { _r0 = Row(0), _r1 = Row(1), _r2 = Row(2), _r3 = Row(3), _r4 = Row(4), _r5 = Row(5),
                    _r6 = MR > 6 ? Row(6) : null, _r7 = MR > 6 ? Row(7) : null, _cols = a.Cols };
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public readonly T Get(int i) => i switch
            {
                0 => _r0[*_cols],
                1 => _r1[*_cols],
                2 => _r2[*_cols],
                3 => _r3[*_cols],
                4 => _r4[*_cols],
                5 => _r5[*_cols],
                6 => _r6[*_cols],
                _ => _r7[*_cols],
            };

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Next() => _cols++;
        }

        /// <summary>Where the micro-kernel reads its two B vectors of each k step; a struct type parameter, so each
        /// kind compiles to its own inner loop.</summary>
        private interface IPanel<TV> where TV : struct
        {
            /// <summary>Vector <paramref name="v"/> (0 or 1) of the current k step.</summary>
            TV Load(int v);

            /// <summary>Moves to the next k step.</summary>
            void Next();
        }

        /// <summary>A packed micro-panel: NR consecutive values per k step.</summary>
        private struct PackedPanel<TV, TO>(T* b) : IPanel<TV> where TV : struct where TO : struct, IVector<T, TV>
        {
            private T* _b = b;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public readonly TV Load(int v) => TO.Load(_b + v * TO.Count);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Next() => _b += 2 * TO.Count;
        }

        /// <summary>
        /// An indexed B read in place: k step p's two vectors start at <c>rows[p]</c> past two column pointers, each
        /// the start of a run of KW consecutive offsets (<see cref="DirectPanel"/>). For a unit-stride convolution
        /// whose output rows are whole vectors this skips packing the im2col operand: the kernel loads the padded
        /// input itself, and the KC-deep slab of it that one column panel touches stays in L1 across the row panels.
        /// </summary>
        private struct InPlacePanel<TV, TO>(T* b0, T* b1, int* rows) : IPanel<TV> where TV : struct where TO : struct, IVector<T, TV>
        {
            private int* _rows = rows;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public readonly TV Load(int v) => TO.Load((v == 0 ? b0 : b1) + *_rows);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Next() => _rows++;
        }

        /// <summary>Whether the NR columns at <paramref name="cols"/> are two runs of KW consecutive offsets, so
        /// an <see cref="InPlacePanel{TV, TO}"/> can read them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool DirectPanel(int* cols) => cols[KW - 1] - cols[0] == KW - 1 && cols[NR - 1] - cols[KW] == KW - 1;

        /// <summary>
        /// The register-blocked kernel for R.Count ≤ MR rows and V.Count ≤ 2 vectors of columns. Each k step loads
        /// V B vectors, broadcasts R A values, and issues R·V independent FMAs — at 6×2, 12 chains, enough to cover
        /// the FMA latency (4 cycles × 2 pipes). Accumulators start at zero and C is added once at the end, so the
        /// inner loop is identical for the overwrite and accumulate cases.
        /// </summary>
        private static void MicroKernel<R, V, TA, TB, TV, TO>(int kc, TA a, TB b, T* c, nint ldc, bool load, int rows)
            where R : struct, ICount where V : struct, ICount where TA : struct, IAPanel<TA>
            where TB : struct, IPanel<TV> where TV : struct where TO : struct, IVector<T, TV>
        {
            TV c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            TV c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            TV c60 = default, c61 = default, c70 = default, c71 = default;
            for (int p = 0; p < kc; p++, a.Next(), b.Next())
            {
                TV b0 = b.Load(0), b1 = V.Count > 1 ? b.Load(1) : default;
                TV av = TO.Broadcast(a.Get(0));
                c00 = TO.MulAdd(av, b0, c00); if (V.Count > 1) c01 = TO.MulAdd(av, b1, c01);
                av = TO.Broadcast(a.Get(1));
                c10 = TO.MulAdd(av, b0, c10); if (V.Count > 1) c11 = TO.MulAdd(av, b1, c11);
                if (R.Count > 2)
                {
                    av = TO.Broadcast(a.Get(2));
                    c20 = TO.MulAdd(av, b0, c20); if (V.Count > 1) c21 = TO.MulAdd(av, b1, c21);
                    av = TO.Broadcast(a.Get(3));
                    c30 = TO.MulAdd(av, b0, c30); if (V.Count > 1) c31 = TO.MulAdd(av, b1, c31);
                }
                if (R.Count > 4)
                {
                    av = TO.Broadcast(a.Get(4));
                    c40 = TO.MulAdd(av, b0, c40); if (V.Count > 1) c41 = TO.MulAdd(av, b1, c41);
                    av = TO.Broadcast(a.Get(5));
                    c50 = TO.MulAdd(av, b0, c50); if (V.Count > 1) c51 = TO.MulAdd(av, b1, c51);
                }
                if (R.Count > 6)
                {
                    av = TO.Broadcast(a.Get(6));
                    c60 = TO.MulAdd(av, b0, c60); if (V.Count > 1) c61 = TO.MulAdd(av, b1, c61);
                    av = TO.Broadcast(a.Get(7));
                    c70 = TO.MulAdd(av, b0, c70); if (V.Count > 1) c71 = TO.MulAdd(av, b1, c71);
                }
            }
            StoreRow<V, TV, TO>(c, c00, c01, load);
            if (rows > 1) StoreRow<V, TV, TO>(c + ldc, c10, c11, load);
            if (rows > 2) StoreRow<V, TV, TO>(c + 2 * ldc, c20, c21, load);
            if (rows > 3) StoreRow<V, TV, TO>(c + 3 * ldc, c30, c31, load);
            if (rows > 4) StoreRow<V, TV, TO>(c + 4 * ldc, c40, c41, load);
            if (rows > 5) StoreRow<V, TV, TO>(c + 5 * ldc, c50, c51, load);
            if (rows > 6) StoreRow<V, TV, TO>(c + 6 * ldc, c60, c61, load);
            if (rows > 7) StoreRow<V, TV, TO>(c + 7 * ldc, c70, c71, load);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreRow<V, TV, TO>(T* c, TV v0, TV v1, bool load)
            where V : struct, ICount where TV : struct where TO : struct, IVector<T, TV>
        {
            if (load) v0 = TO.Add(v0, TO.Load(c));
            TO.Store(v0, c);
            if (V.Count == 1) return;
            if (load) v1 = TO.Add(v1, TO.Load(c + TO.Count));
            TO.Store(v1, c + TO.Count);
        }

        /// <summary>Portable fallback for CPUs without AVX2/FMA: row-by-row i-p-j loop, so the innermost loop walks
        /// a row of C (and of B when untransposed) contiguously.</summary>
        private static void Scalar(bool transA, bool transB, int m, int n, int k,
            Source a, Source b, T* c, nint ldc, bool accumulate)
        {
            for (int i = 0; i < m; i++)
            {
                T* cRow = c + i * ldc;
                if (!accumulate) new Span<T>(cRow, n).Clear();
                for (int p = 0; p < k; p++)
                {
                    T aip = transA ? a[p, i] : a[i, p];
                    for (int j = 0; j < n; j++) cRow[j] += aip * (transB ? b[j, p] : b[p, j]);
                }
            }
        }
    }
}
