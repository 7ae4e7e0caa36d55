namespace AutoGradNet;

public static partial class Functional
{
    /// <summary>2-D max pooling; stride defaults to the kernel size. See <see cref="MaxPool2dWithIndices"/> for the indices.</summary>
    /// <remarks>NOTE: at ties the gradient goes to the first maximum in window order (row-major), as PyTorch's CPU kernel.
    /// A window that holds no input position (dilation with padding can make one) gives −∞, as PyTorch, with index −1
    /// and no gradient.</remarks>
    public static Tensor MaxPool2d(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) =>
        ValuesOnly(MaxPoolNd(input, kernelSize, stride, padding, dilation, ceilMode, 2, "max_pool2d"));

    /// <summary>2-D max pooling returning the values and the flat index (h·W + w) of each maximum in its input plane.</summary>
    public static (Tensor Values, Tensor Indices) MaxPool2dWithIndices(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) =>
        MaxPoolNd(input, kernelSize, stride, padding, dilation, ceilMode, 2, "max_pool2d");

    /// <summary>1-D max pooling.</summary>
    public static Tensor MaxPool1d(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) =>
        ValuesOnly(MaxPoolNd(input, kernelSize, stride, padding, dilation, ceilMode, 1, "max_pool1d"));

    /// <summary>1-D max pooling with indices.</summary>
    public static (Tensor Values, Tensor Indices) MaxPool1dWithIndices(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) =>
        MaxPoolNd(input, kernelSize, stride, padding, dilation, ceilMode, 1, "max_pool1d");

    /// <summary>3-D max pooling.</summary>
    public static Tensor MaxPool3d(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) =>
        ValuesOnly(MaxPoolNd(input, kernelSize, stride, padding, dilation, ceilMode, 3, "max_pool3d"));

    /// <summary>3-D max pooling with indices (flat index d·H·W + h·W + w).</summary>
    public static (Tensor Values, Tensor Indices) MaxPool3dWithIndices(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, Ints? dilation = null, bool ceilMode = false) =>
        MaxPoolNd(input, kernelSize, stride, padding, dilation, ceilMode, 3, "max_pool3d");

    /// <summary>A shared read-only array of <paramref name="length"/> copies of 0 or 1 (lengths up to 3): geometry
    /// arguments that only get read.</summary>
    private static int[] Filled(int length, int value) => (value == 0 ? s_zeros : s_ones)[length];

    private static readonly int[][] s_zeros = [[], [0], [0, 0], [0, 0, 0]];
    private static readonly int[][] s_ones = [[], [1], [1, 1], [1, 1, 1]];

    /// <summary>The values of a (values, indices) result; the indices are freed (backward keeps its own reference).</summary>
    private static Tensor ValuesOnly((Tensor Values, Tensor Indices) result)
    {
        result.Indices.Dispose();
        return result.Values;
    }

    /// <summary>
    /// Output length of a pooling window; with ceil mode the last window must still start inside the input or
    /// its left padding (PyTorch's rule).
    /// </summary>
    private static int PoolLength(int input, int kernel, int stride, int dilation, int pad, bool ceil)
    {
        int length = ConvGeometry.OutputLength(input, kernel, stride, dilation, 2 * pad, ceil);
        if (ceil && length > 0 && (length - 1) * stride >= input + pad) length--;
        return length;
    }

    private static (Tensor Input, bool Unbatched, int[] Kernel, int[] Stride, int[] Padding, int[] Dilation) PoolArgs(
        Tensor input, Ints kernelSize, Ints? strideArg, Ints? paddingArg, Ints? dilationArg, int rank, string op)
    {
        Guard.Float(input, op);
        bool unbatched = input.Rank == rank + 1;
        if (input.Rank != rank + 2 && !unbatched)
            throw new ArgumentException($"{op}: expected input of rank {rank + 1} or {rank + 2} [N, C, {SpatialNames(rank)}], got {input.Shape}");
        var kernel = kernelSize.Shared(rank, op, "kernel size");
        var stride = strideArg is null || strideArg.Value.IsDefault ? kernel : strideArg.Value.Shared(rank, op, "stride");
        var padding = (paddingArg ?? 0).Shared(rank, op, "padding");
        var dilation = (dilationArg ?? 1).Shared(rank, op, "dilation");
        for (int d = 0; d < rank; d++)
        {
            if (kernel[d] <= 0) throw new ArgumentException($"{op}: kernel size must be positive, got {kernelSize}");
            if (stride[d] <= 0) throw new ArgumentException($"{op}: stride must be positive, got {strideArg}");
            if (dilation[d] <= 0) throw new ArgumentException($"{op}: dilation must be positive, got {dilationArg}");
            if (padding[d] < 0 || padding[d] > (dilation[d] * (kernel[d] - 1) + 1) / 2)
                throw new ArgumentException($"{op}: padding should be at most half of the effective kernel size, got padding {paddingArg} for kernel {kernelSize}");
        }
        return (unbatched ? input.Unsqueeze(0) : input, unbatched, kernel, stride, padding, dilation);
    }

