using System.Numerics;
using AutoGradNet.Gpu.Kernels;

namespace AutoGradNet.Gpu;

// Convolutions as implicit GEMMs (ConvKernels): the im2col operand is gathered from the input while the GEMM
// stages it, so no columns are materialised, for every stride, padding, dilation and group count.
internal sealed partial class GpuBackend
{
    /// <summary>
    /// The weight gradient splits its depth (N·output positions) when its product has fewer tiles than this,
    /// so that long, narrow products still fill the device (4 groups per multiprocessor).
    /// </summary>
    internal int ConvSplitTargetBlocks { get; set; }

    /// <summary>Positions of the depth each split of the weight gradient sums at least.</summary>
    internal int ConvSplitMinDepth { get; set; } = 512;

    /// <summary>Groups of channels per launch (grid z); settable so tests can exercise several launches.</summary>
    internal int ConvGroupsPerLaunch { get; set; } = MaxGridZ;

    /// <summary>Largest partial buffer (elements) of a split weight gradient.</summary>
    private const long MaxSplitElements = 1L << 24;

    /// <summary>
    /// The implicit-GEMM kernels replace im2col + GEMM unless cuBLAS was chosen for this CUDA device's products
    /// (<see cref="GpuDevices.SetMatMul"/> documents that convolutions then use cuBLAS too).
    /// </summary>
    private bool ImplicitConvolution(DType dtype) =>
        dtype is DType.Float32 or DType.Float64 && !(MatMulKind == GpuMatMul.CuBlas && IsCuda);

    public bool TryConvolution(Tensor x, Tensor w, Tensor y, ConvGeometry g, int groups)
    {
        if (!ImplicitConvolution(x.DType)) return false;
        if (x.DType == DType.Float32) ConvolutionT<float>(x, w, y, g, groups);
        else ConvolutionT<double>(x, w, y, g, groups);
        return true;
    }

    public bool TryConvolutionInput(Tensor gy, Tensor w, Tensor gx, ConvGeometry g, int groups)
    {
        if (!ImplicitConvolution(gy.DType)) return false;
        if (gy.DType == DType.Float32) ConvolutionInputT<float>(gy, w, gx, g, groups);
        else ConvolutionInputT<double>(gy, w, gx, g, groups);
        return true;
    }

    public bool TryConvolutionWeight(Tensor x, Tensor gy, Tensor gw, ConvGeometry g, int groups)
    {
        if (!ImplicitConvolution(x.DType)) return false;
        if (x.DType == DType.Float32) ConvolutionWeightT<float>(x, gy, gw, g, groups);
        else ConvolutionWeightT<double>(x, gy, gw, g, groups);
        return true;
    }

    private static ConvGemmArgs ConvArgs(Tensor input, Tensor weight, Tensor output, ConvGeometry g, int groups)
    {
        int cin = input.ShapeArray[1], cout = output.ShapeArray[1];
        return new ConvGemmArgs
        {
            G = WindowArgs.From(g),
            Batch = input.ShapeArray[0], Cin = cin, Cout = cout, CinG = cin / groups, CoutG = cout / groups,
            XOffset = input.Offset, WOffset = weight.Offset, YOffset = output.Offset,
            Splits = 1,
        };
    }

    private static int Tiles(int n, int tile) => (n + tile - 1) / tile;

    /// <summary>Launches <paramref name="launch"/> for the groups in chunks of at most <paramref name="perLaunch"/> (grid z), setting FirstGroup.</summary>
    private void ForGroupChunks(int groups, int perLaunch, ConvGemmArgs p, Action<AcceleratorStream, ConvGemmArgs, int> launch)
    {
        perLaunch = Math.Max(1, Math.Min(perLaunch, ConvGroupsPerLaunch));
        for (int first = 0; first < groups; first += perLaunch)
        {
            var chunk = p;
            chunk.FirstGroup = first;
            int count = Math.Min(perLaunch, groups - first);
            Run(stream => launch(stream, chunk, count));
        }
    }

