using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoGradNet.Backends.Cpu;

/// <summary>
/// Direct float32 convolutions in zmm for layers with few input channels (an RGB stem, LeNet's first layer): the
/// forward, the input gradient and the weight gradient, stride 1, 2-D, a whole number of 16-float vectors of output
/// positions per channel.
/// <para>
/// As GEMMs these products have a depth of only cin·kh·kw (27 for the stem) while their other sides are the layer's
/// whole output: the GEMM packed the input's columns for every sample (forward) or transposed the whole output
/// gradient (weight gradient: 8 MB for the stem), and wrote or read C in 8 × 32 tiles with a 27-deep k loop between.
/// Here each sample's input is copied once, zero-padded and once per kernel column kx: copy (ci, kx) row r holds padded
/// row r from column dx·kx, with rows of exactly the output's width, so output position p = oy·wo + ox reads tap
/// (ci, ky, kx) at p + dy·ky·wo of that copy. Every tile then runs a flat loop over positions, and with a width of whole
/// vectors every input load is aligned (unaligned loads, each split across two cache lines, made the stem's weight
/// gradient 10 % slower). The copies (cin·kw·(ho + reach)·wo floats, 39 KB for the stem) stay in L1 or L2.
/// </para>
/// <para>
/// Forward: a register tile holds 4 filters × up to 6 vectors of positions (24 zmm accumulators); each tap broadcasts
/// 4 weights and loads 6 input vectors for 24 FMAs, and the tile's outputs are stored once. Input gradient: its adjoint,
/// the same tile with taps as rows and gy's channels as the depth, added into the gradients of the shifted copies, which
/// are then folded back into the input's rows (the direct convolution it replaces padded and copied all of gy first).
/// Weight gradient: a tile holds 4 filters × up to 6 taps of 16-lane partial sums; each step over positions loads 4 gy
/// vectors (read in place) and one input vector per tap for 24 FMAs. Tiles add their lanes into a per-unit buffer
/// [cout, taps, 16], summed into gw at the end. Large images run in blocks of positions (<see cref="MaxBlockVectors"/>).
/// </para>
/// <para>
/// AVX-512 only: an AVX2 weight gradient (4 filters × 3 taps in ymm, unaligned loads) measured slower than the GEMM on
/// a Zen 2 (1.19–1.33 against 1.15–1.17 ms).
/// </para>
/// </summary>
internal static unsafe class FewInputChannels
{
    /// <summary>Input channels up to which a layer runs here.</summary>
    public const int MaxInputChannels = 4;

    /// <summary>Rows per register tile: output channels (forward, weight gradient) or taps (input gradient).</summary>
    private const int TileChannels = 4;

    /// <summary>Most taps (weight gradient) or vectors of positions (forward, input gradient) per register tile.</summary>
    private const int MaxTileWidth = 6;

    /// <summary>Most floats of shifted copies per sample (64 MB; a 224×224 RGB stem with a 3×3 kernel needs 1.8 MB):
    /// larger layers take the GEMM, and the scratch's offsets stay far inside an int.</summary>
    private const long MaxCopyFloats = 1 << 24;

    /// <summary>
    /// Most vectors of positions per block (1024 positions): the forward and the weight gradient run all their tiles
    /// over one block before the next, so the block's input copies and gy rows stay in L2. Without blocks a 224×224
    /// stem streamed the whole sample (1.8 MB of copies, 200 KB per gy plane) once per tile: for a batch of 8 its weight
    /// gradient took 10.5 ms against the GEMM's 8.5 ms, and 6.9–7.7 ms with blocks of 960–2048 positions (forward
    /// 7.5 → 5.8–6.2 ms). Blocks are of equal size: a small last block (32×32 as 960 + 64 positions) made the stem's
    /// weight gradient 5 % slower.
    /// </summary>
    private const int MaxBlockVectors = 64;

