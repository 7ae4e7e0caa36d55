namespace AutoGradNet.Tests.OpTable;

// Naive float64 references of the CNN functional ops (convolution, pooling, normalization, dropout), written from
// the formulas of PyTorch's documentation with nested loops over output positions and window/kernel positions.
// Spatial positions are multi-indices over 1–3 spatial dims; nothing here calls AutoGradNet.
public static partial class Reference
{
    // ---- helpers -----------------------------------------------------------------------------------------------

    /// <summary>An int-or-tuple argument (one value, or one per spatial dim) for <paramref name="rank"/> dims.</summary>
    public static int[] PerDim(int[] values, int rank)
    {
        if (values.Length == 1) return Enumerable.Repeat(values[0], rank).ToArray();
        if (values.Length != rank) throw new ArgumentException($"reference: {values.Length} values for {rank} spatial dims");
        return values;
    }

    /// <summary>Every multi-index of <paramref name="shape"/> in row-major order (one position for a 0-d shape).</summary>
    public static IEnumerable<int[]> Positions(int[] shape)
    {
        int n = Numel(shape);
        for (int i = 0; i < n; i++) yield return Unravel(i, shape);
    }

    /// <summary>Adds a leading batch dim of 1 to an unbatched input (rank = spatial + 1).</summary>
    private static (RT X, bool Unbatched) Batched(RT x, int spatialRank)
    {
        if (x.Rank == spatialRank + 2) return (x, false);
        if (x.Rank != spatialRank + 1) throw new ArgumentException($"reference: input rank {x.Rank} for {spatialRank} spatial dims");
        return (new RT(x.Data, [1, .. x.Shape]), true);
    }

    private static RT Unbatch(RT y, bool unbatched) => unbatched ? new RT(y.Data, y.Shape[1..]) : y;

    /// <summary>floor((S + padTotal − d·(k − 1) − 1) / s) + 1.</summary>
    private static int WindowCount(int size, int kernel, int stride, int dilation, int padTotal) =>
        (int)Math.Floor((size + padTotal - dilation * (kernel - 1) - 1) / (double)stride) + 1;

    // ---- convolution -------------------------------------------------------------------------------------------

    /// <summary>
    /// Padding before and after each spatial dim: explicit ints (both sides), "valid" (none) or "same": total d·(k − 1),
    /// ⌊total/2⌋ before and the rest after (PyTorch puts the odd zero at the end).
    /// </summary>
    public static (int[] Before, int[] After) ConvPadding(object padding, int[] kernel, int[] dilation)
    {
        int rank = kernel.Length;
        switch (padding)
        {
            case "valid": return (new int[rank], new int[rank]);
            case "same":
            {
                var before = new int[rank];
                var after = new int[rank];
                for (int d = 0; d < rank; d++)
                {
                    int total = dilation[d] * (kernel[d] - 1);
                    before[d] = total / 2;
                    after[d] = total - total / 2;
                }
                return (before, after);
            }
            case int[] p: return (PerDim(p, rank), PerDim(p, rank));
            default: throw new ArgumentException($"reference: padding {padding}");
        }
    }

    /// <summary>
    /// y[n, o, j] = b[o] + Σ_{c &lt; Cin/G, k} w[o, c, k] · x[n, g·Cin/G + c, j·s − p_before + k·d] (zero outside), g = o / (Cout/G).
    /// </summary>
    public static RT Conv(RT input, RT w, RT? bias, int[] strideArg, object padding, int[] dilationArg, int groups)
    {
        int r = w.Rank - 2;
        var (x, unbatched) = Batched(input, r);
        int n = x.Shape[0], cin = x.Shape[1], cout = w.Shape[0], cinG = w.Shape[1], coutG = cout / groups;
        if (cinG * groups != cin || coutG * groups != cout) throw new ArgumentException("reference conv: bad groups");
        var spatial = x.Shape[2..];
        var kernel = w.Shape[2..];
        var stride = PerDim(strideArg, r);
        var dilation = PerDim(dilationArg, r);
        var (before, after) = ConvPadding(padding, kernel, dilation);
        var outSpatial = new int[r];
        for (int d = 0; d < r; d++) outSpatial[d] = WindowCount(spatial[d], kernel[d], stride[d], dilation[d], before[d] + after[d]);
        int[] outShape = [n, cout, .. outSpatial];
        var y = new double[Numel(outShape)];
        var pos = new int[r];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
            {
                int g = o / coutG;
                foreach (var j in Positions(outSpatial))
                {
                    double sum = bias is null ? 0 : bias.Data[o];
                    for (int c = 0; c < cinG; c++)
                        foreach (var k in Positions(kernel))
                        {
                            bool inside = true;
                            for (int d = 0; d < r; d++)
                            {
                                pos[d] = j[d] * stride[d] - before[d] + k[d] * dilation[d];
                                inside &= pos[d] >= 0 && pos[d] < spatial[d];
                            }
                            if (!inside) continue;
                            sum += w[[o, c, .. k]] * x[[b, g * cinG + c, .. pos]];
                        }
                    y[Ravel([b, o, .. j], outShape)] = sum;
                }
            }
        return Unbatch(new RT(y, outShape), unbatched);
    }

