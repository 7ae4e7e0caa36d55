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
/// matrix K times the size of the output. Here one register tile holds up to 3 output channels × 32 consecutive output
/// columns (12 ymm accumulators); each step over (input channel, tap) loads 4 input vectors and broadcasts 3 weights
/// for 12 FMAs, so the loop runs at the FMA units' rate. It serves the input gradient of a layer with few input
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

    private const int W = 8;

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

    /// <summary>The scratch's row length: the output's width rounded up to whole vectors, plus the kernel's reach.</summary>
    private static int PaddedWidth(ConvGeometry g) => (g.Output[2] + W - 1) / W * W + g.Dilation[2] * (g.Kernel[2] - 1);

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
        float* scratch = Scratch(block * plane + 2 * W);
        int* tapOffsets = stackalloc int[taps];
        for (int t = 0; t < taps; t++) tapOffsets[t] = t / kw * dy * wp + t % kw * dx;
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
                float* yBlock = y + (long)co0 * g.OutputSize;
                for (int oy = oy0; oy < oy1; oy++)
                    for (int x0 = 0; x0 < wo; x0 += TileVectors * W)
                    {
                        int cols = Math.Min(TileVectors * W, wo - x0);
                        var tile = new Tile(scratch + (oy - oy0) * wp + x0, plane, w, cb, taps, tapOffsets,
                            yBlock + (long)oy * wo + x0, g.OutputSize, cols, accumulate);
                        int vectors = (cols + W - 1) / W;
                        switch (r * 4 + vectors)
                        {
                            case 4 + 1: tile.Run<One, One>(); break;
                            case 4 + 2: tile.Run<One, Two>(); break;
                            case 4 + 3: tile.Run<One, Three>(); break;
                            case 4 + 4: tile.Run<One, Four>(); break;
                            case 8 + 1: tile.Run<Two, One>(); break;
                            case 8 + 2: tile.Run<Two, Two>(); break;
                            case 8 + 3: tile.Run<Two, Three>(); break;
                            case 8 + 4: tile.Run<Two, Four>(); break;
                            case 12 + 1: tile.Run<Three, One>(); break;
                            case 12 + 2: tile.Run<Three, Two>(); break;
                            case 12 + 3: tile.Run<Three, Three>(); break;
                            default: tile.Run<Three, Four>(); break;
                        }
                    }
            }
        }
    }

    /// <summary>Writes padded rows [0, rows) of one channel, padded row i holding input row <paramref name="firstRow"/>
    /// + i (zeros outside the input), its input columns at the left padding and zeros around them. Rows are short
    /// (tens of floats), so each is written with whole vectors: zeros over the row, then the input over them; the
    /// last zero vector may spill up to W − 1 floats into the next row (written after it) or the scratch's slack.</summary>
    private static void PadPlane(float* src, float* dst, ConvGeometry g, int firstRow, int rows, int wp)
    {
        int h = g.Input[1], wi = g.Input[2], left = g.PadBefore[2];
        // Input columns [0, count) land at padded columns [left, left + count) of the row.
        int count = Math.Min(wi, wp - left);
        for (int i = 0; i < rows; i++, dst += wp)
        {
            for (int j = 0; j < wp; j += W) Vector256.Store(Vector256<float>.Zero, dst + j);
            int iy = firstRow + i;
            if ((uint)iy >= (uint)h || count <= 0) continue;
            float* from = src + (long)iy * wi, to = dst + left;
            int j0 = 0;
            for (; j0 + W <= count; j0 += W) Vector256.Store(Vector256.Load(from + j0), to + j0);
            if (j0 < count && count >= W) Vector256.Store(Vector256.Load(from + count - W), to + count - W);
            else for (; j0 < count; j0++) to[j0] = from[j0];
        }
    }

    private static float* Scratch(int elements)
    {
        float[]? buffer = t_scratch;
        if (buffer is null || buffer.Length < elements)
            t_scratch = buffer = GC.AllocateUninitializedArray<float>(Math.Max(elements, ScratchFloats + 2 * W), pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
    }

    /// <summary>One register tile: R ≤ 3 output channels × V ≤ 4 vectors of output columns of one output row.</summary>
    private readonly struct Tile(float* input, int plane, float* weights, int channels, int taps, int* tapOffsets,
        float* output, long outputPlane, int columns, bool accumulate)
    {
        public void Run<R, V>() where R : struct, ICount where V : struct, ICount
        {
            Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
            Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
            float* w = weights;
            for (int ci = 0; ci < channels; ci++)
            {
                float* src = input + (long)ci * plane;
                for (int t = 0; t < taps; t++, w += R.Count)
                {
                    float* p = src + tapOffsets[t];
                    Vector256<float> w0 = Vector256.Create(w[0]);
                    Vector256<float> w1 = R.Count > 1 ? Vector256.Create(w[1]) : default;
                    Vector256<float> w2 = R.Count > 2 ? Vector256.Create(w[2]) : default;
                    Vector256<float> b = Vector256.Load(p);
                    c00 = Fma.MultiplyAdd(w0, b, c00);
                    if (R.Count > 1) c10 = Fma.MultiplyAdd(w1, b, c10);
                    if (R.Count > 2) c20 = Fma.MultiplyAdd(w2, b, c20);
                    if (V.Count > 1)
                    {
                        b = Vector256.Load(p + W);
                        c01 = Fma.MultiplyAdd(w0, b, c01);
                        if (R.Count > 1) c11 = Fma.MultiplyAdd(w1, b, c11);
                        if (R.Count > 2) c21 = Fma.MultiplyAdd(w2, b, c21);
                    }
                    if (V.Count > 2)
                    {
                        b = Vector256.Load(p + 2 * W);
                        c02 = Fma.MultiplyAdd(w0, b, c02);
                        if (R.Count > 1) c12 = Fma.MultiplyAdd(w1, b, c12);
                        if (R.Count > 2) c22 = Fma.MultiplyAdd(w2, b, c22);
                    }
                    if (V.Count > 3)
                    {
                        b = Vector256.Load(p + 3 * W);
                        c03 = Fma.MultiplyAdd(w0, b, c03);
                        if (R.Count > 1) c13 = Fma.MultiplyAdd(w1, b, c13);
                        if (R.Count > 2) c23 = Fma.MultiplyAdd(w2, b, c23);
                    }
                }
            }
            StoreRow<V>(output, c00, c01, c02, c03);
            if (R.Count > 1) StoreRow<V>(output + outputPlane, c10, c11, c12, c13);
            if (R.Count > 2) StoreRow<V>(output + 2 * outputPlane, c20, c21, c22, c23);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreRow<V>(float* dst, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3)
            where V : struct, ICount
        {
            Store(dst, v0, columns);
            if (V.Count > 1) Store(dst + W, v1, columns - W);
            if (V.Count > 2) Store(dst + 2 * W, v2, columns - 2 * W);
            if (V.Count > 3) Store(dst + 3 * W, v3, columns - 3 * W);
        }

        /// <summary>Stores the first <paramref name="count"/> (≥ 1) lanes of <paramref name="v"/>, added to what is
        /// there when accumulating.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(float* dst, Vector256<float> v, int count)
        {
            if (count >= W)
            {
                Vector256.Store(accumulate ? v + Vector256.Load(dst) : v, dst);
                return;
            }
            for (int i = 0; i < count; i++) dst[i] = accumulate ? dst[i] + v.GetElement(i) : v.GetElement(i);
        }
    }
}