    /// <summary>Block <paramref name="k"/> of <paramref name="vectors"/> split into equal blocks of at most
    /// <see cref="MaxBlockVectors"/>: [start, end) in vectors.</summary>
    private static (int Start, int End) Block(int vectors, int k)
    {
        int blocks = (vectors + MaxBlockVectors - 1) / MaxBlockVectors;
        return ((int)((long)vectors * k / blocks), (int)((long)vectors * (k + 1) / blocks));
    }

    /// <summary>Most floats of weight-gradient partial sums per call (16 MB).</summary>
    private const int MaxPartialFloats = 4 << 20;

    /// <summary>Floats per vector.</summary>
    private const int VW = 16;

    /// <summary>Floats of slack after the padded input (the padding copy writes whole ymm vectors).</summary>
    private const int Slack = 32;

    /// <summary>On unless the environment sets <c>AUTOGRADNET_DIRECT=0</c> (then such layers take the GEMM).</summary>
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("AUTOGRADNET_DIRECT") != "0";

    private static long s_forwardCalls, s_inputCalls, s_gradientCalls;

    /// <summary>Calls of <see cref="Forward"/> so far in this process (tests check that a shape took this path).</summary>
    internal static long ForwardCalls => Interlocked.Read(ref s_forwardCalls);

    /// <summary>Calls of <see cref="InputGradient"/> so far in this process.</summary>
    internal static long InputGradientCalls => Interlocked.Read(ref s_inputCalls);

    /// <summary>Calls of <see cref="WeightGradient"/> so far in this process.</summary>
    internal static long WeightGradientCalls => Interlocked.Read(ref s_gradientCalls);

    [ThreadStatic] private static float[]? t_scratch;

    /// <summary>The calling thread's packed weights (forward) or partial sums, one slot per unit (weight gradient); the
    /// workers use them while the call runs.</summary>
    [ThreadStatic] private static float[]? t_buffer;

    /// <summary>Whether a convolution of x [n, cin, ...] with this geometry runs here.</summary>
    public static bool Applies(ConvGeometry g, int groups, int cin, int n) =>
        Enabled && VectorWidth.Wide && Avx512F.IsSupported && groups == 1 && cin >= 1 && cin <= MaxInputChannels && n >= 1
        && g.Input[0] == 1 && g.Output[0] == 1 && g.Kernel[0] == 1 && g.PadBefore[0] == 0
        && g.PadBefore[1] >= 0 && g.PadBefore[2] >= 0 && g.Stride[1] == 1 && g.Stride[2] == 1
        && g.OutputSize % VW == 0
        && (long)cin * g.Kernel[2] * (g.Output[1] + (long)g.Dilation[1] * (g.Kernel[1] - 1)) * g.Output[2] <= MaxCopyFloats;

    /// <summary>y [n, cout, output] = the convolution of x [n, cin, input] with w [cout, cin, kh, kw].</summary>
    public static void Forward(float[] x, long xOffset, float[] w, long wOffset, float[] y, long yOffset,
        int n, int cin, int cout, ConvGeometry g)
    {
        Interlocked.Increment(ref s_forwardCalls);
        int depth = cin * g.Kernel[1] * g.Kernel[2], tiles = (cout + TileChannels - 1) / TileChannels;
        // packed[tile][t][c] = w[4·tile + c, t], zero for the filters past cout.
        var packed = Buffer(tiles * depth * TileChannels);
        for (int tile = 0; tile < tiles; tile++)
            for (int t = 0; t < depth; t++)
                for (int c = 0; c < TileChannels; c++)
                {
                    int co = tile * TileChannels + c;
                    packed[((long)tile * depth + t) * TileChannels + c] = co < cout ? w[wOffset + (long)co * depth + t] : 0f;
                }
        // Units are samples, or parts of a sample's filters when there are fewer samples than two per thread.
        int threads = Environment.ProcessorCount;
        int parts = Math.Min(tiles, n >= 2 * threads ? 1 : (2 * threads + n - 1) / n);
        long costPerUnit = (long)cout * depth * g.OutputSize / parts;
        CpuBackend.ParallelRows(n * parts, (int)Math.Min(int.MaxValue, costPerUnit), (x, xOffset, packed, y, yOffset, cin, cout, g, parts),
            static (s, u0, u1) =>
            {
                var (x, xOffset, packed, y, yOffset, cin, cout, g, parts) = s;
                int tiles = (cout + TileChannels - 1) / TileChannels;
                var input = new ShiftedInput(g, cin);
                fixed (float* px = x, pw = packed, py = y)
                    for (int u = u0; u < u1; u++)
                    {
                        int sample = u / parts, part = u % parts;
                        int tile0 = (int)((long)tiles * part / parts), tile1 = (int)((long)tiles * (part + 1) / parts);
                        input.Fill(px + xOffset + (long)sample * cin * g.InputSize);
                        ForwardUnit(input, pw, py + yOffset + (long)sample * cout * g.OutputSize, cout, g.OutputSize, tile0, tile1);
                    }
            });
    }

