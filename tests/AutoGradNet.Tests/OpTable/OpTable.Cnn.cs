using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Functional.*.cs: convolutions and unfold/fold ("conv"), pooling ("pool"), normalization, dropout and
// batch-norm folding ("norm"). Convolution and pooling rows also build samples from generated window
// hyper-parameters (FromWindow, for the properties in OpTableCnnProperties.cs); the others from generated shapes.
// Shapes are tiny (gradcheck costs O(inputs × outputs)), so every row's second-order check runs in full (not fast mode):
// the whole family's gradgradchecks take about 2 s on 2 cores.
public static partial class OpTable
{
    private static Padding PaddingOf(object padding) => padding switch
    {
        string mode => mode,
        int[] amount => amount,
        _ => throw new ArgumentException($"op table: padding {padding}"),
    };

    private static Ints? OptionalInts(int[]? values) => values is null ? (Ints?)null : values;

    /// <summary>The optional trailing inputs a sample carries, in order, by name ("weight+bias", "weight", "bias", "none").</summary>
    private static InputSpec[] Affine(string which, params int[] shape) =>
        [.. which.Contains("weight") ? [In(shape)] : Array.Empty<InputSpec>(), .. which.Contains("bias") ? [In(shape)] : Array.Empty<InputSpec>()];

    /// <summary>(weight, bias) from the inputs after position <paramref name="at"/>, per <see cref="Affine"/>.</summary>
    private static (T? Weight, T? Bias) AffineOf<T>(T[] inputs, int at, string which) where T : class
    {
        T? weight = which.Contains("weight") ? inputs[at++] : null;
        T? bias = which.Contains("bias") ? inputs[at] : null;
        return (weight, bias);
    }

    // ---- convolution -----------------------------------------------------------------------------------------

    /// <summary>A convolution sample: inputs x, w (and b); args stride, padding (int[] or "same"/"valid"), dilation, groups.</summary>
    private static SampleCase ConvCase(string name, int[] x, int[] w, bool bias, int[] stride, object padding, int[] dilation, int groups = 1) =>
        S(name, bias ? [In(x), In(w), In(w[0])] : [In(x), In(w)], stride, padding, dilation, groups);

    private static SampleCase ConvCase(string name, int[] x, int[] w, bool bias, int[] stride, int[] padding, int[] dilation, int groups = 1) =>
        ConvCase(name, x, w, bias, stride, (object)padding, dilation, groups);

    private static SampleCase ConvCase(string name, int[] x, int[] w, bool bias, int[] stride, string padding, int[] dilation, int groups = 1) =>
        ConvCase(name, x, w, bias, stride, (object)padding, dilation, groups);

    private static SampleCase? ConvFromWindow(Window w)
    {
        if (w.Same && w.Stride.Any(s => s != 1)) return null;
        for (int d = 0; d < w.Rank; d++)
        {
            int padTotal = w.Same ? w.Dilation[d] * (w.Kernel[d] - 1) : 2 * w.Padding[d];
            if (w.Spatial[d] + padTotal < w.Effective(d)) return null;
        }
        return ConvCase("prop", w.InputShape, [w.Groups * w.OutPerGroup, w.InPerGroup, .. w.Kernel], w.Bias, w.Stride, w.PaddingArg, w.Dilation, w.Groups);
    }

    private static OpInfo ConvRow(string name, string api, int rank, Func<Tensor, Tensor, Tensor?, Ints, Padding, Ints, int, Tensor> op, SampleCase[] samples) => new()
    {
        Name = name,
        Family = "conv",
        Api = [api],
        Samples = () => samples,
        Op = (x, s) => op(x[0], x[1], x.Length > 2 ? x[2] : null, s.Ints(0)!, PaddingOf(s.Args[1]!), s.Ints(2)!, s.Int(3)),
        Ref = (r, s) => Reference.Conv(r[0], r[1], r.Length > 2 ? r[2] : null, s.Ints(0)!, s.Args[1]!, s.Ints(2)!, s.Int(3)),
        FromWindow = new(WindowKind.Conv, rank, ConvFromWindow),
    };

    /// <summary>A transposed-convolution sample: inputs x, w [Cin, Cout/G, K] (and b); args stride, padding, output padding, groups, dilation.</summary>
    private static SampleCase ConvTransposeCase(string name, int[] x, int[] w, bool bias, int[] stride, int[] padding, int[] outputPadding, int groups, int[] dilation) =>
        S(name, bias ? [In(x), In(w), In(w[1] * groups)] : [In(x), In(w)], stride, padding, outputPadding, groups, dilation);

    private static SampleCase? ConvTransposeFromWindow(Window w)
    {
        var outputPadding = w.OutputPadding ?? new int[w.Rank];
        for (int d = 0; d < w.Rank; d++)
        {
            if (outputPadding[d] >= Math.Max(w.Stride[d], w.Dilation[d])) return null;
            if ((w.Spatial[d] - 1) * w.Stride[d] - 2 * w.Padding[d] + w.Dilation[d] * (w.Kernel[d] - 1) + outputPadding[d] + 1 <= 0) return null;
        }
        return ConvTransposeCase("prop", w.InputShape, [w.Channels, w.OutPerGroup, .. w.Kernel], w.Bias, w.Stride, w.Padding, outputPadding, w.Groups, w.Dilation);
    }

    private static OpInfo ConvTransposeRow(string name, string api, int rank, Func<Tensor, Tensor, Tensor?, Ints, Ints, Ints, int, Ints, Tensor> op,
        SampleCase[] samples) => new()
    {
        Name = name,
        Family = "conv",
        Api = [api],
        Samples = () => samples,
        Op = (x, s) => op(x[0], x[1], x.Length > 2 ? x[2] : null, s.Ints(0)!, s.Ints(1)!, s.Ints(2)!, s.Int(3), s.Ints(4)!),
        Ref = (r, s) => Reference.ConvTranspose(r[0], r[1], r.Length > 2 ? r[2] : null, s.Ints(0)!, s.Ints(1)!, s.Ints(2)!, s.Int(3), s.Ints(4)!),
        FromWindow = new(WindowKind.ConvTranspose, rank, ConvTransposeFromWindow),
    };

