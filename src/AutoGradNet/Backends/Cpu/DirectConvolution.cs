using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoGradNet.Backends.Cpu;

/// <summary>
/// A direct float32 convolution for a few output channels (1–7), stride 1, 1-D or 2-D:
/// y[n, co, oy, ox] = Σ_{ci, ky, kx} w[co, ci, ky, kx] · x[n, ci, oy + dy·ky − py, ox + dx·kx − px].
/// <para>
/// A GEMM has nothing to block with so few output channels: as the GEMM's rows they fill part of one micro-tile, and
/// as its columns a fraction of one vector, so such layers went through im2col, writing and re-reading a column
/// matrix K times the size of the output. Here one register tile holds up to 3 output channels × 4 vectors of output
/// columns (12 accumulators: ymm with AVX2, zmm with AVX-512); each step over (input channel, tap) loads 4 input
/// vectors and broadcasts 3 weights for 12 FMAs, so the loop runs at the FMA units' rate. A tile's 4 vectors are the
/// next 4 of the band's output rows read vector by vector, so rows narrower than 4 vectors (32 columns in zmm) still
/// fill the tile, from two or more rows. It serves the input gradient of a layer with few input
/// channels (an RGB stem: 3 channels from 64) and forward layers with few filters.
/// </para>
/// <para>
/// Work is split by sample and band of output rows. Each unit copies the input rows its band reads, zero-padded, into
/// a per-thread scratch whose rows are padded to whole vectors, so a tile's loads never need a bound; the columns a
/// tile computes past the output's width are dropped at the store. Input channels are taken in blocks whose copy fits
/// in L2, the later blocks adding to what the earlier ones stored.
/// </para>
/// </summary>
internal static unsafe class DirectConvolution
{
    /// <summary>Output channels from which the implicit GEMM takes over (its micro-tile has 6 rows).</summary>
    public const int MaxOutputChannels = 7;

    /// <summary>Output channels per register tile.</summary>
    private const int TileChannels = 3;

    /// <summary>Vectors of output columns per register tile.</summary>
    private const int TileVectors = 4;