    /// <summary>
    /// Transposed convolution, written as the scatter it is: every input x[n, ci, i] adds x·w[ci, oc, k] to
    /// y[n, g·Cout/G + oc, i·s − p + k·d] (g = ci / (Cin/G)), on an output of size (S − 1)·s − 2p + d·(k − 1) + output_padding + 1.
    /// </summary>
    public static RT ConvTranspose(RT input, RT w, RT? bias, int[] strideArg, int[] paddingArg, int[] outputPaddingArg, int groups, int[] dilationArg)
    {
        int r = w.Rank - 2;
        var (x, unbatched) = Batched(input, r);
        int n = x.Shape[0], cin = x.Shape[1], coutG = w.Shape[1], cout = coutG * groups, cinG = cin / groups;
        var spatial = x.Shape[2..];
        var kernel = w.Shape[2..];
        var stride = PerDim(strideArg, r);
        var padding = PerDim(paddingArg, r);
        var outputPadding = PerDim(outputPaddingArg, r);
        var dilation = PerDim(dilationArg, r);
        var outSpatial = new int[r];
        for (int d = 0; d < r; d++)
            outSpatial[d] = (spatial[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + outputPadding[d] + 1;
        int[] outShape = [n, cout, .. outSpatial];
        var y = new double[Numel(outShape)];
        var pos = new int[r];
        for (int b = 0; b < n; b++)
            for (int ci = 0; ci < cin; ci++)
            {
                int g = ci / cinG;
                foreach (var i in Positions(spatial))
                {
                    double v = x[[b, ci, .. i]];
                    for (int oc = 0; oc < coutG; oc++)
                        foreach (var k in Positions(kernel))
                        {
                            bool inside = true;
                            for (int d = 0; d < r; d++)
                            {
                                pos[d] = i[d] * stride[d] - padding[d] + k[d] * dilation[d];
                                inside &= pos[d] >= 0 && pos[d] < outSpatial[d];
                            }
                            if (inside) y[Ravel([b, g * coutG + oc, .. pos], outShape)] += v * w[[ci, oc, .. k]];
                        }
                }
            }
        if (bias is not null)
            for (int i = 0; i < y.Length; i++) y[i] += bias.Data[Unravel(i, outShape)[1]];
        return Unbatch(new RT(y, outShape), unbatched);
    }

    /// <summary>im2col: cols[n, c·K + k, l] = x[n, c, l·s − p + k·d] (zero outside), k and l row-major over kernel and block grid.</summary>
    public static RT Unfold(RT input, int[] kernelArg, int[] dilationArg, int[] paddingArg, int[] strideArg)
    {
        const int r = 2;
        var (x, unbatched) = Batched(input, r);
        var (kernel, dilation, padding, stride) = (PerDim(kernelArg, r), PerDim(dilationArg, r), PerDim(paddingArg, r), PerDim(strideArg, r));
        int n = x.Shape[0], c = x.Shape[1], kSize = Numel(kernel);
        var spatial = x.Shape[2..];
        var blocks = new int[r];
        for (int d = 0; d < r; d++) blocks[d] = WindowCount(spatial[d], kernel[d], stride[d], dilation[d], 2 * padding[d]);
        int l = Numel(blocks);
        var y = new double[n * c * kSize * l];
        var pos = new int[r];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < kSize; k++)
                    for (int li = 0; li < l; li++)
                    {
                        var kp = Unravel(k, kernel);
                        var bp = Unravel(li, blocks);
                        bool inside = true;
                        for (int d = 0; d < r; d++)
                        {
                            pos[d] = bp[d] * stride[d] - padding[d] + kp[d] * dilation[d];
                            inside &= pos[d] >= 0 && pos[d] < spatial[d];
                        }
                        y[((b * c + ch) * kSize + k) * l + li] = inside ? x[[b, ch, .. pos]] : 0;
                    }
        int[] shape = [n, c * kSize, l];
        return Unbatch(new RT(y, shape), unbatched);
    }

    /// <summary>col2im, summing overlaps: y[n, c, l·s − p + k·d] += cols[n, c·K + k, l].</summary>
    public static RT Fold(RT input, int[] outputSizeArg, int[] kernelArg, int[] dilationArg, int[] paddingArg, int[] strideArg)
    {
        const int r = 2;
        bool unbatched = input.Rank == 2;
        var cols = unbatched ? new RT(input.Data, [1, .. input.Shape]) : input;
        var (size, kernel, dilation, padding, stride) =
            (PerDim(outputSizeArg, r), PerDim(kernelArg, r), PerDim(dilationArg, r), PerDim(paddingArg, r), PerDim(strideArg, r));
        int kSize = Numel(kernel), n = cols.Shape[0], c = cols.Shape[1] / kSize;
        var blocks = new int[r];
        for (int d = 0; d < r; d++) blocks[d] = WindowCount(size[d], kernel[d], stride[d], dilation[d], 2 * padding[d]);
        int l = Numel(blocks);
        if (cols.Shape[2] != l) throw new ArgumentException("reference fold: wrong number of blocks");
        int[] shape = [n, c, .. size];
        var y = new double[Numel(shape)];
        var pos = new int[r];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < kSize; k++)
                    for (int li = 0; li < l; li++)
                    {
                        var kp = Unravel(k, kernel);
                        var bp = Unravel(li, blocks);
                        bool inside = true;
                        for (int d = 0; d < r; d++)
                        {
                            pos[d] = bp[d] * stride[d] - padding[d] + kp[d] * dilation[d];
                            inside &= pos[d] >= 0 && pos[d] < size[d];
                        }
                        if (inside) y[Ravel([b, ch, .. pos], shape)] += cols.Data[((b * c + ch) * kSize + k) * l + li];
                    }
        return Unbatch(new RT(y, shape), unbatched);
    }