    /// <summary>Blocks of a fold: ∏ ⌊(S + 2p − d·(k − 1) − 1)/s⌋ + 1.</summary>
    private static int BlockCount(int[] size, int[] kernel, int[] dilation, int[] padding, int[] stride)
    {
        int count = 1;
        for (int d = 0; d < size.Length; d++)
        {
            int k = Reference.PerDim(kernel, 2)[d], dil = Reference.PerDim(dilation, 2)[d], p = Reference.PerDim(padding, 2)[d], s = Reference.PerDim(stride, 2)[d];
            count *= (size[d] + 2 * p - dil * (k - 1) - 1) / s + 1;
        }
        return count;
    }

    /// <summary>A fold sample: input [N, C·∏k, L] ([C·∏k, L] when <paramref name="batch"/> is 0); args output size, kernel, dilation, padding, stride.</summary>
    private static SampleCase FoldCase(string name, int batch, int channels, int[] size, int[] kernel, int[] dilation, int[] padding, int[] stride)
    {
        int rows = channels * Reference.PerDim(kernel, 2).Aggregate(1, (a, k) => a * k), blocks = BlockCount(size, kernel, dilation, padding, stride);
        return S(name, [In(batch == 0 ? [rows, blocks] : [batch, rows, blocks])], size, kernel, dilation, padding, stride);
    }

    private static bool BlocksFit(Window w) => Enumerable.Range(0, w.Rank).All(d => w.Spatial[d] + 2 * w.Padding[d] >= w.Effective(d));

