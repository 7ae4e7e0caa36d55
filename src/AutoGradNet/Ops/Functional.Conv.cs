namespace AutoGradNet;

/// <summary>
/// Functional neural-network ops (PyTorch's <c>torch.nn.functional</c>); layout NCHW (channels first).
/// Tip: <c>using F = AutoGradNet.Functional;</c> then <c>F.Conv2d(x, w, b, stride: 2, padding: 1)</c>.
/// Channels-last data ([N, H, W, C]) converts with <c>x.Permute(0, 3, 1, 2)</c>.
/// </summary>
public static partial class Functional
{
    // ---- unfold / fold: the linear pair every convolution is built from -----------------------------------

    /// <summary>im2col over 1–3 spatial dims: [N, C, *S] → [N, C·prod(K), L]; its backward is <see cref="FoldNd"/>.</summary>
    internal static Tensor UnfoldNd(Tensor x, ConvGeometry g)
    {
        int n = x.Size(0), c = x.Size(1);
        var cols = Tensor.Alloc([n, c * g.KernelSize, g.OutputSize], x.DType, x.Device);
        using (var dense = x.Dense()) x.Device.Backend.Unfold(dense, cols, g);
        var inShape = x.Shape.ToArray();
        return Tape.Record(cols, "UnfoldBackward", (grad, _, _) => [FoldNd(grad, g, inShape)], [x]);
    }

    /// <summary>col2im, the adjoint of <see cref="UnfoldNd"/>: [N, C·prod(K), L] → [N, C, *S]; its backward is unfold.</summary>
    internal static Tensor FoldNd(Tensor cols, ConvGeometry g, int[] outShape)
    {
        var x = Tensor.Alloc(outShape, cols.DType, cols.Device);
        using (var dense = cols.Dense()) cols.Device.Backend.Fold(dense, x, g);
        return Tape.Record(x, "FoldBackward", (grad, _, _) => [UnfoldNd(grad, g)], [cols]);
    }

