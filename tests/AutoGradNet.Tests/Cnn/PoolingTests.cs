using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.Cnn;

public class PoolingTests
{
    private static readonly double[,] SeedSlice = { { 1, 1, 2, 4 }, { 5, 6, 7, 8 }, { 3, 2, 1, 0 }, { 1, 2, 3, 4 } };

    private static Tensor Rand(int[] shape, ulong seed, bool grad = false)
    {
        // Distinct values keep max pooling away from ties, so finite differences are valid.
        var t = Tensor.Randn(shape, DType.Float64, new Generator(seed));
        return grad ? t.RequiresGrad_() : t;
    }

    [Fact]
    public void SeedFourByFourExamples()
    {
        var x = Tensor.From(SeedSlice).Reshape(1, 1, 4, 4);
        Assert.Equal([6.0, 8, 3, 4], F.MaxPool2d(x, 2, 2).Reshape(-1).ToArray<double>());
        Assert.Equal([3.25, 5.25, 2, 2], F.AvgPool2d(x, 2, 2).Reshape(-1).ToArray<double>());
    }

    [Fact]
    public void AvgPoolBackwardIsUpsampleOverPoolSize()
    {
        // Seed 000: δ(l−1) = upsample(δ(l)) / pooling size.
        var x = Tensor.From(SeedSlice).Reshape(1, 1, 4, 4).RequiresGrad_();
        var upstream = Tensor.From(new double[,] { { 1, 2 }, { 3, 4 } }).Reshape(1, 1, 2, 2);
        F.AvgPool2d(x, 2).Backward(upstream);
        Assert.Equal([0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 0.75, 0.75, 1, 1], x.Grad!.Reshape(-1).ToArray<double>());
    }

    [Fact]
    public void MaxPoolRoutesGradientToArgMaxAndFirstTie()
    {
        var x = Tensor.From(new double[,] { { 1, 3, 3, 0 }, { 2, 3, 1, 1 } }).Reshape(1, 1, 2, 4).RequiresGrad_();
        var (values, indices) = F.MaxPool2dWithIndices(x, 2);
        Assert.Equal([3.0, 3], values.Reshape(-1).ToArray<double>());
        Assert.Equal([1L, 2], indices.Reshape(-1).ToArray<long>()); // ties: first in row-major window order
        values.Sum().Backward();
        Assert.Equal([0.0, 1, 1, 0, 0, 0, 0, 0], x.Grad!.Reshape(-1).ToArray<double>());
    }