    private static (Tensor Values, Tensor Indices) MaxPoolNd(Tensor input, Ints kernelSize, Ints? strideArg, Ints? paddingArg, Ints? dilationArg, bool ceilMode, int rank, string op)
    {
        using var composite = Tensor.OpenComposite();
        var (x, unbatched, kernel, stride, padding, dilation) = PoolArgs(input, kernelSize, strideArg, paddingArg, dilationArg, rank, op);
        var spatial = x.ShapeArray[2..];
        var output = new int[rank];
        var starts = new int[rank][];
        var ends = new int[rank][];
        for (int d = 0; d < rank; d++)
        {
            output[d] = PoolLength(spatial[d], kernel[d], stride[d], dilation[d], padding[d], ceilMode);
            if (output[d] <= 0)
                throw new ArgumentException($"{op}: kernel {kernelSize} (dilation {dilationArg}) is larger than the padded input {input.Shape}");
            starts[d] = new int[output[d]];
            ends[d] = new int[output[d]];
            for (int o = 0; o < output[d]; o++)
            {
                int start = o * stride[d] - padding[d];
                int end = Math.Min(start + dilation[d] * (kernel[d] - 1) + 1, spatial[d]);
                while (start < 0) start += dilation[d];
                starts[d][o] = start;
                ends[d][o] = end;
            }
        }
        return composite.Keep(MaxOverWindows(x, unbatched, spatial, kernel, dilation, output, starts, ends, op));
    }

    /// <summary>Max over explicit windows (shared by max pooling and adaptive max pooling); backward scatters to the arg-max.</summary>
    private static (Tensor Values, Tensor Indices) MaxOverWindows(Tensor x, bool unbatched, int[] spatial, int[] kernel, int[] dilation, int[] output,
        int[][] starts, int[][] ends, string op)
    {
        int rank = spatial.Length, lead = ConvGeometry.MaxSpatial - rank;
        var g = ConvGeometry.Of(spatial, kernel, Filled(rank, 1), dilation, Filled(rank, 0), output);
        var fullStarts = new int[ConvGeometry.MaxSpatial][];
        var fullEnds = new int[ConvGeometry.MaxSpatial][];
        for (int d = 0; d < ConvGeometry.MaxSpatial; d++)
        {
            fullStarts[d] = d < lead ? Filled(1, 0) : starts[d - lead];
            fullEnds[d] = d < lead ? Filled(1, 1) : ends[d - lead];
        }
        int n = x.Size(0), c = x.Size(1);
        int[] outShape = [n, c, .. output];
        var values = Tensor.Alloc(outShape, x.DType, x.Device);
        var indices = Tensor.Alloc(outShape, DType.Int64, x.Device); // shape arrays are never written: shared
        using (var dense = x.Dense()) x.Device.Backend.MaxPool(dense, values, indices, g, fullStarts, fullEnds);
        var inShape = x.ShapeArray;
        int planeSize = g.InputSize, outSize = g.OutputSize;
        // With dilation and padding a window can hold no input position: its maximum is −∞ and its index −1 (the
        // kernel's rule), and it passes no gradient back.
        bool anyEmpty = false;
        for (int d = 0; d < rank; d++)
            for (int o = 0; o < starts[d].Length; o++) anyEmpty |= starts[d][o] >= ends[d][o];
        Tape.Record(values, op == "adaptive_max_pool" ? "AdaptiveMaxPoolBackward" : "MaxPoolBackward", (anyEmpty, inShape, n, c, planeSize, outSize),
            static (grad, s, _, in st) =>
        {
            var (anyEmpty, inShape, n, c, planeSize, outSize) = st;
            if (!anyEmpty && !GradMode.IsEnabled) return [ScatterToArgMax(grad, s[0], inShape, n, c, planeSize, outSize)];
            var flatIndex = s[0].Reshape(n, c, outSize);
            if (!anyEmpty)
                return [Tensor.Zeros([n, c, planeSize], grad.DType, grad.Device).ScatterAdd(2, flatIndex, grad.Reshape(n, c, outSize)).Reshape(inShape)];
            // Empty windows scatter into a spare slot past the plane, which is dropped.
            using var spare = Tensor.Scalar(planeSize, DType.Int64, grad.Device);
            using var empty = flatIndex.Lt(0.0);
            using var routed = Tensor.Where(empty, spare, flatIndex);
            var scattered = Tensor.Zeros([n, c, planeSize + 1], grad.DType, grad.Device).ScatterAdd(2, routed, grad.Reshape(n, c, outSize));
            return [scattered.Narrow(2, 0, planeSize).Reshape(inShape)];
        }, [x], [indices]);
        return unbatched ? (values.Squeeze(0), indices.Squeeze(0)) : (values, indices);
    }

