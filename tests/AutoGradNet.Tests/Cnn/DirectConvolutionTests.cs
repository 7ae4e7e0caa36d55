using AutoGradNet.Backends.Cpu;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.Cnn;

/// <summary>
/// The CPU's direct float32 convolution for 1–7 output channels (stride 1): the forward of a layer with few filters
/// and the input gradient of a layer with few input channels (an RGB stem), against the float64 path (im2col, which
/// the float64 op-table rows check against the naive reference). Cases cover output widths that leave a partial
/// vector or a partial 4-vector tile, 1–3 channels per register tile, several input-channel blocks, row bands
/// (batch 1), dilation, "same" padding with an even kernel, and conv1d. Narrow rows (9, 12, 15 columns) make tiles
/// that span two to four output rows. On an AVX-512 machine these run the zmm tiles; build/test.sh runs them again with
/// DOTNET_EnableAVX512=0 for the ymm tiles.
/// </summary>
public class DirectConvolutionTests
{
    internal static Tensor Rand(int[] shape, ulong seed) => Tensor.Randn(shape, DType.Float64, new Generator(seed));

    private static bool Supported => System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    public static TheoryData<int[], int, int, int, int> Cases => new()
    {
        // input [N, Cin, H, W], Cout, kernel, padding, dilation
        { [4, 3, 32, 32], 64, 3, 1, 1 },   // the RGB stem: its input gradient has 3 channels, 32 columns (one full tile;
                                           // FewInputChannels takes it with AVX-512, this class with AVX2)
        { [4, 3, 30, 30], 64, 3, 1, 1 },   // the same with 30 columns (900 positions: not whole vectors, so here)
        { [2, 64, 9, 9], 3, 3, 1, 1 },     // forward with 3 filters: 9 columns (a vector and one lane)
        { [1, 2, 11, 37], 16, 5, 2, 1 },   // batch 1 (row bands); 37 columns: a full tile and a 5-column tail
        { [3, 70, 40, 41], 5, 3, 1, 1 },   // 5 filters (tiles of 3 and 2); 70 channels of 42×48 padded rows: 2 blocks
        { [2, 7, 10, 12], 1, 1, 0, 1 },    // 1×1, one filter
        { [2, 4, 13, 15], 7, 3, 2, 2 },    // dilation 2, 7 filters (3 + 3 + 1)
        { [2, 5, 6, 6], 6, 3, 3, 1 },      // padding past the kernel's reach: output larger than the input
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndGradientsMatchFloat64(int[] xs, int cout, int kernel, int pad, int dilation)
    {
        if (!Supported) return;
        long before = DirectConvolution.Calls;
        Check(xs, cout, [kernel, kernel], pad, dilation);
        // Few filters run the forward here; few input channels the input gradient (unless the padding exceeds the
        // kernel's reach, when the input gradient is not a padded convolution).
        // (With AVX-512, 1–4 input channels and whole vectors of output positions, the input gradient runs in
        // FewInputChannels instead.)
        int reach = dilation * (kernel - 1), positions = (xs[2] + 2 * pad - reach) * (xs[3] + 2 * pad - reach);
        bool fewInputChannels = FewInputChannelsTests.Runs && xs[1] <= FewInputChannels.MaxInputChannels && positions % 16 == 0;
        int expected = (cout <= DirectConvolution.MaxOutputChannels ? 1 : 0)
            + (xs[1] <= DirectConvolution.MaxOutputChannels && pad <= reach && !fewInputChannels ? 1 : 0);
        Assert.True(DirectConvolution.Calls - before >= expected, $"direct convolution calls: {DirectConvolution.Calls - before}, expected {expected}");
    }

    [Fact]
    public void SamePaddingWithAnEvenKernelMatchesFloat64()
    {
        if (!Supported) return;
        var x = Rand([2, 3, 9, 10], 61);
        var w = Rand([2, 3, 4, 2], 62) * 0.3;
        var expected = F.Conv2d(x, w, null, 1, Padding.Same);
        long before = DirectConvolution.Calls;
        var actual = F.Conv2d(x.To(DType.Float32), w.To(DType.Float32), null, 1, Padding.Same);
        Assert.True(DirectConvolution.Calls > before);
        Assert.Equal(expected.Shape, actual.Shape);
        CnnReference.AssertClose(expected.ToArray<double>(), actual.ToDoubleArray(), 2e-5, "same padding");
    }

    [Fact]
    public void Conv1dMatchesFloat64()
    {
        if (!Supported) return;
        var x = Rand([3, 5, 50], 71);
        var w = Rand([2, 5, 7], 72) * 0.3;
        var b = Rand([2], 73);
        var expected = F.Conv1d(x, w, b, 1, 3, 2);
        long before = DirectConvolution.Calls;
        var actual = F.Conv1d(x.To(DType.Float32), w.To(DType.Float32), b.To(DType.Float32), 1, 3, 2);
        Assert.True(DirectConvolution.Calls > before);
        CnnReference.AssertClose(expected.ToArray<double>(), actual.ToDoubleArray(), 2e-5, "conv1d");
    }

    /// <summary>A generated case: batch 1–3, 1–9 channels either side (so both the forward and the input gradient
    /// land here often), sides 1–40, kernels 1–5, padding up to the kernel's reach, dilation 1–2. Shrinks towards
    /// batch 1, narrow sides, small kernels.</summary>
    public sealed record Case(int Batch, int Cin, int Cout, int H, int W, int Kernel, int Pad, int Dilation)
    {
        public override string ToString() => $"x [{Batch}, {Cin}, {H}, {W}] → {Cout}, {Kernel}×{Kernel}, padding {Pad}, dilation {Dilation}";
    }

    private static readonly Arbitrary<Case> Generated = Arb.From(
        from batch in Gen.Choose(1, 3)
        from cin in Gen.Choose(1, 9)
        from cout in Gen.Choose(1, 9)
        from kernel in Gen.Choose(1, 5)
        from dilation in Gen.Choose(1, 2)
        from pad in Gen.Choose(0, dilation * (kernel - 1))
        from h in Gen.Choose(1, 20)
        from w in Gen.Choose(1, 40)
        select new Case(batch, cin, cout, h, w, kernel, pad, dilation),
        c => new[]
        {
            c with { Batch = 1 }, c with { H = Math.Max(1, c.H / 2) }, c with { W = Math.Max(1, c.W / 2) },
            c with { Kernel = 1, Pad = 0 }, c with { Pad = 0 }, c with { Dilation = 1, Pad = Math.Min(c.Pad, c.Kernel - 1) },
        }.Where(d => d != c && Valid(d)));

    private static bool Valid(Case c) =>
        c.H + 2 * c.Pad >= c.Dilation * (c.Kernel - 1) + 1 && c.W + 2 * c.Pad >= c.Dilation * (c.Kernel - 1) + 1;

    [Property(MaxTest = 40)]
    public Property GeneratedShapesMatchFloat64() =>
        Prop.ForAll(Generated, c =>
        {
            if (!Supported || !Valid(c)) return;
            Check([c.Batch, c.Cin, c.H, c.W], c.Cout, [c.Kernel, c.Kernel], c.Pad, c.Dilation);
        });

    internal static void Check(int[] xs, int cout, int[] kernel, int pad, int dilation)
    {
        var x = Rand(xs, 41);
        var w = Rand([cout, xs[1], kernel[0], kernel[1]], 42) * 0.3;
        var y = F.Conv2d(x, w, null, 1, pad, dilation);
        var gy = Rand(y.Shape.ToArray(), 43);
        var x64 = x.Detach().RequiresGrad_();
        var w64 = w.Detach().RequiresGrad_();
        var g64 = Autograd.Grad([F.Conv2d(x64, w64, null, 1, pad, dilation)], [x64, w64], [gy]);

        var x32 = x.To(DType.Float32).RequiresGrad_();
        var w32 = w.To(DType.Float32).RequiresGrad_();
        var y32 = F.Conv2d(x32, w32, null, 1, pad, dilation);
        var g32 = Autograd.Grad([y32], [x32, w32], [gy.To(DType.Float32)]);

        CnnReference.AssertClose(y.ToArray<double>(), y32.ToDoubleArray(), 2e-5, "forward");
        CnnReference.AssertClose(g64[0]!.ToArray<double>(), g32[0]!.ToDoubleArray(), 2e-5, "input gradient");
        double scale = Math.Max(1e-30, g64[1]!.Abs().Max().Item<double>());
        CnnReference.AssertClose(g64[1]!.Div(scale).ToArray<double>(), g32[1]!.To(DType.Float64).Div(scale).ToArray<double>(), 1e-5, "weight gradient");
    }
}

/// <summary>
/// The CPU's direct float32 forward, input gradient and weight gradient for 1–4 input channels (AVX-512, stride 1, a
/// whole number of 16-float vectors of output positions per channel), against the float64 path. Cases cover ragged
/// tiles of output channels (1–3 of 4 used), of taps (1–6 per weight-gradient tile: 25 taps as 5 × 5, 27 as
/// 6 + 6 + 5 + 5 + 5; 1–4 per input-gradient tile) and of position vectors (1–6 per forward and input-gradient tile:
/// 784 positions are 49 vectors), dilation, padding past the kernel's reach, a
/// batch smaller than the thread count (the forward splits a sample's filters), output rows narrower or wider than a
/// vector (positions of one vector spanning rows), and 1×1 kernels. Filters 1–7 take the direct convolution for the
/// forward (<see cref="DirectConvolution"/>), 8 and more this one. Without AVX-512 (or with DOTNET_EnableAVX512=0 in build/test.sh) the
/// same cases check the GEMM path.
/// </summary>
public class FewInputChannelsTests
{
    internal static bool Runs => VectorWidth.Wide && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;

