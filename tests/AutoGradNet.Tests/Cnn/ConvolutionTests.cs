using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.Cnn;

public class ConvolutionTests
{
    private static Tensor Rand(int[] shape, ulong seed, bool grad = false)
    {
        var t = Tensor.Randn(shape, DType.Float64, new Generator(seed));
        return grad ? t.RequiresGrad_() : t;
    }

    public static TheoryData<int[], int[], int[], int[], int[], int, bool> Conv2dCases => new()
    {
        // input, weight, stride, padding, dilation, groups, bias
        { [2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [1, 1], [1, 1], 1, true },
        { [1, 4, 9, 8], [6, 2, 3, 2], [2, 1], [1, 0], [1, 2], 2, false },
        { [2, 4, 8, 8], [4, 1, 3, 3], [2, 2], [1, 1], [1, 1], 4, true },   // depthwise
        { [1, 2, 5, 11], [3, 2, 1, 5], [1, 3], [0, 2], [1, 1], 1, true },  // non-square kernel and input
        { [1, 3, 10, 10], [2, 3, 4, 4], [3, 2], [2, 1], [2, 1], 1, true },
        // Unit stride with ≥ 8 channels per group and ≥ 64 taps: the CPU's implicit-GEMM path.
        { [2, 8, 12, 11], [8, 8, 3, 3], [1, 1], [1, 1], [1, 1], 1, true },      // ≥ 64 positions: one GEMM per sample
        { [3, 16, 5, 6], [16, 8, 3, 3], [1, 1], [2, 1], [2, 1], 2, false },   // few positions: the batch in the columns
        { [2, 3, 10, 9], [8, 3, 3, 3], [1, 1], [1, 1], [1, 1], 1, true },      // 3-channel stem: 27 taps, implicit weight gradient
        // Strided implicit GEMMs (forward and weight gradient; the input gradient takes im2col): even-element reads.
        { [2, 8, 17, 16], [8, 8, 3, 3], [2, 2], [1, 1], [1, 1], 1, true },     // 9×8 positions, odd input side
        { [3, 16, 9, 8], [16, 8, 3, 3], [2, 1], [0, 1], [1, 1], 2, false },   // mixed strides, batch in the columns
        { [1, 8, 15, 15], [8, 8, 3, 3], [2, 2], [2, 2], [2, 2], 1, true },     // dilated
        { [2, 8, 12, 12], [16, 8, 1, 1], [2, 2], [0, 0], [1, 1], 1, false },  // 1×1 stride 2 (a ResNet shortcut): im2col
        // ≥ 128 positions per sample: the weight gradient is computed transposed, the input read in place
        // as the GEMM's A (the gradcheck below crops the input to 6×7, which takes the other orientation).
        { [2, 8, 24, 22], [32, 8, 3, 3], [1, 1], [1, 1], [1, 1], 1, false },
        { [2, 16, 23, 23], [64, 8, 3, 3], [1, 1], [1, 1], [1, 1], 2, true },
        { [2, 8, 48, 46], [32, 8, 3, 3], [2, 2], [1, 1], [1, 1], 1, false },   // stride 2
    };

    [Theory]
    [MemberData(nameof(Conv2dCases))]
    public void Conv2dMatchesNaiveReference(int[] xs, int[] ws, int[] stride, int[] padding, int[] dilation, int groups, bool withBias)
    {
        var x = Rand(xs, 1);
        var w = Rand(ws, 2);
        var b = withBias ? Rand([ws[0]], 3) : null;
        var y = F.Conv2d(x, w, b, stride, padding, dilation, groups);
        var outSpatial = new int[2];
        for (int d = 0; d < 2; d++) outSpatial[d] = (xs[2 + d] + 2 * padding[d] - dilation[d] * (ws[2 + d] - 1) - 1) / stride[d] + 1;
        Assert.Equal(new Shape(xs[0], ws[0], outSpatial[0], outSpatial[1]), y.Shape);
        var expected = CnnReference.Conv2d(x.ToArray<double>(), xs, w.ToArray<double>(), ws, b?.ToArray<double>(), stride, padding, dilation, groups, outSpatial);
        CnnReference.AssertClose(expected, y.ToArray<double>(), 1e-12, "conv2d float64");
        var y32 = F.Conv2d(x.To(DType.Float32), w.To(DType.Float32), b?.To(DType.Float32), stride, padding, dilation, groups);
        CnnReference.AssertClose(expected, y32.ToDoubleArray(), 1e-4, "conv2d float32");
    }

    /// <summary>
    /// Unit-stride products with few output channels, a deep K and output rows that are not whole vectors run over
    /// rows widened to whole vectors (the extra columns dropped): LeNet's second layer's input gradient (20 channels
    /// out of 50 × 5×5, rows of 14), with zmm tiles also its forward (50 channels), and a forward with rows of 15. Both checked against loops written from the
    /// formula, in float64 and float32: the forward, and the input gradient as the adjoint Σ w·gy.
    /// </summary>
    [Theory]
    [InlineData(new[] { 2, 20, 14, 14 }, new[] { 50, 20, 5, 5 }, 2)]
    [InlineData(new[] { 2, 32, 14, 15 }, new[] { 12, 32, 3, 3 }, 1)]
    [InlineData(new[] { 1, 32, 9, 22 }, new[] { 16, 32, 3, 3 }, 1)]
    public void WholeVectorRowProductsMatchTheLoops(int[] xs, int[] ws, int pad)
    {
        var x = Rand(xs, 11);
        var w = Rand(ws, 12) * 0.2;
        int oh = xs[2] + 2 * pad - ws[2] + 1, ow = xs[3] + 2 * pad - ws[3] + 1;
        var gy = Rand([xs[0], ws[0], oh, ow], 13);
        double[] xv = x.ToArray<double>(), wv = w.ToArray<double>(), gyv = gy.ToArray<double>();
        var expectedY = CnnReference.Conv2d(xv, xs, wv, ws, null, [1, 1], [pad, pad], [1, 1], 1, [oh, ow]);
        var expectedGx = new double[xv.Length];
        for (int n = 0; n < xs[0]; n++)
            for (int o = 0; o < ws[0]; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                        for (int c = 0; c < xs[1]; c++)
                            for (int a = 0; a < ws[2]; a++)
                                for (int b = 0; b < ws[3]; b++)
                                {
                                    int iy = i - pad + a, ix = j - pad + b;
                                    if (iy < 0 || iy >= xs[2] || ix < 0 || ix >= xs[3]) continue;
                                    expectedGx[((n * xs[1] + c) * xs[2] + iy) * xs[3] + ix] +=
                                        wv[((o * xs[1] + c) * ws[2] + a) * ws[3] + b] * gyv[((n * ws[0] + o) * oh + i) * ow + j];
                                }
        foreach (var (dtype, tol) in new[] { (DType.Float64, 1e-11), (DType.Float32, 1e-4) })
        {
            var xd = x.To(dtype).RequiresGrad_();
            var y = F.Conv2d(xd, w.To(dtype), null, 1, pad);
            var gx = Autograd.Grad([y], [xd], [gy.To(dtype)])[0]!;
            CnnReference.AssertClose(expectedY, y.ToDoubleArray(), tol, $"forward {dtype}");
            CnnReference.AssertClose(expectedGx, gx.ToDoubleArray(), tol, $"input gradient {dtype}");
        }
    }

    [Theory]
    [MemberData(nameof(Conv2dCases))]
    public void Conv2dGradCheckAndGradGradCheck(int[] xs, int[] ws, int[] stride, int[] padding, int[] dilation, int groups, bool withBias)
    {
        // Smaller batch and channels than the forward test keep finite differences fast.
        xs = [1, xs[1], Math.Min(xs[2], 6), Math.Min(xs[3], 7)];
        var x = Rand(xs, 4, grad: true);
        var w = Rand(ws, 5, grad: true);
        var inputs = withBias ? new[] { x, w, Rand([ws[0]], 6, grad: true) } : [x, w];
        Func<Tensor[], Tensor> f = t => F.Conv2d(t[0], t[1], t.Length > 2 ? t[2] : null, stride, padding, dilation, groups);
        Assert.True(GradCheck.Check(f, inputs));
        Assert.True(GradCheck.GradGradCheck(f, inputs, new GradCheckOptions { FastMode = true }));
    }

    [Fact]
    public void Conv1dAndConv3dGradCheck()
    {
        var x1 = Rand([2, 2, 7], 7, true);
        var w1 = Rand([4, 1, 3], 8, true);
        Assert.True(GradCheck.Check(t => F.Conv1d(t[0], t[1], null, 2, 1, 2, groups: 2), [x1, w1]));
        var x3 = Rand([1, 2, 3, 4, 3], 9, true);
        var w3 = Rand([2, 2, 2, 2, 2], 10, true);
        var b3 = Rand([2], 11, true);
        Assert.True(GradCheck.Check(t => F.Conv3d(t[0], t[1], t[2], 1, 1), [x3, w3, b3]));
        Assert.True(GradCheck.GradGradCheck(t => F.Conv3d(t[0], t[1], t[2], 1, 1), [x3, w3, b3], new GradCheckOptions { FastMode = true }));
    }

    [Fact]
    public void Conv1dAndConv3dEqualConv2dOnEmbeddedProblems()
    {
        var x = Rand([2, 3, 9], 12);
        var w = Rand([4, 3, 3], 13);
        var y1 = F.Conv1d(x, w, null, 2, 1);
        var y2 = F.Conv2d(x.Unsqueeze(2), w.Unsqueeze(2), null, (1, 2), (0, 1)).Squeeze(2);
        Assert.True(y1.AllClose(y2, 1e-12, 1e-12));
        var y3 = F.Conv3d(x.Unsqueeze(2).Unsqueeze(2), w.Unsqueeze(2).Unsqueeze(2), null, (1, 1, 2), (0, 0, 1)).Squeeze(2).Squeeze(2);
        Assert.True(y1.AllClose(y3, 1e-12, 1e-12));
    }

    [Fact]
    public void SamePaddingKeepsSizeIncludingEvenKernels()
    {
        var x = Rand([1, 2, 7, 6], 14);
        foreach (var (k, d) in new[] { (3, 1), (4, 1), (2, 3), (5, 2) })
        {
            var w = Rand([3, 2, k, k], 15);
            var y = F.Conv2d(x, w, padding: Padding.Same, dilation: d);
            Assert.Equal(new Shape(1, 3, 7, 6), y.Shape);
            // PyTorch puts the odd extra zero after: explicit asymmetric padding gives the same result.
            int total = d * (k - 1), before = total / 2;
            var manual = F.Conv2d(x.Pad([before, total - before, before, total - before]), w, dilation: d);
            Assert.True(y.AllClose(manual, 1e-12, 1e-12));
        }
        Assert.Equal(new Shape(1, 3, 5, 4), F.Conv2d(x, Rand([3, 2, 3, 3], 16), padding: "valid").Shape);
    }

    [Fact]
    public void ConvTransposeIsTheAdjointOfConv()
    {
        // <conv(x), y> = <x, conv_transpose(y)> for the same weight and hyper-parameters.
        var x = Rand([2, 4, 9, 8], 17);
        var w = Rand([6, 2, 3, 2], 18);
        var conv = F.Conv2d(x, w, null, (2, 1), (1, 1), (1, 2), groups: 2);
        var y = Rand(conv.Shape.ToArray(), 19);
        var back = F.ConvTranspose2d(y, w, null, (2, 1), (1, 1), outputPadding: (0, 0), groups: 2, dilation: (1, 2));
        Assert.Equal(x.Shape, back.Shape);
        Assert.Equal(conv.Mul(y).Sum().Item(), x.Mul(back).Sum().Item(), 10);
    }

    [Fact]
    public void ConvTransposeShapesAndGradients()
    {
        var x = Rand([1, 3, 4, 5], 20, true);
        var w = Rand([3, 2, 3, 3], 21, true);
        var b = Rand([2], 22, true);
        var y = F.ConvTranspose2d(x, w, b, stride: 2, padding: 1, outputPadding: 1);
        Assert.Equal(new Shape(1, 2, 8, 10), y.Shape); // (H−1)·2 − 2 + 3 + 1
        Assert.True(GradCheck.Check(t => F.ConvTranspose2d(t[0], t[1], t[2], 2, 1, 1), [x, w, b]));
        Assert.True(GradCheck.GradGradCheck(t => F.ConvTranspose2d(t[0], t[1], t[2], 2, 1, 1), [x, w, b], new GradCheckOptions { FastMode = true }));
    }

    /// <summary>
    /// The weight gradient at sizes the gradcheck cannot afford (32 filters per group and ≥ 512 output positions,
    /// where it is computed transposed with the input read in place) against Σₙ gy[n] · unfold(x)[n]ᵀ built from
    /// the public unfold and matmul, in float64 and float32.
    /// </summary>
    [Theory]
    [InlineData(24, 22, 1, 1, 32)]
    [InlineData(23, 23, 1, 2, 32)]
    [InlineData(48, 46, 2, 1, 32)]
    [InlineData(14, 12, 1, 1, 20)]   // 168 positions, 20 filters (transposed since session 5)
    [InlineData(10, 10, 1, 1, 20)]   // 100 positions: the original orientation
    public void LargeWeightGradientMatchesUnfoldTimesGradient(int h, int w, int stride, int groups, int filters)
    {
        int cin = 8 * groups, cout = filters * groups;
        var x = Rand([2, cin, h, w], 31);
        var wt = Rand([cout, 8, 3, 3], 32, grad: true);
        var y = F.Conv2d(x, wt, null, stride, 1, groups: groups);
        var gy = Rand(y.Shape.ToArray(), 33);
        var gw = Autograd.Grad([y], [wt], [gy])[0]!;
        int l = y.Size(2) * y.Size(3);
        var cols = F.Unfold(x, 3, padding: 1, stride: stride);                     // [2, cin·9, L]
        var perGroup = new List<Tensor>();
        for (int grp = 0; grp < groups; grp++)
        {
            var gyG = gy.Reshape(2, cout, l).Narrow(1, grp * filters, filters);     // [2, filters, L]
            var colsG = cols.Narrow(1, grp * 72, 72);                               // [2, 72, L]
            perGroup.Add(gyG.Matmul(colsG.Transpose(1, 2)).Sum([0]));               // [filters, 72]
        }
        var expected = Tensor.Cat(perGroup, 0);
        Assert.True(gw.Reshape(cout, 72).AllClose(expected, 1e-10, 1e-10), "float64 weight gradient");
        var w32 = wt.Detach().To(DType.Float32).RequiresGrad_();
        var y32 = F.Conv2d(x.To(DType.Float32), w32, null, stride, 1, groups: groups);
        var gw32 = Autograd.Grad([y32], [w32], [gy.To(DType.Float32)])[0]!;
        Assert.True(gw32.To(DType.Float64).Reshape(cout, 72).AllClose(expected, 1e-3, 1e-4), "float32 weight gradient");
    }

    /// <summary>
    /// Convolutions build im2col columns for a chunk of the batch at a time (a scratch budget of 2²² elements): with
    /// 16·9·10⁴ columns per sample the batch of 3 runs as chunks of 2 and 1. Each sample alone must give the same
    /// output, input gradient, and its share of the accumulated weight gradient.
    /// </summary>
    [Theory]
    [InlineData(100, 2)]    // one output channel per group: im2col over chunks of the batch
    [InlineData(100, 16)]   // implicit GEMM, one product per sample (the weight gradient transposed: ≥ 128 positions)
    [InlineData(7, 16)]     // implicit GEMM, 49 positions: the batch goes into the GEMM's columns
    [InlineData(100, 64)]   // 32 filters per group: the weight gradient transposed, per sample
    [InlineData(7, 64)]     // 32 filters per group with the batch in the columns: the original orientation
    public void ConvolutionChunksTheBatchConsistently(int side, int cout)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Rand([3, 16, side, side], 23, grad: true);
        var w = Rand([cout, 8, 3, 3], 24, grad: true);
        var upstream = Rand([3, cout, side, side], 25);
        var y = F.Conv2d(x, w, null, 1, 1, groups: 2);
        var (gx, gw) = Autograd.Grad([y], [x, w], [upstream]) switch { var g => (g[0]!, g[1]!) };
        var gwSum = Tensor.Zeros([cout, 8, 3, 3], DType.Float64);
        for (int n = 0; n < 3; n++)
        {
            var xn = x.Narrow(0, n, 1).Detach().RequiresGrad_();
            var yn = F.Conv2d(xn, w, null, 1, 1, groups: 2);
            Assert.True(yn.AllClose(y.Narrow(0, n, 1), 1e-12, 1e-12), $"sample {n}: output");
            var g = Autograd.Grad([yn], [xn, w], [upstream.Narrow(0, n, 1)]);
            Assert.True(g[0]!.AllClose(gx.Narrow(0, n, 1), 1e-12, 1e-12), $"sample {n}: input gradient");
            gwSum = gwSum.Add(g[1]!);
        }
        Assert.True(gwSum.AllClose(gw, 1e-10, 1e-10), "weight gradient");
    }

    [Fact]
    public void UnfoldFoldMatchPyTorchSemantics()
    {
        var x = Tensor.Arange(16, DType.Float64).Reshape(1, 1, 4, 4);
        var cols = F.Unfold(x, 2, stride: 2);
        Assert.Equal(new Shape(1, 4, 4), cols.Shape);
        Assert.Equal([0.0, 2, 8, 10], cols.Select(1, 0).Reshape(-1).ToArray<double>());
        var back = F.Fold(cols, (4, 4), 2, stride: 2);
        Assert.True(back.AllClose(x));
        // Unbatched [C, H, W] ↔ [C·kh·kw, L], as PyTorch's im2col/col2im.
        Assert.True(F.Unfold(x.Squeeze(0), 2, stride: 2).AllClose(cols.Squeeze(0)));
        Assert.True(F.Fold(cols.Squeeze(0), (4, 4), 2, stride: 2).AllClose(x.Squeeze(0)));
        var overlapping = F.Fold(F.Unfold(Tensor.Ones([1, 1, 3, 3], DType.Float64), 2), (3, 3), 2);
        Assert.Equal([1.0, 2, 1, 2, 4, 2, 1, 2, 1], overlapping.Reshape(-1).ToArray<double>()); // counts of windows covering each pixel
    }

    [Fact]
    public void SeedWorkedExampleTenFiveByFiveFilters()
    {
        // 3×32×32 input, ten 5×5 filters, stride 1, pad 2 → 10×32×32; 760 parameters; 768,000 multiply-adds.
        var x = Tensor.Randn(1, 3, 32, 32);
        var w = Tensor.Randn(10, 3, 5, 5);
        var b = Tensor.Zeros(10);
        var y = F.Conv2d(x, w, b, 1, 2);
        Assert.Equal(new Shape(1, 10, 32, 32), y.Shape);
        Assert.Equal(760, w.Numel + b.Numel);
        Assert.Equal(768_000, y.Numel * (w.Numel / w.Size(0)));
    }

    [Fact]
    public void AlexNetConv1AndPool1Sizes()
    {
        var x = Tensor.Randn(1, 3, 227, 227);
        var conv1 = F.Conv2d(x, Tensor.Randn(4, 3, 11, 11), stride: 4, padding: 2);
        Assert.Equal(new Shape(1, 4, 56, 56), conv1.Shape);
        Assert.Equal(new Shape(1, 4, 27, 27), F.MaxPool2d(conv1, 3, 2).Shape);
    }

    [Fact]
    public void ThreeStackedThreeByThreeConvsSeeASevenBySevenField()
    {
        var x = Tensor.Zeros([1, 1, 15, 15], DType.Float64).RequiresGrad_();
        var w = Tensor.Ones([1, 1, 3, 3], DType.Float64);
        var y = F.Conv2d(F.Conv2d(F.Conv2d(x, w, padding: 1), w, padding: 1), w, padding: 1);
        y.Select(2, 7).Select(2, 7).Sum().Backward();
        var grad = x.Grad!.Reshape(15, 15);
        var nonZero = grad.Ne(0.0).To(DType.Float64);
        Assert.Equal(49.0, nonZero.Sum().Item());
        Assert.Equal(7.0, nonZero.Sum(0).Gt(0.0).To(DType.Float64).Sum().Item());
        Assert.Equal(7.0, nonZero.Sum(1).Gt(0.0).To(DType.Float64).Sum().Item());
    }

    [Fact]
    public void BadConvolutionArgumentsThrowClearly()
    {
        var x = Tensor.Randn(1, 4, 5, 5);
        Assert.Contains("rank", Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Randn(4, 5), Tensor.Randn(2, 4, 3, 3))).Message);
        Assert.Contains("divisible by groups", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(3, 2, 3, 3), groups: 2)).Message);
        Assert.Contains("input channels", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(2, 3, 3, 3))).Message);
        Assert.Contains("larger than the padded input", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(2, 4, 7, 7))).Message);
        Assert.Contains("stride must be positive", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(2, 4, 3, 3), stride: 0)).Message);
        Assert.Contains("dilation must be positive", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(2, 4, 3, 3), dilation: -1)).Message);
        Assert.Contains("\"same\"", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(2, 4, 3, 3), stride: 2, padding: "same")).Message);
        Assert.Contains("bias", Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(2, 4, 3, 3), Tensor.Randn(3))).Message);
    }
}

