using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.OpTable;

/// <summary>A generated window case: a convolution/pooling row and its hyper-parameters (values from the window's seed).</summary>
public sealed record WindowCase(string Op, Window Window)
{
    public override string ToString() => $"{Op} {Window} → {OpTable.Get(Op).FromWindow!.Sample(Window)}";
}

/// <summary>
/// Generated convolution and pooling hyper-parameters, per the kind and spatial rank of a row: kernel 1–5 per dim
/// (non-square), stride 1–3, padding 0–2 or "same" (stride 1), dilation 1–3, groups 1–3 with 1–2 channels per group
/// (depthwise included), bias, batch 1 or 2 or unbatched, ceil mode, count_include_pad, divisor override, output
/// padding; spatial sizes from the smallest that fits the (dilated) kernel up to 3 more, so odd sizes are common.
/// 3-D windows are kept smaller (kernel ≤ 3, dilation and stride ≤ 2). Shrinking goes towards batch 1, one group, one
/// channel, kernel/stride/dilation 1, no padding and no options, smaller inputs.
/// </summary>
public static class WindowCases
{
    public static Gen<Window> Windows(WindowKind kind, int rank)
    {
        bool small = rank == 3;
        int maxKernel = small ? 3 : 5, maxStride = small ? 2 : 3, maxDilation = small ? 2 : 3, maxExtra = small ? 1 : 3;
        return
            from kernel in Gen.ArrayOf(Gen.Choose(1, maxKernel), rank)
            from stride in Gen.ArrayOf(Gen.Choose(1, maxStride), rank)
            from dilation in Gen.ArrayOf(Gen.Choose(1, maxDilation), rank)
            from padding in Gen.ArrayOf(Gen.Choose(0, 2), rank)
            from extra in Gen.ArrayOf(Gen.Choose(0, maxExtra), rank)
            from outputPadding in Gen.ArrayOf(Gen.Choose(0, 2), rank)
            from groups in Gen.Choose(1, 3)
            from perGroup in Gen.ArrayOf(Gen.Choose(1, 2), 2)
            from batch in Gen.Elements(1, 1, 2)
            from flags in Gen.Choose(0, 255)
            from divisor in Gen.Choose(1, 5)
            from seed in Gen.Choose(0, 1 << 20)
            select Build(kind, kernel, stride, dilation, padding, extra, outputPadding, groups, perGroup, batch, flags, divisor, seed);
    }

