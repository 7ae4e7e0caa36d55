using AutoGradNet.Backends.Cpu;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.Cnn;

/// <summary>
/// The CPU's Winograd F(2×2, 3×3) path (float32, 3×3, stride 1, ≥ 32 channels each side; the weight gradient ≥ 64): forward and input
/// gradient against the float64 direct reference, over the tilings it handles (tile rows of 3–4 tiles packed two to
/// a register, rows padded to 8 tiles, several registers per row), odd output sizes, paddings 0–2 and batch 1.
/// </summary>
public class WinogradTests
{
    private static Tensor Rand(int[] shape, ulong seed) => Tensor.Randn(shape, DType.Float64, new Generator(seed));

    public static TheoryData<int[], int, int, int> Cases => new()
    {
        // input [N, Cin, H, W], Cout, padding, (unused) case id
        { [2, 64, 8, 8], 64, 1, 0 },     // 4 tiles per row: two tile rows per register
        { [1, 80, 7, 5], 65, 1, 1 },     // odd output 7×5 (3 tiles per row, padded tile row), batch 1, odd channels
        { [2, 64, 16, 16], 96, 1, 2 },   // 8 tiles per row
        { [1, 64, 13, 19], 64, 1, 3 },   // 10 tiles per row: a row padded to 16, odd sides
        { [2, 72, 12, 11], 80, 0, 4 },   // no padding: 10×9 output
        { [1, 64, 9, 10], 64, 2, 5 },    // padding 2 (the input gradient of an unpadded layer)
        { [2, 32, 12, 12], 48, 1, 11 },  // 32 → 48: forward and input gradient only
        { [1, 64, 5, 6], 64, 3, 12 },    // padding 3: a 9×10 output larger than the input (its input gradient is im2col's)
        { [1, 64, 34, 33], 64, 1, 6 },   // 17 tiles per row: three registers per row
        { [9, 64, 6, 6], 64, 1, 7 },     // chunks of 2 images, the last one of 1
        { [1, 64, 10, 37], 64, 2, 8 },   // even padding on a wide row: its columns split 16 at a time from the first
        // 128 channels, and 130 → 128 without padding.
        { [2, 128, 8, 8], 128, 1, 9 },
        { [3, 130, 7, 11], 128, 0, 10 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndGradientsMatchTheFloat64DirectConvolution(int[] xs, int cout, int pad, int id)
    {
        _ = id;
        Check(xs, cout, pad);
    }

    /// <summary>A generated Winograd case: batch 1–3, input sides 3–20 (odd ones common), padding 0–2, channel counts
    /// either side of the 32- and 64-channel thresholds. Shrinks towards batch 1, small sides, no padding.</summary>
    public sealed record Case(int Batch, int Cin, int Cout, int H, int W, int Pad)
    {
        public override string ToString() => $"x [{Batch}, {Cin}, {H}, {W}] → {Cout}, padding {Pad}";
    }

    private static readonly Arbitrary<Case> Cases3x3 = Arb.From(
        from batch in Gen.Choose(1, 3)
        from cin in Gen.Elements(32, 37, 64, 70)
        from cout in Gen.Elements(32, 33, 64, 65)
        from h in Gen.Choose(3, 20)
        from w in Gen.Choose(3, 20)
        from pad in Gen.Choose(0, 2)
        select new Case(batch, cin, cout, h, w, pad),
        c => new[]
        {
            c with { Batch = 1 }, c with { Pad = 0 }, c with { H = Math.Max(3, c.H / 2) }, c with { W = Math.Max(3, c.W / 2) },
            c with { H = c.H - 1 }, c with { W = c.W - 1 },
        }.Where(d => d != c && d.H >= 3 && d.W >= 3 && d.H + 2 * d.Pad >= 4 && (d.W + 2 * d.Pad - 1) / 2 >= 3));

    [Property(MaxTest = 25)]
    public Property GeneratedShapesMatchTheFloat64DirectConvolution() =>
        Prop.ForAll(Cases3x3, c =>
        {
            // Cases whose output rows are too short for Winograd take the direct path: still a valid check.
            Check([c.Batch, c.Cin, c.H, c.W], c.Cout, c.Pad, countCalls: false);
        });

    private static void Check(int[] xs, int cout, int pad, bool countCalls = true)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return;
        var x = Rand(xs, 41);
        var w = Rand([cout, xs[1], 3, 3], 42) * 0.2;
        var y = F.Conv2d(x, w, null, 1, pad);
        var gy = Rand(y.Shape.ToArray(), 43);
        var x64 = x.Detach().RequiresGrad_();
        var w64 = w.Detach().RequiresGrad_();
        var g64 = Autograd.Grad([F.Conv2d(x64, w64, null, 1, pad)], [x64, w64], [gy]);

        long before = Winograd.Calls;
        var x32 = x.To(DType.Float32).RequiresGrad_();
        var w32 = w.To(DType.Float32).RequiresGrad_();
        var y32 = F.Conv2d(x32, w32, null, 1, pad);
        var g32 = Autograd.Grad([y32], [x32, w32], [gy.To(DType.Float32)]);
        // The forward ran through Winograd, the input gradient too where it is a padded convolution (padding ≤ 2),
        // and the weight gradient from 64 channels each side (other tests may add calls of their own).
        int expectedCalls = 1 + (pad <= 2 ? 1 : 0) + (Math.Min(xs[1], cout) >= 64 ? 1 : 0);
        if (countCalls) Assert.True(Winograd.Calls - before >= expectedCalls, $"Winograd calls: {Winograd.Calls - before}");

        CnnReference.AssertClose(y.ToArray<double>(), y32.ToDoubleArray(), 2e-5, "forward");
        CnnReference.AssertClose(g64[0]!.ToArray<double>(), g32[0]!.ToDoubleArray(), 2e-5, "input gradient");
        // The weight gradient sums over every position and image: compare relative to its scale.
        double scale = g64[1]!.Abs().Max().Item<double>();
        CnnReference.AssertClose(g64[1]!.Div(scale).ToArray<double>(), g32[1]!.To(DType.Float64).Div(scale).ToArray<double>(), 1e-5, "weight gradient");
    }

    /// <summary>A stride-1 transposed convolution is the input gradient of a convolution, so it takes the same path
    /// (reading its weight [Cin, Cout, 3, 3] flipped and transposed).</summary>
    [Fact]
    public void TransposedConvolutionMatchesFloat64()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return;
        var x = Rand([2, 40, 6, 9], 51);
        var w = Rand([40, 32, 3, 3], 52) * 0.2;
        var expected = F.ConvTranspose2d(x, w, null, stride: 1, padding: 1);
        long before = Winograd.Calls;
        var actual = F.ConvTranspose2d(x.To(DType.Float32), w.To(DType.Float32), null, stride: 1, padding: 1);
        Assert.True(Winograd.Calls > before, "the transposed convolution did not run through Winograd");
        Assert.Equal(expected.Shape, actual.Shape);
        CnnReference.AssertClose(expected.ToArray<double>(), actual.ToDoubleArray(), 2e-5, "conv_transpose2d");
    }