    private static IEnumerable<OpInfo> ConvRows()
    {
        yield return ConvRow("conv1d", "Conv1d", 1, (x, w, b, s, p, d, g) => F.Conv1d(x, w, b, s, p, d, g),
        [
            ConvCase("k3 pad 1, bias", [2, 3, 6], [4, 3, 3], true, [1], [1], [1]),
            ConvCase("stride 2, pad 2, dilation 2, groups 2", [1, 4, 9], [6, 2, 3], false, [2], [2], [2], 2),
            ConvCase("depthwise, bias", [2, 3, 7], [3, 1, 4], true, [1], [0], [1], 3),
            ConvCase("same, even kernel, dilation 3, bias", [1, 2, 7], [3, 2, 4], true, [1], "same", [3]),
            ConvCase("same, even kernel", [1, 2, 5], [2, 2, 2], false, [1], "same", [1]),
            ConvCase("valid, stride 3", [1, 2, 8], [2, 2, 2], false, [3], "valid", [1]),
            ConvCase("unbatched, bias", [3, 5], [2, 3, 2], true, [2], [1], [1]),
        ]);
        yield return ConvRow("conv2d", "Conv2d", 2, (x, w, b, s, p, d, g) => F.Conv2d(x, w, b, s, p, d, g),
        [
            ConvCase("3x3 pad 1, bias", [2, 3, 5, 4], [4, 3, 3, 3], true, [1], [1], [1]),
            ConvCase("stride (2,1), pad (1,0), dilation (1,2), groups 2", [1, 4, 7, 6], [2, 2, 3, 2], false, [2, 1], [1, 0], [1, 2], 2),
            ConvCase("depthwise, stride 2, pad 1, bias", [1, 3, 5, 5], [3, 1, 3, 3], true, [2], [1], [1], 3),
            ConvCase("depthwise with multiplier 2, pad (0,1)", [1, 2, 4, 5], [4, 1, 2, 3], false, [1], [0, 1], [1], 2),
            ConvCase("non-square kernel and input, stride (1,3), pad (0,2), bias", [1, 2, 3, 9], [3, 2, 1, 4], true, [1, 3], [0, 2], [1]),
            ConvCase("same, even kernel 2x4", [1, 2, 5, 6], [2, 2, 2, 4], false, [1], "same", [1]),
            ConvCase("same, even kernel dilated (2,3), bias", [1, 2, 5, 4], [2, 2, 4, 2], true, [1], "same", [2, 3]),
            ConvCase("same, odd kernel, groups 2", [1, 4, 3, 5], [2, 2, 3, 3], false, [1], "same", [1], 2),
            ConvCase("valid, odd input, batch 2", [2, 2, 5, 3], [3, 2, 3, 2], false, [1], "valid", [1]),
            ConvCase("unbatched, pad (2,1), bias", [2, 4, 3], [3, 2, 3, 3], true, [1], [2, 1], [1]),
            ConvCase("1x1 kernel, stride 2, bias", [1, 3, 5, 5], [2, 3, 1, 1], true, [2], [0], [1]),
            ConvCase("dilation 3, stride 3, pad 3", [1, 1, 8, 7], [2, 1, 2, 3], false, [3], [3], [3]),
            ConvCase("kernel as large as the padded input", [1, 2, 3, 2], [2, 2, 5, 4], false, [1], [1], [1]),
        ]);
        yield return ConvRow("conv3d", "Conv3d", 3, (x, w, b, s, p, d, g) => F.Conv3d(x, w, b, s, p, d, g),
        [
            ConvCase("2x2x2 pad 1, bias", [1, 2, 3, 2, 3], [2, 2, 2, 2, 2], true, [1], [1], [1]),
            ConvCase("non-cubic kernel, stride (2,1,2), pad (1,0,1), dilation (1,2,1), groups 2", [1, 4, 3, 4, 5], [2, 2, 2, 1, 3], false, [2, 1, 2], [1, 0, 1], [1, 2, 1], 2),
            ConvCase("same, even kernel, bias", [1, 1, 3, 4, 3], [2, 1, 2, 3, 2], true, [1], "same", [1]),
            ConvCase("depthwise, valid, batch 2", [2, 2, 3, 3, 2], [2, 1, 2, 2, 1], false, [1], "valid", [1], 2),
            ConvCase("unbatched, pad (0,1,0), bias", [2, 2, 3, 3], [1, 2, 1, 2, 2], true, [1], [0, 1, 0], [1]),
        ]);

        yield return ConvTransposeRow("conv_transpose1d", "ConvTranspose1d", 1, (x, w, b, s, p, op, g, d) => F.ConvTranspose1d(x, w, b, s, p, op, g, d),
        [
            ConvTransposeCase("k3, bias", [2, 2, 4], [2, 3, 3], true, [1], [0], [0], 1, [1]),
            ConvTransposeCase("stride 3, pad 1, output padding 2, dilation 2, groups 2, bias", [1, 4, 3], [4, 1, 3], true, [3], [1], [2], 2, [2]),
            ConvTransposeCase("output padding below dilation (stride 1)", [1, 2, 3], [2, 2, 2], false, [1], [1], [2], 1, [3]),
            ConvTransposeCase("unbatched, stride 2, output padding 1", [3, 4], [3, 2, 2], false, [2], [0], [1], 1, [1]),
        ]);
        yield return ConvTransposeRow("conv_transpose2d", "ConvTranspose2d", 2, (x, w, b, s, p, op, g, d) => F.ConvTranspose2d(x, w, b, s, p, op, g, d),
        [
            ConvTransposeCase("3x3, bias", [1, 2, 3, 3], [2, 3, 3, 3], true, [1], [0], [0], 1, [1]),
            ConvTransposeCase("stride 2, pad 1, output padding 1, bias", [1, 3, 3, 2], [3, 2, 3, 3], true, [2], [1], [1], 1, [1]),
            ConvTransposeCase("groups 2, stride (1,2), pad (0,1), dilation (2,1), output padding (1,0), batch 2", [2, 4, 2, 3], [4, 1, 2, 3], false, [1, 2], [0, 1], [1, 0], 2, [2, 1]),
            ConvTransposeCase("non-square stride (3,2), pad (1,0), output padding (2,1), bias", [1, 2, 2, 3], [2, 2, 3, 2], true, [3, 2], [1, 0], [2, 1], 1, [1]),
            ConvTransposeCase("depthwise, stride 2, pad 1", [1, 3, 3, 3], [3, 1, 3, 3], false, [2], [1], [0], 3, [1]),
            ConvTransposeCase("unbatched, bias", [2, 3, 2], [2, 2, 2, 2], true, [1], [0], [0], 1, [1]),
            ConvTransposeCase("1x1 kernel, stride 2, output padding 1", [1, 2, 3, 3], [2, 2, 1, 1], false, [2], [0], [1], 1, [1]),
        ]);
        yield return ConvTransposeRow("conv_transpose3d", "ConvTranspose3d", 3, (x, w, b, s, p, op, g, d) => F.ConvTranspose3d(x, w, b, s, p, op, g, d),
        [
            ConvTransposeCase("2x2x2, bias", [1, 2, 2, 2, 2], [2, 2, 2, 2, 2], true, [1], [0], [0], 1, [1]),
            ConvTransposeCase("stride (2,1,2), pad (1,0,0), output padding (1,0,1), groups 2", [1, 2, 2, 3, 2], [2, 1, 3, 2, 2], false, [2, 1, 2], [1, 0, 0], [1, 0, 1], 2, [1]),
            ConvTransposeCase("unbatched, dilation (1,2,1), bias", [1, 2, 2, 2], [1, 2, 2, 2, 1], true, [1], [0], [0], 1, [1, 2, 1]),
        ]);

        yield return new OpInfo
        {
            Name = "unfold",
            Family = "conv",
            Api = ["Unfold"],
            Samples = () =>
            [
                S("k2", [In(1, 2, 3, 3)], new[] { 2 }, new[] { 1 }, new[] { 0 }, new[] { 1 }),
                S("k (2,3), dilation (2,1), pad 1, stride (1,2), batch 2", [In(2, 1, 4, 5)], new[] { 2, 3 }, new[] { 2, 1 }, new[] { 1 }, new[] { 1, 2 }),
                S("k1, stride 3", [In(1, 3, 5, 4)], new[] { 1 }, new[] { 1 }, new[] { 0 }, new[] { 3 }),
                S("unbatched, k3, pad 1, stride 2", [In(2, 5, 4)], new[] { 3 }, new[] { 1 }, new[] { 1 }, new[] { 2 }),
            ],
            Op = (x, s) => F.Unfold(x[0], s.Ints(0)!, s.Ints(1)!, s.Ints(2)!, s.Ints(3)!),
            Ref = (r, s) => Reference.Unfold(r[0], s.Ints(0)!, s.Ints(1)!, s.Ints(2)!, s.Ints(3)!),
            FromWindow = new(WindowKind.Blocks, 2, w => BlocksFit(w) ? S("prop", [In(w.InputShape)], w.Kernel, w.Dilation, w.Padding, w.Stride) : null),
            };
        yield return new OpInfo
        {
            Name = "fold",
            Family = "conv",
            Api = ["Fold"],
            Samples = () =>
            [
                FoldCase("k2, stride 2 (no overlap)", 1, 2, [4, 4], [2], [1], [0], [2]),
                FoldCase("overlapping k (2,3), batch 2", 2, 1, [3, 4], [2, 3], [1], [0], [1]),
                FoldCase("k (3,2), dilation (1,2), pad (1,0), stride (2,1), odd size", 1, 2, [5, 5], [3, 2], [1, 2], [1, 0], [2, 1]),
                FoldCase("unbatched, k2, pad 1, stride 2", 0, 2, [3, 3], [2], [1], [1], [2]),
            ],
            Op = (x, s) => F.Fold(x[0], s.Ints(0)!, s.Ints(1)!, s.Ints(2)!, s.Ints(3)!, s.Ints(4)!),
            Ref = (r, s) => Reference.Fold(r[0], s.Ints(0)!, s.Ints(1)!, s.Ints(2)!, s.Ints(3)!, s.Ints(4)!),
            FromWindow = new(WindowKind.Blocks, 2, w => BlocksFit(w)
                ? FoldCase("prop", w.Unbatched ? 0 : w.Batch, w.Channels, w.Spatial, w.Kernel, w.Dilation, w.Padding, w.Stride)
                : null),
            };
    }

    // ---- pooling -----------------------------------------------------------------------------------------------

    /// <summary>A max-pooling sample: args kernel, stride (null: the kernel), padding, dilation, ceil mode, through the WithIndices overload.</summary>
    private static SampleCase MaxPoolCase(string name, int[] x, int[] kernel, int[]? stride, int[] padding, int[] dilation, bool ceil, bool withIndices = false) =>
        S(name, [In(x)], kernel, stride, padding, dilation, ceil, withIndices);