    private static Window Build(WindowKind kind, int[] kernel, int[] stride, int[] dilation, int[] padSeed, int[] extra, int[] outputPaddingSeed,
        int groups, int[] perGroup, int batch, int flags, int divisor, int seed)
    {
        int rank = kernel.Length;
        bool conv = kind is WindowKind.Conv or WindowKind.ConvTranspose;
        bool same = kind == WindowKind.Conv && (flags & 3) == 0;
        if (kind == WindowKind.AvgPool) dilation = Enumerable.Repeat(1, rank).ToArray();
        if (same) stride = Enumerable.Repeat(1, rank).ToArray();
        var padding = new int[rank];
        var spatial = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            int effective = dilation[d] * (kernel[d] - 1) + 1;
            padding[d] = same ? 0 : kind switch
            {
                WindowKind.ConvTranspose => Math.Min(padSeed[d], (effective - 1) / 2),
                WindowKind.MaxPool or WindowKind.AvgPool => Math.Min(padSeed[d], effective / 2),
                _ => padSeed[d],
            };
            spatial[d] = kind == WindowKind.ConvTranspose || same ? 1 + extra[d] + ((flags >> 6) & 1) * 2 : Math.Max(1, effective - 2 * padding[d]) + extra[d];
        }
        bool unbatched = (flags & 24) == 24 && (kind != WindowKind.Blocks || rank == 2);
        return new Window
        {
            Kind = kind,
            Batch = unbatched ? 1 : batch,
            Unbatched = unbatched,
            Groups = conv ? groups : 1,
            InPerGroup = perGroup[0],
            OutPerGroup = conv ? perGroup[1] : 1,
            Spatial = spatial,
            Kernel = kernel,
            Stride = stride,
            Padding = padding,
            Dilation = dilation,
            OutputPadding = kind == WindowKind.ConvTranspose
                ? outputPaddingSeed.Select((o, d) => o % Math.Max(stride[d], dilation[d])).ToArray()
                : null,
            Same = same,
            Bias = conv && (flags & 4) != 0,
            CeilMode = kind is WindowKind.MaxPool or WindowKind.AvgPool && (flags & 32) != 0,
            CountIncludePad = kind != WindowKind.AvgPool || (flags & 64) == 0,
            DivisorOverride = kind == WindowKind.AvgPool && rank > 1 && (flags & 128) != 0 ? divisor : null,
            Seed = seed,
        };
    }

    /// <summary>Simpler windows: each candidate changes one thing towards the simplest call.</summary>
    public static IEnumerable<Window> Shrink(Window w)
    {
        static int[] With(int[] values, int d, int value)
        {
            var copy = (int[])values.Clone();
            copy[d] = value;
            return copy;
        }
        if (w.Unbatched) yield return w with { Unbatched = false, Batch = 1 };
        if (w.Batch > 1) yield return w with { Batch = 1 };
        if (w.Groups > 1) yield return w with { Groups = 1 };
        if (w.Groups > 2) yield return w with { Groups = w.Groups - 1 };
        if (w.InPerGroup > 1) yield return w with { InPerGroup = 1 };
        if (w.OutPerGroup > 1) yield return w with { OutPerGroup = 1 };
        if (w.Same) yield return w with { Same = false };
        if (w.Bias) yield return w with { Bias = false };
        if (w.CeilMode) yield return w with { CeilMode = false };
        if (!w.CountIncludePad) yield return w with { CountIncludePad = true };
        if (w.DivisorOverride is not null) yield return w with { DivisorOverride = null };
        for (int d = 0; d < w.Rank; d++)
        {
            if (w.Spatial[d] > 1) yield return w with { Spatial = With(w.Spatial, d, w.Spatial[d] - 1) };
            if (w.Kernel[d] > 1)
            {
                yield return w with { Kernel = With(w.Kernel, d, 1) };
                yield return w with { Kernel = With(w.Kernel, d, w.Kernel[d] - 1) };
                // A smaller kernel with a correspondingly smaller input keeps the window fitting.
                if (w.Spatial[d] > w.Dilation[d])
                    yield return w with { Kernel = With(w.Kernel, d, w.Kernel[d] - 1), Spatial = With(w.Spatial, d, w.Spatial[d] - w.Dilation[d]) };
            }
            if (w.Stride[d] > 1) yield return w with { Stride = With(w.Stride, d, 1) };
            if (w.Dilation[d] > 1) yield return w with { Dilation = With(w.Dilation, d, 1) };
            if (w.Padding[d] > 0) yield return w with { Padding = With(w.Padding, d, w.Padding[d] - 1) };
            if (w.OutputPadding is { } op && op[d] > 0) yield return w with { OutputPadding = With(op, d, 0) };
        }
        if (w.Seed != 0) yield return w with { Seed = 0 };
    }

    private static bool Valid(WindowCase c) => OpTable.Get(c.Op).FromWindow!.Sample(c.Window) is not null;

    /// <summary>Generated cases for the window rows of a family (each row gets windows of its kind and rank).</summary>
    public static Arbitrary<WindowCase> For(string family)
    {
        var rows = OpTable.All.Where(r => r.Family == family && r.FromWindow is not null).ToArray();
        if (rows.Length == 0) throw new ArgumentException($"no window rows in family {family}");
        var gen =
            from row in Gen.Elements(rows)
            from window in Windows(row.FromWindow!.Kind, row.FromWindow.Rank)
            select new WindowCase(row.Name, window);
        return Arb.From(gen.Where(Valid), c => Shrink(c.Window).Select(w => c with { Window = w }).Where(Valid));
    }

    /// <summary>Forward vs reference in float64 and float32, and gradcheck in float64. Throws on failure.</summary>
    public static void Check(WindowCase c)
    {
        var row = OpTable.Get(c.Op);
        var sample = row.FromWindow!.Sample(c.Window)!;
        var values = Harness.MakeValues(row, sample, Harness.SeededSource($"{c.Op}/window/{c.Window.Seed}"));
        Harness.CheckForward(row, sample, values, DType.Float64);
        Harness.CheckForward(row, sample, values, DType.Float32);
        if (row.Differentiable) Harness.CheckGradient(row, sample, values, secondOrder: false);
    }

    // ---- the adjoint property ----------------------------------------------------------------------------------

    /// <summary>
    /// Windows for the adjoint check: convolutions whose transposed convolution (same stride, padding, dilation, groups)
    /// maps back onto the input's shape, i.e. integer padding or symmetric "same" (an even total d·(k − 1): conv_transpose
    /// takes one padding per dim, so "same" with an odd total has no transposed counterpart).
    /// </summary>
    public static Arbitrary<Window> AdjointWindows()
    {
        static bool Ok(Window w) => ConvFits(w) && (!w.Same || Enumerable.Range(0, w.Rank).All(d => w.Dilation[d] * (w.Kernel[d] - 1) % 2 == 0));
        var gen = from rank in Gen.Choose(1, 3) from w in Windows(WindowKind.Conv, rank) select w;
        return Arb.From(gen.Where(Ok), w => Shrink(w).Where(Ok));
    }

    private static bool ConvFits(Window w) =>
        (!w.Same || w.Stride.All(s => s == 1)) &&
        Enumerable.Range(0, w.Rank).All(d => w.Spatial[d] + (w.Same ? w.Dilation[d] * (w.Kernel[d] - 1) : 2 * w.Padding[d]) >= w.Effective(d));

    /// <summary>⟨conv(x, w), y⟩ = ⟨x, conv_transpose(y, w)⟩ with the same hyper-parameters (output padding recovering x's size).</summary>
    public static void CheckAdjoint(Window win)
    {
        using var scope = Tensor.NewDisposeScope();
        int rank = win.Rank;
        var source = Harness.SeededSource($"adjoint/{win.Seed}");
        int counter = 0;
        Tensor Random(int[] shape) => Tensor.From(Enumerable.Range(0, Reference.Numel(shape)).Select(_ => 2 * source(counter++)).ToArray(), shape);
        var x = Random(win.InputShape);
        var w = Random([win.Groups * win.OutPerGroup, win.InPerGroup, .. win.Kernel]);
        var padding = win.Same ? win.Kernel.Select((k, d) => win.Dilation[d] * (k - 1) / 2).ToArray() : win.Padding;
        Padding convPadding = win.Same ? "same" : padding;
        var y = rank switch
        {
            1 => F.Conv1d(x, w, null, win.Stride, convPadding, win.Dilation, win.Groups),
            2 => F.Conv2d(x, w, null, win.Stride, convPadding, win.Dilation, win.Groups),
            _ => F.Conv3d(x, w, null, win.Stride, convPadding, win.Dilation, win.Groups),
        };
        var r = Random(y.Shape.ToArray());
        // The transposed convolution's output size (S' − 1)·s − 2p + d·(k − 1) + op + 1 equals S for op = (S + 2p − d·(k − 1) − 1) mod s.
        var outputPadding = Enumerable.Range(0, rank)
            .Select(d => (win.Spatial[d] + 2 * padding[d] - win.Dilation[d] * (win.Kernel[d] - 1) - 1) % win.Stride[d]).ToArray();
        var back = rank switch
        {
            1 => F.ConvTranspose1d(r, w, null, win.Stride, padding, outputPadding, win.Groups, win.Dilation),
            2 => F.ConvTranspose2d(r, w, null, win.Stride, padding, outputPadding, win.Groups, win.Dilation),
            _ => F.ConvTranspose3d(r, w, null, win.Stride, padding, outputPadding, win.Groups, win.Dilation),
        };
        Assert.True(back.Shape.ToArray().SequenceEqual(x.Shape.ToArray()), $"{win}: conv_transpose gives {back.Shape}, the input is {x.Shape}");
        double[] yv = y.ToDoubleArray(), rv = r.ToDoubleArray(), xv = x.ToDoubleArray(), bv = back.ToDoubleArray();
        double left = 0, right = 0, scale = 0;
        for (int i = 0; i < yv.Length; i++) { left += yv[i] * rv[i]; scale += Math.Abs(yv[i] * rv[i]); }
        for (int i = 0; i < xv.Length; i++) { right += xv[i] * bv[i]; scale += Math.Abs(xv[i] * bv[i]); }
        Assert.True(Math.Abs(left - right) <= 1e-12 * scale + 1e-300, $"{win}: <conv(x), y> = {left:R} but <x, conv_transpose(y)> = {right:R}");
    }
}

