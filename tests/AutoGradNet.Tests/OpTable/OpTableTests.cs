using System.Reflection;

namespace AutoGradNet.Tests.OpTable;

/// <summary>The table-driven checks: every row shows up as its own test case in each theory.</summary>
public class OpTableTests
{
    public static TheoryData<string> AllOps => Names(_ => true);
    public static TheoryData<string> DifferentiableOps => Names(r => r.Differentiable);
    public static TheoryData<string> SecondOrderOps => Names(r => r.Differentiable && r.NoGradGrad is null);
    public static TheoryData<string> NonContiguousOps => Names(r => !r.ContiguousOnly);
    public static TheoryData<string> BroadcastingOps => Names(r => r.Broadcast is not null);

    private static TheoryData<string> Names(Func<OpInfo, bool> filter)
    {
        var data = new TheoryData<string>();
        foreach (var row in OpTable.All.Where(filter)) data.Add(row.Name);
        return data;
    }

    private static IEnumerable<(SampleCase Sample, double[][] Values)> Cases(OpInfo row)
    {
        var samples = row.Samples().ToArray();
        Assert.NotEmpty(samples);
        foreach (var sample in samples)
            yield return (sample, Harness.MakeValues(row, sample, Harness.SeededSource(row.Name + "/" + sample.Name)));
    }

    [Theory]
    [MemberData(nameof(AllOps))]
    public void ForwardFloat64(string op)
    {
        var row = OpTable.Get(op);
        foreach (var (sample, values) in Cases(row)) Harness.CheckForward(row, sample, values, DType.Float64);
    }

    [Theory]
    [MemberData(nameof(AllOps))]
    public void ForwardFloat32(string op)
    {
        var row = OpTable.Get(op);
        foreach (var (sample, values) in Cases(row)) Harness.CheckForward(row, sample, values, DType.Float32);
    }

    /// <summary>Every sample again with its inputs stored transposed (non-contiguous strided views), forward and gradient.</summary>
    [Theory]
    [MemberData(nameof(NonContiguousOps))]
    public void NonContiguousInputs(string op)
    {
        var row = OpTable.Get(op);
        int checkedCases = 0;
        foreach (var (sample, values) in Cases(row))
        {
            Harness.CheckForward(row, sample, values, DType.Float64, nonContiguous: true);
            Harness.CheckForward(row, sample, values, DType.Float32, nonContiguous: true);
            if (row.Differentiable && sample.Inputs.Any(i => i.Shape.Length >= 2 && i.IsFloat))
                Harness.CheckGradient(row, sample, values, secondOrder: false, nonContiguous: true);
            checkedCases++;
        }
        Assert.True(checkedCases > 0);
    }

    [Theory]
    [MemberData(nameof(DifferentiableOps))]
    public void GradCheckFloat64(string op)
    {
        var row = OpTable.Get(op);
        foreach (var (sample, values) in Cases(row)) Harness.CheckGradient(row, sample, values, secondOrder: false);
    }

    [Theory]
    [MemberData(nameof(SecondOrderOps))]
    public void GradGradCheckFloat64(string op)
    {
        var row = OpTable.Get(op);
        int checkedCases = 0;
        foreach (var (sample, values) in Cases(row).Where(c => c.Sample.SecondOrder))
        {
            Harness.CheckGradient(row, sample, values, secondOrder: true);
            checkedCases++;
        }
        Assert.True(checkedCases > 0, $"{op}: no sample is checked at second order");
    }