    // ---- pooling -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Number of pooling windows: ⌊(S + 2p − d·(k − 1) − 1)/s⌋ + 1, or with ⌈⌉ in ceil mode, where a last window that would
    /// start beyond the input and its left padding (at ≥ S + p) is dropped (PyTorch's pooling_output_shape).
    /// </summary>
    public static int PoolCount(int size, int kernel, int stride, int padding, int dilation, bool ceil)
    {
        double span = (size + 2 * padding - dilation * (kernel - 1) - 1) / (double)stride;
        int count = (int)(ceil ? Math.Ceiling(span) : Math.Floor(span)) + 1;
        if (ceil && (count - 1) * stride >= size + padding) count--;
        return count;
    }

    /// <summary>
    /// Max pooling over windows at j·s − p + k·d (positions in the padding are not candidates). Returns the maxima and
    /// the flat in-plane index of the first maximum in row-major window order; a window with no input position
    /// (possible with dilation) gives −∞ and index −1.
    /// </summary>
    public static (RT Values, RT Indices) MaxPool(RT input, int rank, int[] kernelArg, int[]? strideArg, int[] paddingArg, int[] dilationArg, bool ceil)
    {
        var (x, unbatched) = Batched(input, rank);
        var kernel = PerDim(kernelArg, rank);
        var stride = strideArg is null ? kernel : PerDim(strideArg, rank);
        var (padding, dilation) = (PerDim(paddingArg, rank), PerDim(dilationArg, rank));
        var spatial = x.Shape[2..];
        var outSpatial = new int[rank];
        for (int d = 0; d < rank; d++) outSpatial[d] = PoolCount(spatial[d], kernel[d], stride[d], padding[d], dilation[d], ceil);
        int[] outShape = [x.Shape[0], x.Shape[1], .. outSpatial];
        var values = new double[Numel(outShape)];
        var indices = new double[values.Length];
        int planes = x.Shape[0] * x.Shape[1], inPlane = Numel(spatial), outPlane = Numel(outSpatial);
        var pos = new int[rank];
        for (int p = 0; p < planes; p++)
            for (int o = 0; o < outPlane; o++)
            {
                var j = Unravel(o, outSpatial);
                double best = double.NegativeInfinity;
                int bestAt = -1;
                foreach (var k in Positions(kernel))
                {
                    bool inside = true;
                    for (int d = 0; d < rank; d++)
                    {
                        pos[d] = j[d] * stride[d] - padding[d] + k[d] * dilation[d];
                        inside &= pos[d] >= 0 && pos[d] < spatial[d];
                    }
                    if (!inside) continue;
                    int at = Ravel(pos, spatial);
                    double v = x.Data[p * inPlane + at];
                    if (bestAt < 0 || v > best)
                    {
                        best = v;
                        bestAt = at;
                    }
                }
                values[p * outPlane + o] = best;
                indices[p * outPlane + o] = bestAt;
            }
        return (Unbatch(new RT(values, outShape), unbatched), Unbatch(new RT(indices, (int[])outShape.Clone()), unbatched));
    }