    private void ConvolutionT<T>(Tensor x, Tensor w, Tensor y, ConvGeometry g, int groups) where T : unmanaged, INumber<T>
    {
        var p = ConvArgs(x, w, y, g, groups);
        int columns = p.Batch * g.OutputSize;
        if (columns == 0 || p.Cout == 0) return;
        var kernel = Kernel("ConvolutionForward", static a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvGemmArgs>(ConvKernels.Forward));
        int tile = 4 * GemmGroup;
        var group = new Index3D(GemmGroup, GemmGroup, 1);
        ArrayView<T> xv = V<T>(x), wv = V<T>(w), yv = V<T>(y);
        ForGroupChunks(groups, MaxGridZ, p, (stream, chunk, count) =>
            kernel(stream, new KernelConfig(new Index3D(Tiles(columns, tile), Tiles(p.CoutG, tile), count), group), xv, wv, yv, chunk));
    }

    private void ConvolutionInputT<T>(Tensor gy, Tensor w, Tensor gx, ConvGeometry g, int groups) where T : unmanaged, INumber<T>
    {
        var p = ConvArgs(gx, w, gy, g, groups);
        if (gx.Numel == 0) return;
        var kernel = Kernel("ConvolutionInput", static a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvGemmArgs>(ConvKernels.Input));
        int tile = 4 * GemmGroup;
        var group = new Index3D(GemmGroup, GemmGroup, 1);
        ArrayView<T> gyv = V<T>(gy), wv = V<T>(w), gxv = V<T>(gx);
        // One launch per stride phase; the phases partition the input positions, so every gx element is written once.
        foreach (var phase in Phases(g))
        {
            int positions = phase.PosCount0 * phase.PosCount1 * phase.PosCount2;
            if (positions == 0) continue;
            var withPhase = p;
            withPhase.Phase = phase;
            int columns = p.Batch * positions;
            ForGroupChunks(groups, MaxGridZ, withPhase, (stream, chunk, count) =>
                kernel(stream, new KernelConfig(new Index3D(Tiles(columns, tile), Tiles(p.CinG, tile), count), group), gyv, wv, gxv, chunk));
        }
    }

