using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoGradNet.Backends.Cpu;

/// <summary>
/// A direct float32 weight gradient in zmm for layers with few input channels (an RGB stem, LeNet's first layer),
/// stride 1, 2-D, a whole number of 16-float vectors of output positions per channel:
/// gw[co, ci, ky, kx] += Σₙ Σ_(oy, ox) gy[n, co, oy, ox] · x[n, ci, oy + dy·ky − py, ox + dx·kx − px].
/// <para>
/// As a GEMM this product has a depth of only cin·kh·kw (27 for the stem) against a K of every output position, and
/// one of its operands, gy, is the layer's whole output gradient, which the GEMM had to pack (transpose) before using
/// it: for the stem that is 8 MB copied once more. Here gy is read in place. A register tile holds 4 output channels ×
/// up to 6 taps of 16-lane partial sums (24 zmm accumulators); each step loads 4 gy vectors and one input vector per
/// tap for 24 FMAs. The input of one sample is copied, zero-padded and once per kernel column, into a per-thread scratch
/// (tens of KB: with the 4 gy planes a tile reads it stays in L1 or L2), so a tap's loads need no bound. Tiles add their lanes into a per-unit buffer of
/// partial sums [cout, taps, 16]; the buffers' lanes are summed into gw at the end.
/// </para>
/// <para>
/// Work is split by sample: each unit takes a run of samples and its own partial-sum buffer. AVX-512 only: an AVX2
/// version (4 filters × 3 taps in ymm) measured slower than the GEMM on a Zen 2 (1.19–1.33 against 1.15–1.17 ms).
/// </para>
/// </summary>
internal static unsafe class DirectWeightGradient
{
    /// <summary>Input channels up to which a layer's weight gradient runs here.</summary>
    public const int MaxInputChannels = 4;

    /// <summary>Output channels per register tile.</summary>
    private const int TileChannels = 4;

    /// <summary>Most taps per register tile.</summary>
    private const int MaxTileTaps = 6;

    /// <summary>Floats per vector.</summary>
    private const int VW = 16;

    /// <summary>Floats of slack after the padded input (the padding copy writes whole ymm vectors).</summary>
    private const int Slack = 32;

    /// <summary>On unless the environment sets <c>AUTOGRADNET_DIRECT=0</c> (then such layers take the GEMM).</summary>
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("AUTOGRADNET_DIRECT") != "0";

    private static long s_calls;

    /// <summary>Calls of <see cref="Run"/> so far in this process (tests check that a shape took this path).</summary>
    internal static long Calls => Interlocked.Read(ref s_calls);

    [ThreadStatic] private static float[]? t_scratch;

    /// <summary>The calling thread's partial sums, one slot per unit (the workers write their own slot while the call
    /// runs).</summary>
    [ThreadStatic] private static float[]? t_partials;

    /// <summary>Whether the weight gradient of a convolution with this geometry runs here.</summary>
    public static bool Applies(ConvGeometry g, int groups, int cin, int n) =>
        Enabled && VectorWidth.Wide && Avx512F.IsSupported && groups == 1 && cin >= 1 && cin <= MaxInputChannels && n >= 1
        && g.Input[0] == 1 && g.Output[0] == 1 && g.Kernel[0] == 1 && g.PadBefore[0] == 0
        && g.PadBefore[1] >= 0 && g.PadBefore[2] >= 0 && g.Stride[1] == 1 && g.Stride[2] == 1
        && g.OutputSize % VW == 0;

    /// <summary>gw [cout, cin, kh, kw] += the weight gradient of the convolution of x [n, cin, input] whose output
    /// gradient is gy [n, cout, output].</summary>
    public static void Run(float[] x, long xOffset, float[] gy, long gyOffset, float[] gw, long gwOffset,
        int n, int cin, int cout, ConvGeometry g)
    {
        Interlocked.Increment(ref s_calls);
        int depth = cin * g.Kernel[1] * g.Kernel[2];
        int units = Math.Min(n, Environment.ProcessorCount), slot = cout * depth * VW;
        var partials = t_partials is { } spare && spare.Length >= units * slot
            ? spare : t_partials = GC.AllocateUninitializedArray<float>(units * slot, pinned: true);
        long costPerUnit = (long)cout * depth * g.OutputSize * n / units;
        CpuBackend.ParallelRows(units, (int)Math.Min(int.MaxValue, costPerUnit), (x, xOffset, gy, gyOffset, partials, n, cin, cout, g, units),
            static (s, u0, u1) =>
            {
                var (x, xOffset, gy, gyOffset, partials, n, cin, cout, g, units) = s;
                int slot = cout * cin * g.Kernel[1] * g.Kernel[2] * VW;
                fixed (float* px = x, pgy = gy, pp = partials)
                    for (int u = u0; u < u1; u++)
                    {
                        int n0 = (int)((long)n * u / units), n1 = (int)((long)n * (u + 1) / units);
                        Unit(px + xOffset, pgy + gyOffset, pp + (long)u * slot, n0, n1, cin, cout, g);
                    }
            });
        fixed (float* pp = partials, pw = gw)
            for (int i = 0; i < cout * depth; i++)
            {
                var sum = Vector512.Load(pp + (long)i * VW);
                for (int u = 1; u < units; u++) sum += Vector512.Load(pp + (long)u * slot + (long)i * VW);
                pw[gwOffset + i] += Vector512.Sum(sum);
            }
    }

