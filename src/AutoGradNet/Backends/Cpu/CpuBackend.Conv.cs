using System.Numerics;

namespace AutoGradNet.Backends.Cpu;

// Convolutions as implicit GEMMs. Instead of writing im2col columns and packing them again inside the GEMM, the
// GEMM's B operand is an indexed view of a zero-padded copy of the input: row q of the virtual column matrix
// (channel c, kernel tap k) starts at the tap's offset in the padded planes, and column l (output position o) adds
// o's offset. With stride 1 the positions along an output row are consecutive in memory, so the GEMM packs them with
// plain vector loads; with stride 2 they are every second element (two loads and a permute); only the ends of rows
// are blended or gathered. The forward and weight-gradient products take any stride; the input gradient is an
// implicit GEMM for stride 1 only (a flipped-weight convolution), else im2col's GEMM and col2im.
internal sealed partial class CpuBackend
{
    // When the implicit path pays (measured on the 2-core Zen 4 box): its GEMMs want at least a few micro-tile rows
    // of output channels and, for the weight gradient, at least one panel of taps. Few-channel layers (a 3-channel
    // stem, LeNet's 1-channel first layer, depthwise) ran 2–3× slower through it than through im2col when they were
    // the GEMM's rows. The tap threshold was 64 until the batch-summed weight gradient split by items (session 3):
    // since then 27–32-tap layers (the stem, LeNet's conv1, a 32-channel 1×1) measured 3–45 % faster implicit.
    private const int MinImplicitChannels = 8;
    private const int MinImplicitTaps = 16;

    public bool TryConvolution(Tensor x, Tensor w, Tensor y, ConvGeometry g, int groups)
    {
        if (x.DType == DType.Float32 && x.ShapeArray[0] > 0 && DirectConvolution.Applies(g, groups, y.ShapeArray[1]))
        {
            DirectConvolution.Run(Data<float>(x), x.Offset, Data<float>(w), w.Offset, Data<float>(y), y.Offset,
                x.ShapeArray[0], x.ShapeArray[1], y.ShapeArray[1], g, flippedWeights: false);
            return true;
        }
        if (x.DType == DType.Float32 && x.ShapeArray[0] > 0 && FewInputChannels.Applies(g, groups, x.ShapeArray[1], x.ShapeArray[0]))
        {
            FewInputChannels.Forward(Data<float>(x), x.Offset, Data<float>(w), w.Offset, Data<float>(y), y.Offset,
                x.ShapeArray[0], x.ShapeArray[1], y.ShapeArray[1], g);
            return true;
        }
        if (!WindowsCover(g) || y.ShapeArray[1] / groups < MinImplicitChannels) return false;
        if (x.DType == DType.Float32) ConvolutionT<float>(x, w, y, g, groups);
        else ConvolutionT<double>(x, w, y, g, groups);
        return true;
    }

    public bool TryConvolutionWeight(Tensor x, Tensor gy, Tensor gw, ConvGeometry g, int groups)
    {
        if (x.DType == DType.Float32 && x.ShapeArray[0] > 0 && FewInputChannels.Applies(g, groups, x.ShapeArray[1], x.ShapeArray[0]))
        {
            FewInputChannels.WeightGradient(Data<float>(x), x.Offset, Data<float>(gy), gy.Offset, Data<float>(gw), gw.Offset,
                x.ShapeArray[0], x.ShapeArray[1], gy.ShapeArray[1], g);
            return true;
        }
        if (!WindowsCover(g) || x.ShapeArray[1] / groups * g.KernelSize < MinImplicitTaps
            || gy.ShapeArray[1] / groups < MinImplicitChannels) return false;
        if (x.DType == DType.Float32) ConvolutionWeightT<float>(x, gy, gw, g, groups);
        else ConvolutionWeightT<double>(x, gy, gw, g, groups);
        return true;
    }