    public static TheoryData<int[], int, int, int, int> Cases => new()
    {
        // input [N, Cin, H, W], Cout, kernel, padding, dilation
        { [4, 3, 32, 32], 64, 3, 1, 1 },   // the RGB stem: 27 taps (6, 6, 5, 5, 5), 16 tiles of 4 filters
        { [3, 1, 28, 28], 20, 5, 2, 1 },   // LeNet's first layer: 25 taps (5 × 5), 784 positions
        { [1, 2, 8, 6], 7, 3, 1, 1 },      // batch 1; 6-column rows (a vector spans rows); 7 filters (4 + 3)
        { [1, 3, 8, 6], 13, 3, 1, 1 },     // batch 1: the forward splits the filters (4 tiles, the last 1 of 4 used)
        { [2, 2, 40, 50], 9, 3, 1, 1 },    // 2000 positions: two blocks of 62 and 63 vectors
        { [2, 4, 12, 40], 2, 3, 2, 2 },    // dilation 2, 4 channels (36 taps), 2 filters (a tile half used)
        { [2, 3, 4, 4], 1, 1, 0, 1 },      // 1×1: 3 taps, one filter
        { [3, 2, 4, 8], 5, 3, 3, 1 },      // padding past the kernel's reach: 8×12 output from 4×8
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFloat64(int[] xs, int cout, int kernel, int pad, int dilation)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        long gradients = FewInputChannels.WeightGradientCalls, forwards = FewInputChannels.ForwardCalls, inputs = FewInputChannels.InputGradientCalls;
        DirectConvolutionTests.Check(xs, cout, [kernel, kernel], pad, dilation);
        if (!Runs) return;
        Assert.True(FewInputChannels.WeightGradientCalls > gradients, "the weight gradient did not take the direct path");
        Assert.True(FewInputChannels.InputGradientCalls > inputs, "the input gradient did not take the direct path");
        if (cout > DirectConvolution.MaxOutputChannels) Assert.True(FewInputChannels.ForwardCalls > forwards, "the forward did not take the direct path");
    }