    private static void ForwardUnit(in ShiftedInput input, float* packed, float* y, int cout, int positions, int tile0, int tile1)
    {
        int depth = input.Depth, vectors = positions / VW;
        for (int k = 0; k * MaxBlockVectors < vectors; k++)
        {
            var (b0, b1) = Block(vectors, k);
            for (int tile = tile0; tile < tile1; tile++)
            {
                int co0 = tile * TileChannels, r = Math.Min(TileChannels, cout - co0);
                float* w = packed + (long)tile * depth * TileChannels;
                for (int q0 = b0; q0 < b1; q0 += MaxTileWidth)
                {
                    float* y0 = y + (long)co0 * positions + q0 * VW;
                    new ProductTile(input.Data + q0 * VW, input.TapOffsets, depth, w, y0, y0 + (r > 1 ? positions : 0),
                        y0 + (r > 2 ? 2L * positions : 0), y0 + (r > 3 ? 3L * positions : 0), r, add: false).Run(b1 - q0);
                }
            }
        }
    }

    /// <summary>
    /// gx [n, cin, input] = the input gradient of the convolution with w [cout, cin, kh, kw] whose output gradient is
    /// gy [n, cout, output]: the forward's adjoint. Each tap t = (ci, ky, kx) gets Σ_co w[co, t] · gy[co, p] over the
    /// output positions p, a product of depth cout run with the forward's tile (4 taps × 6 position vectors over a block
    /// of gy), added into the gradient of the shifted copy (ci, kx) at p + dy·ky·wo; the copies' gradients are then
    /// folded back (shifted by dx·kx) into the input's rows. Units are samples.
    /// </summary>
    public static void InputGradient(float[] gy, long gyOffset, float[] w, long wOffset, float[] gx, long gxOffset,
        int n, int cin, int cout, ConvGeometry g)
    {
        Interlocked.Increment(ref s_inputCalls);
        int depth = cin * g.Kernel[1] * g.Kernel[2], tiles = (depth + TileChannels - 1) / TileChannels;
        // packed[tile][co][c] = w[co, 4·tile + c], zero for the taps past depth.
        var packed = Buffer(tiles * cout * TileChannels);
        for (int tile = 0; tile < tiles; tile++)
            for (int co = 0; co < cout; co++)
                for (int c = 0; c < TileChannels; c++)
                {
                    int t = tile * TileChannels + c;
                    packed[((long)tile * cout + co) * TileChannels + c] = t < depth ? w[wOffset + (long)co * depth + t] : 0f;
                }
        long costPerSample = (long)cout * depth * g.OutputSize;
        CpuBackend.ParallelRows(n, (int)Math.Min(int.MaxValue, costPerSample), (gy, gyOffset, packed, gx, gxOffset, cin, cout, g),
            static (s, u0, u1) =>
            {
                var (gy, gyOffset, packed, gx, gxOffset, cin, cout, g) = s;
                // After the copies: the block of gy (cout rows of 6 vectors), then its rows' offsets.
                var copies = new ShiftedInput(g, cin, cout * (MaxTileWidth * VW + 1));
                int* blockOffsets = (int*)(copies.Extra + cout * MaxTileWidth * VW);
                for (int co = 0; co < cout; co++) blockOffsets[co] = co * MaxTileWidth * VW;
                fixed (float* pgy = gy, pw = packed, pgx = gx)
                    for (int sample = u0; sample < u1; sample++)
                        InputGradientUnit(copies, pgy + gyOffset + (long)sample * cout * g.OutputSize, blockOffsets, pw,
                            pgx + gxOffset + (long)sample * cin * g.InputSize, cout, g);
            });
    }