    /// <summary>
    /// Average pooling: the sum over the window's input positions divided by the divisor override, or by the window
    /// size counting padding (count_include_pad; a ceil-mode window is first clipped to the right padding), or by the
    /// number of input positions.
    /// </summary>
    public static RT AvgPool(RT input, int rank, int[] kernelArg, int[]? strideArg, int[] paddingArg, bool ceil, bool countIncludePad, int? divisorOverride)
    {
        var (x, unbatched) = Batched(input, rank);
        var kernel = PerDim(kernelArg, rank);
        var stride = strideArg is null ? kernel : PerDim(strideArg, rank);
        var padding = PerDim(paddingArg, rank);
        var spatial = x.Shape[2..];
        var outSpatial = new int[rank];
        for (int d = 0; d < rank; d++) outSpatial[d] = PoolCount(spatial[d], kernel[d], stride[d], padding[d], 1, ceil);
        int[] outShape = [x.Shape[0], x.Shape[1], .. outSpatial];
        var y = new double[Numel(outShape)];
        int planes = x.Shape[0] * x.Shape[1], inPlane = Numel(spatial), outPlane = Numel(outSpatial);
        for (int p = 0; p < planes; p++)
            for (int o = 0; o < outPlane; o++)
            {
                var j = Unravel(o, outSpatial);
                int withPad = 1, inside = 1;
                var lo = new int[rank];
                var hi = new int[rank];
                for (int d = 0; d < rank; d++)
                {
                    int start = j[d] * stride[d] - padding[d];
                    int end = Math.Min(start + kernel[d], spatial[d] + padding[d]);
                    withPad *= end - start;
                    lo[d] = Math.Max(start, 0);
                    hi[d] = Math.Min(end, spatial[d]);
                    inside *= hi[d] - lo[d];
                }
                var extent = new int[rank];
                for (int d = 0; d < rank; d++) extent[d] = hi[d] - lo[d];
                double sum = 0;
                foreach (var e in Positions(extent))
                {
                    var pos = new int[rank];
                    for (int d = 0; d < rank; d++) pos[d] = lo[d] + e[d];
                    sum += x.Data[p * inPlane + Ravel(pos, spatial)];
                }
                y[p * outPlane + o] = sum / (divisorOverride ?? (countIncludePad ? withPad : inside));
            }
        return Unbatch(new RT(y, outShape), unbatched);
    }

