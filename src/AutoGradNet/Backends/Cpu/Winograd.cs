using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoGradNet.Backends.Cpu;

/// <summary>
/// Winograd's minimal filtering F(2×2, 3×3) for float32 3×3 convolutions with stride 1 and dilation 1 (Lavin and
/// Gray, 2015): each 2×2 output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its 4×4 input patch d, so the 16 element-wise
/// products of every tile become 16 GEMMs, M[ξ] (Cout × tiles) = U[ξ] (Cout × Cin) · V[ξ] (Cin × tiles), with
/// 16 multiply-adds per tile and channel pair instead of the direct convolution's 36: 2.25× fewer FLOPs. The
/// transforms only add and halve, so results differ from the direct product by a few roundings (tested against it).
/// <para>
/// Tiles are numbered image by image, row by row, and every transform works on 8 tiles at once (one ymm register):
/// on images whose tile rows hold at least 5 tiles, a row is padded to a multiple of 8 tiles; on narrower ones (3–4
/// tiles: 5×5 to 8×8 outputs) a register holds two tile rows of 4. Padding tiles read zeros and are never stored.
/// The input is copied per plane into a scratch of its even and odd padded columns, so the four columns of a tile's
/// patch are unit-stride loads at tile index and tile index + 1.
/// </para>
/// </summary>
internal static unsafe class Winograd
{
    /// <summary>Channels (in and out) below which the direct product is kept: the transforms cost about as much as
    /// a few channels of GEMM. Measured on the 2-core Zen 5 box (with the plane padding of <see cref="XiStride"/>): at 32
    /// channels the forward took 0.75× (32×32), 0.72× (16×16) and 1.0× (14×14) the direct product's time.</summary>
    private const int MinChannels = 32;

    /// <summary>The same for <see cref="WeightGradient"/>, which also transforms the upstream gradient: at 32 channels
    /// it took 1.07× (32×32), 0.95× (16×16) and 1.27× (14×14) the direct product's time, at 64 channels 0.65–0.75×.</summary>
    private const int MinWeightGradientChannels = 64;

    /// <summary>Whether <see cref="WeightGradient"/> takes this layer: <see cref="Applies"/> with at least
    /// <see cref="MinWeightGradientChannels"/> channels each side.</summary>
    public static bool AppliesToWeightGradient(ConvGeometry g, int groups, int cin, int cout) =>
        Math.Min(cin, cout) >= MinWeightGradientChannels && Applies(g, groups, cin, cout);

    /// <summary>Whether a convolution of <paramref name="cin"/> → <paramref name="cout"/> channels with this geometry
    /// runs through <see cref="Forward"/>.</summary>
    public static bool Applies(ConvGeometry g, int groups, int cin, int cout)
    {
        if (!Enabled || groups != 1 || cin < MinChannels || cout < MinChannels || !Avx2.IsSupported || !Fma.IsSupported) return false;
        if (g.Kernel[0] != 1 || g.Kernel[1] != 3 || g.Kernel[2] != 3 || g.Input[0] != 1 || g.Output[0] != 1) return false;
        for (int i = 0; i < ConvGeometry.MaxSpatial; i++)
            if (g.Stride[i] != 1 || g.Dilation[i] != 1) return false;
        // Tile rows of 1–2 tiles (outputs of 4 columns or fewer) would be mostly padding.
        return (g.Output[2] + 1) / 2 >= 3 && g.Output[1] >= 2;
    }

    private static long s_calls;

    /// <summary>Calls of <see cref="Forward"/> so far in this process (tests check that a shape took this path).</summary>
    internal static long Calls => Interlocked.Read(ref s_calls);

    /// <summary>On unless the environment sets <c>AUTOGRADNET_WINOGRAD=0</c> (then every layer takes the direct
    /// product; the benchmarks compare the two that way).</summary>
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("AUTOGRADNET_WINOGRAD") != "0";