    /// <summary>
    /// Samples [n0, n1): their partial sums into <paramref name="partial"/> [cout, depth, 16]. Each sample's input is
    /// first padded (<see cref="DirectConvolution.PadPlane"/>), then copied once per kernel column kx, shifted by kx's
    /// reach and with rows of exactly the output's width: copy (ci, kx) row r holds padded row r from column dx·kx.
    /// Output position p = oy·wo + ox then reads tap (ci, ky, kx) at p + dy·ky·wo of that copy, so a tile runs one flat
    /// loop over the positions, and with a width of whole vectors every input load is aligned (unaligned loads, each
    /// split across two cache lines, made the stem's weight gradient 10 % slower).
    /// </summary>
    private static void Unit(float* x, float* gy, float* partial, int n0, int n1, int cin, int cout, ConvGeometry g)
    {
        int kh = g.Kernel[1], kw = g.Kernel[2], dy = g.Dilation[1], dx = g.Dilation[2], depth = cin * kh * kw;
        int ho = g.Output[1], wo = g.Output[2], positions = ho * wo;
        int hp = ho + dy * (kh - 1), wp = wo + dx * (kw - 1);
        // Each copy starts on a whole vector; the padded plane comes after the copies, a vector's gap between them
        // (the copies' row stores spill up to 7 floats).
        int copy = (hp * wo + VW - 1) / VW * VW, copies = cin * kw * copy;
        float* scratch = Scratch(copies + VW + hp * wp + Slack), padded = scratch + copies + VW;
        int* tapOffsets = stackalloc int[depth];
        for (int t = 0; t < depth; t++)
        {
            int ci = t / (kh * kw), tap = t % (kh * kw);
            tapOffsets[t] = (ci * kw + tap % kw) * copy + tap / kw * dy * wo;
        }
        new Span<float>(partial, cout * depth * VW).Clear();
        // Taps in tiles of at most 6, as even as possible (27 taps: 6, 6, 5, 5, 5).
        int tapTiles = (depth + MaxTileTaps - 1) / MaxTileTaps;
        for (int s = n0; s < n1; s++)
        {
            for (int ci = 0; ci < cin; ci++)
            {
                DirectConvolution.PadPlane(x + ((long)s * cin + ci) * g.InputSize, padded, g, -g.PadBefore[1], hp, wp);
                for (int kx = 0; kx < kw; kx++)
                    ShiftedRows(padded + kx * dx, wp, scratch + (long)(ci * kw + kx) * copy, wo, hp);
            }
            float* gys = gy + (long)s * cout * g.OutputSize;
            for (int co0 = 0; co0 < cout; co0 += TileChannels)
            {
                int r = Math.Min(TileChannels, cout - co0);
                for (int k = 0; k < tapTiles; k++)
                {
                    int t0 = (int)((long)depth * k / tapTiles), t1 = (int)((long)depth * (k + 1) / tapTiles);
                    var tile = new Tile(gys + (long)co0 * g.OutputSize, g.OutputSize, r, scratch, tapOffsets + t0,
                        partial + ((long)co0 * depth + t0) * VW, depth * VW, positions);
                    switch (t1 - t0)
                    {
                        case 1: tile.Run<One>(); break;
                        case 2: tile.Run<Two>(); break;
                        case 3: tile.Run<Three>(); break;
                        case 4: tile.Run<Four>(); break;
                        case 5: tile.Run<Five>(); break;
                        default: tile.Run<Six>(); break;
                    }
                }
            }
        }
    }