    /// <summary>Adaptive pooling window o of <paramref name="outSize"/> over <paramref name="size"/>: [⌊o·S/O⌋, ⌈(o+1)·S/O⌉).</summary>
    public static (int Start, int End) AdaptiveWindow(int o, int size, int outSize) =>
        ((int)Math.Floor(o * size / (double)outSize), (int)Math.Ceiling((o + 1) * size / (double)outSize));

    /// <summary>Adaptive average or max pooling over the trailing <paramref name="rank"/> dims (any leading dims).</summary>
    public static (RT Values, RT Indices) AdaptivePool(RT x, int rank, int[] outputSizeArg, bool max)
    {
        var outputSize = PerDim(outputSizeArg, rank);
        var lead = x.Shape[..^rank];
        var spatial = x.Shape[^rank..];
        int[] outShape = [.. lead, .. outputSize];
        int planes = Numel(lead), inPlane = Numel(spatial), outPlane = Numel(outputSize);
        var values = new double[planes * outPlane];
        var indices = new double[values.Length];
        for (int p = 0; p < planes; p++)
            for (int o = 0; o < outPlane; o++)
            {
                var j = Unravel(o, outputSize);
                var lo = new int[rank];
                var extent = new int[rank];
                for (int d = 0; d < rank; d++)
                {
                    var (start, end) = AdaptiveWindow(j[d], spatial[d], outputSize[d]);
                    lo[d] = start;
                    extent[d] = end - start;
                }
                double sum = 0, best = double.NegativeInfinity;
                int bestAt = -1, count = 0;
                foreach (var e in Positions(extent))
                {
                    var pos = new int[rank];
                    for (int d = 0; d < rank; d++) pos[d] = lo[d] + e[d];
                    int at = Ravel(pos, spatial);
                    double v = x.Data[p * inPlane + at];
                    sum += v;
                    count++;
                    if (bestAt < 0 || v > best) (best, bestAt) = (v, at);
                }
                values[p * outPlane + o] = max ? best : sum / count;
                indices[p * outPlane + o] = bestAt;
            }
        return (new RT(values, outShape), new RT(indices, (int[])outShape.Clone()));
    }

    /// <summary>The mean over every spatial dim (dims ≥ 2), kept as size 1.</summary>
    public static RT GlobalAvgPool(RT x) => Mean(x, Enumerable.Range(2, x.Rank - 2).ToArray(), keepDim: true);

    // ---- normalization -----------------------------------------------------------------------------------------