    /// <summary>
    /// Max pooling's backward when no graph is recorded: one zeroed input-sized gradient and one scatter-add of the
    /// upstream gradient into it at the arg-max positions. The recorded form (zeros, then an out-of-place scatter-add,
    /// which copies them, and four reshapes) stays for create-graph backward, where the scatter must be differentiable.
    /// </summary>
    private static Tensor ScatterToArgMax(Tensor grad, Tensor indices, int[] inShape, int n, int c, int planeSize, int outSize)
    {
        var gx = Tensor.Alloc(inShape, grad.DType, grad.Device, zero: true);
        using var g = grad.Dense();
        int[] rows = [n, c, outSize], rowStrides = [c * outSize, outSize, 1];
        grad.Device.Backend.ScatterAdd(gx.Borrow([n, c, planeSize], [c * planeSize, planeSize, 1], gx.Offset), 2,
            indices.Borrow(rows, rowStrides, indices.Offset), g.Tensor.Borrow(rows, rowStrides, g.Tensor.Offset));
        return gx;
    }

    /// <summary>2-D average pooling; stride defaults to the kernel size.</summary>
    /// <remarks>Each output is the window sum divided by the window size, counting padded zeros when
    /// <paramref name="countIncludePad"/> (PyTorch's default) — or by <paramref name="divisorOverride"/>. Its backward spreads each
    /// gradient over its window divided by the same divisor (the 1/poolsize upsampling of the seed decks).</remarks>
    public static Tensor AvgPool2d(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPoolNd(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride, 2, "avg_pool2d");

    /// <summary>1-D average pooling.</summary>
    public static Tensor AvgPool1d(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, bool ceilMode = false, bool countIncludePad = true) =>
        AvgPoolNd(input, kernelSize, stride, padding, ceilMode, countIncludePad, null, 1, "avg_pool1d");

    /// <summary>3-D average pooling.</summary>
    public static Tensor AvgPool3d(Tensor input, Ints kernelSize, Ints? stride = null, Ints? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPoolNd(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride, 3, "avg_pool3d");

    private static Tensor AvgPoolNd(Tensor input, Ints kernelSize, Ints? strideArg, Ints? paddingArg, bool ceilMode, bool countIncludePad, int? divisorOverride, int rank, string op)
    {
        using var composite = Tensor.OpenComposite();
        if (divisorOverride is <= 0) throw new ArgumentException($"{op}: divisor override must be positive, got {divisorOverride}");
        var (x, unbatched, kernel, stride, padding, _) = PoolArgs(input, kernelSize, strideArg, paddingArg, null, rank, op);
        var spatial = x.Shape.ToArray()[2..];
        var output = new int[rank];
        var divisors = new double[rank][];
        for (int d = 0; d < rank; d++)
        {
            output[d] = PoolLength(spatial[d], kernel[d], stride[d], 1, padding[d], ceilMode);
            if (output[d] <= 0) throw new ArgumentException($"{op}: kernel {kernelSize} is larger than the padded input {input.Shape}");
            divisors[d] = new double[output[d]];
            for (int o = 0; o < output[d]; o++)
            {
                int start = o * stride[d] - padding[d];
                int end = Math.Min(start + kernel[d], spatial[d] + padding[d]);
                int withPad = end - start;
                int inside = Math.Min(end, spatial[d]) - Math.Max(start, 0);
                divisors[d][o] = countIncludePad ? withPad : inside;
            }
        }
        var g = ConvGeometry.Of(spatial, kernel, stride, Filled(rank, 1), padding, output);
        int n = x.Size(0), c = x.Size(1);
        // Window sums through unfold (zeros outside the input), then one divisor per output position.
        var sums = UnfoldNd(x, g).Reshape(n, c, g.KernelSize, g.OutputSize).Sum(2);
        var divisor = new double[g.OutputSize];
        for (int i = 0; i < divisor.Length; i++)
        {
            if (divisorOverride is { } fixedDivisor) { divisor[i] = fixedDivisor; continue; }
            int rest = i;
            double product = 1;
            for (int d = rank - 1; d >= 0; d--)
            {
                product *= divisors[d][rest % output[d]];
                rest /= output[d];
            }
            divisor[i] = product;
        }
        using var divisorTensor = Tensor.FromDoubles(divisor, [g.OutputSize], x.DType, x.Device);
        var y = sums.Div(divisorTensor).Reshape([n, c, .. output]);
        return composite.Keep(unbatched ? y.Squeeze(0) : y);
    }

    /// <summary>Adaptive average pooling to a fixed output size (windows floor(i·S/O) .. ceil((i+1)·S/O)).</summary>
    /// <remarks>Separable: one pooling matrix per spatial dim, applied with matmul (so fast and differentiable to any order).</remarks>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Ints outputSize) => AdaptiveAvgPoolNd(input, outputSize, 2, "adaptive_avg_pool2d");

    /// <summary>1-D adaptive average pooling.</summary>
    public static Tensor AdaptiveAvgPool1d(Tensor input, Ints outputSize) => AdaptiveAvgPoolNd(input, outputSize, 1, "adaptive_avg_pool1d");

    private static Tensor AdaptiveAvgPoolNd(Tensor input, Ints outputSizeArg, int rank, string op)
    {
        using var composite = Tensor.OpenComposite();
        Guard.Float(input, op);
        if (input.Rank != rank + 2 && input.Rank != rank + 1)
            throw new ArgumentException($"{op}: expected input of rank {rank + 1} or {rank + 2}, got {input.Shape}");
        var outputSize = outputSizeArg.For(rank, op, "output size");
        var y = input;
        for (int d = 0; d < rank; d++)
        {
            int dim = input.Rank - rank + d, size = input.Size(dim), outSize = outputSize[d];
            if (outSize <= 0) throw new ArgumentException($"{op}: output size must be positive, got {outputSizeArg}");
            var pool = new double[size * outSize]; // [size, outSize]: column o averages its window
            for (int o = 0; o < outSize; o++)
            {
                var (start, end) = AdaptiveWindow(o, size, outSize);
                for (int i = start; i < end; i++) pool[i * outSize + o] = 1.0 / (end - start);
            }
            using var matrix = Tensor.FromDoubles(pool, [size, outSize], input.DType, input.Device);
            y = y.Transpose(dim, -1).Matmul(matrix).Transpose(dim, -1);
        }
        return composite.Keep(y);
    }

    private static (int Start, int End) AdaptiveWindow(int o, int size, int outSize) =>
        (o * size / outSize, ((o + 1) * size + outSize - 1) / outSize);

    /// <summary>Adaptive max pooling to a fixed output size; the gradient goes to each window's first maximum.</summary>
    public static Tensor AdaptiveMaxPool2d(Tensor input, Ints outputSize) => ValuesOnly(AdaptiveMaxPool2dWithIndices(input, outputSize));

    /// <summary>Adaptive max pooling with the flat spatial indices of the maxima.</summary>
    public static (Tensor Values, Tensor Indices) AdaptiveMaxPool2dWithIndices(Tensor input, Ints outputSizeArg)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "adaptive_max_pool2d";
        Guard.Float(input, op);
        bool unbatched = input.Rank == 3;
        if (input.Rank != 4 && !unbatched) throw new ArgumentException($"{op}: expected input of rank 3 or 4, got {input.Shape}");
        var x = unbatched ? input.Unsqueeze(0) : input;
        var outputSize = outputSizeArg.For(2, op, "output size");
        var spatial = x.Shape.ToArray()[2..];
        var starts = new int[2][];
        var ends = new int[2][];
        var kernel = new int[2];
        for (int d = 0; d < 2; d++)
        {
            if (outputSize[d] <= 0) throw new ArgumentException($"{op}: output size must be positive, got {outputSizeArg}");
            starts[d] = new int[outputSize[d]];
            ends[d] = new int[outputSize[d]];
            for (int o = 0; o < outputSize[d]; o++)
            {
                (starts[d][o], ends[d][o]) = AdaptiveWindow(o, spatial[d], outputSize[d]);
                kernel[d] = Math.Max(kernel[d], ends[d][o] - starts[d][o]);
            }
        }
        return composite.Keep(MaxOverWindows(x, unbatched, spatial, kernel, [1, 1], outputSize, starts, ends, "adaptive_max_pool"));
    }

    /// <summary>Global average pooling: the mean over all spatial dims, keeping them as size 1 ([N, C, 1, 1] for 2-D).</summary>
    public static Tensor GlobalAvgPool(Tensor input)
    {
        using var composite = Tensor.OpenComposite();
        Guard.Float(input, "global_avg_pool");
        if (input.Rank < 3) throw new ArgumentException($"global_avg_pool: expected [N, C, spatial…], got {input.Shape}");
        return composite.Keep(input.Mean(Enumerable.Range(2, input.Rank - 2).ToArray(), keepDim: true));
    }
}