    /// <summary>The tiling of one call: tiles per row and rows of tiles, padded as described above.</summary>
    private readonly struct Tiling
    {
        public readonly int Ho, Wo, TileRows, TilesPerRow, TilesPerImage, Hq, Rsq;

        public Tiling(ConvGeometry g)
        {
            Ho = g.Output[1];
            Wo = g.Output[2];
            int th = (Ho + 1) / 2, tw = (Wo + 1) / 2;
            TilesPerRow = tw <= 4 ? 4 : (tw + 7) / 8 * 8;
            TileRows = TilesPerRow == 4 ? (th + 1) / 2 * 2 : th;
            TilesPerImage = TileRows * TilesPerRow;
            Hq = 2 * TileRows + 2;
            Rsq = TilesPerRow + 1;
        }

        /// <summary>Group <paramref name="grp"/> of 8 tiles: its first tile's row and column, and how far (in tile
        /// rows, tile columns) its second half of 4 lies from its first.</summary>
        public (int Ty, int Tx, int HalfRows, int HalfCols) Group(int grp) => TilesPerRow == 4
            ? (2 * grp, 0, 1, 0)
            : (grp / (TilesPerRow / 8), grp % (TilesPerRow / 8) * 8, 0, 4);
    }

    /// <summary>y [N, Cout, Ho, Wo] = conv(x [N, Cin, H, W], w [Cout, Cin, 3, 3]) with the padding of <paramref name="g"/>.
    /// All three contiguous. With <paramref name="flippedWeights"/>, w is [Cin, Cout, 3, 3] and the convolution uses it
    /// transposed and flipped in space (the input gradient of a convolution by w), read so without a copy.</summary>
    /// <remarks>
    /// The weights are transformed and packed for the GEMM once; then each core takes chunks of whole images and runs
    /// input transform, 16 products and output transform on one chunk at a time, so a chunk's transformed tiles
    /// (16·(Cin + Cout) values per tile) stay in cache between the three steps instead of streaming through memory.
    /// </remarks>
    public static void Forward(float[] x, long xOffset, float[] w, long wOffset, float[] y, long yOffset,
        int n, int cin, int cout, ConvGeometry g, bool flippedWeights = false)
    {
        Interlocked.Increment(ref s_calls);
        var t = new Tiling(g);
        int threads = Environment.ProcessorCount;
        var (perChunk, chunks, chunkTiles) = PlanChunks(n, t, ChunkTiles, 2 * threads, Math.Max(cin, cout));
        int packedSize = Gemm.PackedASize(cout, cin);
        var pool = ArrayPool<float>.Shared;
        float[] u = pool.Rent((int)(16 * XiStride(cout, cin))), packed = pool.Rent(16 * packedSize);
        try
        {
            TransformWeights(w, wOffset, u, cout, cin, flippedWeights);
            fixed (float* pu = u, pp = packed)
            {
                float* pu0 = pu, pp0 = pp;
                var panels = new nint[16];
                CpuBackend.ParallelRows(16, cout * cin, (panels, pu0: (nint)pu0, pp0: (nint)pp0, cout, cin, packedSize), static (state, x0, x1) =>
                {
                    var (panels, pu0Address, pp0Address, cout, cin, packedSize) = state;
                    float* pu0 = (float*)pu0Address;
                    float* pp0 = (float*)pp0Address;
                    for (int xi = x0; xi < x1; xi++)
                        panels[xi] = (nint)Gemm.PackA(pu0 + xi * XiStride(cout, cin), cin, cout, cin, pp0 + (long)xi * packedSize);
                });
                int workers = Math.Min(threads, chunks);
                CpuBackend.ParallelRows(workers, OneRangePerWorker, (pool, chunkTiles, cin, cout, chunks, workers, perChunk, n, t, x, xOffset, g, panels, y, yOffset), static (state, w0, w1) =>
                {
                    var (pool, chunkTiles, cin, cout, chunks, workers, perChunk, n, t, x, xOffset, g, panels, y, yOffset) = state;
                    float[] v = pool.Rent((int)(16 * XiStride(cin, chunkTiles))), m = pool.Rent((int)(16 * XiStride(cout, chunkTiles)));
                    try
                    {
                        fixed (float* pv = v, pm = m)
                            for (int worker = w0; worker < w1; worker++)
                                for (int chunk = worker; chunk < chunks; chunk += workers)
                                {
                                    int first = chunk * perChunk, count = Math.Min(perChunk, n - first);
                                    int tiles = count * t.TilesPerImage;
                                    TransformInput(x, xOffset, pv, first, count, cin, g, t);
                                    for (int xi = 0; xi < 16; xi++)
                                        Gemm.RunPrepacked((float*)panels[xi], cout, tiles, cin, pv + xi * XiStride(cin, tiles), tiles,
                                            pm + xi * XiStride(cout, tiles), tiles, false);
                                    TransformOutput(pm, y, yOffset, first, count, cout, t);
                                }
                    }
                    finally
                    {
                        pool.Return(v);
                        pool.Return(m);
                    }
                });
            }
        }
        finally
        {
            pool.Return(u);
            pool.Return(packed);
        }
    }