    /// <summary>Mean and biased variance of each set of elements sharing a key (two passes over x).</summary>
    private static Dictionary<int, (double Mean, double Var)> GroupMoments(RT x, Func<int[], int> key)
    {
        var keys = new int[x.Numel];
        var sums = new Dictionary<int, (double Sum, int Count)>();
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = key(Unravel(i, x.Shape));
            var (sum, count) = sums.GetValueOrDefault(keys[i]);
            sums[keys[i]] = (sum + x.Data[i], count + 1);
        }
        var squares = new Dictionary<int, double>();
        for (int i = 0; i < keys.Length; i++)
        {
            var (sum, count) = sums[keys[i]];
            double centered = x.Data[i] - sum / count;
            squares[keys[i]] = squares.GetValueOrDefault(keys[i]) + centered * centered;
        }
        return sums.ToDictionary(e => e.Key, e => (e.Value.Sum / e.Value.Count, squares[e.Key] / e.Value.Count));
    }

    /// <summary>
    /// Batch norm: y = (x − μ_c)/√(σ²_c + ε)·γ_c + β_c with the batch statistics over N and all spatial positions
    /// (biased variance) in training, the running statistics otherwise.
    /// </summary>
    public static RT BatchNorm(RT x, RT? runningMean, RT? runningVar, RT? weight, RT? bias, bool training, double eps)
    {
        int channels = x.Shape[1];
        var batch = training ? GroupMoments(x, pos => pos[1]) : null;
        var mean = new double[channels];
        var variance = new double[channels];
        for (int c = 0; c < channels; c++)
            (mean[c], variance[c]) = training ? batch![c] : (runningMean!.Data[c], runningVar!.Data[c]);
        var y = new double[x.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            int c = Unravel(i, x.Shape)[1];
            y[i] = (x.Data[i] - mean[c]) / Math.Sqrt(variance[c] + eps) * (weight?.Data[c] ?? 1) + (bias?.Data[c] ?? 0);
        }
        return new RT(y, (int[])x.Shape.Clone());
    }

    /// <summary>
    /// The running statistics after one training step, concatenated [mean; var]: r ← (1 − m)·r + m·batch, with the
    /// unbiased batch variance (count/(count − 1) times the biased one), as PyTorch.
    /// </summary>
    public static RT BatchNormRunningStats(RT x, RT runningMean, RT runningVar, double momentum)
    {
        int channels = x.Shape[1], count = x.Numel / channels;
        var y = new double[2 * channels];
        var batch = GroupMoments(x, pos => pos[1]);
        for (int c = 0; c < channels; c++)
        {
            var (mean, biased) = batch[c];
            y[c] = (1 - momentum) * runningMean.Data[c] + momentum * mean;
            y[channels + c] = (1 - momentum) * runningVar.Data[c] + momentum * biased * count / (count - 1);
        }
        return new RT(y, [2 * channels]);
    }

    /// <summary>Normalises each set of elements sharing a key, then applies a per-element affine (γ, β by position).</summary>
    private static RT NormalizeGroups(RT x, Func<int[], int> key, double eps, Func<int[], double> gamma, Func<int[], double> beta)
    {
        var stats = GroupMoments(x, key);
        var y = new double[x.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, x.Shape);
            var (mean, variance) = stats[key(pos)];
            y[i] = (x.Data[i] - mean) / Math.Sqrt(variance + eps) * gamma(pos) + beta(pos);
        }
        return new RT(y, (int[])x.Shape.Clone());
    }

    /// <summary>Layer norm over the trailing dims; weight and bias have the normalized shape.</summary>
    public static RT LayerNorm(RT x, int[] normalizedShape, RT? weight, RT? bias, double eps)
    {
        int k = normalizedShape.Length, inner = Numel(normalizedShape);
        int Inner(int[] pos) => Ravel(pos[^k..], normalizedShape);
        return NormalizeGroups(x, pos => Ravel(pos[..^k], x.Shape[..^k]), eps,
            pos => weight?.Data[Inner(pos)] ?? 1, pos => bias?.Data[Inner(pos)] ?? 0);
    }

    /// <summary>Instance norm: each (n, c) plane over its spatial positions; per-channel affine.</summary>
    public static RT InstanceNorm(RT x, RT? weight, RT? bias, double eps) =>
        NormalizeGroups(x, pos => pos[0] * x.Shape[1] + pos[1], eps, pos => weight?.Data[pos[1]] ?? 1, pos => bias?.Data[pos[1]] ?? 0);

    /// <summary>Group norm: channels c with the same c / (C/G) of one sample are normalised together; per-channel affine.</summary>
    public static RT GroupNorm(RT x, int groups, RT? weight, RT? bias, double eps)
    {
        int perGroup = x.Shape[1] / groups;
        return NormalizeGroups(x, pos => pos[0] * groups + pos[1] / perGroup, eps, pos => weight?.Data[pos[1]] ?? 1, pos => bias?.Data[pos[1]] ?? 0);
    }

    /// <summary>
    /// Local response norm across channels: y_c = x_c / (k + α′·Σ_{c′} x_{c′}²)^β over c′ ∈ [c − ⌊size/2⌋, c + ⌊(size−1)/2⌋] ∩ [0, C),
    /// α′ = α/size (PyTorch) or α (AlexNet paper).
    /// </summary>
    public static RT LocalResponseNorm(RT x, int size, double alpha, double beta, double k, bool alphaPerSize)
    {
        int channels = x.Shape[1];
        double a = alphaPerSize ? alpha / size : alpha;
        var y = new double[x.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, x.Shape);
            int c = pos[1];
            double sum = 0;
            for (int cc = c - size / 2; cc <= c + (size - 1) / 2; cc++)
            {
                if (cc < 0 || cc >= channels) continue;
                var other = (int[])pos.Clone();
                other[1] = cc;
                sum += x[other] * x[other];
            }
            y[i] = x.Data[i] / Math.Pow(k + a * sum, beta);
        }
        return new RT(y, (int[])x.Shape.Clone());
    }

    /// <summary>
    /// Folds an eval-mode batch norm into the preceding convolution, concatenated [W′ flattened; b′]:
    /// W′[o] = W[o]·γ_o/√(σ²_o + ε), b′_o = (b_o − μ_o)·γ_o/√(σ²_o + ε) + β_o.
    /// </summary>
    public static RT FoldBatchNorm(RT w, RT? b, RT mean, RT variance, RT? gamma, RT? beta, double eps)
    {
        int cout = w.Shape[0], per = w.Numel / cout;
        var y = new double[w.Numel + cout];
        for (int o = 0; o < cout; o++)
        {
            double scale = (gamma?.Data[o] ?? 1) / Math.Sqrt(variance.Data[o] + eps);
            for (int i = 0; i < per; i++) y[o * per + i] = w.Data[o * per + i] * scale;
            y[w.Numel + o] = ((b?.Data[o] ?? 0) - mean.Data[o]) * scale + (beta?.Data[o] ?? 0);
        }
        return new RT(y, [w.Numel + cout]);
    }

    // ---- dropout -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Philox4x32-10 (Salmon, Moraes, Dror &amp; Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011): ten rounds of
    /// (c0, c1, c2, c3) ← (hi(M1·c2) ⊕ c1 ⊕ k0, lo(M1·c2), hi(M0·c0) ⊕ c3 ⊕ k1, lo(M0·c0)), the key bumped by the Weyl
    /// constants between rounds. Checked against Random123's known-answer vectors in the tests.
    /// </summary>
    public static uint[] Philox4x32(uint[] counter, uint[] key)
    {
        const uint m0 = 0xD2511F53, m1 = 0xCD9E8D57, w0 = 0x9E3779B9, w1 = 0xBB67AE85;
        var c = (uint[])counter.Clone();
        uint k0 = key[0], k1 = key[1];
        for (int round = 0; round < 10; round++)
        {
            if (round > 0) { k0 += w0; k1 += w1; }
            ulong p0 = (ulong)m0 * c[0], p1 = (ulong)m1 * c[2];
            c = [(uint)(p1 >> 32) ^ c[1] ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c[3] ^ k1, (uint)p0];
        }
        return c;
    }

    /// <summary>
    /// Keep-mask of a dropout drawn from a fresh generator seeded with <paramref name="seed"/>, per the library's random
    /// contract (docs/DESIGN.md: element i depends only on seed, counter and i): element i uses Philox block i/2 (counter
    /// from 0, key = seed), words (0, 1) for even i and (2, 3) for odd i as a 53-bit uniform u = (hi·2²¹ ⊕ lo/2¹¹)/2⁵³,
    /// and is kept when u &lt; 1 − p (a Bernoulli(1 − p) draw).
    /// </summary>
    public static bool[] DropoutKeep(int count, double p, ulong seed)
    {
        var keep = new bool[count];
        for (int i = 0; i < count; i++)
        {
            ulong block = (ulong)(i / 2);
            var words = Philox4x32([(uint)block, (uint)(block >> 32), 0, 0], [(uint)seed, (uint)(seed >> 32)]);
            uint hi = words[i % 2 == 0 ? 0 : 2], lo = words[i % 2 == 0 ? 1 : 3];
            double u = (((ulong)hi << 21) ^ (lo >> 11)) / 9007199254740992.0; // 2⁵³
            keep[i] = u < 1 - p;
        }
        return keep;
    }

    /// <summary>
    /// Inverted dropout: x·keep/(1 − p) in training (identity otherwise), with one draw per element of
    /// <paramref name="maskShape"/> (the input's shape, or [N, C, 1, 1] for channel dropout) broadcast over the input.
    /// </summary>
    public static RT Dropout(RT x, double p, bool training, ulong seed, int[] maskShape)
    {
        if (!training) return x;
        var keep = DropoutKeep(Numel(maskShape), p, seed);
        var y = new double[x.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            int m = BroadcastSource(Unravel(i, x.Shape), maskShape);
            y[i] = keep[m] ? x.Data[i] / (1 - p) : 0;
        }
        return new RT(y, (int[])x.Shape.Clone());
    }
}
