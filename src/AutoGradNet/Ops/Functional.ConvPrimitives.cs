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

    internal static Tensor Convolution(Tensor x, Tensor w, ConvGeometry g, int groups)
    {
        var y = ConvolutionKernel(x, w, g, groups);
        int[] xShape = x.Shape.ToArray(), wShape = w.Shape.ToArray();
        return Tape.Record(y, "ConvolutionBackward", (grad, s, need) =>
            [need[0] ? ConvolutionInput(grad, s[1], g, groups, xShape) : null,
             need[1] ? ConvolutionWeight(s[0], grad, g, groups, wShape) : null], [x, w], [x, w]);
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

    /// <summary>y[n, grp] = W[grp] · cols[n, grp] with cols = im2col(x).</summary>
    private static Tensor ConvolutionKernel(Tensor x, Tensor w, ConvGeometry g, int groups)
    {
        int n = x.Size(0), cin = x.Size(1), cout = w.Size(0);
        int k = g.KernelSize, l = g.OutputSize, s = g.InputSize;
        int ckg = cin / groups * k, coutG = cout / groups;
        int[] outShape = [n, cout, .. g.Output[(ConvGeometry.MaxSpatial - g.SpatialRank)..]];
        var y = Tensor.Alloc(outShape, x.DType, x.Device);
        var backend = x.Device.Backend;
        int chunk = ChunkSize(n, (long)cin * k * l);
        using var xd = x.Contiguous().Alias(false);
        using var wd = w.Contiguous().Alias(false);
        using var cols = Tensor.Alloc([chunk, cin * k, l], x.DType, x.Device);
        for (int n0 = 0; n0 < n; n0 += chunk)
        {
            int nb = Math.Min(chunk, n - n0);
            backend.Unfold(xd.Borrow([nb, cin, s], Dense(nb, cin, s), xd.Offset + n0 * cin * s), cols.Borrow([nb, cin * k, l], Dense(nb, cin * k, l), 0), g);
            for (int grp = 0; grp < groups; grp++)
                backend.MatMul(
                    wd.Borrow([nb, coutG, ckg], [0, ckg, 1], wd.Offset + grp * coutG * ckg),
                    cols.Borrow([nb, ckg, l], [cin * k * l, l, 1], grp * ckg * l),
                    y.Borrow([nb, coutG, l], [cout * l, l, 1], (n0 * cout + grp * coutG) * l));
        }
        return y;
    }

    /// <summary>gx = col2im(W[grp]ᵀ · gy[n, grp]).</summary>
    private static Tensor ConvolutionInputKernel(Tensor gy, Tensor w, ConvGeometry g, int groups, int[] xShape)
    {
        int n = xShape[0], cin = xShape[1], cout = w.Size(0);
        int k = g.KernelSize, l = g.OutputSize, s = g.InputSize;
        int ckg = cin / groups * k, coutG = cout / groups;
        var gx = Tensor.Alloc(xShape, gy.DType, gy.Device);
        var backend = gy.Device.Backend;
        int chunk = ChunkSize(n, (long)cin * k * l);
        using var gyd = gy.Contiguous().Alias(false);
        using var wd = w.Contiguous().Alias(false);
        using var cols = Tensor.Alloc([chunk, cin * k, l], gy.DType, gy.Device);
        for (int n0 = 0; n0 < n; n0 += chunk)
        {
            int nb = Math.Min(chunk, n - n0);
            for (int grp = 0; grp < groups; grp++)
                backend.MatMul(
                    wd.Borrow([nb, ckg, coutG], [0, 1, ckg], wd.Offset + grp * coutG * ckg),
                    gyd.Borrow([nb, coutG, l], [cout * l, l, 1], gyd.Offset + (n0 * cout + grp * coutG) * l),
                    cols.Borrow([nb, ckg, l], [cin * k * l, l, 1], grp * ckg * l));
            backend.Fold(cols.Borrow([nb, cin * k, l], Dense(nb, cin * k, l), 0), gx.Borrow([nb, cin, s], Dense(nb, cin, s), n0 * cin * s), g);
        }
        return gx;
    }

    /// <summary>gw[grp] = Σₙ gy[n, grp] · im2col(x)[n, grp]ᵀ, accumulated in one GEMM per chunk (batch stride 0 in the output).</summary>
    private static Tensor ConvolutionWeightKernel(Tensor x, Tensor gy, ConvGeometry g, int groups, int[] wShape)
    {
        int n = x.Size(0), cin = x.Size(1), cout = wShape[0];
        int k = g.KernelSize, l = g.OutputSize, s = g.InputSize;
        int ckg = cin / groups * k, coutG = cout / groups;
        var gw = Tensor.Alloc(wShape, x.DType, x.Device, zero: true);
        var backend = x.Device.Backend;
        int chunk = ChunkSize(n, (long)cin * k * l);
        using var xd = x.Contiguous().Alias(false);
        using var gyd = gy.Contiguous().Alias(false);
        using var cols = Tensor.Alloc([chunk, cin * k, l], x.DType, x.Device);
        for (int n0 = 0; n0 < n; n0 += chunk)
        {
            int nb = Math.Min(chunk, n - n0);
            backend.Unfold(xd.Borrow([nb, cin, s], Dense(nb, cin, s), xd.Offset + n0 * cin * s), cols.Borrow([nb, cin * k, l], Dense(nb, cin * k, l), 0), g);
            for (int grp = 0; grp < groups; grp++)
                backend.MatMul(
                    gyd.Borrow([nb, coutG, l], [cout * l, l, 1], gyd.Offset + (n0 * cout + grp * coutG) * l),
                    cols.Borrow([nb, l, ckg], [cin * k * l, 1, l], grp * ckg * l),
                    gw.Borrow([nb, coutG, ckg], [0, ckg, 1], grp * coutG * ckg),
                    accumulate: true);
        }
        return gw;
    }
}