    /// <summary>
    /// Backward in float32 with a non-contiguous upstream gradient agrees with backward in float64 with a contiguous one:
    /// catches backward formulas that mix dtypes or assume a dense gradient (gradcheck only sees float64, dense).
    /// </summary>
    [Theory]
    [MemberData(nameof(DifferentiableOps))]
    public void BackwardFloat32WithStridedGradient(string op)
    {
        var row = OpTable.Get(op);
        foreach (var (sample, values) in Cases(row))
        {
            var source = Harness.SeededSource(op + "/" + sample.Name + "/grad");
            var v = Enumerable.Range(0, 4096).Select(i => 2 * source(i)).Select(x => (double)(float)x).ToArray();
            var (g64, _) = Harness.Vjp(row, sample, values, v, DType.Float64, transposedGrad: false);
            var (g32, dtypes) = Harness.Vjp(row, sample, values, v, DType.Float32, transposedGrad: true);
            for (int k = 0; k < g64.Length; k++)
            {
                string where = $"{op} {sample} gradient {k}";
                Assert.True(g64[k] is null == g32[k] is null, $"{where}: float32 and float64 disagree on whether there is a gradient");
                if (g64[k] is not { } expected) continue;
                Assert.Equal(DType.Float32, dtypes[k]);
                var actual = g32[k]!;
                Assert.Equal(expected.Length, actual.Length);
                double scale = Math.Max(1, expected.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max());
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * scale + 1e-4 * Math.Abs(expected[i]),
                        $"{where}: element {i} is {actual[i]:R} in float32, {expected[i]:R} in float64");
            }
        }
    }

    /// <summary>Operand shapes for broadcasting: size-1 dims, rank mismatch, 0-d operands, both sides broadcast.</summary>
    public static readonly int[][][] BinaryBroadcasts =
    [
        [[2, 3], [3]],
        [[3], [2, 3]],
        [[2, 1], [1, 3]],
        [[], [2, 3]],
        [[2, 3], []],
        [[3, 1, 2], [4, 1]],
        [[1, 2, 1], [3, 1, 4]],
    ];

    public static readonly int[][][] TernaryBroadcasts =
    [
        [[2, 3], [3], [2, 1]],
        [[3], [2, 1], []],
        [[], [2, 3], []],
        [[2, 1, 3], [1, 2, 1], [3]],
    ];

    [Theory]
    [MemberData(nameof(BroadcastingOps))]
    public void Broadcasting(string op)
    {
        var row = OpTable.Get(op);
        var domains = row.Broadcast!;
        var shapes = domains.Length == 2 ? BinaryBroadcasts : TernaryBroadcasts;
        for (int c = 0; c < shapes.Length; c++)
        {
            var sample = new SampleCase($"broadcast {string.Join(" & ", shapes[c].Select(s => "[" + string.Join(",", s) + "]"))}",
                shapes[c].Select((s, k) => new InputSpec(s, domains[k])).ToArray(), row.BroadcastArgs);
            var values = Harness.MakeValues(row, sample, Harness.SeededSource(row.Name + "/" + sample.Name));
            Harness.CheckForward(row, sample, values, DType.Float64);
            Harness.CheckForward(row, sample, values, DType.Float32);
            if (!row.Differentiable) continue;
            Harness.CheckGradient(row, sample, values, secondOrder: false);
            if (c % 2 == 0 && row.NoGradGrad is null) Harness.CheckGradient(row, sample, values, secondOrder: true);
        }
    }

    public static TheoryData<string> LargeOps =>
        Names(r => r.FromShape is not null && r.Family is "elementwise" or "binary" or "activation" or "softmax" or "reduce" or "compare" or "shape"
            or "pool" or "norm");

    /// <summary>
    /// Forward on inputs above <c>Strided.ParallelThreshold</c> (32768 elements), so the multi-core paths of the CPU
    /// kernels (row chunking, split single rows, parallel reductions) are compared with the reference too.
    /// Values are not spread apart (ties only matter to gradients).
    /// </summary>
    [Theory]
    [MemberData(nameof(LargeOps))]
    public void LargeInputsForward(string op)
    {
        var row = OpTable.Get(op);
        int checkedCases = 0;
        foreach (var (shape, variant) in new[] { (new[] { 3, 130, 90 }, 0), (new[] { 2, 90, 190 }, 21), (new[] { 34000 }, 2) })
        {
            var sample = row.FromShape!(shape, variant);
            if (sample is null) continue;
            var values = Harness.MakeValues(row, sample, Harness.SeededSource(op + "/large" + variant), spreadOut: false);
            Harness.CheckForward(row, sample, values, DType.Float64);
            Harness.CheckForward(row, sample, values, DType.Float32);
            checkedCases++;
        }
        Assert.True(checkedCases > 0, $"{op}: no large sample");
    }

    public static TheoryData<string> WindowOps => Names(r => r.FromWindow is not null);

    /// <summary>
    /// Large windows per kind and rank: the sliding-window kernels (im2col, col2im, max pooling) split their planes over
    /// cores above <c>Strided.ParallelThreshold</c> units of work, with strides, padding and dilation in play.
    /// </summary>
    internal static Window LargeWindow(WindowKind kind, int rank) => new()
    {
        Kind = kind,
        Batch = 2,
        Groups = kind is WindowKind.Conv or WindowKind.ConvTranspose ? 2 : 1,
        InPerGroup = kind is WindowKind.Conv or WindowKind.ConvTranspose ? 2 : 4,
        OutPerGroup = 2,
        Spatial = rank switch { 1 => [2000], 2 => [40, 37], _ => [9, 11, 10] },
        Kernel = rank switch { 1 => [5], 2 => [3, 2], _ => [3, 2, 2] },
        Stride = kind == WindowKind.ConvTranspose ? Enumerable.Repeat(1, rank).ToArray() : rank switch { 1 => [2], 2 => [1, 2], _ => [1, 1, 2] },
        Padding = Enumerable.Repeat(1, rank).ToArray(),
        Dilation = kind == WindowKind.AvgPool ? Enumerable.Repeat(1, rank).ToArray() : rank switch { 1 => [2], 2 => [1, 2], _ => [2, 1, 1] },
        Bias = true,
        CeilMode = true,
        CountIncludePad = false,
        Seed = 7,
    };

    [Theory]
    [MemberData(nameof(WindowOps))]
    public void LargeWindowsForward(string op)
    {
        var row = OpTable.Get(op);
        var window = LargeWindow(row.FromWindow!.Kind, row.FromWindow.Rank);
        var sample = row.FromWindow.Sample(window);
        Assert.True(sample is not null, $"{op}: the large window {window} is not valid for it");
        var values = Harness.MakeValues(row, sample, Harness.SeededSource(op + "/large"), spreadOut: false);
        Harness.CheckForward(row, sample, values, DType.Float64);
        Harness.CheckForward(row, sample, values, DType.Float32);
    }

    // ---- the table itself ---------------------------------------------------------------------------------------

    /// <summary>Public members of Tensor and Loss that are not differentiable ops of the op files (creation, I/O, autograd plumbing…).</summary>
    private static readonly HashSet<string> NotOps =
    [
        // creation and conversion to host
        "Zeros", "Ones", "Full", "Scalar", "Empty", "ZerosLike", "OnesLike", "FullLike", "Arange", "Linspace", "Eye", "Rand", "Uniform",
        "Randn", "Normal", "Randint", "Bernoulli", "Randperm", "ManualSeed", "From", "ToArray", "ToDoubleArray", "Item",
        // autograd, memory, formatting, metadata
        "RequiresGrad_", "Backward", "ZeroGrad", "Detach", "RegisterHook", "Dispose", "NewDisposeScope", "MoveToOuterDisposeScope",
        "DetachFromDisposeScope", "ToString", "Size", "Stride", "AllFinite", "AllClose",
        "get_Shape", "get_DType", "get_Device", "get_Rank", "get_Numel", "get_IsContiguous", "get_IsDisposed", "get_RequiresGrad",
        "set_RequiresGrad", "get_Grad", "set_Grad", "get_GradFn", "get_IsLeaf",
        // System.Object
        "Equals", "GetHashCode", "GetType",
    ];

    /// <summary>
    /// Public methods of <see cref="Functional"/> exempt from needing a row, each with its reason. None: every one is an op
    /// (FoldBatchNorm, computed under no-grad, has a forward-only row).
    /// </summary>
    private static readonly Dictionary<string, string> FunctionalNotOps = [];

    [Fact]
    public void EveryPublicOpHasARow()
    {
        var members = typeof(Tensor).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Concat(typeof(Loss).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => m.Name)
            .Where(n => !NotOps.Contains(n) && !n.EndsWith("InPlace", StringComparison.Ordinal))
            .ToHashSet();
        var functional = typeof(Functional).GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly).Select(m => m.Name).ToHashSet();
        Assert.True(functional.Count >= 30, $"Functional has only {functional.Count} public methods");
        members.UnionWith(functional.Where(n => !FunctionalNotOps.ContainsKey(n)));
        var covered = OpTable.All.SelectMany(r => r.Api).ToHashSet();
        var missing = members.Where(m => !covered.Contains(m)).OrderBy(m => m).ToArray();
        Assert.True(missing.Length == 0, "public ops without an op-table row: " + string.Join(", ", missing));
        var unknown = covered.Where(c => !members.Contains(c)).ToArray();
        Assert.True(unknown.Length == 0, "op-table rows name members that do not exist: " + string.Join(", ", unknown));
        Assert.True(OpTable.All.Length >= 100, $"the table has only {OpTable.All.Length} rows");
    }

    [Fact]
    public void EveryRowHasAPropertyGenerator()
    {
        var without = OpTable.All.Where(r => r.FromShape is null && r.FromWindow is null).Select(r => r.Name).ToArray();
        Assert.True(without.Length == 0, "rows without a FromShape or FromWindow generator for the FsCheck properties: " + string.Join(", ", without));
    }

    /// <summary>The oracle must catch a wrong op: a deliberately broken forward and a deliberately broken gradient both fail.</summary>
    [Fact]
    public void TheHarnessCatchesBrokenOps()
    {
        var row = OpTable.Get("exp");
        var sample = row.Samples().First(s => s.Inputs[0].Shape.Length == 2);
        var values = Harness.MakeValues(row, sample, Harness.SeededSource("broken"));
        var wrongForward = row with { Op = (x, _) => x[0].Exp().Mul(1 + 1e-9) };
        Assert.ThrowsAny<Exception>(() => Harness.CheckForward(wrongForward, sample, values, DType.Float64));
        // Same values, but a gradient that is 0.01 too large (the detached term cancels in the forward only).
        var wrongGradient = row with { Op = (x, _) => x[0].Exp().Add(x[0].Mul(1e-2)).Sub(x[0].Detach().Mul(1e-2)) };
        Assert.ThrowsAny<Exception>(() => Harness.CheckGradient(wrongGradient, sample, values, secondOrder: false));

        // With no differentiable output, gradcheck demands a zero numerical Jacobian (PyTorch's rule): a function
        // that varies but hides it from autograd fails; a constant one passes.
        using var x = Tensor.From(new double[] { 0.5, -1 }, 2).RequiresGrad_();
        Assert.Throws<GradCheckException>(() => GradCheck.Check(t => t[0].Detach().Mul(2.0), [x]));
        Assert.True(GradCheck.Check(t => t[0].Detach().Sign().Mul(0.0), [x]));
    }
}