    /// <summary>
    /// With stride 1, the input gradient is itself a unit-stride convolution: gy padded by d·(k−1) − p and correlated
    /// with the weight flipped in space and transposed per group. Taken when that padding is not negative.
    /// </summary>
    public bool TryConvolutionInput(Tensor gy, Tensor w, Tensor gx, ConvGeometry g, int groups)
    {
        if (gy.DType == DType.Float32 && gy.ShapeArray[0] > 0 && FewInputChannels.Applies(g, groups, gx.ShapeArray[1], gy.ShapeArray[0]))
        {
            FewInputChannels.InputGradient(Data<float>(gy), gy.Offset, Data<float>(w), w.Offset, Data<float>(gx), gx.Offset,
                gy.ShapeArray[0], gx.ShapeArray[1], gy.ShapeArray[1], g);
            return true;
        }
        if (!UnitStride(g)) return false;
        Span<int> pad = stackalloc int[ConvGeometry.MaxSpatial];
        for (int i = 0; i < pad.Length; i++)
        {
            pad[i] = g.Dilation[i] * (g.Kernel[i] - 1) - g.PadBefore[i];
            if (pad[i] < 0) return false;
        }
        var full = ConvGeometry.Of(g.Output, g.Kernel, [1, 1, 1], g.Dilation, pad, g.Input);
        int cin = gx.ShapeArray[1], cout = gy.ShapeArray[1];
        if (gy.DType == DType.Float32 && gy.ShapeArray[0] > 0 && DirectConvolution.Applies(full, groups, cin))
        {
            DirectConvolution.Run(Data<float>(gy), gy.Offset, Data<float>(w), w.Offset, Data<float>(gx), gx.Offset,
                gy.ShapeArray[0], cout, cin, full, flippedWeights: true);
            return true;
        }
        if (cin / groups < MinImplicitChannels) return false;
        if (gy.DType == DType.Float32 && gy.ShapeArray[0] > 0 && Winograd.Applies(full, groups, cout, cin))
        {
            // Winograd reads the flipped, transposed weight straight from w while transforming it.
            Winograd.Forward(Data<float>(gy), gy.Offset, Data<float>(w), w.Offset, Data<float>(gx), gx.Offset,
                gy.ShapeArray[0], cout, cin, full, flippedWeights: true);
            return true;
        }
        using var wt = Tensor.Alloc([cin, cout / groups * g.KernelSize], w.DType, w.Device);
        if (w.DType == DType.Float32)
        {
            FlipTranspose<float>(w, wt, cin, cout, g.KernelSize, groups);
            ConvolutionT<float>(gy, wt, gx, full, groups);
        }
        else
        {
            FlipTranspose<double>(w, wt, cin, cout, g.KernelSize, groups);
            ConvolutionT<double>(gy, wt, gx, full, groups);
        }
        return true;
    }

    /// <summary>
    /// Whether the windows touch every input element they step over (stride ≤ dilated kernel extent in each dim), so
    /// the padded copy holds nothing unused. A strided 1×1 convolution (a ResNet shortcut) reads a quarter of its
    /// input: copying the whole input measured slower than im2col's gather of just the used elements.
    /// </summary>
    private static bool WindowsCover(ConvGeometry g)
    {
        for (int i = 0; i < ConvGeometry.MaxSpatial; i++)
            if (g.Stride[i] > 1 && g.Stride[i] > g.Dilation[i] * (g.Kernel[i] - 1) + 1) return false;
        return true;
    }

    private static bool UnitStride(ConvGeometry g) => g.Stride[0] == 1 && g.Stride[1] == 1 && g.Stride[2] == 1;

    /// <summary>
    /// Below this many output positions per sample, the batch goes into the GEMM's columns (one product per group
    /// over all samples) instead of one product per sample: with few positions a per-sample product re-packs the
    /// whole weight for a handful of columns (ResNet-18's 4×4 stage spent most of its time doing that), and the
    /// weight gradient would load and store all of gw for a k-depth of only L. Measured on the 2-core Zen 4 box
    /// (32×512×4×4 → 512, 3×3: fwd+bwd 84–95 → 53–57 ms); from 16×16 on, per-sample products were faster (their
    /// packed B panels stay in L2), and 8×8 was a tie.
    /// </summary>
    private const int BatchInColumnsBelow = 64;