    /// <summary>"Same" padding with an even kernel pads less before than after (1 and 2 rows for 4 taps): the shifted
    /// copies and their fold back into the input must place the rows and columns alike.</summary>
    [Fact]
    public void SamePaddingWithAnEvenKernelMatchesFloat64()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        var x = DirectConvolutionTests.Rand([2, 3, 8, 16], 81);
        var w = DirectConvolutionTests.Rand([9, 3, 4, 2], 82) * 0.3;
        var y = F.Conv2d(x, w, null, 1, Padding.Same);
        var gy = DirectConvolutionTests.Rand(y.Shape.ToArray(), 83);
        var x64 = x.Detach().RequiresGrad_();
        var w64 = w.Detach().RequiresGrad_();
        var g64 = Autograd.Grad([F.Conv2d(x64, w64, null, 1, Padding.Same)], [x64, w64], [gy]);
        long forwards = FewInputChannels.ForwardCalls, inputs = FewInputChannels.InputGradientCalls, gradients = FewInputChannels.WeightGradientCalls;
        var x32 = x.To(DType.Float32).RequiresGrad_();
        var w32 = w.To(DType.Float32).RequiresGrad_();
        var y32 = F.Conv2d(x32, w32, null, 1, Padding.Same);
        var g32 = Autograd.Grad([y32], [x32, w32], [gy.To(DType.Float32)]);
        if (Runs)
        {
            Assert.True(FewInputChannels.ForwardCalls > forwards, "forward");
            Assert.True(FewInputChannels.InputGradientCalls > inputs, "input gradient");
            Assert.True(FewInputChannels.WeightGradientCalls > gradients, "weight gradient");
        }
        Assert.Equal(y.Shape, y32.Shape);
        CnnReference.AssertClose(y.ToArray<double>(), y32.ToDoubleArray(), 2e-5, "forward");
        CnnReference.AssertClose(g64[0]!.ToArray<double>(), g32[0]!.ToDoubleArray(), 2e-5, "input gradient");
        CnnReference.AssertClose(g64[1]!.ToArray<double>(), g32[1]!.ToDoubleArray(), 2e-4, "weight gradient");
    }