public class DilatedWindowRegressionTests
{
    [Fact]
    public void DilatedKernelWiderThanTheInputRowMatchesTheReference()
    {
        // A 1-wide input, kernel 3, dilation 2, "same" padding: some kernel taps see no input at all, and the
        // in-range part of their row is empty and would start past the end of the input (a crash found by the
        // adjoint property).
        var x = Tensor.Randn([1, 1, 1], DType.Float64, new Generator(1)).RequiresGrad_();
        var w = Tensor.Randn([1, 1, 3], DType.Float64, new Generator(2)).RequiresGrad_();
        var y = Functional.Conv1d(x, w, padding: Padding.Same, dilation: 2);
        Assert.Equal(x.Item() * w.ToArray<double>()[1], y.Item(), 14);
        Assert.True(GradCheck.Check(t => Functional.Conv1d(t[0], t[1], padding: Padding.Same, dilation: 2), [x, w]));
        var x2 = Tensor.Randn([1, 1, 2, 1], DType.Float64, new Generator(3)).RequiresGrad_();
        var w2 = Tensor.Randn([1, 1, 3, 3], DType.Float64, new Generator(4)).RequiresGrad_();
        Assert.True(GradCheck.Check(t => Functional.Conv2d(t[0], t[1], padding: Padding.Same, dilation: (1, 3)), [x2, w2]));
    }
}