    /// <summary>
    /// The stride phases of the input gradient: for each residue r (per dim, 0 ≤ r &lt; s) of i + p mod s, the input
    /// positions of that residue and the taps k with k·d ≡ r (mod s), an arithmetic progression of step s / gcd(s, d).
    /// </summary>
    internal static IEnumerable<ConvPhase> Phases(ConvGeometry g)
    {
        var dims = new (int PosFirst, int PosCount, int TapFirst, int TapStep, int TapCount)[ConvGeometry.MaxSpatial][];
        for (int d = 0; d < ConvGeometry.MaxSpatial; d++)
        {
            int s = g.Stride[d], dil = g.Dilation[d], k = g.Kernel[d], input = g.Input[d];
            int step = s / Gcd(s, dil);
            dims[d] = new (int, int, int, int, int)[s];
            for (int r = 0; r < s; r++)
            {
                int posFirst = ((r - g.PadBefore[d]) % s + s) % s;
                int posCount = posFirst < input ? (input - posFirst + s - 1) / s : 0;
                int tapFirst = 0;
                while (tapFirst < Math.Min(k, step) && (long)tapFirst * dil % s != r) tapFirst++;
                int tapCount = tapFirst < Math.Min(k, step) ? (k - tapFirst + step - 1) / step : 0;
                dims[d][r] = (posFirst, posCount, tapCount > 0 ? tapFirst : 0, step, tapCount);
            }
        }
        foreach (var a in dims[0])
            foreach (var b in dims[1])
                foreach (var c in dims[2])
                    yield return new ConvPhase
                    {
                        PosFirst0 = a.PosFirst, PosFirst1 = b.PosFirst, PosFirst2 = c.PosFirst,
                        PosCount0 = a.PosCount, PosCount1 = b.PosCount, PosCount2 = c.PosCount,
                        TapFirst0 = a.TapFirst, TapFirst1 = b.TapFirst, TapFirst2 = c.TapFirst,
                        TapStep0 = a.TapStep, TapStep1 = b.TapStep, TapStep2 = c.TapStep,
                        TapCount0 = a.TapCount, TapCount1 = b.TapCount, TapCount2 = c.TapCount,
                    };
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    private void ConvolutionWeightT<T>(Tensor x, Tensor gy, Tensor gw, ConvGeometry g, int groups) where T : unmanaged, INumber<T>
    {
        var p = ConvArgs(x, gw, gy, g, groups);
        int depth = p.Batch * g.OutputSize, ckg = p.CinG * g.KernelSize;
        if (depth == 0 || p.Cout == 0) return; // gw arrives zeroed
        var kernel = Kernel("ConvolutionWeight", static a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvGemmArgs>(ConvKernels.Weight));
        int tile = 4 * GemmGroup;
        var group = new Index3D(GemmGroup, GemmGroup, 1);
        int tilesN = Tiles(ckg, tile), tilesM = Tiles(p.CoutG, tile);
        int splits = WeightSplits(g, p.Batch, p.Cin, p.Cout, groups);
        ArrayView<T> xv = V<T>(x), gyv = V<T>(gy);
        if (splits == 1)
        {
            p.Accumulate = 1;
            p.SplitDepth = depth;
            ArrayView<T> gwv = V<T>(gw);
            ForGroupChunks(groups, MaxGridZ, p, (stream, chunk, count) =>
                kernel(stream, new KernelConfig(new Index3D(tilesN, tilesM, count), group), xv, gyv, gwv, chunk));
            return;
        }
        // Split depth: partial products [split, Cout, Cin/G·K], then gw += their sum in split order (deterministic).
        int size = p.Cout * ckg;
        p.Splits = splits;
        p.SplitDepth = SplitDepth(depth, splits);
        p.SplitStride = size;
        p.WOffset = 0;
        p.Accumulate = 0;
        var block = Allocator.Allocate((long)splits * size * Unsafe.SizeOf<T>());
        try
        {
            var partial = block.Buffer.View.AsContiguous().Cast<T>().SubView(0, (long)splits * size);
            ForGroupChunks(groups, MaxGridZ / splits, p, (stream, chunk, count) =>
                kernel(stream, new KernelConfig(new Index3D(tilesN, tilesM, count * splits), group), xv, gyv, partial, chunk));
            var sum = Kernel("SumSplits", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int, int>(ConvKernels.SumSplits));
            ArrayView<T> gwv = V<T>(gw);
            int offset = gw.Offset;
            Run(stream => sum(stream, size, partial, gwv, offset, size, splits));
        }
        finally
        {
            Allocator.Release(block); // stream order keeps the block valid for the kernels queued above
        }
    }

    /// <summary>
    /// How many parts the weight gradient's depth (N·output positions) is summed in: 1 when its product already has
    /// <see cref="ConvSplitTargetBlocks"/> tiles or the depth is short; otherwise enough parts to reach that many,
    /// each at least <see cref="ConvSplitMinDepth"/> long (and a multiple of the K slice), the partials bounded.
    /// </summary>
    internal int WeightSplits(ConvGeometry g, int batch, int cin, int cout, int groups)
    {
        int tile = 4 * GemmGroup, depth = batch * g.OutputSize, ckg = cin / groups * g.KernelSize;
        long blocks = (long)Tiles(ckg, tile) * Tiles(cout / groups, tile) * groups;
        int target = ConvSplitTargetBlocks > 0 ? ConvSplitTargetBlocks : 4 * Math.Max(Accelerator.NumMultiprocessors, 1);
        int minDepth = Math.Max(ConvSplitMinDepth, GemmKernels.BK);
        if (blocks >= target || depth < 2 * minDepth) return 1;
        long splits = Math.Min((target + blocks - 1) / blocks, depth / minDepth);
        splits = Math.Min(Math.Min(splits, MaxGridZ), Math.Max(1, MaxSplitElements / Math.Max((long)cout * ckg, 1)));
        // Rounding each part up to whole K slices may leave fewer parts.
        int parts = (int)Math.Max(splits, 1);
        return (depth + SplitDepth(depth, parts) - 1) / SplitDepth(depth, parts);
    }

    /// <summary>Positions per part of a depth summed in <paramref name="splits"/> parts: whole K slices.</summary>
    private static int SplitDepth(int depth, int splits)
    {
        int perSplit = (depth + splits - 1) / splits;
        return (perSplit + GemmKernels.BK - 1) / GemmKernels.BK * GemmKernels.BK;
    }
}