    /// <summary>
    /// The distance between the 16 planes ξ of a transformed operand of <paramref name="rows"/> × <paramref name="cols"/>:
    /// one cache line more than the plane. Planes of power-of-two sizes (128 channels × 128 tiles: 64 KiB) would put
    /// the 16 lines a transform reads or writes together in one L1 set, more than its 12 ways.
    /// </summary>
    private static long XiStride(int rows, int cols) => (long)rows * cols + 16;

    /// <summary>
    /// Whole images per chunk (at least <paramref name="targetTiles"/> tiles, but no more than leaves
    /// <paramref name="minChunks"/> chunks when the batch allows), the number of chunks and a full chunk's tiles.
    /// </summary>
    private static (int PerChunk, int Chunks, int Tiles) PlanChunks(int n, Tiling t, int targetTiles, int minChunks, int channels)
    {
        int perChunk = Math.Clamp((targetTiles + t.TilesPerImage - 1) / t.TilesPerImage, 1, Math.Max(1, n / Math.Max(1, minChunks)));
        long tiles = (long)perChunk * t.TilesPerImage;
        if (16 * XiStride(channels, (int)Math.Min(tiles, int.MaxValue)) > int.MaxValue / 2)
            throw new NotSupportedException("Winograd chunk over 2^30 elements.");
        return (perChunk, (n + perChunk - 1) / perChunk, (int)tiles);
    }

    /// <summary>A cost per worker that always splits: with as many rows as workers, each worker gets one range.</summary>
    private const int OneRangePerWorker = Strided.ParallelThreshold;

    /// <summary>Tiles per product a chunk of images aims for (see <see cref="Forward"/>). 64 to 512 measured the same
    /// on the 64-, 128- and 256-channel layers (2-core Zen 5); 128 keeps a 256-channel chunk's tiles within 4 MiB.</summary>
    private const int ChunkTiles = 128;

    /// <summary>
    /// gw [Cout, Cin, 3, 3] += the weight gradient of <see cref="Forward"/> for upstream gy [N, Cout, Ho, Wo]. The
    /// forward output is linear in U = G g Gᵀ, so ∂L/∂U[ξ] = Σ_tiles (A gy_tile Aᵀ)[ξ] ⊙ V[ξ] (16 products of
    /// Cout × tiles by tiles × Cin, the tiles summed in the GEMMs' depth) and ∂L/∂g = Gᵀ (∂L/∂U) G. Each core sums its
    /// chunks of images into a private ∂L/∂U; the cores' sums are added before the final transform.
    /// </summary>
    public static void WeightGradient(float[] x, long xOffset, float[] gy, long gyOffset, float[] gw, long gwOffset,
        int n, int cin, int cout, ConvGeometry g)
    {
        Interlocked.Increment(ref s_calls);
        var t = new Tiling(g);
        int threads = Environment.ProcessorCount;
        var (perChunk, chunks, chunkTiles) = PlanChunks(n, t, WeightChunkTiles, threads, Math.Max(cin, cout));
        int workers = Math.Min(threads, chunks);
        long plane = XiStride(cout, cin);
        var pool = ArrayPool<float>.Shared;
        var sums = new float[workers][];
        CpuBackend.ParallelRows(workers, OneRangePerWorker, (pool, chunkTiles, cin, cout, sums, plane, chunks, workers, perChunk, n, t, x, xOffset, g, gy, gyOffset), static (state, w0, w1) =>
        {
            var (pool, chunkTiles, cin, cout, sums, plane, chunks, workers, perChunk, n, t, x, xOffset, g, gy, gyOffset) = state;
            float[] v = pool.Rent((int)(16 * XiStride(cin, chunkTiles))), gt = pool.Rent((int)(16 * XiStride(cout, chunkTiles)));
            try
            {
                for (int worker = w0; worker < w1; worker++)
                {
                    float[] du = sums[worker] = pool.Rent((int)(16 * plane));
                    fixed (float* pv = v, pg = gt)
                        for (int chunk = worker; chunk < chunks; chunk += workers)
                        {
                            int first = chunk * perChunk, count = Math.Min(perChunk, n - first);
                            int tiles = count * t.TilesPerImage;
                            TransformInput(x, xOffset, pv, first, count, cin, g, t);
                            TransformGradient(gy, gyOffset, pg, first, count, cout, t);
                            // The worker's first chunk overwrites its sum; later ones add to it.
                            for (int xi = 0; xi < 16; xi++)
                                Gemm.Run(false, true, 1, cout, cin, tiles, gt, xi * XiStride(cout, tiles), tiles, 0,
                                    v, xi * XiStride(cin, tiles), tiles, 0, du, xi * plane, cin, 0, chunk != worker, singleThreaded: true);
                        }
                }
            }
            finally
            {
                pool.Return(v);
                pool.Return(gt);
            }
        });
        try
        {
            AddFilterGradient(sums, gw, gwOffset, cout, cin);
        }
        finally
        {
            foreach (var du in sums) if (du is not null) pool.Return(du);
        }
    }