    private static (Tensor Values, Tensor Indices) MaxPoolWithIndices(int rank, Tensor x, SampleCase s)
    {
        var (k, st, p, d, ceil) = ((Ints)s.Ints(0)!, OptionalInts(s.Ints(1)), (Ints)s.Ints(2)!, (Ints)s.Ints(3)!, s.Bool(4));
        return rank switch
        {
            1 => F.MaxPool1dWithIndices(x, k, st, p, d, ceil),
            2 => F.MaxPool2dWithIndices(x, k, st, p, d, ceil),
            _ => F.MaxPool3dWithIndices(x, k, st, p, d, ceil),
        };
    }

    private static Tensor MaxPool(int rank, Tensor x, SampleCase s)
    {
        if (s.Bool(5)) return MaxPoolWithIndices(rank, x, s).Values;
        var (k, st, p, d, ceil) = ((Ints)s.Ints(0)!, OptionalInts(s.Ints(1)), (Ints)s.Ints(2)!, (Ints)s.Ints(3)!, s.Bool(4));
        return rank switch
        {
            1 => F.MaxPool1d(x, k, st, p, d, ceil),
            2 => F.MaxPool2d(x, k, st, p, d, ceil),
            _ => F.MaxPool3d(x, k, st, p, d, ceil),
        };
    }

    /// <summary>
    /// A valid pooling geometry: padding at most half the (effective) kernel, at least one window, and — for max pooling —
    /// no window that holds no input position (possible with dilation: PyTorch then gives −∞; see ConventionTests, since
    /// finite differences of −∞ are undefined).
    /// </summary>
    private static bool PoolFits(Window w, bool max)
    {
        for (int d = 0; d < w.Rank; d++)
        {
            int dilation = max ? w.Dilation[d] : 1, effective = dilation * (w.Kernel[d] - 1) + 1;
            if (2 * w.Padding[d] > effective || w.Spatial[d] + 2 * w.Padding[d] < effective) return false;
            int count = Reference.PoolCount(w.Spatial[d], w.Kernel[d], w.Stride[d], w.Padding[d], dilation, w.CeilMode);
            if (count < 1) return false;
            for (int o = 0; o < count; o++)
                if (!Enumerable.Range(0, w.Kernel[d]).Any(k => o * w.Stride[d] - w.Padding[d] + k * dilation is var at && at >= 0 && at < w.Spatial[d]))
                    return false;
        }
        return true;
    }

    private static OpInfo MaxPoolRow(int rank, SampleCase[] samples) => new()
    {
        Name = $"max_pool{rank}d",
        Family = "pool",
        Api = [$"MaxPool{rank}d", $"MaxPool{rank}dWithIndices"],
        Samples = () => samples,
        Op = (x, s) => MaxPool(rank, x[0], s),
        Ref = (r, s) => Reference.MaxPool(r[0], rank, s.Ints(0)!, s.Ints(1), s.Ints(2)!, s.Ints(3)!, s.Bool(4)).Values,
        Distinct = true,
        FromWindow = new(WindowKind.MaxPool, rank, w => PoolFits(w, max: true)
            ? MaxPoolCase("prop", w.InputShape, w.Kernel, w.Stride, w.Padding, w.Dilation, w.CeilMode, withIndices: w.Seed % 2 == 0)
            : null),
    };

    /// <summary>The indices of max pooling (flat positions in the input plane), forward only.</summary>
    private static OpInfo MaxPoolIndicesRow(OpInfo values, int rank) => values with
    {
        Name = values.Name + ".indices",
        Api = [$"MaxPool{rank}dWithIndices"],
        Op = (x, s) => MaxPoolWithIndices(rank, x[0], s).Indices,
        Ref = (r, s) => Reference.MaxPool(r[0], rank, s.Ints(0)!, s.Ints(1), s.Ints(2)!, s.Ints(3)!, s.Bool(4)).Indices,
        Differentiable = false,
        OutDType = DType.Int64,
    };

    /// <summary>An average-pooling sample: args kernel, stride (null: the kernel), padding, ceil mode, count_include_pad, divisor override.</summary>
    private static SampleCase AvgPoolCase(string name, int[] x, int[] kernel, int[]? stride, int[] padding, bool ceil, bool countIncludePad, int? divisor = null) =>
        S(name, [In(x)], kernel, stride, padding, ceil, countIncludePad, divisor);

    private static OpInfo AvgPoolRow(int rank, SampleCase[] samples) => new()
    {
        Name = $"avg_pool{rank}d",
        Family = "pool",
        Api = [$"AvgPool{rank}d"],
        Samples = () => samples,
        Op = (x, s) =>
        {
            var (k, st, p, ceil, include, divisor) = ((Ints)s.Ints(0)!, OptionalInts(s.Ints(1)), (Ints)s.Ints(2)!, s.Bool(3), s.Bool(4), (int?)s.Args[5]);
            return rank switch
            {
                1 => F.AvgPool1d(x[0], k, st, p, ceil, include),
                2 => F.AvgPool2d(x[0], k, st, p, ceil, include, divisor),
                _ => F.AvgPool3d(x[0], k, st, p, ceil, include, divisor),
            };
        },
        Ref = (r, s) => Reference.AvgPool(r[0], rank, s.Ints(0)!, s.Ints(1), s.Ints(2)!, s.Bool(3), s.Bool(4), (int?)s.Args[5]),
        FromWindow = new(WindowKind.AvgPool, rank, w => PoolFits(w, max: false)
            ? AvgPoolCase("prop", w.InputShape, w.Kernel, w.Stride, w.Padding, w.CeilMode, w.CountIncludePad, rank == 1 ? null : w.DivisorOverride)
            : null),
    };

    /// <summary>Adaptive pooling output sizes from a generated shape: 1 to S + 1 per spatial dim (more outputs than inputs too).</summary>
    private static int[] AdaptiveSizes(int[] shape, int rank, int v) =>
        Enumerable.Range(0, rank).Select(d => 1 + (v >> (3 * d)) % (shape[shape.Length - rank + d] + 1)).ToArray();

