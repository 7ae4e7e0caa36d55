namespace AutoGradNet;

// Convolution as three linear primitives that are each other's backward:
//   Convolution(x, w)          y  = conv(x, w)
//   ConvolutionInput(gy, w)    gx = conv_transpose(gy, w)   (∂/∂x of conv, and the transposed convolution)
//   ConvolutionWeight(x, gy)   gw = Σₙ gyₙ · im2col(xₙ)ᵀ     (∂/∂w of conv)
// Because every backward is again one of the three, any order of differentiation works. Each runs as batched GEMMs
// over im2col columns built for a chunk of the batch at a time (bounded scratch memory), one GEMM per group.
public static partial class Functional
{
    /// <summary>Scratch elements of im2col columns per chunk of the batch (≈16 MB of float32).</summary>
    private const int ColumnBudget = 1 << 22;

    private static int ChunkSize(int batch, long colsPerSample) =>
        (int)Math.Clamp(ColumnBudget / Math.Max(colsPerSample, 1), 1, Math.Max(batch, 1));

    private static int[] Dense(params int[] shape) => ShapeUtil.ContiguousStrides(shape);

    internal static Tensor Convolution(Tensor x, Tensor w, ConvGeometry g, int groups, Tensor? bias = null)
    {
        var y = ConvolutionKernel(x, w, g, groups);
        int[] xShape = x.ShapeArray, wShape = w.ShapeArray; // shape arrays are never written once a tensor holds them
        // A bias is added into the fresh output (no second tensor, no broadcast-add node); its gradient is the output
        // gradient summed over the batch and every spatial position (need[2] is false when there is no bias).
        if (bias is not null) y.Device.Backend.Zip(y, bias.BroadcastAlongDim1(y.ShapeArray), y, new Kernels.AddOperator());
        return Tape.Record(y, "ConvolutionBackward", (g, groups, xShape, wShape), static (grad, s, need, in st) =>
            [need[0] ? ConvolutionInput(grad, s[1], st.g, st.groups, st.xShape) : null,
             need[1] ? ConvolutionWeight(s[0], grad, st.g, st.groups, st.wShape) : null,
             need[2] ? grad.Sum(BiasGradientDims(grad.Rank)) : null], bias is null ? [x, w] : [x, w, bias], [x, w]);
    }

    /// <summary>Every dim but the channel dim 1: what a bias gradient sums over.</summary>
    private static int[] BiasGradientDims(int rank)
    {
        var dims = new int[rank - 1];
        dims[0] = 0;
        for (int d = 2; d < rank; d++) dims[d - 1] = d;
        return dims;
    }

    internal static Tensor ConvolutionInput(Tensor gy, Tensor w, ConvGeometry g, int groups, int[] xShape)
    {
        var gx = ConvolutionInputKernel(gy, w, g, groups, xShape);
        return Tape.Record(gx, "ConvolutionInputBackward", (grad, s, need) =>
            [need[0] ? Convolution(grad, s[1], g, groups) : null,
             need[1] ? ConvolutionWeight(grad, s[0], g, groups, s[1].Shape.ToArray()) : null], [gy, w], [gy, w]);
    }

    internal static Tensor ConvolutionWeight(Tensor x, Tensor gy, ConvGeometry g, int groups, int[] wShape)
    {
        var gw = ConvolutionWeightKernel(x, gy, g, groups, wShape);
        int[] xShape = x.Shape.ToArray();
        return Tape.Record(gw, "ConvolutionWeightBackward", (grad, s, need) =>
            [need[0] ? ConvolutionInput(s[1], grad, g, groups, xShape) : null,
             need[1] ? Convolution(s[0], grad, g, groups) : null], [x, gy], [x, gy]);
    }

    /// <summary>
    /// The sizes every convolution kernel needs: batch n, channels, kernel taps k, output positions l, input positions s,
    /// per-group column rows ckg = Cin/G·k and output channels Cout/G, and the batch chunk bounding the column scratch.
    /// Views into x / cols / outputs for batch chunk [n0, n0 + nb) are built from these.
    /// </summary>
    private readonly record struct ConvPlan(int N, int Cin, int Cout, int K, int L, int S, int Ckg, int CoutG, int Chunk)
    {
        public static ConvPlan Of(int n, int cin, int cout, ConvGeometry g, int groups) =>
            new(n, cin, cout, g.KernelSize, g.OutputSize, g.InputSize, cin / groups * g.KernelSize, cout / groups,
                ChunkSize(n, (long)cin * g.KernelSize * g.OutputSize));

        public Tensor Columns(Tensor like) => Tensor.Alloc([Chunk, Cin * K, L], like.DType, like.Device);

        /// <summary>Samples [n0, n0 + nb) of an input-shaped tensor, as [nb, Cin, S].</summary>
        public Tensor InputChunk(Tensor t, int n0, int nb) => t.Borrow([nb, Cin, S], Dense(nb, Cin, S), t.Offset + n0 * Cin * S);

        /// <summary>The first nb samples of the column scratch, as [nb, Cin·K, L].</summary>
        public Tensor ColumnChunk(Tensor cols, int nb) => cols.Borrow([nb, Cin * K, L], Dense(nb, Cin * K, L), 0);

        /// <summary>Group grp of the columns of samples [0, nb), as [nb, Ckg, L] (or transposed, [nb, L, Ckg]).</summary>
        public Tensor GroupColumns(Tensor cols, int nb, int grp, bool transposed) => transposed
            ? cols.Borrow([nb, L, Ckg], [Cin * K * L, 1, L], grp * Ckg * L)
            : cols.Borrow([nb, Ckg, L], [Cin * K * L, L, 1], grp * Ckg * L);

        /// <summary>Group grp of an output-shaped tensor for samples [n0, n0 + nb), as [nb, Cout/G, L].</summary>
        public Tensor GroupOutput(Tensor t, int n0, int nb, int grp) => t.Borrow([nb, CoutG, L], [Cout * L, L, 1], t.Offset + (n0 * Cout + grp * CoutG) * L);

        /// <summary>Group grp of the weight, broadcast over nb samples, as [nb, Cout/G, Ckg] (or transposed, [nb, Ckg, Cout/G]).</summary>
        public Tensor GroupWeight(Tensor w, int nb, int grp, bool transposed) => transposed
            ? w.Borrow([nb, Ckg, CoutG], [0, 1, Ckg], w.Offset + grp * CoutG * Ckg)
            : w.Borrow([nb, CoutG, Ckg], [0, Ckg, 1], w.Offset + grp * CoutG * Ckg);
    }

