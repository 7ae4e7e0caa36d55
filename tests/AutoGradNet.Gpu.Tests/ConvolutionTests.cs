using F = AutoGradNet.Functional;

namespace AutoGradNet.Gpu.Tests;

/// <summary>
/// The implicit-GEMM convolution kernels (forward, input gradient, weight gradient) on the simulator against the CPU
/// backend, for every kind of geometry: float32 within 1e-5 relative, float64 within 1e-12.
/// </summary>
public class ConvolutionTests
{
    private static readonly DType[] FloatDTypes = [DType.Float32, DType.Float64];

    /// <summary>A convolution: batch, channels, groups and per-dim input, kernel, stride, dilation, padding before and after.</summary>
    internal sealed record Case(int N, int Cin, int Cout, int Groups, int[] Input, int[] Kernel, int[] Stride, int[] Dilation, int[] PadBefore, int[] PadAfter)
    {
        public ConvGeometry Geometry()
        {
            var output = new int[Input.Length];
            for (int d = 0; d < Input.Length; d++)
                output[d] = ConvGeometry.OutputLength(Input[d], Kernel[d], Stride[d], Dilation[d], PadBefore[d] + PadAfter[d]);
            return new ConvGeometry(Input, Kernel, Stride, Dilation, PadBefore, output);
        }

        public int[] XShape => [N, Cin, .. Input];
        public int[] WShape => [Cout, Cin / Groups, .. Kernel];
        public int[] YShape => [N, Cout, .. Geometry().Output[(ConvGeometry.MaxSpatial - Input.Length)..]];
    }