    private static IEnumerable<OpInfo> PoolRows()
    {
        var max1 = MaxPoolRow(1,
        [
            MaxPoolCase("k2, batch 2", [2, 2, 5], [2], null, [0], [1], false),
            MaxPoolCase("k3 s2 p1, ceil, with indices", [1, 2, 6], [3], [2], [1], [1], true, true),
            MaxPoolCase("k2, dilation 3, pad 1", [1, 1, 7], [2], [1], [1], [3], false),
            MaxPoolCase("unbatched, k4 s3 p2, ceil, with indices", [2, 8], [4], [3], [2], [1], true, true),
        ]);
        var max2 = MaxPoolRow(2,
        [
            MaxPoolCase("k2, default stride, odd width", [1, 2, 4, 5], [2], null, [0], [1], false),
            MaxPoolCase("k3 s2 p1 (overlapping), with indices", [1, 2, 5, 5], [3], [2], [1], [1], false, true),
            MaxPoolCase("k (3,2) s (2,3) p 1, ceil", [1, 1, 6, 7], [3, 2], [2, 3], [1], [1], true),
            MaxPoolCase("k2 s2, ceil, odd input, batch 2, with indices", [2, 1, 5, 5], [2], [2], [0], [1], true, true),
            MaxPoolCase("dilation (2,1)", [1, 1, 5, 4], [2], [1], [0], [2, 1], false),
            MaxPoolCase("k3, dilation 2, pad 2, ceil, with indices", [1, 1, 5, 6], [3], [2], [2], [2], true, true),
            MaxPoolCase("unbatched", [2, 3, 5], [2], [1], [0], [1], false),
        ]);
        var max3 = MaxPoolRow(3,
        [
            MaxPoolCase("k2", [1, 1, 2, 3, 4], [2], null, [0], [1], false),
            MaxPoolCase("k (2,1,3) s (1,2,2) p (1,0,1), ceil, with indices", [1, 2, 3, 3, 4], [2, 1, 3], [1, 2, 2], [1, 0, 1], [1], true, true),
            MaxPoolCase("unbatched, dilation (1,2,1)", [1, 3, 4, 3], [2], [1], [0], [1, 2, 1], false),
        ]);
        foreach (var (row, rank) in new[] { (max1, 1), (max2, 2), (max3, 3) })
        {
            yield return row;
            yield return MaxPoolIndicesRow(row, rank);
        }

        yield return AvgPoolRow(1,
        [
            AvgPoolCase("k3 s2 p1, batch 2", [2, 2, 7], [3], [2], [1], false, true),
            AvgPoolCase("k3 s2 p1, ceil, count_include_pad false", [1, 2, 6], [3], [2], [1], true, false),
            AvgPoolCase("k3 s2 p1, ceil (window clipped to the padding)", [1, 1, 6], [3], [2], [1], true, true),
            AvgPoolCase("k2, default stride, odd length", [1, 1, 5], [2], null, [0], false, true),
            AvgPoolCase("unbatched, k4 s3 p2, ceil", [2, 7], [4], [3], [2], true, true),
        ]);
        yield return AvgPoolRow(2,
        [
            AvgPoolCase("k2, default stride, odd width", [1, 2, 4, 5], [2], null, [0], false, true),
            AvgPoolCase("k3 s2 p1", [1, 2, 5, 5], [3], [2], [1], false, true),
            AvgPoolCase("k3 s2 p1, count_include_pad false", [1, 1, 5, 6], [3], [2], [1], false, false),
            AvgPoolCase("k (3,2) s (2,3) p 1, ceil (window clipped to the padding)", [1, 1, 6, 7], [3, 2], [2, 3], [1], true, true),
            AvgPoolCase("k (3,2) s (2,3) p 1, ceil, count_include_pad false", [1, 1, 6, 7], [3, 2], [2, 3], [1], true, false),
            AvgPoolCase("divisor override 5, pad 1, batch 2", [2, 1, 4, 4], [2], [1], [1], false, true, 5),
            AvgPoolCase("divisor override 3, ceil", [1, 1, 5, 5], [2], [2], [0], true, true, 3),
            AvgPoolCase("unbatched, k (2,3) p 1, count_include_pad false", [2, 3, 5], [2, 3], [1], [1], false, false),
        ]);
        yield return AvgPoolRow(3,
        [
            AvgPoolCase("k2", [1, 1, 2, 3, 4], [2], null, [0], false, true),
            AvgPoolCase("k (2,1,3) s (1,2,2) p (1,0,1), ceil, count_include_pad false", [1, 2, 3, 3, 4], [2, 1, 3], [1, 2, 2], [1, 0, 1], true, false),
            AvgPoolCase("unbatched, pad 1, divisor override 4", [1, 3, 4, 3], [2], [1], [1], false, true, 4),
        ]);

        foreach (int rank in new[] { 1, 2 })
            yield return new OpInfo
            {
                Name = $"adaptive_avg_pool{rank}d",
                Family = "pool",
                Api = [$"AdaptiveAvgPool{rank}d"],
                Samples = () => rank == 1
                    ?
                    [
                        S("7 → 3", [In(1, 2, 7)], new[] { 3 }),
                        S("4 → 6 (more outputs than inputs), batch 2", [In(2, 1, 4)], new[] { 6 }),
                        S("unbatched 5 → 2", [In(3, 5)], new[] { 2 }),
                    ]
                    :
                    [
                        S("7x5 → 3x2", [In(1, 2, 7, 5)], new[] { 3, 2 }),
                        S("to 1 (global), batch 2", [In(2, 2, 3, 3)], new[] { 1 }),
                        S("2x3 → 3x5 (more outputs than inputs)", [In(1, 1, 2, 3)], new[] { 3, 5 }),
                        S("unbatched 5x4 → 2x3", [In(2, 5, 4)], new[] { 2, 3 }),
                    ],
                Op = (x, s) => rank == 1 ? F.AdaptiveAvgPool1d(x[0], s.Ints(0)!) : F.AdaptiveAvgPool2d(x[0], s.Ints(0)!),
                Ref = (r, s) => Reference.AdaptivePool(r[0], rank, s.Ints(0)!, max: false).Values,
                FromShape = (shape, v) => shape.Length is var n && (n == rank + 1 || n == rank + 2) ? S("prop", [In(shape)], AdaptiveSizes(shape, rank, v)) : null,
            };

        var adaptiveMax = new OpInfo
        {
            Name = "adaptive_max_pool2d",
            Family = "pool",
            Api = ["AdaptiveMaxPool2d", "AdaptiveMaxPool2dWithIndices"],
            Samples = () =>
            [
                S("7x5 → 3x2", [In(1, 2, 7, 5)], new[] { 3, 2 }, false),
                S("to 1 (global), batch 2, with indices", [In(2, 2, 3, 3)], new[] { 1 }, true),
                S("2x3 → 3x5 (overlapping windows)", [In(1, 1, 2, 3)], new[] { 3, 5 }, true),
                S("unbatched 5x4 → 2x3", [In(2, 5, 4)], new[] { 2, 3 }, false),
            ],
            Op = (x, s) => s.Bool(1) ? F.AdaptiveMaxPool2dWithIndices(x[0], s.Ints(0)!).Values : F.AdaptiveMaxPool2d(x[0], s.Ints(0)!),
            Ref = (r, s) => Reference.AdaptivePool(r[0], 2, s.Ints(0)!, max: true).Values,
            Distinct = true,
            FromShape = (shape, v) => shape.Length is 3 or 4 ? S("prop", [In(shape)], AdaptiveSizes(shape, 2, v), (v & 512) != 0) : null,
        };
        yield return adaptiveMax;
        yield return adaptiveMax with
        {
            Name = "adaptive_max_pool2d.indices",
            Api = ["AdaptiveMaxPool2dWithIndices"],
            Op = (x, s) => F.AdaptiveMaxPool2dWithIndices(x[0], s.Ints(0)!).Indices,
            Ref = (r, s) => Reference.AdaptivePool(r[0], 2, s.Ints(0)!, max: true).Indices,
            Differentiable = false,
            OutDType = DType.Int64,
        };

        yield return new OpInfo
        {
            Name = "global_avg_pool",
            Family = "pool",
            Api = ["GlobalAvgPool"],
            Samples = () => [S("1-D", [In(2, 3, 4)]), S("2-D", [In(1, 2, 3, 3)]), S("3-D", [In(1, 2, 2, 3, 2)])],
            Op = (x, _) => F.GlobalAvgPool(x[0]),
            Ref = (r, _) => Reference.GlobalAvgPool(r[0]),
            FromShape = (shape, _) => shape.Length >= 3 ? S("prop", [In(shape)]) : null,
        };
    }