    [Theory]
    [InlineData(20, 19, 2, 2)]    // 10×9 outputs: one vector of eight plus a ragged, overlapping end per row
    [InlineData(12, 26, 3, 1)]    // 10×24 outputs, overlapping 3×3 windows
    [InlineData(9, 16, 3, 2)]     // 4×7 outputs: rows shorter than a vector
    public void FloatMaxPoolWithTiesAndNaNsMatchesTheScalarRule(int h, int w, int k, int stride)
    {
        // Values from {0, 1, 2} make ties common; a few NaNs are planted. The rule: first maximum in window order,
        // and a NaN beats any number (the first NaN wins).
        var random = new Random(h * 100 + w);
        var data = new float[2 * 3 * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = random.Next(40) == 0 ? float.NaN : random.Next(3);
        using var x = Tensor.From(data, 2, 3, h, w);
        var (values, indices) = F.MaxPool2dWithIndices(x, k, stride);
        float[] got = values.Reshape(-1).ToArray<float>();
        long[] gotAt = indices.Reshape(-1).ToArray<long>();
        int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1, o = 0;
        for (int plane = 0; plane < 6; plane++)
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++, o++)
                {
                    float best = float.NegativeInfinity;
                    int bestAt = -1;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++)
                        {
                            int at = (r * stride + i) * w + c * stride + j;
                            float v = data[plane * h * w + at];
                            if (bestAt < 0 || v > best || (float.IsNaN(v) && !float.IsNaN(best))) { best = v; bestAt = at; }
                        }
                    Assert.Equal(bestAt, gotAt[o]);
                    Assert.Equal(best, got[o]);
                }
    }

    public static TheoryData<int[], int[], int[], int[], bool> PoolCases => new()
    {
        // input, kernel, stride, padding, ceil mode
        { [2, 3, 7, 6], [2, 2], [2, 2], [0, 0], false },
        { [1, 2, 7, 7], [3, 3], [2, 2], [1, 1], false },   // AlexNet-style overlapping 3×3 stride 2
        { [1, 2, 6, 7], [3, 2], [2, 3], [1, 1], true },
        { [1, 1, 5, 5], [2, 2], [2, 2], [0, 0], true },
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void PoolingMatchesReferenceAndGradChecks(int[] xs, int[] k, int[] s, int[] p, bool ceil)
    {
        var x = Rand(xs, 1, grad: true);
        var outSpatial = new int[2];
        for (int d = 0; d < 2; d++)
        {
            int span = xs[2 + d] + 2 * p[d] - k[d];
            int o = (ceil ? (span + s[d] - 1) / s[d] : span / s[d]) + 1;
            if (ceil && (o - 1) * s[d] >= xs[2 + d] + p[d]) o--;
            outSpatial[d] = o;
        }
        var data = x.ToArray<double>();
        var max = F.MaxPool2d(x, k, s, p, ceilMode: ceil);
        CnnReference.AssertClose(CnnReference.Pool2d(data, xs, k, s, p, outSpatial, max: true, countIncludePad: true), max.ToArray<double>(), 1e-15, "max_pool2d");
        foreach (bool include in new[] { true, false })
        {
            var avg = F.AvgPool2d(x, k, s, p, ceil, countIncludePad: include);
            CnnReference.AssertClose(CnnReference.Pool2d(data, xs, k, s, p, outSpatial, max: false, include), avg.ToArray<double>(), 1e-14, $"avg_pool2d include={include}");
            Assert.True(GradCheck.Check(t => F.AvgPool2d(t[0], k, s, p, ceil, include), [x]));
        }
        Assert.True(GradCheck.Check(t => F.MaxPool2d(t[0], k, s, p, ceilMode: ceil), [x]));
        Assert.True(GradCheck.GradGradCheck(t => F.MaxPool2d(t[0], k, s, p, ceilMode: ceil), [x]));
        Assert.True(GradCheck.GradGradCheck(t => F.AvgPool2d(t[0], k, s, p, ceil), [x]));
    }

    [Fact]
    public void OneAndThreeDimensionalPoolsEqualTwoDimensionalOnEmbeddedProblems()
    {
        var x = Rand([2, 3, 9], 2);
        Assert.True(F.MaxPool1d(x, 3, 2, 1).AllClose(F.MaxPool2d(x.Unsqueeze(2), (1, 3), (1, 2), (0, 1)).Squeeze(2)));
        Assert.True(F.AvgPool1d(x, 3, 2, 1).AllClose(F.AvgPool2d(x.Unsqueeze(2), (1, 3), (1, 2), (0, 1)).Squeeze(2)));
        var x3 = Rand([1, 2, 4, 5, 6], 3, grad: true);
        var (v, i) = F.MaxPool3dWithIndices(x3, 2);
        Assert.Equal(new Shape(1, 2, 2, 2, 3), v.Shape);
        Assert.Equal(new Shape(1, 2, 2, 2, 3), i.Shape);
        Assert.True(GradCheck.Check(t => F.MaxPool3d(t[0], 2, 1, dilation: (1, 2, 1)), [x3]));
        Assert.True(GradCheck.Check(t => F.AvgPool3d(t[0], (2, 2, 3), 2, 1), [x3]));
    }

    [Fact]
    public void DilatedMaxPoolMatchesManualWindows()
    {
        var x = Tensor.Arange(25, DType.Float64).Reshape(1, 1, 5, 5).Mul(-1.0);
        var y = F.MaxPool2d(x, 2, 1, 0, dilation: 2);
        Assert.Equal(new Shape(1, 1, 3, 3), y.Shape);
        Assert.Equal(0.0, y.Reshape(-1).ToArray<double>()[0]); // window {0, 2, 10, 12} of −x: max is −0
        Assert.Equal(-12.0, y.Reshape(-1).ToArray<double>()[8]);
    }

    [Fact]
    public void AdaptivePoolsUsePyTorchWindows()
    {
        var x = Rand([2, 3, 7, 5], 4, grad: true);
        var avg = F.AdaptiveAvgPool2d(x, (3, 2));
        var max = F.AdaptiveMaxPool2d(x, (3, 2));
        Assert.Equal(new Shape(2, 3, 3, 2), avg.Shape);
        var data = x.ToArray<double>();
        // Window rows for 7 → 3: [0,3), [2,5), [4,7); columns for 5 → 2: [0,3), [2,5).
        int[][] rows = [[0, 3], [2, 5], [4, 7]], cols = [[0, 3], [2, 5]];
        var a = avg.ToArray<double>();
        var m = max.ToArray<double>();
        for (int plane = 0; plane < 6; plane++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 2; j++)
                {
                    double sum = 0, best = double.NegativeInfinity;
                    for (int r = rows[i][0]; r < rows[i][1]; r++)
                        for (int c = cols[j][0]; c < cols[j][1]; c++)
                        {
                            double v = data[(plane * 7 + r) * 5 + c];
                            sum += v;
                            best = Math.Max(best, v);
                        }
                    int count = (rows[i][1] - rows[i][0]) * (cols[j][1] - cols[j][0]);
                    Assert.Equal(sum / count, a[(plane * 3 + i) * 2 + j], 12);
                    Assert.Equal(best, m[(plane * 3 + i) * 2 + j]);
                }
        Assert.True(GradCheck.Check(t => F.AdaptiveAvgPool2d(t[0], (3, 2)), [x]));
        Assert.True(GradCheck.Check(t => F.AdaptiveMaxPool2d(t[0], (3, 2)), [x]));
        Assert.True(F.AdaptiveAvgPool2d(x, 1).AllClose(F.GlobalAvgPool(x), 1e-12, 1e-12));
    }

    [Fact]
    public void BadPoolingArgumentsThrowClearly()
    {
        var x = Tensor.Randn(1, 2, 4, 4);
        Assert.Contains("rank", Assert.Throws<ArgumentException>(() => F.MaxPool2d(Tensor.Randn(4, 4), 2)).Message);
        Assert.Contains("at most half", Assert.Throws<ArgumentException>(() => F.MaxPool2d(x, 2, 2, 2)).Message);
        Assert.Contains("stride must be positive", Assert.Throws<ArgumentException>(() => F.AvgPool2d(x, 2, 0)).Message);
        Assert.Contains("larger than the padded input", Assert.Throws<ArgumentException>(() => F.MaxPool2d(x, 5)).Message);
    }
}