    /// <summary>Tiles summed per chunk of <see cref="WeightGradient"/>: the depth of its products.</summary>
    private const int WeightChunkTiles = 256;

    /// <summary>Ĝ[ξ][k][tile] = (A gy_tile Aᵀ)[ξ] for the 2×2 upstream tile of each output tile (zeros past the
    /// plane), images [first, first + count). Each plane is first split into even and odd columns.</summary>
    private static void TransformGradient(float[] gy, long gyOffset, float* dst, int first, int count, int cout, Tiling t)
    {
        int tt = count * t.TilesPerImage, rs = t.Rsq, half = 2 * t.TileRows * rs;
        long plane = XiStride(cout, tt);
        float[] scratch = ArrayPool<float>.Shared.Rent(2 * half + 8);
        try
        {
            Array.Clear(scratch, 0, 2 * half + 8);
            fixed (float* pg = gy, q = scratch)
            {
                float* ge = q, go = q + half;
                for (int k = 0; k < cout; k++)
                    for (int img = 0; img < count; img++)
                    {
                        float* src = pg + gyOffset + ((long)(first + img) * cout + k) * t.Ho * t.Wo;
                        for (int r = 0; r < t.Ho; r++) Split(src + (long)r * t.Wo, 0, t.Wo, 0, ge + r * rs, go + r * rs);
                        float* d = dst + (long)k * tt + (long)img * t.TilesPerImage;
                        for (int grp = 0; grp < t.TilesPerImage / 8; grp++)
                        {
                            var (ty, tx, halfRows, halfCols) = t.Group(grp);
                            int delta = halfRows * 2 * rs + halfCols, at = 2 * ty * rs + tx;
                            Vector256<float> y00 = Load8(ge + at, delta), y01 = Load8(go + at, delta);
                            Vector256<float> y10 = Load8(ge + at + rs, delta), y11 = Load8(go + at + rs, delta);
                            // Rows of A dY: y0, y0 + y1, y0 − y1, −y1; then the same along each row.
                            GradientRow(d + grp * 8, plane, y00, y01);
                            GradientRow(d + grp * 8 + 4 * plane, plane, y00 + y10, y01 + y11);
                            GradientRow(d + grp * 8 + 8 * plane, plane, y00 - y10, y01 - y11);
                            GradientRow(d + grp * 8 + 12 * plane, plane, -y10, -y11);
                        }
                    }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRow(float* dst, long plane, Vector256<float> r0, Vector256<float> r1)
    {
        Vector256.Store(r0, dst);
        Vector256.Store(r0 + r1, dst + plane);
        Vector256.Store(r0 - r1, dst + 2 * plane);
        Vector256.Store(-r1, dst + 3 * plane);
    }

    /// <summary>gw[k, c] += Gᵀ du[·][k][c] G (3×3 from 4×4) with du the sum of the workers' partial sums, 8 input
    /// channels at a time.</summary>
    private static void AddFilterGradient(float[][] sums, float[] gw, long gwOffset, int cout, int cin)
    {
        long plane = XiStride(cout, cin);
        var handles = new System.Runtime.InteropServices.GCHandle[sums.Length];
        for (int i = 0; i < sums.Length; i++) handles[i] = System.Runtime.InteropServices.GCHandle.Alloc(sums[i], System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            float* s0 = (float*)handles[0].AddrOfPinnedObject();
            float* s1 = sums.Length > 1 ? (float*)handles[1].AddrOfPinnedObject() : null;
            CpuBackend.ParallelRows(cout, cin * 60 * sums.Length, (gw, gwOffset, cin, plane, sums, handles, s0: (nint)s0, s1: (nint)s1), static (state, k0, k1) =>
            {
                var (gw, gwOffset, cin, plane, sums, handles, s0Address, s1Address) = state;
                float* s0 = (float*)s0Address;
                float* s1 = (float*)s1Address;
                fixed (float* pw = gw)
                {
                    float* outv = stackalloc float[9 * 8];
                    Vector256<float>* d = stackalloc Vector256<float>[16];
                    var half = Vector256.Create(0.5f);
                    for (int k = k0; k < k1; k++)
                        for (int c = 0; c < cin; c += 8)
                        {
                            int lanes = Math.Min(8, cin - c);
                            long at = (long)k * cin + c;
                            for (int xi = 0; xi < 16; xi++, at += plane)
                            {
                                Vector256<float> sum = lanes == 8 ? Vector256.Load(s0 + at) : Partial(s0 + at, lanes);
                                if (s1 != null) sum += lanes == 8 ? Vector256.Load(s1 + at) : Partial(s1 + at, lanes);
                                for (int i = 2; i < sums.Length; i++)
                                    sum += Partial((float*)handles[i].AddrOfPinnedObject() + at, lanes);
                                d[xi] = sum;
                            }
                            for (int j = 0; j < 4; j++)
                            {
                                // Gᵀ down column j: rows u0 + (u1 + u2)/2, (u1 − u2)/2, (u1 + u2)/2 + u3.
                                Vector256<float> u0 = d[j], u1 = d[4 + j], u2 = d[8 + j], u3 = d[12 + j];
                                Vector256<float> sum = (u1 + u2) * half;
                                d[j] = u0 + sum;
                                d[4 + j] = (u1 - u2) * half;
                                d[8 + j] = sum + u3;
                            }
                            for (int a = 0; a < 3; a++)
                            {
                                Vector256<float> t0 = d[4 * a], t1 = d[4 * a + 1], t2 = d[4 * a + 2], t3 = d[4 * a + 3];
                                Vector256<float> sum = (t1 + t2) * half;
                                Vector256.Store(t0 + sum, outv + (3 * a) * 8);
                                Vector256.Store((t1 - t2) * half, outv + (3 * a + 1) * 8);
                                Vector256.Store(sum + t3, outv + (3 * a + 2) * 8);
                            }
                            float* g = pw + gwOffset + ((long)k * cin + c) * 9;
                            if (lanes == 8)
                            {
                                // The 8 filters' 72 taps are contiguous in gw: gather them filter-major from the
                                // tap-major results and add 8 at a time.
                                for (int q = 0; q < 9; q++)
                                {
                                    var idx = Vector256.Load(FilterMajor + 8 * q);
                                    Vector256.Store(Vector256.Load(g + 8 * q) + Avx2.GatherVector256(outv, idx, 4), g + 8 * q);
                                }
                            }
                            else
                            {
                                for (int l = 0; l < lanes; l++)
                                    for (int tap = 0; tap < 9; tap++) g[l * 9 + tap] += outv[tap * 8 + l];
                            }
                        }
                }
            });
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    /// <summary>For element e = 9·l + tap of 8 consecutive filters, its place tap·8 + l in the tap-major results.</summary>
    private static readonly int* FilterMajor = MakeFilterMajor();

    private static int* MakeFilterMajor()
    {
        int* table = (int*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(72 * sizeof(int), 32);
        for (int e = 0; e < 72; e++) table[e] = e % 9 * 8 + e / 9;
        return table;
    }

    private static Vector256<float> Partial(float* p, int count)
    {
        var v = Vector256<float>.Zero;
        for (int i = 0; i < count; i++) v = v.WithElement(i, p[i]);
        return v;
    }

    /// <summary>U[ξ][k][c] = (G g Gᵀ)[ξ] for every filter g = w[k, c], 8 input channels at a time (stride-9 gathers).</summary>
    private static void TransformWeights(float[] w, long wOffset, float[] u, int cout, int cin, bool flipped)
    {
        long plane = XiStride(cout, cin);
        // Filter (k, c) and its tap j: w[k, c, j], or for the input gradient's weight w[c, k, 8 − j].
        long step = flipped ? (long)cout * 9 : 9;
        CpuBackend.ParallelRows(cout, cin * 60, (w, u, wOffset, cin, plane, step, flipped), static (state, k0, k1) =>
        {
            var (w, u, wOffset, cin, plane, step, flipped) = state;
            fixed (float* pw = w, pu = u)
            {
                var taps = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * (int)step;
                Span<Vector256<float>> gv = stackalloc Vector256<float>[9];
                Span<Vector256<float>> uv = stackalloc Vector256<float>[16];
                for (int k = k0; k < k1; k++)
                {
                    int c = 0;
                    for (; c + 8 <= cin; c += 8)
                    {
                        float* src = pw + wOffset + (flipped ? c * step + k * 9L : ((long)k * cin + c) * 9);
                        for (int j = 0; j < 9; j++) gv[j] = Avx2.GatherVector256(src + (flipped ? 8 - j : j), taps, 4);
                        Filter(gv, uv);
                        for (int xi = 0; xi < 16; xi++) Vector256.Store(uv[xi], pu + (long)xi * plane + k * cin + c);
                    }
                    for (; c < cin; c++)
                    {
                        float* src = pw + wOffset + (flipped ? c * step + k * 9L : ((long)k * cin + c) * 9);
                        for (int j = 0; j < 9; j++) gv[j] = Vector256.Create(src[flipped ? 8 - j : j]);
                        Filter(gv, uv);
                        for (int xi = 0; xi < 16; xi++) pu[(long)xi * plane + k * cin + c] = uv[xi].ToScalar();
                    }
                }
            }
        });
    }

    /// <summary>u = G g Gᵀ (4×4) from g (3×3), both row-major, element-wise over the vector lanes.</summary>
    private static void Filter(ReadOnlySpan<Vector256<float>> g, Span<Vector256<float>> u)
    {
        var half = Vector256.Create(0.5f);
        Span<Vector256<float>> t = stackalloc Vector256<float>[12];
        for (int b = 0; b < 3; b++)
        {
            Vector256<float> g0 = g[b], g1 = g[3 + b], g2 = g[6 + b];
            t[b] = g0;
            t[3 + b] = (g0 + g1 + g2) * half;
            t[6 + b] = (g0 - g1 + g2) * half;
            t[9 + b] = g2;
        }
        for (int i = 0; i < 4; i++)
        {
            Vector256<float> t0 = t[3 * i], t1 = t[3 * i + 1], t2 = t[3 * i + 2];
            u[4 * i] = t0;
            u[4 * i + 1] = (t0 + t1 + t2) * half;
            u[4 * i + 2] = (t0 - t1 + t2) * half;
            u[4 * i + 3] = t2;
        }
    }

    /// <summary>V[ξ][c][tile] = (Bᵀ d B)[ξ] for every tile's 4×4 input patch d, for images [first, first + count):
    /// tiles numbered from the chunk's first image. Each plane is first split into its even and odd padded columns.</summary>
    private static void TransformInput(float[] x, long xOffset, float* v, int first, int count, int cin, ConvGeometry g, Tiling t)
    {
        int h = g.Input[1], wIn = g.Input[2], pb = g.PadBefore[1], pw = g.PadBefore[2];
        int tt = count * t.TilesPerImage, half = t.Hq * t.Rsq;
        long plane = XiStride(cin, tt);
        float[] scratch = ArrayPool<float>.Shared.Rent(2 * half + 8);
        try
        {
            Array.Clear(scratch, 0, 2 * half + 8);
            fixed (float* px = x, q = scratch)
            {
                float* qe = q, qo = q + half;
                // The input's rows and columns that land inside the scratch (the rest stays zero).
                int r0 = Math.Max(0, -pb), r1 = Math.Min(h, t.Hq - pb);
                int j0 = Math.Max(0, -pw), j1 = Math.Min(wIn, 2 * t.Rsq - pw);
                for (int c = 0; c < cin; c++)
                    for (int img = 0; img < count; img++)
                    {
                        float* src = px + xOffset + ((long)(first + img) * cin + c) * h * wIn;
                        for (int r = r0; r < r1; r++)
                        {
                            float* row = src + (long)r * wIn;
                            int pr = (r + pb) * t.Rsq;
                            Split(row, j0, j1, pw, qe + pr, qo + pr);
                        }
                        float* dst = v + (long)c * tt + (long)img * t.TilesPerImage;
                        for (int grp = 0; grp < t.TilesPerImage / 8; grp++)
                            InputGroup(qe, qo, t, grp, dst + grp * 8, plane);
                    }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>Input columns [j0, j1) of one row to padded columns j + pw: even ones to <paramref name="even"/>[pc/2],
    /// odd ones to <paramref name="odd"/>[pc/2]; 16 or 8 at a time with shuffles. When j0 + pw is odd, the row's even
    /// elements are the odd columns (and its odd elements the next even ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(float* row, int j0, int j1, int pw, float* even, float* odd)
    {
        int j = j0, p = j0 + pw;
        // Where the row's even-indexed elements (from j0) go, and its odd-indexed ones.
        float* first = (p & 1) == 0 ? even + (p >> 1) : odd + (p >> 1);
        float* second = (p & 1) == 0 ? odd + (p >> 1) : even + ((p + 1) >> 1);
        for (; j + 16 <= j1; j += 16, first += 8, second += 8)
        {
            Vector256<float> a = Vector256.Load(row + j), b = Vector256.Load(row + j + 8);
            // Per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit quarters reordered to a0 a2 a4 a6 b0 b2 b4 b6.
            Vector256.Store(Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle(), first);
            Vector256.Store(Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle(), second);
        }
        if (j + 8 <= j1)
        {
            Vector256<float> a = Vector256.Load(row + j);
            Vector128.Store(Avx2.Permute4x64(Avx.Shuffle(a, a, 0x88).AsDouble(), 0xD8).AsSingle().GetLower(), first);
            Vector128.Store(Avx2.Permute4x64(Avx.Shuffle(a, a, 0xDD).AsDouble(), 0xD8).AsSingle().GetLower(), second);
            j += 8;
            first += 4;
            second += 4;
        }
        for (int i = 0; j < j1; j++, i++)
        {
            if ((i & 1) == 0) first[i >> 1] = row[j];
            else second[i >> 1] = row[j];
        }
    }

    /// <summary>Two 4-wide halves of a tile group: at <paramref name="p"/> and <paramref name="delta"/> past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load8(float* p, int delta) =>
        Vector256.Create(Vector128.Load(p), Vector128.Load(p + delta));

    private static void InputGroup(float* qe, float* qo, Tiling t, int grp, float* dst, long plane)
    {
        var (ty, tx, halfRows, halfCols) = t.Group(grp);
        int delta = halfRows * 2 * t.Rsq + halfCols, at = 2 * ty * t.Rsq + tx;
        Row(qe, qo, at, delta, out var a0, out var a1, out var a2, out var a3);
        Row(qe, qo, at + t.Rsq, delta, out var b0, out var b1, out var b2, out var b3);
        Row(qe, qo, at + 2 * t.Rsq, delta, out var c0, out var c1, out var c2, out var c3);
        Row(qe, qo, at + 3 * t.Rsq, delta, out var d0, out var d1, out var d2, out var d3);
        // Bᵀ down the columns: rows 0–3 of the result are r0 − r2, r1 + r2, r2 − r1, r1 − r3.
        Column(dst, plane, a0, b0, c0, d0);
        Column(dst + plane, plane, a1, b1, c1, d1);
        Column(dst + 2 * plane, plane, a2, b2, c2, d2);
        Column(dst + 3 * plane, plane, a3, b3, c3, d3);
    }

    /// <summary>One patch row times B for 8 tiles: its columns d0..d3 are the even and odd padded columns at the
    /// tile index and one past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* qe, float* qo, int at, int delta,
        out Vector256<float> h0, out Vector256<float> h1, out Vector256<float> h2, out Vector256<float> h3)
    {
        Vector256<float> e0 = Load8(qe + at, delta), o0 = Load8(qo + at, delta);
        Vector256<float> e1 = Load8(qe + at + 1, delta), o1 = Load8(qo + at + 1, delta);
        h0 = e0 - e1;
        h1 = o0 + e1;
        h2 = e1 - o0;
        h3 = o0 - o1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column(float* dst, long plane, Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3)
    {
        Vector256.Store(r0 - r2, dst);
        Vector256.Store(r1 + r2, dst + 4 * plane);
        Vector256.Store(r2 - r1, dst + 8 * plane);
        Vector256.Store(r1 - r3, dst + 12 * plane);
    }

    /// <summary>y[n, k] tiles = Aᵀ m A from the 16 products of each tile, for images [first, first + count).</summary>
    private static void TransformOutput(float* m, float[] y, long yOffset, int first, int count, int cout, Tiling t)
    {
        int tt = count * t.TilesPerImage;
        long plane = XiStride(cout, tt);
        fixed (float* py = y)
            for (int k = 0; k < cout; k++)
                for (int img = 0; img < count; img++)
                {
                    float* src = m + (long)k * tt + (long)img * t.TilesPerImage;
                    float* dst = py + yOffset + ((long)(first + img) * cout + k) * t.Ho * t.Wo;
                    for (int grp = 0; grp < t.TilesPerImage / 8; grp++)
                    {
                        float* at = src + grp * 8;
                        // Aᵀ down the columns (rows m0 + m1 + m2 and m1 − m2 − m3), then along the rows.
                        Sums(at, plane, out var s00, out var s10);
                        Sums(at + plane, plane, out var s01, out var s11);
                        Sums(at + 2 * plane, plane, out var s02, out var s12);
                        Sums(at + 3 * plane, plane, out var s03, out var s13);
                        var (ty, tx, halfRows, halfCols) = t.Group(grp);
                        int row = 2 * ty, col = 2 * tx, row2 = row + 2 * halfRows, col2 = col + 2 * halfCols;
                        Vector256<float> y0 = s00 + s01 + s02, y1 = s01 - s02 - s03;
                        Vector256<float> lo = Avx.UnpackLow(y0, y1), hi = Avx.UnpackHigh(y0, y1);
                        StoreRow(dst, t, row, col, Avx.Permute2x128(lo, hi, 0x20));
                        StoreRow(dst, t, row2, col2, Avx.Permute2x128(lo, hi, 0x31));
                        y0 = s10 + s11 + s12;
                        y1 = s11 - s12 - s13;
                        lo = Avx.UnpackLow(y0, y1);
                        hi = Avx.UnpackHigh(y0, y1);
                        StoreRow(dst, t, row + 1, col, Avx.Permute2x128(lo, hi, 0x20));
                        StoreRow(dst, t, row2 + 1, col2, Avx.Permute2x128(lo, hi, 0x31));
                    }
                }
    }

    /// <summary>Aᵀ applied to one column (ξ = j, 4 + j, 8 + j, 12 + j) of 8 tiles' products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums(float* at, long plane, out Vector256<float> s0, out Vector256<float> s1)
    {
        Vector256<float> m0 = Vector256.Load(at), m1 = Vector256.Load(at + 4 * plane);
        Vector256<float> m2 = Vector256.Load(at + 8 * plane), m3 = Vector256.Load(at + 12 * plane);
        s0 = m0 + m1 + m2;
        s1 = m1 - m2 - m3;
    }

    /// <summary>Stores the 8 outputs starting at (row, col) that lie inside the Ho×Wo plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* plane, Tiling t, int row, int col, Vector256<float> values)
    {
        if (row >= t.Ho || col >= t.Wo) return;
        float* p = plane + (long)row * t.Wo + col;
        int valid = t.Wo - col;
        if (valid >= 8)
        {
            Vector256.Store(values, p);
            return;
        }
        for (int i = 0; i < valid; i++) p[i] = values.GetElement(i);
    }
}