    [Fact]
    public void ShapesOutsideItsDomainTakeTheDirectPath()
    {
        var g = new ConvGeometry([8, 8], [3, 3], [1, 1], [1, 1], [1, 1], [8, 8]);
        Assert.True(Winograd.Applies(g, 1, 32, 32) || !System.Runtime.Intrinsics.X86.Avx2.IsSupported);
        Assert.False(Winograd.Applies(g, 1, 16, 64));     // few input channels
        Assert.False(Winograd.Applies(g, 1, 64, 16));     // few output channels
        Assert.False(Winograd.AppliesToWeightGradient(g, 1, 32, 64));   // the weight gradient wants ≥ 64 each side
        Assert.Equal(Winograd.Applies(g, 1, 64, 64), Winograd.AppliesToWeightGradient(g, 1, 64, 64));
        Assert.False(Winograd.Applies(g, 2, 128, 128));   // grouped
        Assert.False(Winograd.Applies(new ConvGeometry([8, 8], [3, 3], [2, 2], [1, 1], [1, 1], [4, 4]), 1, 64, 64)); // stride 2
        Assert.False(Winograd.Applies(new ConvGeometry([8, 8], [3, 3], [1, 1], [2, 2], [2, 2], [8, 8]), 1, 64, 64)); // dilated
        Assert.False(Winograd.Applies(new ConvGeometry([8, 8], [5, 5], [1, 1], [1, 1], [2, 2], [8, 8]), 1, 64, 64)); // 5×5
        Assert.False(Winograd.Applies(new ConvGeometry([4, 4], [3, 3], [1, 1], [1, 1], [1, 1], [4, 4]), 1, 64, 64)); // 2 tiles per row
    }
}