    /// <summary>dst [rows, width] = the first <paramref name="width"/> columns of src [rows, stride], written with whole
    /// ymm vectors (a row's last store may spill up to 7 floats past it, into what is written next).</summary>
    private static void ShiftedRows(float* src, int stride, float* dst, int width, int rows)
    {
        for (int r = 0; r < rows; r++, src += stride, dst += width)
            for (int j = 0; j < width; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
    }

    /// <summary>The calling thread's scratch of at least <paramref name="elements"/> floats, starting on a 64-byte
    /// boundary.</summary>
    private static float* Scratch(int elements)
    {
        float[]? buffer = t_scratch;
        if (buffer is null || buffer.Length < elements + VW)
            t_scratch = buffer = GC.AllocateUninitializedArray<float>(elements + VW, pinned: true);
        nint at = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((at + 63) & ~(nint)63);
    }

    /// <summary>
    /// One register tile: r ≤ 4 output channels (the rest of the 4 read channel r − 1 again and are dropped) × T ≤ 6
    /// taps. Adds Σ over one sample's output positions p of gy[c, p] · input[tap offset + p], in 16 lanes, to the
    /// partial sums partial[c · channelStride + t · 16].
    /// </summary>
    private readonly struct Tile(float* gy, long gyPlane, int r, float* input, int* tapOffsets, float* partial,
        int channelStride, int positions)
    {
        public void Run<T>() where T : struct, ICount
        {
            float* g0 = gy, g1 = gy + Math.Min(1, r - 1) * gyPlane, g2 = gy + Math.Min(2, r - 1) * gyPlane, g3 = gy + Math.Min(3, r - 1) * gyPlane;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default;
            nint o0 = tapOffsets[0], o1 = T.Count > 1 ? tapOffsets[1] : 0, o2 = T.Count > 2 ? tapOffsets[2] : 0;
            nint o3 = T.Count > 3 ? tapOffsets[3] : 0, o4 = T.Count > 4 ? tapOffsets[4] : 0, o5 = T.Count > 5 ? tapOffsets[5] : 0;
            for (nint p = 0; p < positions; p += VW)
            {
                var y0 = Vector512.Load(g0 + p);
                var y1 = Vector512.Load(g1 + p);
                var y2 = Vector512.Load(g2 + p);
                var y3 = Vector512.Load(g3 + p);
                float* xp = input + p;
                var v = Vector512.Load(xp + o0);
                a00 = Avx512F.FusedMultiplyAdd(y0, v, a00);
                a10 = Avx512F.FusedMultiplyAdd(y1, v, a10);
                a20 = Avx512F.FusedMultiplyAdd(y2, v, a20);
                a30 = Avx512F.FusedMultiplyAdd(y3, v, a30);
                if (T.Count > 1)
                {
                    v = Vector512.Load(xp + o1);
                    a01 = Avx512F.FusedMultiplyAdd(y0, v, a01);
                    a11 = Avx512F.FusedMultiplyAdd(y1, v, a11);
                    a21 = Avx512F.FusedMultiplyAdd(y2, v, a21);
                    a31 = Avx512F.FusedMultiplyAdd(y3, v, a31);
                }
                if (T.Count > 2)
                {
                    v = Vector512.Load(xp + o2);
                    a02 = Avx512F.FusedMultiplyAdd(y0, v, a02);
                    a12 = Avx512F.FusedMultiplyAdd(y1, v, a12);
                    a22 = Avx512F.FusedMultiplyAdd(y2, v, a22);
                    a32 = Avx512F.FusedMultiplyAdd(y3, v, a32);
                }
                if (T.Count > 3)
                {
                    v = Vector512.Load(xp + o3);
                    a03 = Avx512F.FusedMultiplyAdd(y0, v, a03);
                    a13 = Avx512F.FusedMultiplyAdd(y1, v, a13);
                    a23 = Avx512F.FusedMultiplyAdd(y2, v, a23);
                    a33 = Avx512F.FusedMultiplyAdd(y3, v, a33);
                }
                if (T.Count > 4)
                {
                    v = Vector512.Load(xp + o4);
                    a04 = Avx512F.FusedMultiplyAdd(y0, v, a04);
                    a14 = Avx512F.FusedMultiplyAdd(y1, v, a14);
                    a24 = Avx512F.FusedMultiplyAdd(y2, v, a24);
                    a34 = Avx512F.FusedMultiplyAdd(y3, v, a34);
                }
                if (T.Count > 5)
                {
                    v = Vector512.Load(xp + o5);
                    a05 = Avx512F.FusedMultiplyAdd(y0, v, a05);
                    a15 = Avx512F.FusedMultiplyAdd(y1, v, a15);
                    a25 = Avx512F.FusedMultiplyAdd(y2, v, a25);
                    a35 = Avx512F.FusedMultiplyAdd(y3, v, a35);
                }
            }
            AddChannel<T>(partial, a00, a01, a02, a03, a04, a05);
            if (r > 1) AddChannel<T>(partial + channelStride, a10, a11, a12, a13, a14, a15);
            if (r > 2) AddChannel<T>(partial + 2 * channelStride, a20, a21, a22, a23, a24, a25);
            if (r > 3) AddChannel<T>(partial + 3 * channelStride, a30, a31, a32, a33, a34, a35);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AddChannel<T>(float* to, Vector512<float> t0, Vector512<float> t1, Vector512<float> t2,
            Vector512<float> t3, Vector512<float> t4, Vector512<float> t5) where T : struct, ICount
        {
            Add(to, t0);
            if (T.Count > 1) Add(to + VW, t1);
            if (T.Count > 2) Add(to + 2 * VW, t2);
            if (T.Count > 3) Add(to + 3 * VW, t3);
            if (T.Count > 4) Add(to + 4 * VW, t4);
            if (T.Count > 5) Add(to + 5 * VW, t5);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Add(float* to, Vector512<float> v) => Vector512.Store(Vector512.Load(to) + v, to);
    }
}