    private static bool BatchInColumns(int n, int cin, int plane, int l) =>
        n > 1 && l < BatchInColumnsBelow && (long)n * cin * plane <= int.MaxValue;

    /// <summary>Column offsets of all samples side by side: column s·L + l is output position l of sample s.</summary>
    private static int[] SampleColumns(int[] cols, int n, int sampleStride)
    {
        int l = cols.Length;
        var all = new int[n * l];
        for (int s = 0; s < n; s++)
            for (int j = 0; j < l; j++) all[s * l + j] = s * sampleStride + cols[j];
        return all;
    }

    /// <summary>
    /// What the implicit forward and weight-gradient products share: the sizes, the padded input and its offset
    /// tables (per sample, or all samples side by side when the batch goes into the columns).
    /// </summary>
    private readonly struct ImplicitOperand<T> : IDisposable where T : unmanaged, INumber<T>
    {
        public readonly int N, Cin, Cout, CinG, CoutG, Ckg, L, Plane;
        public readonly T[] Data;
        public readonly int Offset;
        public readonly int[] Rows, Cols;
        /// <summary>True when the batch goes into the GEMM's columns (then <see cref="Cols"/> spans all samples).</summary>
        public readonly bool Batched;
        private readonly Tensor? _padded;

        /// <summary>Columns per output row of the product when it runs over whole-vector rows (see
        /// <see cref="VirtualRowWidth"/>); 0 when its columns are the output positions themselves.</summary>
        public readonly int RowWidth;

        public ImplicitOperand(Tensor x, int cout, ConvGeometry g, int groups, bool wholeVectorRows = false)
        {
            N = x.ShapeArray[0];
            Cin = x.ShapeArray[1];
            Cout = cout;
            CinG = Cin / groups;
            CoutG = cout / groups;
            Ckg = CinG * g.KernelSize;
            L = g.OutputSize;
            _padded = PaddedInput(x, g, out Data, out Offset, out Plane);
            (Rows, Cols) = CachedOffsets(g, CinG, Plane);
            Batched = BatchInColumns(N, Cin, Plane, L);
            if (Batched) Cols = CachedSampleColumns(Cols, N, Cin * Plane);
            else if (wholeVectorRows && _padded is not null && VirtualRowWidth(g, cout / groups, Ckg) is > 0 and int width)
            {
                RowWidth = width;
                Cols = CachedRowColumns(g.Output[1], width, Padded(g, 2));
            }
        }

        /// <summary>Where group <paramref name="grp"/>'s channels start in the padded input.</summary>
        public long GroupOffset(int grp) => Offset + (long)grp * CinG * Plane;

        /// <summary>The distance between samples in the padded input (0 when they are columns of one product).</summary>
        public long SampleStride => Batched ? 0 : (long)Cin * Plane;

        public void Dispose() => _padded?.Dispose();
    }