    /// <summary>Floats per tile vector: 16 with zmm (<see cref="VectorWidth.Wide"/>), 8 with ymm.</summary>
    private static int VW
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => VectorWidth.Wide ? 16 : 8;
    }

    /// <summary>Floats per ymm vector, the unit of the padding copy.</summary>
    private const int W = 8;

    /// <summary>Floats of slack after the scratch's last row: the padding copy's and the last tile's overreach.</summary>
    private const int Slack = 32;

    /// <summary>Floats of padded input one unit keeps per channel block (192 KiB: with the weights and the output
    /// rows it stays in a 512 KiB L2).</summary>
    private const int ScratchFloats = 48 * 1024;

    /// <summary>On unless the environment sets <c>AUTOGRADNET_DIRECT=0</c> (then such layers take im2col; the
    /// benchmarks compare the two that way).</summary>
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("AUTOGRADNET_DIRECT") != "0";

    private static long s_calls;

    /// <summary>Calls of <see cref="Run"/> so far in this process (tests check that a shape took this path).</summary>
    internal static long Calls => Interlocked.Read(ref s_calls);

    [ThreadStatic] private static float[]? t_scratch;

    /// <summary>The calling thread's packed weights (the workers only read them while the call runs).</summary>
    [ThreadStatic] private static float[]? t_weights;

    /// <summary>Whether a convolution with this geometry and <paramref name="cout"/> output channels runs here.</summary>
    public static bool Applies(ConvGeometry g, int groups, int cout) =>
        Enabled && Avx2.IsSupported && Fma.IsSupported && groups == 1 && cout >= 1 && cout <= MaxOutputChannels
        && g.Input[0] == 1 && g.Output[0] == 1 && g.Kernel[0] == 1 && g.PadBefore[0] == 0
        && g.PadBefore[1] >= 0 && g.PadBefore[2] >= 0 && g.Stride[1] == 1 && g.Stride[2] == 1;

    /// <summary>
    /// y [n, cout, output] = the convolution of x [n, cin, input] with w. w is [cout, cin, kh, kw], or with
    /// <paramref name="flippedWeights"/> the weight of the convolution whose input gradient this is, [cin, cout, kh, kw]
    /// read flipped in space and transposed.
    /// </summary>
    public static void Run(float[] x, long xOffset, float[] w, long wOffset, float[] y, long yOffset,
        int n, int cin, int cout, ConvGeometry g, bool flippedWeights)
    {
        Interlocked.Increment(ref s_calls);
        int kh = g.Kernel[1], kw = g.Kernel[2], taps = kh * kw;
        var packed = t_weights is { } spare && spare.Length >= cout * cin * taps ? spare : t_weights = new float[cout * cin * taps];
        PackWeights(w, wOffset, packed, cin, cout, taps, flippedWeights);
        int ho = g.Output[1], threads = Environment.ProcessorCount;
        // Bands of rows when there are fewer samples than two per thread (batch 1 still uses every core), and small
        // enough that one channel of a band's padded rows fits the scratch.
        int bands = n >= 2 * threads ? 1 : (2 * threads + n - 1) / n;
        bands = Math.Min(ho, Math.Max(bands, (int)((long)Rows(g, ho) * PaddedWidth(g) / ScratchFloats) + 1));
        long costPerUnit = (long)cin * cout * taps * g.OutputSize / bands;
        CpuBackend.ParallelRows(n * bands, (int)Math.Min(int.MaxValue, costPerUnit), (x, xOffset, packed, y, yOffset, cin, cout, g, bands),
            static (s, u0, u1) =>
            {
                var (x, xOffset, packed, y, yOffset, cin, cout, g, bands) = s;
                int ho = g.Output[1];
                fixed (float* px = x, pw = packed, py = y)
                    for (int u = u0; u < u1; u++)
                    {
                        int sample = u / bands, band = u % bands;
                        int oy0 = (int)((long)ho * band / bands), oy1 = (int)((long)ho * (band + 1) / bands);
                        if (oy0 == oy1) continue;
                        Unit(px + xOffset + (long)sample * cin * g.InputSize, pw, py + yOffset + (long)sample * cout * g.OutputSize,
                            cin, cout, g, oy0, oy1);
                    }
            });
    }

    /// <summary>The padded input rows a band of <paramref name="outputRows"/> output rows reads.</summary>
    private static int Rows(ConvGeometry g, int outputRows) => outputRows + g.Dilation[1] * (g.Kernel[1] - 1);

    /// <summary>The scratch's row length: the output's width rounded up to whole tile vectors, plus the kernel's
    /// reach.</summary>
    private static int PaddedWidth(ConvGeometry g) => (g.Output[2] + VW - 1) / VW * VW + g.Dilation[2] * (g.Kernel[2] - 1);

    /// <summary>
    /// packed[co0·cin·taps + (ci·taps + t)·r + j] = weight (co0 + j, ci, t) for the tile of r ≤ 3 channels starting at
    /// co0: the r values one step broadcasts are adjacent.
    /// </summary>
    private static void PackWeights(float[] w, long wOffset, float[] packed, int cin, int cout, int taps, bool flipped)
    {
        for (int co0 = 0; co0 < cout; co0 += TileChannels)
        {
            int r = Math.Min(TileChannels, cout - co0);
            for (int ci = 0; ci < cin; ci++)
                for (int t = 0; t < taps; t++)
                    for (int j = 0; j < r; j++)
                    {
                        int co = co0 + j;
                        // Flipped: w is [cin', cout', taps] of the forward layer, whose cout' are our cin.
                        long from = flipped
                            ? wOffset + ((long)ci * cout + co) * taps + (taps - 1 - t)
                            : wOffset + ((long)co * cin + ci) * taps + t;
                        packed[(long)co0 * cin * taps + ((long)ci * taps + t) * r + j] = w[from];
                    }
        }
    }

    private static void Unit(float* x, float* packed, float* y, int cin, int cout, ConvGeometry g, int oy0, int oy1)
    {
        int kh = g.Kernel[1], kw = g.Kernel[2], taps = kh * kw, dy = g.Dilation[1], dx = g.Dilation[2];
        int wo = g.Output[2], wp = PaddedWidth(g), rows = Rows(g, oy1 - oy0), plane = rows * wp;
        int block = Math.Max(1, Math.Min(cin, ScratchFloats / plane));
        float* scratch = Scratch(block * plane + Slack);
        int* tapOffsets = stackalloc int[taps];
        for (int t = 0; t < taps; t++) tapOffsets[t] = t / kw * dy * wp + t % kw * dx;
        // The band's output read vector by vector, row after row: vector q is column vector q % perRow of row q / perRow.
        int perRow = (wo + VW - 1) / VW, vectors = (oy1 - oy0) * perRow;
        var at = stackalloc Tile.Vector[TileVectors];
        float* lanes = stackalloc float[16]; // one zmm of floats: a partial vector's store goes through it
        for (int ci0 = 0; ci0 < cin; ci0 += block)
        {
            int cb = Math.Min(block, cin - ci0);
            for (int ci = 0; ci < cb; ci++)
                PadPlane(x + (long)(ci0 + ci) * g.InputSize, scratch + (long)ci * plane, g, oy0 - g.PadBefore[1], rows, wp);
            bool accumulate = ci0 > 0;
            for (int co0 = 0; co0 < cout; co0 += TileChannels)
            {
                int r = Math.Min(TileChannels, cout - co0);
                float* w = packed + (long)co0 * cin * taps + (long)ci0 * taps * r;
                float* yBlock = y + (long)co0 * g.OutputSize + (long)oy0 * wo;
                for (int q0 = 0; q0 < vectors; q0 += TileVectors)
                {
                    int v = Math.Min(TileVectors, vectors - q0);
                    for (int j = 0; j < v; j++)
                    {
                        int row = (q0 + j) / perRow, x0 = (q0 + j) % perRow * VW;
                        at[j] = new(row * wp + x0, row * wo + x0, Math.Min(VW, wo - x0));
                    }
                    var tile = new Tile(scratch, plane, w, cb, taps, tapOffsets, yBlock, g.OutputSize, at, lanes, accumulate);
                    if (VectorWidth.Wide) tile.Run<Vector512<float>, V512<float>>(r, v);
                    else tile.Run<Vector256<float>, V256<float>>(r, v);
                }
            }
        }
    }

    /// <summary>Writes padded rows [0, rows) of one channel, padded row i holding input row <paramref name="firstRow"/>
    /// + i (zeros outside the input), its input columns at the left padding and zeros around them. Rows are short
    /// (tens of floats), so each is written with whole vectors: zeros under the left padding, the input, zeros from its
    /// end (rows outside the input: zeros only); a zero vector may spill up to W − 1 floats into what is written after
    /// it (the input, the next row, the next channel's plane) or the scratch's slack. Writing the interior once instead
    /// of zeroing it first took the stem's input gradient from 0.71–0.75 to 0.65–0.68 ms (AVX-512 Xeon).</summary>
    internal static void PadPlane(float* src, float* dst, ConvGeometry g, int firstRow, int rows, int wp)
    {
        int h = g.Input[1], wi = g.Input[2], left = g.PadBefore[2];
        // Input columns [0, count) land at padded columns [left, left + count) of the row.
        int count = Math.Min(wi, wp - left);
        for (int i = 0; i < rows; i++, dst += wp)
        {
            int iy = firstRow + i;
            if ((uint)iy >= (uint)h || count <= 0)
            {
                for (int j = 0; j < wp; j += W) Vector256.Store(Vector256<float>.Zero, dst + j);
                continue;
            }
            // A row of input: zero vectors under the left padding (what they write past it, the input overwrites), the
            // input, then zero vectors from its end: the interior is written once instead of zeroed first.
            for (int j = 0; j < left; j += W) Vector256.Store(Vector256<float>.Zero, dst + j);
            float* from = src + (long)iy * wi, to = dst + left;
            int j0 = 0;
            for (; j0 + W <= count; j0 += W) Vector256.Store(Vector256.Load(from + j0), to + j0);
            if (j0 < count && count >= W) Vector256.Store(Vector256.Load(from + count - W), to + count - W);
            else for (; j0 < count; j0++) to[j0] = from[j0];
            for (int j = left + count; j < wp; j += W) Vector256.Store(Vector256<float>.Zero, dst + j);
        }
    }

    private static float* Scratch(int elements)
    {
        float[]? buffer = t_scratch;
        if (buffer is null || buffer.Length < elements)
            t_scratch = buffer = GC.AllocateUninitializedArray<float>(Math.Max(elements, ScratchFloats + Slack), pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
    }

    /// <summary>One register tile: R ≤ 3 output channels × V ≤ 4 vectors of output columns, each vector anywhere in
    /// the band (<see cref="Vector"/>).</summary>
    private readonly struct Tile(float* input, int plane, float* weights, int channels, int taps, int* tapOffsets,
        float* output, long outputPlane, Tile.Vector* at, float* lanes, bool accumulate)
    {
        /// <summary>Where one tile vector reads (from a tap's position in the padded rows) and writes (from the
        /// band's first output element), and how many of its lanes are output columns.</summary>
        public readonly record struct Vector(int Input, int Output, int Lanes);

        /// <summary>Runs the tile for <paramref name="r"/> channels and <paramref name="v"/> vectors.</summary>
        public void Run<TV, TO>(int r, int v) where TV : struct where TO : struct, IVector<float, TV>
        {
            switch (r * 4 + v)
            {
                case 4 + 1: Run<One, One, TV, TO>(); break;
                case 4 + 2: Run<One, Two, TV, TO>(); break;
                case 4 + 3: Run<One, Three, TV, TO>(); break;
                case 4 + 4: Run<One, Four, TV, TO>(); break;
                case 8 + 1: Run<Two, One, TV, TO>(); break;
                case 8 + 2: Run<Two, Two, TV, TO>(); break;
                case 8 + 3: Run<Two, Three, TV, TO>(); break;
                case 8 + 4: Run<Two, Four, TV, TO>(); break;
                case 12 + 1: Run<Three, One, TV, TO>(); break;
                case 12 + 2: Run<Three, Two, TV, TO>(); break;
                case 12 + 3: Run<Three, Three, TV, TO>(); break;
                default: Run<Three, Four, TV, TO>(); break;
            }
        }

        private void Run<R, V, TV, TO>() where R : struct, ICount where V : struct, ICount
            where TV : struct where TO : struct, IVector<float, TV>
        {
            TV c00 = default, c01 = default, c02 = default, c03 = default;
            TV c10 = default, c11 = default, c12 = default, c13 = default;
            TV c20 = default, c21 = default, c22 = default, c23 = default;
            nint i0 = at[0].Input, i1 = V.Count > 1 ? at[1].Input : 0, i2 = V.Count > 2 ? at[2].Input : 0, i3 = V.Count > 3 ? at[3].Input : 0;
            float* w = weights;
            for (int ci = 0; ci < channels; ci++)
            {
                float* src = input + (long)ci * plane;
                for (int t = 0; t < taps; t++, w += R.Count)
                {
                    float* p = src + tapOffsets[t];
                    TV w0 = TO.Broadcast(w[0]);
                    TV w1 = R.Count > 1 ? TO.Broadcast(w[1]) : default;
                    TV w2 = R.Count > 2 ? TO.Broadcast(w[2]) : default;
                    TV b = TO.Load(p + i0);
                    c00 = TO.MulAdd(w0, b, c00);
                    if (R.Count > 1) c10 = TO.MulAdd(w1, b, c10);
                    if (R.Count > 2) c20 = TO.MulAdd(w2, b, c20);
                    if (V.Count > 1)
                    {
                        b = TO.Load(p + i1);
                        c01 = TO.MulAdd(w0, b, c01);
                        if (R.Count > 1) c11 = TO.MulAdd(w1, b, c11);
                        if (R.Count > 2) c21 = TO.MulAdd(w2, b, c21);
                    }
                    if (V.Count > 2)
                    {
                        b = TO.Load(p + i2);
                        c02 = TO.MulAdd(w0, b, c02);
                        if (R.Count > 1) c12 = TO.MulAdd(w1, b, c12);
                        if (R.Count > 2) c22 = TO.MulAdd(w2, b, c22);
                    }
                    if (V.Count > 3)
                    {
                        b = TO.Load(p + i3);
                        c03 = TO.MulAdd(w0, b, c03);
                        if (R.Count > 1) c13 = TO.MulAdd(w1, b, c13);
                        if (R.Count > 2) c23 = TO.MulAdd(w2, b, c23);
                    }
                }
            }
            StoreChannel<V, TV, TO>(output, c00, c01, c02, c03);
            if (R.Count > 1) StoreChannel<V, TV, TO>(output + outputPlane, c10, c11, c12, c13);
            if (R.Count > 2) StoreChannel<V, TV, TO>(output + 2 * outputPlane, c20, c21, c22, c23);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreChannel<V, TV, TO>(float* channel, TV v0, TV v1, TV v2, TV v3)
            where V : struct, ICount where TV : struct where TO : struct, IVector<float, TV>
        {
            Store<TV, TO>(channel, at[0], v0);
            if (V.Count > 1) Store<TV, TO>(channel, at[1], v1);
            if (V.Count > 2) Store<TV, TO>(channel, at[2], v2);
            if (V.Count > 3) Store<TV, TO>(channel, at[3], v3);
        }

        /// <summary>Stores the output lanes of <paramref name="v"/>, added to what is there when accumulating.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store<TV, TO>(float* channel, Vector to, TV v) where TV : struct where TO : struct, IVector<float, TV>
        {
            float* dst = channel + to.Output;
            if (to.Lanes == TO.Count)
            {
                TO.Store(accumulate ? TO.Add(v, TO.Load(dst)) : v, dst);
                return;
            }
            // A partial vector goes through a small buffer (16 floats): a stackalloc here would keep this from being
            // inlined, and the call would make the JIT keep the accumulators in memory across the whole k loop.
            TO.Store(v, lanes);
            for (int i = 0; i < to.Lanes; i++) dst[i] = accumulate ? dst[i] + lanes[i] : lanes[i];
        }
    }
}