    /// <summary>
    /// Extracts sliding blocks of a 2-D input [N, C, H, W] into [N, C·kh·kw, L] (PyTorch's <c>F.unfold</c>); an unbatched
    /// input [C, H, W] gives [C·kh·kw, L], as PyTorch's im2col.
    /// </summary>
    public static Tensor Unfold(Tensor input, Ints kernelSize, Ints? dilation = null, Ints? padding = null, Ints? stride = null)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "unfold";
        Guard.Float(input, op);
        Guard.Rank(input, 3, 4, op);
        bool unbatched = input.Rank == 3;
        var x = unbatched ? input.Unsqueeze(0) : input;
        var pad = (padding ?? 0).For(2, op, "padding");
        var g = Geometry(x.ShapeArray.AsSpan(2), kernelSize.For(2, op, "kernel size"), (stride ?? 1).For(2, op, "stride"),
            (dilation ?? 1).For(2, op, "dilation"), pad, pad, op, input.Shape);
        var cols = UnfoldNd(x, g);
        return composite.Keep(unbatched ? cols.Squeeze(0) : cols);
    }

    /// <summary>
    /// Sums sliding blocks [N, C·kh·kw, L] back into [N, C, H, W] of <paramref name="outputSize"/> (PyTorch's <c>F.fold</c>);
    /// an unbatched input [C·kh·kw, L] gives [C, H, W].
    /// </summary>
    public static Tensor Fold(Tensor input, Ints outputSize, Ints kernelSize, Ints? dilation = null, Ints? padding = null, Ints? stride = null)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "fold";
        Guard.Float(input, op);
        Guard.Rank(input, 2, 3, op);
        bool unbatched = input.Rank == 2;
        var cols = unbatched ? input.Unsqueeze(0) : input;
        var size = outputSize.For(2, op, "output size");
        var k = kernelSize.For(2, op, "kernel size");
        var pad = (padding ?? 0).For(2, op, "padding");
        var g = Geometry(size, k, (stride ?? 1).For(2, op, "stride"), (dilation ?? 1).For(2, op, "dilation"), pad, pad, op, input.Shape);
        if (cols.Size(1) % g.KernelSize != 0 || cols.Size(2) != g.OutputSize)
            throw new ArgumentException($"{op}: input {input.Shape} does not hold C·{g.KernelSize} rows of {g.OutputSize} blocks for output size {outputSize} and kernel {kernelSize}");
        var y = FoldNd(cols, g, [cols.Size(0), cols.Size(1) / g.KernelSize, size[0], size[1]]);
        return composite.Keep(unbatched ? y.Squeeze(0) : y);
    }

    /// <summary>Builds and validates a window geometry; output sizes follow floor((S + 2P − D·(K−1) − 1)/S) + 1.</summary>
    private static ConvGeometry Geometry(ReadOnlySpan<int> input, ReadOnlySpan<int> kernel, ReadOnlySpan<int> stride, ReadOnlySpan<int> dilation,
        ReadOnlySpan<int> padBefore, ReadOnlySpan<int> padAfter, string op, Shape inputShape)
    {
        Span<int> output = stackalloc int[input.Length];
        for (int d = 0; d < input.Length; d++)
        {
            if (kernel[d] <= 0) throw new ArgumentException($"{op}: kernel size must be positive, got [{string.Join(", ", kernel.ToArray())}]");
            if (stride[d] <= 0) throw new ArgumentException($"{op}: stride must be positive, got [{string.Join(", ", stride.ToArray())}]");
            if (dilation[d] <= 0) throw new ArgumentException($"{op}: dilation must be positive, got [{string.Join(", ", dilation.ToArray())}]");
            int effective = dilation[d] * (kernel[d] - 1) + 1;
            int padded = input[d] + padBefore[d] + padAfter[d];
            if (effective > padded)
                throw new ArgumentException(
                    $"{op}: kernel size {effective} (kernel {kernel[d]}, dilation {dilation[d]}) is larger than the padded input size {padded} in spatial dim {d} (input {inputShape})");
            output[d] = ConvGeometry.OutputLength(input[d], kernel[d], stride[d], dilation[d], padBefore[d] + padAfter[d]);
        }
        return ConvGeometry.Of(input, kernel, stride, dilation, padBefore, output);
    }

    // ---- convolution ------------------------------------------------------------------------------------------

    /// <summary>1-D convolution of [N, Cin, L] with weight [Cout, Cin/groups, K].</summary>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, Ints? stride = null, Padding? padding = null, Ints? dilation = null, int groups = 1) =>
        ConvNd(input, weight, bias, stride ?? 1, padding ?? 0, dilation ?? 1, groups, 1, "conv1d");

    /// <summary>
    /// 2-D convolution (cross-correlation, as in every framework) of [N, Cin, H, W] with weight [Cout, Cin/groups, kh, kw].
    /// </summary>
    /// <remarks>out[n, o, y, x] = b[o] + Σ_{c, i, j} w[o, c, i, j] · in[n, g·Cin/G + c, y·s − p + i·d, x·s − p + j·d];
    /// output size floor((W + 2P − D·(K−1) − 1)/S) + 1. Computed as im2col + GEMM; the backward (input gradient =
    /// transposed convolution, weight gradient = gradient·colsᵀ) comes from the differentiable unfold/matmul pair,
    /// so double backward works.</remarks>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Ints? stride = null, Padding? padding = null, Ints? dilation = null, int groups = 1) =>
        ConvNd(input, weight, bias, stride ?? 1, padding ?? 0, dilation ?? 1, groups, 2, "conv2d");

    /// <summary>3-D convolution of [N, Cin, D, H, W] with weight [Cout, Cin/groups, kd, kh, kw].</summary>
    public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias = null, Ints? stride = null, Padding? padding = null, Ints? dilation = null, int groups = 1) =>
        ConvNd(input, weight, bias, stride ?? 1, padding ?? 0, dilation ?? 1, groups, 3, "conv3d");

    private static Tensor ConvNd(Tensor input, Tensor weight, Tensor? bias, Ints strideArg, Padding padding, Ints dilationArg, int groups, int rank, string op)
    {
        using var composite = Tensor.OpenComposite();
        Guard.Compatible(input, weight, op);
        Guard.Float(input, op);
        bool unbatched = input.Rank == rank + 1;
        if (input.Rank != rank + 2 && !unbatched)
            throw new ArgumentException($"{op}: expected input of rank {rank + 2} [N, C, {SpatialNames(rank)}] (or {rank + 1} unbatched), got {input.Shape}");
        if (weight.Rank != rank + 2)
            throw new ArgumentException($"{op}: expected weight of rank {rank + 2} [Cout, Cin/groups, {SpatialNames(rank)}], got {weight.Shape}");
        var x = unbatched ? input.Unsqueeze(0) : input;
        int n = x.Size(0), cin = x.Size(1), cout = weight.Size(0);
        if (groups <= 0) throw new ArgumentException($"{op}: groups must be positive, got {groups}");
        if (cin % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"{op}: input channels {cin} and output channels {cout} must both be divisible by groups={groups} (input {input.Shape}, weight {weight.Shape})");
        if (weight.Size(1) != cin / groups)
            throw new ArgumentException($"{op}: weight {weight.Shape} expects {weight.Size(1) * groups} input channels (groups={groups}) but input {input.Shape} has {cin}");
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != cout))
            throw new ArgumentException($"{op}: bias must be [{cout}], got {bias.Shape}");
        var stride = strideArg.Shared(rank, op, "stride");
        var dilation = dilationArg.Shared(rank, op, "dilation");
        var kernel = weight.ShapeArray.AsSpan(2);
        if (padding.IsSame && Array.Exists(stride, s => s != 1))
            throw new ArgumentException($"{op}: padding=\"same\" needs stride 1, got ({string.Join(", ", stride)})");
        var (before, after) = padding.Resolve(rank, kernel, dilation, op);
        var g = Geometry(x.ShapeArray.AsSpan(2), kernel, stride, dilation, before, after, op, input.Shape);

        if (bias is not null) Guard.Compatible(input, bias, op);
        var y = Convolution(x, weight, g, groups, bias);
        return composite.Keep(unbatched ? y.Squeeze(0) : y);
    }

    /// <summary>
    /// Transposed 2-D convolution (the adjoint of <see cref="Conv2d"/> with the same hyper-parameters; also called
    /// deconvolution) of [N, Cin, H, W] with weight [Cin, Cout/groups, kh, kw].
    /// </summary>
    /// <remarks>Output size (H − 1)·S − 2P + D·(K − 1) + outputPadding + 1.</remarks>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, Ints? stride = null, Ints? padding = null,
        Ints? outputPadding = null, int groups = 1, Ints? dilation = null) =>
        ConvTransposeNd(input, weight, bias, stride ?? 1, padding ?? 0, outputPadding ?? 0, groups, dilation ?? 1, 2, "conv_transpose2d");

    /// <summary>Transposed 1-D convolution of [N, Cin, L] with weight [Cin, Cout/groups, K].</summary>
    public static Tensor ConvTranspose1d(Tensor input, Tensor weight, Tensor? bias = null, Ints? stride = null, Ints? padding = null,
        Ints? outputPadding = null, int groups = 1, Ints? dilation = null) =>
        ConvTransposeNd(input, weight, bias, stride ?? 1, padding ?? 0, outputPadding ?? 0, groups, dilation ?? 1, 1, "conv_transpose1d");

    /// <summary>Transposed 3-D convolution of [N, Cin, D, H, W] with weight [Cin, Cout/groups, kd, kh, kw].</summary>
    public static Tensor ConvTranspose3d(Tensor input, Tensor weight, Tensor? bias = null, Ints? stride = null, Ints? padding = null,
        Ints? outputPadding = null, int groups = 1, Ints? dilation = null) =>
        ConvTransposeNd(input, weight, bias, stride ?? 1, padding ?? 0, outputPadding ?? 0, groups, dilation ?? 1, 3, "conv_transpose3d");

    private static Tensor ConvTransposeNd(Tensor input, Tensor weight, Tensor? bias, Ints strideArg, Ints paddingArg, Ints outputPaddingArg,
        int groups, Ints dilationArg, int rank, string op)
    {
        using var composite = Tensor.OpenComposite();
        Guard.Compatible(input, weight, op);
        Guard.Float(input, op);
        bool unbatched = input.Rank == rank + 1;
        if (input.Rank != rank + 2 && !unbatched)
            throw new ArgumentException($"{op}: expected input of rank {rank + 2} [N, C, {SpatialNames(rank)}], got {input.Shape}");
        if (weight.Rank != rank + 2)
            throw new ArgumentException($"{op}: expected weight of rank {rank + 2} [Cin, Cout/groups, {SpatialNames(rank)}], got {weight.Shape}");
        var x = unbatched ? input.Unsqueeze(0) : input;
        int n = x.Size(0), cin = x.Size(1);
        if (groups <= 0 || cin % groups != 0)
            throw new ArgumentException($"{op}: input channels {cin} must be divisible by groups={groups}");
        if (weight.Size(0) != cin)
            throw new ArgumentException($"{op}: weight {weight.Shape} expects {weight.Size(0)} input channels but input {input.Shape} has {cin}");
        int cout = weight.Size(1) * groups;
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != cout))
            throw new ArgumentException($"{op}: bias must be [{cout}], got {bias.Shape}");
        var stride = strideArg.For(rank, op, "stride");
        var padding = paddingArg.For(rank, op, "padding");
        var outputPadding = outputPaddingArg.For(rank, op, "output padding");
        var dilation = dilationArg.For(rank, op, "dilation");
        var kernel = weight.Shape.ToArray()[2..];
        var inSpatial = x.Shape.ToArray()[2..];
        var outSpatial = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            if (stride[d] <= 0 || dilation[d] <= 0) throw new ArgumentException($"{op}: stride and dilation must be positive, got stride {strideArg}, dilation {dilationArg}");
            if (padding[d] < 0) throw new ArgumentException($"{op}: padding must be non-negative, got {paddingArg}");
            if (outputPadding[d] < 0 || (outputPadding[d] >= stride[d] && outputPadding[d] >= dilation[d]))
                throw new ArgumentException($"{op}: output padding must be smaller than stride or dilation, got {outputPaddingArg} (stride {strideArg}, dilation {dilationArg})");
            outSpatial[d] = (inSpatial[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + outputPadding[d] + 1;
            if (outSpatial[d] <= 0) throw new ArgumentException($"{op}: output size {outSpatial[d]} is not positive for input {input.Shape}, weight {weight.Shape}");
        }
        // The convolution whose adjoint this is reads outSpatial with these hyper-parameters and produces inSpatial.
        var g = ConvGeometry.Of(outSpatial, kernel, stride, dilation, padding, inSpatial);
        // Transposed convolution is the input gradient of the convolution that maps outSpatial to inSpatial;
        // its weight [Cin, Cout/G, K] is that convolution's [Cout', Cin'/G, K] with Cout' = Cin, Cin' = Cout.
        var y = ConvolutionInput(x, weight, g, groups, [n, cout, .. outSpatial]);
        if (bias is not null) y = y.Add(bias.Reshape(BiasShape(cout, rank)));
        return composite.Keep(unbatched ? y.Squeeze(0) : y);
    }

    private static int[] BiasShape(int channels, int rank)
    {
        var shape = new int[rank + 2];
        Array.Fill(shape, 1);
        shape[1] = channels;
        return shape;
    }

    private static string SpatialNames(int rank) => rank switch { 1 => "L", 2 => "H, W", _ => "D, H, W" };
}