    /// <summary>y[n, grp] = W[grp] · B[n, grp] with B the indexed column view of the padded x.</summary>
    private static void ConvolutionT<T>(Tensor x, Tensor w, Tensor y, ConvGeometry g, int groups) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float) && x.ShapeArray[0] > 0 && Winograd.Applies(g, groups, x.ShapeArray[1], y.ShapeArray[1]))
        {
            Winograd.Forward(Data<float>(x), x.Offset, Data<float>(w), w.Offset, Data<float>(y), y.Offset,
                x.ShapeArray[0], x.ShapeArray[1], y.ShapeArray[1], g);
            return;
        }
        using var b = new ImplicitOperand<T>(x, y.ShapeArray[1], g, groups, wholeVectorRows: true);
        T[] ws = Data<T>(w), ys = Data<T>(y);
        if (b.Batched)
        {
            // Y' [Cout, N·L] = W · [B₀ B₁ …], then Y' is transposed into y [N, Cout, L].
            using var yt = Tensor.Alloc([b.Cout, b.N * b.L], y.DType, y.Device);
            T[] yts = Data<T>(yt);
            for (int grp = 0; grp < groups; grp++)
                Gemm.Run(false, false, 1, b.CoutG, b.N * b.L, b.Ckg,
                    ws, w.Offset + (long)grp * b.CoutG * b.Ckg, b.Ckg, 0,
                    b.Data, b.GroupOffset(grp), 0, 0,
                    yts, yt.Offset + (long)grp * b.CoutG * b.N * b.L, b.N * b.L, 0, false, b.Rows, b.Cols);
            SwapLeadingAxes(yts, yt.Offset, ys, y.Offset, b.Cout, b.N, b.L);
            return;
        }
        if (b.RowWidth > 0)
        {
            // The product's columns cover whole-vector output rows; the columns past each row's end are dropped.
            int rows = g.Output[1], cols = rows * b.RowWidth;
            using var wide = Tensor.Alloc([b.N, b.Cout, cols], y.DType, y.Device);
            T[] wides = Data<T>(wide);
            for (int grp = 0; grp < groups; grp++)
                Gemm.Run(false, false, b.N, b.CoutG, cols, b.Ckg,
                    ws, w.Offset + (long)grp * b.CoutG * b.Ckg, b.Ckg, 0,
                    b.Data, b.GroupOffset(grp), 0, b.SampleStride,
                    wides, wide.Offset + (long)grp * b.CoutG * cols, cols, (long)b.Cout * cols, false, b.Rows, b.Cols);
            DropRowEnds(wides, wide.Offset, ys, y.Offset, b.N * b.Cout * rows, b.RowWidth, g.Output[2]);
            return;
        }
        for (int grp = 0; grp < groups; grp++)
            Gemm.Run(false, false, b.N, b.CoutG, b.L, b.Ckg,
                ws, w.Offset + (long)grp * b.CoutG * b.Ckg, b.Ckg, 0,
                b.Data, b.GroupOffset(grp), 0, b.SampleStride,
                ys, y.Offset + (long)grp * b.CoutG * b.L, b.L, (long)b.Cout * b.L, false, b.Rows, b.Cols);
    }

    /// <summary>
    /// Output channels per group below which a unit-stride product runs over whole-vector rows. Its B operand is
    /// read in place only where a micro-panel's columns are runs of whole vectors; an output row of, say, 14
    /// positions breaks the runs at every row end, and then each column panel is packed first. With few output
    /// channels that packing is a large share: LeNet's second layer's input gradient (20 rows, 14×14) spent 20 % of
    /// its time packing. Computing 16 columns per row (14 % more FLOPs) and dropping the last two removes the packing.
    /// With 50 rows (that layer's forward) packing was 11 % and the trade did not pay with ymm tiles (Zen 2); with zmm
    /// tiles (32 columns, so a 14-wide row breaks every panel) it does: that forward 2.99–3.00 → 2.79–2.85 ms on an
    /// AVX-512 Xeon, hence 64 channels there.
    /// </summary>
    private static int MaxWholeVectorRowChannels => Gemm.WideTile ? 64 : 32;

    /// <summary>
    /// Depth (input channels × taps per group) from which the whole-vector-rows product pays for writing its wider
    /// output and copying the valid columns out: LeNet's first layer (depth 25, a 4 MB output) took twice as long
    /// that way, its second layer's input gradient (depth 1,250, a 1 MB output) 15 % less.
    /// </summary>
    private const int MinWholeVectorRowDepth = 256;

    /// <summary>
    /// The row width of the whole-vector-rows product for this layer, or 0 when it does not apply: unit stride, 2-D,
    /// output rows not already whole vectors, at most 1/7 more columns and no wider than the padded rows, fewer than
    /// <see cref="MaxWholeVectorRowChannels"/> output channels per group and a depth of at least
    /// <see cref="MinWholeVectorRowDepth"/>.
    /// </summary>
    private static int VirtualRowWidth(ConvGeometry g, int coutG, int depth)
    {
        int vector = Gemm.TileColumns / 2, wo = g.Output[2];
        if (coutG >= MaxWholeVectorRowChannels || depth < MinWholeVectorRowDepth || !UnitStride(g) || g.Output[0] != 1
            || wo % vector == 0) return 0;
        int width = (wo + vector - 1) / vector * vector;
        // Columns past a row's end must stay inside its padded row (the GEMM wants increasing column offsets).
        return 7 * (width - wo) <= wo && width <= Padded(g, 2) ? width : 0;
    }

    /// <summary>dst [rows, width] = the first <paramref name="width"/> columns of src [rows, stride].</summary>
    private static void DropRowEnds<T>(T[] src, int srcOffset, T[] dst, int dstOffset, int rows, int stride, int width)
    {
        for (int r = 0; r < rows; r++)
            Array.Copy(src, srcOffset + (long)r * stride, dst, dstOffset + (long)r * width, width);
    }

    /// <summary>
    /// gw[grp] += Σₙ gy[n, grp] · B[n, grp]ᵀ, the batch summed inside one GEMM (C shared by the batch, or the batch in
    /// the k loop when it goes into the columns). Computed transposed, gw[grp]ᵀ = Σₙ B[n, grp] · gy[n, grp]ᵀ, when each
    /// sample has <see cref="MinTransposedWeightPositions"/> output positions: then the column view B (taps × positions)
    /// is the GEMM's A, which the micro-kernel reads in place (no transposing pack of the input), and only gy and the
    /// small result are transposed.
    /// </summary>
    private static void ConvolutionWeightT<T>(Tensor x, Tensor gy, Tensor gw, ConvGeometry g, int groups) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float) && x.ShapeArray[0] > 0 && Winograd.AppliesToWeightGradient(g, groups, x.ShapeArray[1], gy.ShapeArray[1]))
        {
            Winograd.WeightGradient(Data<float>(x), x.Offset, Data<float>(gy), gy.Offset, Data<float>(gw), gw.Offset,
                x.ShapeArray[0], x.ShapeArray[1], gy.ShapeArray[1], g);
            return;
        }
        using var b = new ImplicitOperand<T>(x, gy.ShapeArray[1], g, groups);
        T[] gys = Data<T>(gy), gws = Data<T>(gw);
        using var gyt = b.Batched ? Tensor.Alloc([b.Cout, b.N * b.L], gy.DType, gy.Device) : null;
        // Batched: GY' [Cout, N·L] is gy with its two leading axes swapped, and the batch sum is the GEMM's k loop.
        T[] a = gyt is null ? gys : Data<T>(gyt);
        if (gyt is not null) SwapLeadingAxes(gys, gy.Offset, a, gyt.Offset, b.N, b.Cout, b.L);
        int batch = b.Batched ? 1 : b.N, depth = b.Batched ? b.N * b.L : b.L;
        long aOffset = gyt?.Offset ?? gy.Offset, aStride = b.Batched ? 0 : (long)b.Cout * b.L;
        if (!b.Batched && b.L >= MinTransposedWeightPositions && Gemm.ReadsIndexedAInPlace && TransposedFitsTile(b.CoutG))
        {
            using var gwt = Tensor.Alloc([b.Ckg, b.CoutG], gw.DType, gw.Device);
            T[] gwts = Data<T>(gwt);
            for (int grp = 0; grp < groups; grp++)
            {
                Array.Clear(gwts, gwt.Offset, b.Ckg * b.CoutG);
                Gemm.Run(false, true, batch, b.Ckg, b.CoutG, depth,
                    b.Data, b.GroupOffset(grp), 0, b.SampleStride,
                    a, aOffset + (long)grp * b.CoutG * depth, depth, aStride,
                    gwts, gwt.Offset, b.CoutG, 0, true, aRows: b.Rows, aCols: b.Cols);
                AddTransposed(gwts, gwt.Offset, gws, gw.Offset + (long)grp * b.CoutG * b.Ckg, b.Ckg, b.CoutG);
            }
            return;
        }
        for (int grp = 0; grp < groups; grp++)
            Gemm.Run(false, true, batch, b.CoutG, b.Ckg, depth,
                a, aOffset + (long)grp * b.CoutG * depth, depth, aStride,
                b.Data, b.GroupOffset(grp), 0, b.SampleStride,
                gws, gw.Offset + (long)grp * b.CoutG * b.Ckg, b.Ckg, 0, true, b.Rows, b.Cols);
    }

    /// <summary>
    /// Output positions per sample from which the weight gradient is computed transposed (input read in place as the
    /// GEMM's A). Measured on the 2-core Zen 5 box: the transposing pack of the input was 15–17 % of the 64- and
    /// 128-channel 3×3 weight gradients at 32×32 and 16×16; transposed, the 32×32 one took 8 % less time. With the 8-row
    /// zmm tile (session 5) the transposed product also won at 16×16 (64 channels 10 %, 32 channels 20 %), on LeNet's
    /// layers (first: 20 filters, 28×28, 2.4× faster; second: 14×14, 3 %) and on 8–16-filter layers (30–50 %). At 8×8
    /// (positions in runs of 8) and 4×4 (the batch in the columns: each tap's positions spread over every sample) the
    /// unpacked reads miss the cache: 30 % and 2.4× slower for wide layers, so those keep the original orientation.
    /// </summary>
    private const int MinTransposedWeightPositions = 128;

    /// <summary>
    /// Whether the transposed weight gradient's N (the filters) suits the micro-tile. With ymm tiles (AVX2, 16
    /// columns) a filter count above 32 that leaves a ragged last column panel makes the transposed product slower:
    /// LeNet's second layer (50 filters, 14×14, 5×5; 4 panels of 16 for 50 columns) measured 6.6 ms transposed
    /// against 5.8 ms packed on a 2-core Zen 2, while its first layer (20 filters) stays 2.1× faster transposed, the
    /// 3-channel stem (64 filters) 20 % faster, and 32 filters equal. With zmm tiles the transposed product won on
    /// every layer measured (LeNet's second 3 %).
    /// </summary>
    private static bool TransposedFitsTile(int filters) =>
        Gemm.WideTile || filters <= 32 || filters % Gemm.TileColumns == 0;

    /// <summary>dst [cols, rows] += src [rows, cols]ᵀ, both dense; blocked so both sides stay in cache.</summary>
    private static void AddTransposed<T>(T[] src, int srcOffset, T[] dst, long dstOffset, int rows, int cols) where T : unmanaged, INumber<T>
    {
        const int Block = 32;
        for (int r0 = 0; r0 < rows; r0 += Block)
            for (int c0 = 0; c0 < cols; c0 += Block)
                for (int c = c0; c < Math.Min(cols, c0 + Block); c++)
                    for (int r = r0; r < Math.Min(rows, r0 + Block); r++)
                        dst[dstOffset + (long)c * rows + r] += src[srcOffset + (long)r * cols + c];
    }

    /// <summary>dst [b, a, inner] = src [a, b, inner], both contiguous.</summary>
    private static void SwapLeadingAxes<T>(T[] src, int srcOffset, T[] dst, int dstOffset, int a, int b, int inner)
    {
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                Array.Copy(src, srcOffset + ((long)i * b + j) * inner, dst, dstOffset + ((long)j * a + i) * inner, inner);
    }

    /// <summary>
    /// The padded extent of each spatial dimension: what the windows of the convolution read,
    /// (output − 1)·stride + d·(k − 1) + 1, with the input placed at padBefore.
    /// </summary>
    private static int Padded(ConvGeometry g, int i) => (g.Output[i] - 1) * g.Stride[i] + g.Dilation[i] * (g.Kernel[i] - 1) + 1;

    /// <summary>
    /// The offset tables of the geometries seen lately on this thread: a training step runs the same few convolutions
    /// every time, so steady-state steps build (and allocate) no tables. Bounded: cleared when it grows past 64.
    /// </summary>
    [ThreadStatic] private static Dictionary<(GeometryKey Key, int CinG, int Plane), (int[] Rows, int[] Cols)>? t_offsets;
    [ThreadStatic] private static Dictionary<(int[] Cols, int N, int Stride), int[]>? t_sampleColumns;

    private static (int[] Rows, int[] Cols) CachedOffsets(ConvGeometry g, int cinG, int plane)
    {
        var cache = t_offsets ??= new();
        var key = (g.Key, cinG, plane);
        if (cache.TryGetValue(key, out var tables)) return tables;
        if (cache.Count >= 64) cache.Clear();
        return cache[key] = Offsets(g, cinG, plane);
    }

    [ThreadStatic] private static Dictionary<(int Rows, int Width, int PaddedWidth), int[]>? t_rowColumns;

    /// <summary>Column offsets of a product over whole-vector rows: column r·width + c reads padded position (r, c).
    /// Columns past the output's width read into the next padded row (their results are dropped); the padded copy
    /// has slack for the last row's.</summary>
    private static int[] CachedRowColumns(int rows, int width, int paddedWidth)
    {
        var cache = t_rowColumns ??= new();
        var key = (rows, width, paddedWidth);
        if (cache.TryGetValue(key, out var cols)) return cols;
        if (cache.Count >= 64) cache.Clear();
        cols = new int[rows * width];
        for (int j = 0; j < cols.Length; j++) cols[j] = j / width * paddedWidth + j % width;
        return cache[key] = cols;
    }

    private static int[] CachedSampleColumns(int[] cols, int n, int stride)
    {
        var cache = t_sampleColumns ??= new(new SampleColumnsKeyComparer());
        var key = (cols, n, stride);
        if (cache.TryGetValue(key, out var all)) return all;
        if (cache.Count >= 64) cache.Clear();
        return cache[key] = SampleColumns(cols, n, stride);
    }

    /// <summary>Keys on the identity of the (cached, immutable) column table plus the batch and sample stride.</summary>
    private sealed class SampleColumnsKeyComparer : IEqualityComparer<(int[] Cols, int N, int Stride)>
    {
        public bool Equals((int[] Cols, int N, int Stride) a, (int[] Cols, int N, int Stride) b) =>
            ReferenceEquals(a.Cols, b.Cols) && a.N == b.N && a.Stride == b.Stride;

        public int GetHashCode((int[] Cols, int N, int Stride) k) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Cols), k.N, k.Stride);
    }

    /// <summary>
    /// Row offsets (channel ci of the group, kernel tap k) and column offsets (output position, stride apart along
    /// each dimension) into padded planes of <paramref name="plane"/> elements. Column offsets grow strictly, as the
    /// indexed GEMM requires.
    /// </summary>
    private static (int[] Rows, int[] Cols) Offsets(ConvGeometry g, int cinG, int plane)
    {
        int p1 = Padded(g, 1), p2 = Padded(g, 2);
        int k1 = g.Kernel[1], k2 = g.Kernel[2], kSize = g.KernelSize;
        var rows = new int[cinG * kSize];
        for (int q = 0; q < rows.Length; q++)
        {
            int ci = q / kSize, k = q % kSize;
            int t0 = k / (k1 * k2), t1 = k / k2 % k1, t2 = k % k2;
            rows[q] = ci * plane + (t0 * g.Dilation[0] * p1 + t1 * g.Dilation[1]) * p2 + t2 * g.Dilation[2];
        }
        int o1 = g.Output[1], o2 = g.Output[2];
        int s0 = g.Stride[0], s1 = g.Stride[1], s2 = g.Stride[2];
        var cols = new int[g.OutputSize];
        for (int j = 0; j < cols.Length; j++)
            cols[j] = (j / (o1 * o2) * s0 * p1 + j / o2 % o1 * s1) * p2 + j % o2 * s2;
        return (rows, cols);
    }

    /// <summary>
    /// x [N, C, input] with zeros around it, as planes of the padded extent; x itself (no copy, null returned) when
    /// nothing is padded. Rows of the padded planes are written once each: zeros, the input row, zeros.
    /// </summary>
    private const int PaddedSlack = 16;

    private static Tensor? PaddedInput<T>(Tensor x, ConvGeometry g, out T[] data, out int offset, out int plane)
        where T : unmanaged, INumber<T>
    {
        int p0 = Padded(g, 0), p1 = Padded(g, 1), p2 = Padded(g, 2);
        plane = p0 * p1 * p2;
        bool copy = false;
        for (int i = 0; i < ConvGeometry.MaxSpatial; i++)
            copy |= g.PadBefore[i] != 0 || Padded(g, i) != g.Input[i];
        if (!copy)
        {
            data = Data<T>(x);
            offset = x.Offset;
            return null;
        }
        int planes = x.ShapeArray[0] * x.ShapeArray[1];
        // Slack past the last plane: a product over whole-vector rows reads up to a vector beyond its last row.
        var padded = Tensor.Alloc([planes * plane + PaddedSlack], x.DType, x.Device);
        T[] src = Data<T>(x), dst = Data<T>(padded);
        int srcOffset = x.Offset, inPlane = g.InputSize, padPlane = plane;
        int in0 = g.Input[0], in1 = g.Input[1], in2 = g.Input[2];
        int b0 = g.PadBefore[0], b1 = g.PadBefore[1], b2 = g.PadBefore[2];
        // The part of a padded row [0, p2) that holds input columns, and the input column it starts at.
        int lo = Math.Clamp(b2, 0, p2), hi = Math.Clamp(b2 + in2, lo, p2), first = lo - b2;
        ParallelRows(planes, padPlane, (src, dst, srcOffset, inPlane, padPlane, in0, in1, in2, b0, b1, b2, lo, hi, first, p0, p1, p2), static (s, start, end) =>
        {
            var (src, dst, srcOffset, inPlane, padPlane, in0, in1, in2, b0, b1, b2, lo, hi, first, p0, p1, p2) = s;
            for (int pl = start; pl < end; pl++)
            {
                for (int r0 = 0; r0 < p0; r0++)
                for (int r1 = 0; r1 < p1; r1++)
                {
                    var row = dst.AsSpan(pl * padPlane + (r0 * p1 + r1) * p2, p2);
                    int i0 = r0 - b0, i1 = r1 - b1;
                    if ((uint)i0 >= (uint)in0 || (uint)i1 >= (uint)in1 || hi == lo)
                    {
                        row.Clear();
                        continue;
                    }
                    row[..lo].Clear();
                    src.AsSpan(srcOffset + pl * inPlane + (i0 * in1 + i1) * in2 + first, hi - lo).CopyTo(row[lo..hi]);
                    row[hi..].Clear();
                }
            }
        });
        data = dst;
        offset = padded.Offset;
        return padded;
    }

    /// <summary>
    /// wt[grp·Cin/G + ci, co, k] = w[grp·Cout/G + co, ci, K − 1 − k]: the weight of the input-gradient convolution.
    /// Output rows (grp, ci) in parallel, each filled from a block of 16 input channels at a time so the strided reads
    /// (one K-run per co) reuse their cache lines: a 512-channel 3×3 weight (9.4 MB) took ~1.8 ms with the plain
    /// triple loop, about 1/5 of that layer's input-gradient product.
    /// </summary>
    private static void FlipTranspose<T>(Tensor w, Tensor wt, int cin, int cout, int kSize, int groups) where T : unmanaged
    {
        T[] src = Data<T>(w), dst = Data<T>(wt);
        int cinG = cin / groups, coutG = cout / groups, srcOffset = w.Offset, dstOffset = wt.Offset;
        const int Block = 16;
        int blocksPerGroup = (cinG + Block - 1) / Block;
        ParallelRows(groups * blocksPerGroup, Block * coutG * kSize, (src, dst, cinG, coutG, srcOffset, dstOffset, blocksPerGroup, kSize), static (s, start, end) =>
        {
            var (src, dst, cinG, coutG, srcOffset, dstOffset, blocksPerGroup, kSize) = s;
            for (int blockIndex = start; blockIndex < end; blockIndex++)
            {
                int grp = blockIndex / blocksPerGroup, ci0 = blockIndex % blocksPerGroup * Block, ci1 = Math.Min(cinG, ci0 + Block);
                for (int co = 0; co < coutG; co++)
                    for (int ci = ci0; ci < ci1; ci++)
                    {
                        var from = src.AsSpan(srcOffset + ((grp * coutG + co) * cinG + ci) * kSize, kSize);
                        var to = dst.AsSpan(dstOffset + ((grp * cinG + ci) * coutG + co) * kSize, kSize);
                        for (int k = 0; k < from.Length; k++) to[k] = from[from.Length - 1 - k];
                    }
            }
        });
    }
}