    /// <summary>A generated case whose output has a whole number of vectors of positions: width 1–40, height a
    /// multiple of what 16 / gcd(width, 16) asks. Shrinks towards batch 1, small kernels, no padding.</summary>
    public sealed record Case(int Batch, int Cin, int Cout, int OutH, int OutW, int Kernel, int Pad, int Dilation)
    {
        public int H => OutH + Dilation * (Kernel - 1) - 2 * Pad;
        public int W => OutW + Dilation * (Kernel - 1) - 2 * Pad;
        public override string ToString() => $"x [{Batch}, {Cin}, {H}, {W}] → {Cout}, {Kernel}×{Kernel}, padding {Pad}, dilation {Dilation}";
    }

    private static int RowsPerVector(int w) => 16 / (int)System.Numerics.BigInteger.GreatestCommonDivisor(w, 16);

    private static readonly Arbitrary<Case> Generated = Arb.From(
        from batch in Gen.Choose(1, 3)
        from cin in Gen.Choose(1, 4)
        from cout in Gen.Choose(1, 14)
        from kernel in Gen.Choose(1, 5)
        from dilation in Gen.Choose(1, 2)
        from pad in Gen.Choose(0, dilation * (kernel - 1))
        from w in Gen.Choose(1, 40)
        from m in Gen.Choose(1, 2)
        select new Case(batch, cin, cout, m * RowsPerVector(w), w, kernel, pad, dilation),
        c => new[]
        {
            c with { Batch = 1 }, c with { Kernel = 1, Pad = 0 }, c with { Pad = 0 }, c with { Cout = 1 },
            c with { Dilation = 1, Pad = Math.Min(c.Pad, c.Kernel - 1) },
        }.Where(d => d != c && Valid(d)));

    private static bool Valid(Case c) => c.H >= 1 && c.W >= 1;

    [Property(MaxTest = 30)]
    public Property GeneratedShapesMatchFloat64() =>
        Prop.ForAll(Generated, c =>
        {
            if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Valid(c)) return;
            long gradients = FewInputChannels.WeightGradientCalls, forwards = FewInputChannels.ForwardCalls, inputs = FewInputChannels.InputGradientCalls;
            DirectConvolutionTests.Check([c.Batch, c.Cin, c.H, c.W], c.Cout, [c.Kernel, c.Kernel], c.Pad, c.Dilation);
            if (!Runs) return;
            Assert.True(FewInputChannels.WeightGradientCalls > gradients, $"{c}: the weight gradient did not take the direct path");
            Assert.True(FewInputChannels.InputGradientCalls > inputs, $"{c}: the input gradient did not take the direct path");
            if (c.Cout > DirectConvolution.MaxOutputChannels)
                Assert.True(FewInputChannels.ForwardCalls > forwards, $"{c}: the forward did not take the direct path");
        });
}