    /// <summary>
    /// One sample. gy's channels lie a plane apart (4 KB for 32×32), so a tile reading 6 vectors of each of 64 channels
    /// in place maps them all to the same few L1 sets, more lines than the cache has ways: each block of positions is
    /// first copied, channel after channel, into a contiguous block that the tap tiles then share (stem: 0.70 → 0.61 ms).
    /// </summary>
    private static void InputGradientUnit(in ShiftedInput copies, float* gy, int* blockOffsets, float* packed, float* gx, int cout, ConvGeometry g)
    {
        int depth = copies.Depth, positions = g.OutputSize, vectors = positions / VW, tiles = (depth + TileChannels - 1) / TileChannels;
        copies.Clear();
        int* at = copies.TapOffsets;
        float* block = copies.Extra;
        for (int q0 = 0; q0 < vectors; q0 += MaxTileWidth)
        {
            int count = Math.Min(MaxTileWidth, vectors - q0);
            for (int co = 0; co < cout; co++)
            {
                float* from = gy + (long)co * positions + q0 * VW, to = block + blockOffsets[co];
                for (int j = 0; j < count; j++) Vector512.Store(Vector512.Load(from + j * VW), to + j * VW);
            }
            for (int tile = 0; tile < tiles; tile++)
            {
                int t0 = tile * TileChannels, r = Math.Min(TileChannels, depth - t0);
                float* d0 = copies.Data + at[t0] + q0 * VW;
                new ProductTile(block, blockOffsets, cout, packed + (long)tile * cout * TileChannels, d0,
                    r > 1 ? copies.Data + at[t0 + 1] + q0 * VW : d0, r > 2 ? copies.Data + at[t0 + 2] + q0 * VW : d0,
                    r > 3 ? copies.Data + at[t0 + 3] + q0 * VW : d0, r, add: true).Run(count);
            }
        }
        copies.Unfill(gx);
    }