    // ---- normalization, dropout ------------------------------------------------------------------------------

    private static readonly string[] AffineChoices = ["weight+bias", "weight", "bias", "none"];

    /// <summary>
    /// A batch-norm sample: args mode ("train": batch statistics, no running stats; "train+stats": batch statistics and fresh
    /// running stats updated on the side; "eval": the running mean and (positive) variance inputs), affine, eps.
    /// </summary>
    private static SampleCase BatchNormCase(string name, int[] x, string mode, string affine, double eps)
    {
        int c = x[1];
        InputSpec[] running = mode == "eval" ? [In(c), In(Domain.Positive, c)] : [];
        return S(name, [In(x), .. running, .. Affine(affine, c)], mode, affine, eps);
    }

    /// <summary>
    /// A dropout sample: args p, training, generator seed. The generator is created inside the op, so every call (forward,
    /// each finite difference) draws the same mask and the op is a deterministic, gradcheckable function.
    /// </summary>
    private static SampleCase DropoutCase(string name, int[] x, double p, bool training, int seed) => S(name, [In(x)], p, training, seed);

    private static int[] ChannelMask(int[] shape) => [.. shape[..^2], 1, 1];

    private static IEnumerable<OpInfo> NormRows()
    {
        const string fam = "norm";
        yield return new OpInfo
        {
            Name = "batch_norm",
            Family = fam,
            Api = ["BatchNorm"],
            Samples = () =>
            [
                BatchNormCase("train [N,C,H,W], weight+bias", [3, 2, 2, 2], "train", "weight+bias", 1e-5),
                BatchNormCase("train with running stats [N,C]", [4, 3], "train+stats", "weight+bias", 1e-5),
                BatchNormCase("train [N,C,L], no affine, eps 1e-3", [2, 3, 3], "train", "none", 1e-3),
                BatchNormCase("train with running stats, batch 1, weight only", [1, 2, 3, 2], "train+stats", "weight", 1e-5),
                BatchNormCase("train [N,C,D,H,W], bias only", [2, 2, 2, 1, 2], "train", "bias", 1e-5),
                BatchNormCase("eval [N,C,H,W], weight+bias", [2, 3, 2, 2], "eval", "weight+bias", 1e-5),
                BatchNormCase("eval [N,C], no affine, eps 1e-3", [3, 2], "eval", "none", 1e-3),
            ],
            Op = (x, s) =>
            {
                string mode = s.Get<string>(0);
                int c = x[0].Size(1);
                var (mean, variance) = mode switch
                {
                    "eval" => (x[1], x[2]),
                    "train+stats" => (Tensor.Zeros([c], x[0].DType), Tensor.Ones([c], x[0].DType)),
                    _ => ((Tensor?)null, (Tensor?)null),
                };
                var (weight, bias) = AffineOf(x, mode == "eval" ? 3 : 1, s.Get<string>(1));
                return F.BatchNorm(x[0], mean, variance, weight, bias, training: mode != "eval", momentum: 0.1, eps: s.Dbl(2));
            },
            Ref = (r, s) =>
            {
                bool eval = s.Get<string>(0) == "eval";
                var (weight, bias) = AffineOf(r, eval ? 3 : 1, s.Get<string>(1));
                return Reference.BatchNorm(r[0], eval ? r[1] : null, eval ? r[2] : null, weight, bias, !eval, s.Dbl(2));
            },
            FromShape = (shape, v) =>
            {
                string mode = new[] { "train", "train+stats", "eval" }[v % 3];
                if (shape.Length < 2 || (mode != "eval" && Reference.Numel(shape) / shape[1] < 2)) return null;
                return BatchNormCase("prop", shape, mode, AffineChoices[(v >> 2) % 4], (v & 16) != 0 ? 1e-3 : 1e-5);
            },
        };

        // The running statistics a training step leaves behind (not differentiable: updated in place under no-grad).
        yield return new OpInfo
        {
            Name = "batch_norm.running_stats",
            Family = fam,
            Api = ["BatchNorm"],
            Samples = () =>
            [
                S("[N,C,H,W], momentum 0.1", [In(3, 2, 2, 2), In(2), In(Domain.Positive, 2)], 0.1),
                S("[N,C], momentum 0.01 (the seed decks' τ = 0.99)", [In(4, 3), In(3), In(Domain.Positive, 3)], 0.01),
                S("batch 1 [1,C,L], momentum 1", [In(1, 2, 3), In(2), In(Domain.Positive, 2)], 1.0),
                S("momentum 0 keeps the stats", [In(2, 2, 2), In(2), In(Domain.Positive, 2)], 0.0),
            ],
            Op = (x, s) =>
            {
                var mean = x[1].Clone();
                var variance = x[2].Clone();
                using (F.BatchNorm(x[0], mean, variance, training: true, momentum: s.Dbl(0))) { }
                return Tensor.Cat([mean, variance], 0);
            },
            Ref = (r, s) => Reference.BatchNormRunningStats(r[0], r[1], r[2], s.Dbl(0)),
            Differentiable = false,
            FromShape = (shape, v) => shape.Length >= 2 && Reference.Numel(shape) / shape[1] >= 2
                ? S("prop", [In(shape), In(shape[1]), In(Domain.Positive, shape[1])], new[] { 0.1, 0.01, 0.5, 1.0 }[v % 4])
                : null,
        };

        yield return new OpInfo
        {
            Name = "layer_norm",
            Family = fam,
            Api = ["LayerNorm"],
            Samples = () =>
            [
                S("last dim, weight+bias", [In(2, 3, 4), .. Affine("weight+bias", 4)], new[] { 4 }, "weight+bias", 1e-5),
                S("last two dims, no affine", [In(2, 3, 4)], new[] { 3, 4 }, "none", 1e-5),
                S("[C,H,W] of an image batch, weight only", [In(2, 2, 2, 3), .. Affine("weight", 2, 2, 3)], new[] { 2, 2, 3 }, "weight", 1e-5),
                S("vector, bias only, eps 1e-3", [In(5), .. Affine("bias", 5)], new[] { 5 }, "bias", 1e-3),
            ],
            Op = (x, s) =>
            {
                var (weight, bias) = AffineOf(x, 1, s.Get<string>(1));
                return F.LayerNorm(x[0], s.Ints(0)!, weight, bias, s.Dbl(2));
            },
            Ref = (r, s) =>
            {
                var (weight, bias) = AffineOf(r, 1, s.Get<string>(1));
                return Reference.LayerNorm(r[0], s.Ints(0)!, weight, bias, s.Dbl(2));
            },
            FromShape = (shape, v) =>
            {
                var normalized = shape[^(1 + v % shape.Length)..];
                string affine = AffineChoices[(v >> 2) % 4];
                return S("prop", [In(shape), .. Affine(affine, normalized)], normalized, affine, (v & 16) != 0 ? 1e-3 : 1e-5);
            },
        };

        yield return new OpInfo
        {
            Name = "instance_norm",
            Family = fam,
            Api = ["InstanceNorm"],
            Samples = () =>
            [
                S("[N,C,L], weight+bias", [In(2, 3, 4), .. Affine("weight+bias", 3)], "weight+bias", 1e-5),
                S("[N,C,H,W], no affine", [In(1, 2, 3, 3)], "none", 1e-5),
                S("[N,C,D,H,W], weight only", [In(2, 2, 2, 1, 2), .. Affine("weight", 2)], "weight", 1e-5),
                S("batch 1, bias only, eps 1e-3", [In(1, 3, 2), .. Affine("bias", 3)], "bias", 1e-3),
            ],
            Op = (x, s) =>
            {
                var (weight, bias) = AffineOf(x, 1, s.Get<string>(0));
                return F.InstanceNorm(x[0], weight, bias, s.Dbl(1));
            },
            Ref = (r, s) =>
            {
                var (weight, bias) = AffineOf(r, 1, s.Get<string>(0));
                return Reference.InstanceNorm(r[0], weight, bias, s.Dbl(1));
            },
            FromShape = (shape, v) =>
            {
                if (shape.Length < 3 || Reference.Numel(shape[2..]) < 2) return null;
                string affine = AffineChoices[(v >> 2) % 4];
                return S("prop", [In(shape), .. Affine(affine, shape[1])], affine, (v & 16) != 0 ? 1e-3 : 1e-5);
            },
        };

        yield return new OpInfo
        {
            Name = "group_norm",
            Family = fam,
            Api = ["GroupNorm"],
            Samples = () =>
            [
                S("[N,C,L], 2 groups, weight+bias", [In(2, 4, 3), .. Affine("weight+bias", 4)], 2, "weight+bias", 1e-5),
                S("[N,C,H,W], 3 groups, no affine", [In(1, 6, 2, 2)], 3, "none", 1e-5),
                S("1 group (layer norm over C, spatial), weight only", [In(2, 4, 3), .. Affine("weight", 4)], 1, "weight", 1e-5),
                S("a group per channel (instance norm), bias only", [In(2, 3, 2, 2), .. Affine("bias", 3)], 3, "bias", 1e-5),
                S("[N,C], 2 groups, eps 1e-3", [In(3, 4), .. Affine("weight+bias", 4)], 2, "weight+bias", 1e-3),
            ],
            Op = (x, s) =>
            {
                var (weight, bias) = AffineOf(x, 1, s.Get<string>(1));
                return F.GroupNorm(x[0], s.Int(0), weight, bias, s.Dbl(2));
            },
            Ref = (r, s) =>
            {
                var (weight, bias) = AffineOf(r, 1, s.Get<string>(1));
                return Reference.GroupNorm(r[0], s.Int(0), weight, bias, s.Dbl(2));
            },
            FromShape = (shape, v) =>
            {
                if (shape.Length < 2) return null;
                var divisors = Enumerable.Range(1, shape[1]).Where(g => shape[1] % g == 0).ToArray();
                string affine = AffineChoices[(v >> 2) % 4];
                return S("prop", [In(shape), .. Affine(affine, shape[1])], divisors[v % divisors.Length], affine, (v & 16) != 0 ? 1e-3 : 1e-5);
            },
        };

        yield return new OpInfo
        {
            Name = "local_response_norm",
            Family = fam,
            Api = ["LocalResponseNorm"],
            // Args: size, α, β, k, α divided by the size (PyTorch) or not (the AlexNet paper's convention).
            Samples = () =>
            [
                S("size 3, α/size (PyTorch)", [In(1, 5, 2, 2)], 3, 0.5, 0.75, 2.0, true),
                S("size 3, α as in the AlexNet paper", [In(1, 5, 2, 2)], 3, 0.5, 0.75, 2.0, false),
                S("size 5, k 2 (AlexNet), batch 2", [In(2, 7, 2, 1)], 5, 0.3, 0.75, 2.0, false),
                S("even size 2, [N,C,L]", [In(1, 4, 3)], 2, 0.4, 0.5, 1.0, true),
                S("size larger than C", [In(2, 3, 2)], 7, 0.6, 0.75, 1.0, true),
                S("size 1, β 1, [N,C,D,H,W]", [In(1, 3, 2, 1, 2)], 1, 0.5, 1.0, 1.5, false),
            ],
            Op = (x, s) => F.LocalResponseNorm(x[0], s.Int(0), s.Dbl(1), s.Dbl(2), s.Dbl(3), s.Bool(4)),
            Ref = (r, s) => Reference.LocalResponseNorm(r[0], s.Int(0), s.Dbl(1), s.Dbl(2), s.Dbl(3), s.Bool(4)),
            FromShape = (shape, v) => shape.Length >= 3 ? S("prop", [In(shape)], 1 + v % 5, 0.5, 0.75, 1.5, (v & 8) != 0) : null,
        };

        yield return new OpInfo
        {
            Name = "dropout",
            Family = fam,
            Api = ["Dropout"],
            Samples = () =>
            [
                DropoutCase("p 0.3", [2, 3, 4], 0.3, true, 1),
                DropoutCase("p 0.5, vector", [7], 0.5, true, 2),
                DropoutCase("p 0.8, [N,C,H,W]", [2, 2, 2, 2], 0.8, true, 3),
                DropoutCase("p 0 (identity)", [2, 3], 0.0, true, 4),
                DropoutCase("p 1 (all dropped)", [2, 3], 1.0, true, 5),
                DropoutCase("evaluation (identity)", [2, 3], 0.5, false, 6),
            ],
            Op = (x, s) => F.Dropout(x[0], s.Dbl(0), s.Bool(1), new Generator((ulong)s.Int(2))),
            Ref = (r, s) => Reference.Dropout(r[0], s.Dbl(0), s.Bool(1), (ulong)s.Int(2), r[0].Shape),
            FromShape = (shape, v) => DropoutCase("prop", shape, new[] { 0.2, 0.5, 0.9, 0.0, 1.0 }[v % 5], (v & 8) == 0 || (v & 16) == 0, v),
        };

        yield return new OpInfo
        {
            Name = "dropout2d",
            Family = fam,
            Api = ["Dropout2d"],
            Samples = () =>
            [
                DropoutCase("[N,C,H,W], p 0.5", [3, 4, 2, 2], 0.5, true, 1),
                DropoutCase("[C,H,W], p 0.4", [5, 2, 3], 0.4, true, 2),
                DropoutCase("p 1 (all dropped)", [2, 2, 1, 2], 1.0, true, 3),
                DropoutCase("evaluation (identity)", [2, 2, 2, 2], 0.5, false, 4),
            ],
            Op = (x, s) => F.Dropout2d(x[0], s.Dbl(0), s.Bool(1), new Generator((ulong)s.Int(2))),
            Ref = (r, s) => Reference.Dropout(r[0], s.Dbl(0), s.Bool(1), (ulong)s.Int(2), ChannelMask(r[0].Shape)),
            FromShape = (shape, v) => shape.Length is 3 or 4
                ? DropoutCase("prop", shape, new[] { 0.2, 0.5, 0.9, 0.0, 1.0 }[v % 5], (v & 8) == 0 || (v & 16) == 0, v)
                : null,
        };

        // Folding is an inference-time transform computed under no-grad (its results are fresh parameters, as
        // torch.nn.utils.fuse_conv_bn_weights'), so the row is forward only; the output is [W′ flattened; b′].
        yield return new OpInfo
        {
            Name = "fold_batch_norm",
            Family = fam,
            Api = ["FoldBatchNorm"],
            Samples = () =>
            [
                S("conv2d weight, bias, γ, β", [In(3, 2, 2, 2), In(3), In(3), In(Domain.Positive, 3), In(3), In(3)], "bias+gamma+beta", 1e-5),
                S("conv1d weight, no bias, no affine, eps 1e-3", [In(2, 3, 3), In(2), In(Domain.Positive, 2)], "", 1e-3),
                S("1x1x1 conv3d weight, γ only", [In(4, 1, 1, 1, 1), In(4), In(Domain.Positive, 4), In(4)], "gamma", 1e-5),
            ],
            Op = (x, s) =>
            {
                var (b, mean, variance, gamma, beta) = FoldInputs(x, s.Get<string>(0));
                var (weight, bias) = F.FoldBatchNorm(x[0], b, mean, variance, gamma, beta, s.Dbl(1));
                return Tensor.Cat([weight.Reshape(-1), bias], 0);
            },
            Ref = (r, s) =>
            {
                var (b, mean, variance, gamma, beta) = FoldInputs(r, s.Get<string>(0));
                return Reference.FoldBatchNorm(r[0], b, mean, variance, gamma, beta, s.Dbl(1));
            },
            Differentiable = false,
            FromShape = (shape, v) =>
            {
                if (shape.Length < 2) return null;
                string which = string.Join("+", new[] { "bias", "gamma", "beta" }.Where((_, k) => ((v >> k) & 1) != 0));
                int c = shape[0];
                var inputs = new List<InputSpec> { In(shape) };
                if (which.Contains("bias")) inputs.Add(In(c));
                inputs.Add(In(c));
                inputs.Add(In(Domain.Positive, c));
                if (which.Contains("gamma")) inputs.Add(In(c));
                if (which.Contains("beta")) inputs.Add(In(c));
                return S("prop", inputs.ToArray(), which, (v & 8) != 0 ? 1e-3 : 1e-5);
            },
        };
    }

    /// <summary>fold_batch_norm's inputs after the weight: [bias], mean, variance, [γ], [β], per the flags.</summary>
    private static (T? Bias, T Mean, T Variance, T? Gamma, T? Beta) FoldInputs<T>(T[] inputs, string which) where T : class
    {
        int at = 1;
        T? bias = which.Contains("bias") ? inputs[at++] : null;
        T mean = inputs[at++], variance = inputs[at++];
        T? gamma = which.Contains("gamma") ? inputs[at++] : null;
        T? beta = which.Contains("beta") ? inputs[at] : null;
        return (bias, mean, variance, gamma, beta);
    }
}