/// <summary>FsCheck properties over generated convolution and pooling hyper-parameters.</summary>
public class OpTableCnnProperties
{
    private const int Tests = 25;

    [Property(MaxTest = Tests)] public Property ConvWindows() => Prop.ForAll(WindowCases.For("conv"), WindowCases.Check);
    [Property(MaxTest = Tests)] public Property PoolWindows() => Prop.ForAll(WindowCases.For("pool"), WindowCases.Check);
    [Property(MaxTest = Tests)] public Property ConvTransposeIsTheAdjointOfConv() => Prop.ForAll(WindowCases.AdjointWindows(), WindowCases.CheckAdjoint);

    /// <summary>A failing window property must shrink: a failure that needs dilation ends at batch 1, one channel, stride 1, one dilated dim.</summary>
    [Fact]
    public void FailuresShrink()
    {
        var arb = WindowCases.For("conv");
        var start = new WindowCase("conv2d", new Window
        {
            Kind = WindowKind.Conv, Batch = 2, Groups = 3, InPerGroup = 2, OutPerGroup = 2, Spatial = [9, 8], Kernel = [4, 3], Stride = [2, 3],
            Padding = [1, 2], Dilation = [2, 3], Bias = true, Seed = 77,
        });
        Func<WindowCase, bool> fails = c => c.Window.Dilation.Any(d => d > 1);
        Assert.True(fails(start));
        var current = start;
        for (int step = 0; step < 200; step++)
        {
            var next = arb.Shrinker(current).FirstOrDefault(fails);
            if (next is null) break;
            current = next;
        }
        var w = current.Window;
        Assert.True(w.Batch == 1 && w.Groups == 1 && w.InPerGroup == 1 && w.OutPerGroup == 1 && !w.Bias && w.Seed == 0, $"shrunk to {current}");
        Assert.True(w.Stride.All(s => s == 1) && w.Padding.All(p => p == 0) && w.Kernel.All(k => k == 1), $"shrunk to {current}");
        Assert.Equal(1, w.Dilation.Count(d => d > 1));
        Assert.True(w.Spatial.All(s => s == 1), $"shrunk to {current}");
    }

    /// <summary>The reference's Philox4x32-10 (the dropout oracle) against Random123's published known-answer vectors.</summary>
    [Fact]
    public void ReferencePhiloxMatchesKnownAnswers()
    {
        Assert.Equal([0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u], Reference.Philox4x32([0, 0, 0, 0], [0, 0]));
        Assert.Equal([0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu],
            Reference.Philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]));
        Assert.Equal([0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u],
            Reference.Philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]));
    }
}