    /// <summary>gw [cout, cin, kh, kw] += the weight gradient of the convolution of x [n, cin, input] whose output
    /// gradient is gy [n, cout, output]. Units are runs of samples, each with its own partial sums.</summary>
    public static void WeightGradient(float[] x, long xOffset, float[] gy, long gyOffset, float[] gw, long gwOffset,
        int n, int cin, int cout, ConvGeometry g)
    {
        Interlocked.Increment(ref s_gradientCalls);
        int depth = cin * g.Kernel[1] * g.Kernel[2];
        // One partial-sum slot per unit, all of them at most MaxPartialFloats (many cores and a deep layer would
        // otherwise keep tens of MB in this thread's buffer).
        int slot = cout * depth * VW, units = Math.Max(1, Math.Min(Math.Min(n, Environment.ProcessorCount), MaxPartialFloats / slot));
        var partials = Buffer(units * slot);
        long costPerUnit = (long)cout * depth * g.OutputSize * n / units;
        CpuBackend.ParallelRows(units, (int)Math.Min(int.MaxValue, costPerUnit), (x, xOffset, gy, gyOffset, partials, n, cin, cout, g, units),
            static (s, u0, u1) =>
            {
                var (x, xOffset, gy, gyOffset, partials, n, cin, cout, g, units) = s;
                int slot = cout * cin * g.Kernel[1] * g.Kernel[2] * VW;
                var input = new ShiftedInput(g, cin);
                fixed (float* px = x, pgy = gy, pp = partials)
                    for (int u = u0; u < u1; u++)
                    {
                        int n0 = (int)((long)n * u / units), n1 = (int)((long)n * (u + 1) / units);
                        GradientUnit(input, px + xOffset, pgy + gyOffset, pp + (long)u * slot, n0, n1, cin, cout, g);
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

    /// <summary>Samples [n0, n1): their partial sums into <paramref name="partial"/> [cout, depth, 16].</summary>
    private static void GradientUnit(in ShiftedInput input, float* x, float* gy, float* partial, int n0, int n1, int cin, int cout, ConvGeometry g)
    {
        int depth = input.Depth, positions = g.OutputSize;
        new Span<float>(partial, cout * depth * VW).Clear();
        // Taps in tiles of at most 6, as even as possible (27 taps: 6, 6, 5, 5, 5).
        int tapTiles = (depth + MaxTileWidth - 1) / MaxTileWidth;
        for (int s = n0; s < n1; s++)
        {
            input.Fill(x + (long)s * cin * g.InputSize);
            float* gys = gy + (long)s * cout * positions;
            for (int b = 0; b * MaxBlockVectors * VW < positions; b++)
            {
                var (v0, v1) = Block(positions / VW, b);
                int b0 = v0 * VW, length = (v1 - v0) * VW;
                for (int co0 = 0; co0 < cout; co0 += TileChannels)
                {
                    int r = Math.Min(TileChannels, cout - co0);
                    for (int k = 0; k < tapTiles; k++)
                    {
                        int t0 = (int)((long)depth * k / tapTiles), t1 = (int)((long)depth * (k + 1) / tapTiles);
                        var tile = new GradientTile(gys + (long)co0 * positions + b0, positions, r, input.Data + b0,
                            input.TapOffsets + t0, partial + ((long)co0 * depth + t0) * VW, depth * VW, length);
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
    }

    private static float[] Buffer(int elements) =>
        t_buffer is { } spare && spare.Length >= elements ? spare : t_buffer = GC.AllocateUninitializedArray<float>(elements, pinned: true);

    /// <summary>
    /// One sample's input in the calling thread's scratch: the kx-shifted copies (<see cref="FewInputChannels"/>),
    /// each starting on a whole vector, then, a vector's gap after them (a copy's row stores spill up to 7 floats), the
    /// padded plane they are cut from. <see cref="TapOffsets"/>[t] is where tap t = (ci, ky, kx) reads position 0.
    /// </summary>
    private readonly struct ShiftedInput
    {
        private readonly ConvGeometry _g;
        private readonly int _cin, _copy, _hp, _wp;
        private readonly float* _padded;

        public readonly float* Data;
        public readonly int* TapOffsets;
        public readonly float* Extra;
        public readonly int Depth;

        /// <summary>Lays the copies out in the calling thread's scratch, with <paramref name="extra"/> more floats (on a
        /// 64-byte boundary) at <see cref="Extra"/>.</summary>
        public ShiftedInput(ConvGeometry g, int cin, int extra = 0)
        {
            int kh = g.Kernel[1], kw = g.Kernel[2], dy = g.Dilation[1], wo = g.Output[2];
            _g = g;
            _cin = cin;
            _hp = g.Output[1] + dy * (kh - 1);
            _wp = wo + g.Dilation[2] * (kw - 1);
            _copy = (_hp * wo + VW - 1) / VW * VW;
            int copies = cin * kw * _copy, offsets = (cin * kh * kw + VW - 1) / VW * VW;
            Depth = cin * kh * kw;
            int padded = (_hp * _wp + Slack + VW - 1) / VW * VW;
            Data = Scratch(copies + VW + padded + offsets + extra);
            _padded = Data + copies + VW;
            TapOffsets = (int*)(_padded + padded);
            Extra = _padded + padded + offsets;
            for (int t = 0; t < Depth; t++)
            {
                int ci = t / (kh * kw), tap = t % (kh * kw);
                TapOffsets[t] = (ci * kw + tap % kw) * _copy + tap / kw * dy * wo;
            }
        }

        /// <summary>Copies sample <paramref name="x"/> [cin, input] in.</summary>
        public void Fill(float* x)
        {
            int kw = _g.Kernel[2], dx = _g.Dilation[2], wo = _g.Output[2];
            for (int ci = 0; ci < _cin; ci++)
            {
                DirectConvolution.PadPlane(x + (long)ci * _g.InputSize, _padded, _g, -_g.PadBefore[1], _hp, _wp);
                for (int kx = 0; kx < kw; kx++)
                {
                    float* src = _padded + kx * dx, dst = Data + (long)(ci * kw + kx) * _copy;
                    for (int r = 0; r < _hp; r++, src += _wp, dst += wo)
                        for (int j = 0; j < wo; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
                }
            }
        }

        /// <summary>Zeroes the copies (before gradients are added into them).</summary>
        public void Clear() => new Span<float>(Data, _cin * _g.Kernel[2] * _copy).Clear();

        /// <summary>The adjoint of <see cref="Fill"/>: x [cin, input] = Σ over kx of copy (ci, kx) shifted back by
        /// dx·kx, cut to the input (padding dropped; input rows and columns no copy covers get zero).</summary>
        public void Unfill(float* x)
        {
            int kw = _g.Kernel[2], dx = _g.Dilation[2], wo = _g.Output[2], h = _g.Input[1], wi = _g.Input[2];
            int top = _g.PadBefore[1], left = _g.PadBefore[2];
            for (int ci = 0; ci < _cin; ci++)
                for (int iy = 0; iy < h; iy++)
                {
                    var row = new Span<float>(x + ((long)ci * h + iy) * wi, wi);
                    row.Clear();
                    int r = iy + top;
                    if (r >= _hp) continue;
                    for (int kx = 0; kx < kw; kx++)
                    {
                        // Input column ix is padded column ix + left, which copy kx holds at column ix + left − dx·kx.
                        int shift = left - kx * dx, from = Math.Max(0, -shift), to = Math.Min(wi, wo - shift);
                        if (from >= to) continue;
                        var copyRow = new ReadOnlySpan<float>(Data + (long)(ci * kw + kx) * _copy + (long)r * wo + from + shift, to - from);
                        System.Numerics.Tensors.TensorPrimitives.Add(row[from..to], copyRow, row[from..to]);
                    }
                }
        }
    }

    /// <summary>The calling thread's scratch of at least <paramref name="elements"/> floats, starting on a 64-byte
    /// boundary.</summary>
    private static float* Scratch(int elements) => ScratchBuffer.Aligned(ref t_scratch, elements);

    /// <summary>
    /// One product register tile: 4 rows × V ≤ 6 vectors of consecutive positions, out[c][q] (+)= Σ_t w[t, c] ·
    /// input[offset t + q] for t below <paramref name="depth"/>, written to (or with <paramref name="add"/> added into)
    /// d0…d3. The forward's rows are filters and its offsets taps; the input gradient's rows are taps and its offsets
    /// gy's channels. Rows past <paramref name="r"/> have zero weights and are not written.
    /// </summary>
    private readonly struct ProductTile(float* input, int* offsets, int depth, float* weights,
        float* d0, float* d1, float* d2, float* d3, int r, bool add)
    {
        /// <summary>Runs the tile over min(6, <paramref name="vectors"/>) vectors.</summary>
        public void Run(int vectors)
        {
            switch (Math.Min(MaxTileWidth, vectors))
            {
                case 1: Run<One>(); break;
                case 2: Run<Two>(); break;
                case 3: Run<Three>(); break;
                case 4: Run<Four>(); break;
                case 5: Run<Five>(); break;
                default: Run<Six>(); break;
            }
        }

        private void Run<V>() where V : struct, ICount
        {
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default;
            float* w = weights;
            for (int t = 0; t < depth; t++, w += TileChannels)
            {
                var w0 = Vector512.Create(w[0]);
                var w1 = Vector512.Create(w[1]);
                var w2 = Vector512.Create(w[2]);
                var w3 = Vector512.Create(w[3]);
                float* xp = input + offsets[t];
                var v = Vector512.Load(xp);
                a00 = Avx512F.FusedMultiplyAdd(w0, v, a00);
                a10 = Avx512F.FusedMultiplyAdd(w1, v, a10);
                a20 = Avx512F.FusedMultiplyAdd(w2, v, a20);
                a30 = Avx512F.FusedMultiplyAdd(w3, v, a30);
                if (V.Count > 1)
                {
                    v = Vector512.Load(xp + VW);
                    a01 = Avx512F.FusedMultiplyAdd(w0, v, a01);
                    a11 = Avx512F.FusedMultiplyAdd(w1, v, a11);
                    a21 = Avx512F.FusedMultiplyAdd(w2, v, a21);
                    a31 = Avx512F.FusedMultiplyAdd(w3, v, a31);
                }
                if (V.Count > 2)
                {
                    v = Vector512.Load(xp + 2 * VW);
                    a02 = Avx512F.FusedMultiplyAdd(w0, v, a02);
                    a12 = Avx512F.FusedMultiplyAdd(w1, v, a12);
                    a22 = Avx512F.FusedMultiplyAdd(w2, v, a22);
                    a32 = Avx512F.FusedMultiplyAdd(w3, v, a32);
                }
                if (V.Count > 3)
                {
                    v = Vector512.Load(xp + 3 * VW);
                    a03 = Avx512F.FusedMultiplyAdd(w0, v, a03);
                    a13 = Avx512F.FusedMultiplyAdd(w1, v, a13);
                    a23 = Avx512F.FusedMultiplyAdd(w2, v, a23);
                    a33 = Avx512F.FusedMultiplyAdd(w3, v, a33);
                }
                if (V.Count > 4)
                {
                    v = Vector512.Load(xp + 4 * VW);
                    a04 = Avx512F.FusedMultiplyAdd(w0, v, a04);
                    a14 = Avx512F.FusedMultiplyAdd(w1, v, a14);
                    a24 = Avx512F.FusedMultiplyAdd(w2, v, a24);
                    a34 = Avx512F.FusedMultiplyAdd(w3, v, a34);
                }
                if (V.Count > 5)
                {
                    v = Vector512.Load(xp + 5 * VW);
                    a05 = Avx512F.FusedMultiplyAdd(w0, v, a05);
                    a15 = Avx512F.FusedMultiplyAdd(w1, v, a15);
                    a25 = Avx512F.FusedMultiplyAdd(w2, v, a25);
                    a35 = Avx512F.FusedMultiplyAdd(w3, v, a35);
                }
            }
            StoreRow<V>(d0, add, a00, a01, a02, a03, a04, a05);
            if (r > 1) StoreRow<V>(d1, add, a10, a11, a12, a13, a14, a15);
            if (r > 2) StoreRow<V>(d2, add, a20, a21, a22, a23, a24, a25);
            if (r > 3) StoreRow<V>(d3, add, a30, a31, a32, a33, a34, a35);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreRow<V>(float* to, bool add, Vector512<float> q0, Vector512<float> q1, Vector512<float> q2,
            Vector512<float> q3, Vector512<float> q4, Vector512<float> q5) where V : struct, ICount
        {
            Store(to, add, q0);
            if (V.Count > 1) Store(to + VW, add, q1);
            if (V.Count > 2) Store(to + 2 * VW, add, q2);
            if (V.Count > 3) Store(to + 3 * VW, add, q3);
            if (V.Count > 4) Store(to + 4 * VW, add, q4);
            if (V.Count > 5) Store(to + 5 * VW, add, q5);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(float* to, bool add, Vector512<float> v) =>
            Vector512.Store(add ? Vector512.Load(to) + v : v, to);
    }

    /// <summary>
    /// One weight-gradient register tile: r ≤ 4 output channels (the rest of the 4 read channel r − 1 again and are dropped) × T ≤ 6
    /// taps. Adds Σ over one sample's output positions p of gy[c, p] · input[tap offset + p], in 16 lanes, to the
    /// partial sums partial[c · channelStride + t · 16].
    /// </summary>
    private readonly struct GradientTile(float* gy, long gyPlane, int r, float* input, int* tapOffsets, float* partial,
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