    // On the simulator a GEMM tile is 16 × 16 and a K slice 16 deep: the cases below also have several row tiles
    // (Cout 20), several column tiles and several slices.
    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["conv2d 3x3 padding 1, batch 1"] = new(1, 3, 4, 1, [5, 6], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
        ["conv2d stride 2, batch 3, odd sizes"] = new(3, 2, 3, 1, [7, 5], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
        ["'same' with an even kernel (asymmetric padding)"] = new(1, 2, 3, 1, [5, 4], [4, 2], [1, 1], [1, 1], [1, 0], [2, 1]),
        ["dilation 2, groups 2, batch 3"] = new(3, 4, 6, 2, [6, 7], [3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),
        ["depthwise (channel multiplier 2), stride 2"] = new(1, 3, 6, 3, [6, 5], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
        ["conv1d stride 2, dilation 2, batch 3"] = new(3, 2, 3, 1, [9], [3], [2], [2], [2], [2]),
        ["conv3d mixed strides and dilations, groups 2"] = new(1, 2, 4, 2, [3, 4, 3], [2, 2, 2], [1, 2, 1], [1, 1, 2], [1, 0, 1], [1, 0, 1]),
        ["stride 3 over a 2x2 kernel (unread inputs), batch 3"] = new(3, 2, 2, 1, [7, 8], [2, 2], [3, 3], [1, 1], [0, 1], [0, 0]),
        ["stride 2 with dilation 2 (phases no tap reaches)"] = new(1, 2, 2, 1, [7, 6], [3, 2], [2, 2], [2, 2], [2, 1], [2, 1]),
        ["1x1 stride 2, batch 3"] = new(3, 4, 3, 1, [5, 5], [1, 1], [2, 2], [1, 1], [0, 0], [0, 0]),
        ["several tiles and slices (Cout 20, depth 45)"] = new(1, 5, 20, 1, [4, 5], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    /// <summary>A contiguous simulator tensor at a nonzero storage offset (element 1.. of a larger one), holding <paramref name="cpu"/>.</summary>
    private static Tensor AtOffset(Tensor cpu)
    {
        var big = Sim.G(Tensor.Cat([Tensor.Full([1, .. cpu.Shape.ToArray()[1..]], double.NaN, cpu.DType), cpu], 0));
        var view = big.Slice(0, 1);
        Assert.True(view.IsContiguous && view.Offset > 0);
        return view;
    }

    private static Tensor NaNs(int[] shape, DType dtype) => AtOffset(Tensor.Full(shape, double.NaN, dtype));

    /// <summary>
    /// Runs the three backend primitives on the simulator (outputs pre-filled with NaN, gw with a nonzero start it
    /// must add to), asserts each took the implicit path, and compares with the CPU backend's primitives.
    /// </summary>
    private static void CheckAgainstCpu(Case c, string what, ulong seed)
    {
        var g = c.Geometry();
        foreach (var dtype in FloatDTypes)
        {
            var x = Sim.Random(c.XShape, dtype, seed);
            var w = Sim.Random(c.WShape, dtype, seed + 1);
            var gy = Sim.Random(c.YShape, dtype, seed + 2);
            var gw0 = Sim.Random(c.WShape, dtype, seed + 3);
            string at = $"{what}, {dtype}";

            var y = NaNs(c.YShape, dtype);
            Assert.True(Sim.Backend.TryConvolution(AtOffset(x), AtOffset(w), y, g, c.Groups), $"{at}: forward not taken");
            Sim.AssertClose(F.Convolution(x, w, g, c.Groups), y, $"{at}: forward");

            var gx = NaNs(c.XShape, dtype);
            Assert.True(Sim.Backend.TryConvolutionInput(AtOffset(gy), AtOffset(w), gx, g, c.Groups), $"{at}: input gradient not taken");
            Sim.AssertClose(F.ConvolutionInput(gy, w, g, c.Groups, c.XShape), gx, $"{at}: input gradient");

            var gw = AtOffset(gw0);
            Assert.True(Sim.Backend.TryConvolutionWeight(AtOffset(x), AtOffset(gy), gw, g, c.Groups), $"{at}: weight gradient not taken");
            Sim.AssertClose(gw0.Add(F.ConvolutionWeight(x, gy, g, c.Groups, c.WShape)), gw, $"{at}: weight gradient");
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ImplicitGemmMatchesTheCpu(string name) => CheckAgainstCpu(Cases[name], name, 100);

    [Fact]
    public void SplitWeightGradientAndGroupsOverSeveralLaunches()
    {
        var backend = Sim.Backend;
        var (target, minDepth, perLaunch) = (backend.ConvSplitTargetBlocks, backend.ConvSplitMinDepth, backend.ConvGroupsPerLaunch);
        try
        {
            // One group per launch; depths N·L = 3·42 = 126 and 3·12 = 36 summed in 16-position-minimum parts
            // (whole 16-deep slices: 4 parts of 32, the last short, and 2 parts).
            backend.ConvSplitTargetBlocks = 1000;
            backend.ConvSplitMinDepth = 16;
            backend.ConvGroupsPerLaunch = 1;
            foreach (var (name, splits) in new[] { ("dilation 2, groups 2, batch 3", 4), ("conv2d stride 2, batch 3, odd sizes", 2) })
            {
                var c = Cases[name];
                Assert.Equal(splits, backend.WeightSplits(c.Geometry(), c.N, c.Cin, c.Cout, c.Groups));
                CheckAgainstCpu(c, $"{name}, {splits} parts, one group per launch", 200);
            }
        }
        finally
        {
            (backend.ConvSplitTargetBlocks, backend.ConvSplitMinDepth, backend.ConvGroupsPerLaunch) = (target, minDepth, perLaunch);
        }
    }

    [Fact]
    public void StridePhasesPartitionTheInputAndHoldOnlyTheTapsThatReachIt()
    {
        // Along the last dim, for strides 1–3, dilations 1–4 (sharing factors with the stride or not), kernels 1–5,
        // paddings 0–2 and inputs 1–7: every input position is in exactly one phase, and its phase's taps are
        // exactly the k with (i + p − k·d) divisible by s.
        for (int stride = 1; stride <= 3; stride++)
        for (int dilation = 1; dilation <= 4; dilation++)
        for (int kernel = 1; kernel <= 5; kernel++)
        for (int pad = 0; pad <= 2; pad++)
        for (int input = 1; input <= 7; input++)
        {
            var g = new ConvGeometry([input], [kernel], [stride], [dilation], [pad], [1]);
            var positions = new List<int>();
            foreach (var phase in GpuBackend.Phases(g))
            {
                for (int b = 0; b < phase.PosCount2; b++)
                {
                    int i = phase.PosFirst2 + b * stride;
                    positions.Add(i);
                    var expected = Enumerable.Range(0, kernel).Where(k => (i + pad - k * dilation) % stride == 0).ToArray();
                    var taps = Enumerable.Range(0, phase.TapCount2).Select(a => phase.TapFirst2 + a * phase.TapStep2).ToArray();
                    Assert.Equal(expected, taps);
                }
            }
            Assert.Equal(Enumerable.Range(0, input), positions.Order());
        }
    }

    [Fact]
    public void PublicConvolutionsMaterialiseNoColumns()
    {
        // 5×5 taps over a 12×12 input: im2col columns for one sample would be 4·25·144 float64 = 115 KB, against
        // x 4.6 KB, w 0.8 KB, y 2.3 KB. The fallback path allocates them for the forward and for both gradients.
        var x = Sim.Random([1, 4, 12, 12], DType.Float64, 7);
        var w = Sim.Random([2, 4, 5, 5], DType.Float64, 8);
        var xc = x.Detach().RequiresGrad_();
        var wc = w.Detach().RequiresGrad_();
        F.Conv2d(xc, wc, null, 1, 2).Sum().Backward();
        var xg = Sim.G(x).RequiresGrad_();
        var wg = Sim.G(w).RequiresGrad_();
        long columnBytes = 4L * 25 * 144 * sizeof(double);
        GpuDevices.Synchronize(Sim.Device);
        long before = Sim.Device.MemoryStats().AllocatedBytes;
        GpuDevices.ResetPeakMemory(Sim.Device);
        var yg = F.Conv2d(xg, wg, null, 1, 2);
        yg.Sum().Backward();
        long peak = GpuDevices.MemoryInfo(Sim.Device).PeakAllocatedBytes - before;
        Assert.True(peak < columnBytes / 2, $"convolution on the simulator peaked at {peak} bytes above its inputs; im2col columns are {columnBytes}");
        Sim.AssertClose(F.Conv2d(x, w, null, 1, 2), yg, "conv2d");
        Sim.AssertClose(xc.Grad!, xg.Grad!, "conv2d input gradient");
        Sim.AssertClose(wc.Grad!, wg.Grad!, "conv2d weight gradient");
    }

    private static Tensor R(int[] shape, ulong seed) => Tensor.Randn(shape, DType.Float64, new Generator(seed)).To(Sim.Device).RequiresGrad_();

    [Fact]
    public void GradCheckOfConvolutionsOnTheSimulator()
    {
        // Stride 2, dilation 2 and groups 2 together; then "same" with an even kernel, whose second derivatives
        // (double backward) run all three primitives again.
        Assert.True(GradCheck.Check(x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: (2, 1), dilation: 2, groups: 2),
            [R([1, 4, 6, 5], 1), R([2, 2, 3, 2], 2), R([2], 3)]));
        Assert.True(GradCheck.GradGradCheck(x => F.Conv2d(x[0], x[1], null, padding: Padding.Same),
            [R([2, 2, 4, 3], 4), R([2, 2, 2, 2], 5)]));
    }
}