    /// <summary>y[n, grp] = W[grp] · cols[n, grp] with cols = im2col(x).</summary>
    private static Tensor ConvolutionKernel(Tensor x, Tensor w, ConvGeometry g, int groups)
    {
        var p = ConvPlan.Of(x.Size(0), x.Size(1), w.Size(0), g, groups);
        var y = Tensor.Alloc([p.N, p.Cout, .. g.Output[(ConvGeometry.MaxSpatial - g.SpatialRank)..]], x.DType, x.Device);
        var backend = x.Device.Backend;
        using var xd = x.Dense();
        using var wd = w.Dense();
        if (backend.TryConvolution(xd, wd, y, g, groups)) return y;
        using var cols = p.Columns(x);
        for (int n0 = 0; n0 < p.N; n0 += p.Chunk)
        {
            int nb = Math.Min(p.Chunk, p.N - n0);
            backend.Unfold(p.InputChunk(xd, n0, nb), p.ColumnChunk(cols, nb), g);
            for (int grp = 0; grp < groups; grp++)
                backend.MatMul(p.GroupWeight(wd, nb, grp, transposed: false), p.GroupColumns(cols, nb, grp, transposed: false), p.GroupOutput(y, n0, nb, grp));
        }
        return y;
    }

    /// <summary>gx = col2im(W[grp]ᵀ · gy[n, grp]).</summary>
    private static Tensor ConvolutionInputKernel(Tensor gy, Tensor w, ConvGeometry g, int groups, int[] xShape)
    {
        var p = ConvPlan.Of(xShape[0], xShape[1], w.Size(0), g, groups);
        var gx = Tensor.Alloc(xShape, gy.DType, gy.Device);
        var backend = gy.Device.Backend;
        using var gyd = gy.Dense();
        using var wd = w.Dense();
        if (backend.TryConvolutionInput(gyd, wd, gx, g, groups)) return gx;
        using var cols = p.Columns(gy);
        for (int n0 = 0; n0 < p.N; n0 += p.Chunk)
        {
            int nb = Math.Min(p.Chunk, p.N - n0);
            for (int grp = 0; grp < groups; grp++)
                backend.MatMul(p.GroupWeight(wd, nb, grp, transposed: true), p.GroupOutput(gyd, n0, nb, grp), p.GroupColumns(cols, nb, grp, transposed: false));
            backend.Fold(p.ColumnChunk(cols, nb), p.InputChunk(gx, n0, nb), g);
        }
        return gx;
    }

    /// <summary>gw[grp] = Σₙ gy[n, grp] · im2col(x)[n, grp]ᵀ, accumulated in one GEMM per chunk (batch stride 0 in the output).</summary>
    private static Tensor ConvolutionWeightKernel(Tensor x, Tensor gy, ConvGeometry g, int groups, int[] wShape)
    {
        var p = ConvPlan.Of(x.Size(0), x.Size(1), wShape[0], g, groups);
        var gw = Tensor.Alloc(wShape, x.DType, x.Device, zero: true);
        var backend = x.Device.Backend;
        using var xd = x.Dense();
        using var gyd = gy.Dense();
        if (backend.TryConvolutionWeight(xd, gyd, gw, g, groups)) return gw;
        using var cols = p.Columns(x);
        for (int n0 = 0; n0 < p.N; n0 += p.Chunk)
        {
            int nb = Math.Min(p.Chunk, p.N - n0);
            backend.Unfold(p.InputChunk(xd, n0, nb), p.ColumnChunk(cols, nb), g);
            for (int grp = 0; grp < groups; grp++)
                backend.MatMul(p.GroupOutput(gyd, n0, nb, grp), p.GroupColumns(cols, nb, grp, transposed: true),
                    gw.Borrow([nb, p.CoutG, p.Ckg], [0, p.Ckg, 1], grp * p.CoutG * p.Ckg), accumulate: true);
        }
        return gw;
    }
}
