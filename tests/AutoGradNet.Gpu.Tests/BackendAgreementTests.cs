using System.Reflection;
using AutoGradNet.Backends;
using AutoGradNet.Backends.Cpu;
using AutoGradNet.Gpu.Kernels;
using AutoGradNet.Kernels;

namespace AutoGradNet.Gpu.Tests;

/// <summary>
/// Every <see cref="IBackend"/> method on the simulator against the CPU backend, on tiny tensors, with strided and
/// broadcast views: float32 within 1e-5 relative, float64 within 1e-12, integers and bools exactly.
/// </summary>
public class BackendAgreementTests
{
    private static readonly DType[] AllDTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Bool];
    private static readonly DType[] FloatDTypes = [DType.Float32, DType.Float64];

    /// <summary>The same view of a CPU tensor and of its copy on the simulator.</summary>
    private static (Tensor Cpu, Tensor Gpu) Pair(Tensor cpu, Func<Tensor, Tensor> view) => (view(cpu), view(Sim.G(cpu)));

    private static Tensor Transposed(Tensor t) => t.Transpose(0, 1);

    /// <summary>A non-contiguous view with an offset: rows 1.. of a transpose, every second column.</summary>
    private static Tensor Strided(Tensor t) => t.Transpose(0, 1).Slice(0, 1).Slice(1, 0, null, 2);

    [Fact]
    public void AllocateZeroesReusedBlocksAndCountsMemory()
    {
        var before = Sim.Device.MemoryStats();
        var dirty = Tensor.Full([7, 5], 3.5, DType.Float64, Sim.Device);
        dirty.Dispose(); // its block goes to the cache
        using var zeros = Tensor.Zeros([7, 5], DType.Float64, Sim.Device);
        Assert.All(zeros.ToArray<double>(), v => Assert.Equal(0.0, v));
        var during = Sim.Device.MemoryStats();
        Assert.Equal(before.LiveStorages + 1, during.LiveStorages);
        Assert.Equal(before.AllocatedBytes + CachingAllocator.RoundSize(7 * 5 * 8), during.AllocatedBytes);
        Assert.True(during.PeakAllocatedBytes >= during.AllocatedBytes);
        foreach (var dtype in AllDTypes)
        {
            using var z = Tensor.Zeros([3, 2], dtype, Sim.Device);
            Assert.All(z.ToDoubleArray(), v => Assert.Equal(0.0, v));
            Assert.Equal(dtype, z.DType);
            Assert.Equal(Sim.Device, z.Device);
        }
    }

    [Fact]
    public void FillAnyViewOfEveryDType()
    {
        foreach (var dtype in AllDTypes)
        {
            var (cpu, gpu) = Pair(Sim.Random([4, 6], dtype, 1), Strided);
            Sim.Cpu.Fill(cpu, 1.75);
            Sim.Backend.Fill(gpu, 1.75);
            Sim.AssertClose(cpu, gpu, $"fill {dtype}");
            // The elements outside the view are untouched: compare the whole bases.
            Sim.AssertClose(cpu.Transpose(0, 1), gpu.Transpose(0, 1), $"fill {dtype} (base)");
        }
    }

    [Fact]
    public void CopyBetweenStridedViewsOfEveryDType()
    {
        foreach (var dtype in AllDTypes)
        {
            var (srcCpu, srcGpu) = Pair(Sim.Random([5, 4], dtype, 2), Transposed);
            var (dstCpu, dstGpu) = Pair(Sim.Random([4, 5], dtype, 3), t => t.Slice(1, 0, null, 1));
            Sim.Cpu.Copy(srcCpu, dstCpu);
            Sim.Backend.Copy(srcGpu, dstGpu);
            Sim.AssertClose(dstCpu, dstGpu, $"copy {dtype}");
            // Broadcast source (stride 0) into a strided destination.
            var (rowCpu, rowGpu) = Pair(Sim.Random([1, 3], dtype, 4), t => t.Expand(4, 3));
            var (d2Cpu, d2Gpu) = Pair(Sim.Random([3, 4], dtype, 5), Transposed);
            Sim.Cpu.Copy(rowCpu, d2Cpu);
            Sim.Backend.Copy(rowGpu, d2Gpu);
            Sim.AssertClose(d2Cpu, d2Gpu, $"broadcast copy {dtype}");
        }
    }

    [Fact]
    public void CastBetweenEveryPairOfDTypes()
    {
        var special = Tensor.From(new double[] { 0, -0.0, 1.5, -2.5, 3.99, -7.01, 1e10, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.3, -1 }, 3, 4);
        foreach (var from in AllDTypes)
            foreach (var to in AllDTypes)
            {
                var source = from is DType.Float32 or DType.Float64 ? special.To(from) : Sim.Random([3, 4], from, 6);
                var (cpu, gpu) = Pair(source, Transposed);
                var yc = Sim.Empty([4, 3], to, Device.Cpu);
                var yg = Sim.Empty([4, 3], to, Sim.Device);
                Sim.Cpu.Cast(cpu, yc);
                Sim.Backend.Cast(gpu, yg);
                Sim.AssertClose(yc, yg, $"cast {from} -> {to}");
            }
    }

    /// <summary>Operators whose default instance is degenerate get representative arguments; the rest are found by reflection.</summary>
    private static IEnumerable<object> UnaryOperators()
    {
        foreach (var type in KernelCatalog.Operators<IUnaryOperator>())
        {
            if (type == typeof(PowScalarOperator))
            {
                yield return new PowScalarOperator(2.0);
                yield return new PowScalarOperator(3.0);
                yield return new PowScalarOperator(0.5);
            }
            else if (type == typeof(ClampOperator)) yield return new ClampOperator(-0.5, 0.7);
            else if (type == typeof(AffineScalarOperator)) yield return new AffineScalarOperator(2.5, -1.0);
            else yield return Activator.CreateInstance(type)!;
        }
    }

    private static void InvokeOn(IBackend backend, string method, object op, params object[] args)
    {
        try
        {
            typeof(IBackend).GetMethod(method)!.MakeGenericMethod(op.GetType()).Invoke(backend, [.. args, op]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    [Fact]
    public void MapEveryUnaryOperatorOnStridedViews()
    {
        foreach (var dtype in FloatDTypes)
        {
            var source = Sim.Random([5, 4], dtype, 7).Mul(1.5);
            var (cpu, gpu) = Pair(source, Strided);
            foreach (var op in UnaryOperators())
            {
                var yc = Sim.Empty(cpu.Shape.ToArray(), dtype, Device.Cpu);
                var yg = Sim.Empty(cpu.Shape.ToArray(), dtype, Sim.Device);
                InvokeOn(Sim.Cpu, "Map", op, cpu, yc);
                InvokeOn(Sim.Backend, "Map", op, gpu, yg);
                Sim.AssertClose(yc, yg, $"map {op.GetType().Name} {dtype}");
            }
        }
    }

    [Fact]
    public void ZipEveryBinaryOperatorWithBroadcasting()
    {
        foreach (var dtype in FloatDTypes)
        {
            // a: [3, 1, 4] expanded to [3, 2, 4]; b: a transposed [4, 2] view broadcast over the leading dim.
            var (ac, ag) = Pair(Sim.Random([3, 1, 4], dtype, 8), t => t.Expand(3, 2, 4));
            var (bc, bg) = Pair(Sim.Random([4, 2], dtype, 9).Abs().Add(0.5), t => t.Transpose(0, 1).Unsqueeze(0).Expand(3, 2, 4));
            foreach (var type in KernelCatalog.Operators<IBinaryOperator>())
            {
                var op = Activator.CreateInstance(type)!;
                var yc = Sim.Empty([3, 2, 4], dtype, Device.Cpu);
                var yg = Sim.Empty([3, 2, 4], dtype, Sim.Device);
                InvokeOn(Sim.Cpu, "Zip", op, ac, bc, yc);
                InvokeOn(Sim.Backend, "Zip", op, ag, bg, yg);
                Sim.AssertClose(yc, yg, $"zip {type.Name} {dtype}");
            }
        }
    }

    [Fact]
    public void ZipInPlaceWritesTheFirstOperand()
    {
        var (ac, ag) = Pair(Sim.Random([4, 3], DType.Float32, 10), Transposed);
        var (bc, bg) = Pair(Sim.Random([3], DType.Float32, 11), t => t.Unsqueeze(1).Expand(3, 4));
        Sim.Cpu.Zip(ac, bc, ac, new AddOperator());
        Sim.Backend.Zip(ag, bg, ag, new AddOperator());
        Sim.AssertClose(ac, ag, "in-place add");
    }

    [Fact]
    public void CompareEveryOperatorForFloatsAndIntegers()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
        {
            // Small integers make ties; a NaN makes every ordered comparison false.
            var aSource = Sim.Random([4, 3], DType.Int64, 12).To(dtype);
            var bSource = Sim.Random([3], DType.Int64, 13).To(dtype);
            if (dtype != DType.Int64)
            {
                using var nan = Tensor.Full([], double.NaN, dtype);
                aSource[1][2].CopyInPlace(nan);
            }
            var (ac, ag) = Pair(aSource, Transposed);
            var (bc, bg) = Pair(bSource, t => t.Unsqueeze(1).Expand(3, 4));
            foreach (var type in KernelCatalog.Operators<ICompareOperator>())
            {
                var op = Activator.CreateInstance(type)!;
                var yc = Sim.Empty([3, 4], DType.Bool, Device.Cpu);
                var yg = Sim.Empty([3, 4], DType.Bool, Sim.Device);
                InvokeOn(Sim.Cpu, "Compare", op, ac, bc, yc);
                InvokeOn(Sim.Backend, "Compare", op, ag, bg, yg);
                Sim.AssertClose(yc, yg, $"compare {type.Name} {dtype}");
            }
        }
    }

    [Fact]
    public void WhereOfEveryDTypeWithBroadcastCondition()
    {
        foreach (var dtype in AllDTypes)
        {
            var (cc, cg) = Pair(Sim.Random([1, 4], DType.Bool, 14), t => t.Expand(3, 4));
            var (ac, ag) = Pair(Sim.Random([4, 3], dtype, 15), Transposed);
            var (bc, bg) = Pair(Sim.Random([3, 1], dtype, 16), t => t.Expand(3, 4));
            var yc = Sim.Empty([3, 4], dtype, Device.Cpu);
            var yg = Sim.Empty([3, 4], dtype, Sim.Device);
            Sim.Cpu.Where(cc, ac, bc, yc);
            Sim.Backend.Where(cg, ag, bg, yg);
            Sim.AssertClose(yc, yg, $"where {dtype}");
        }
    }

    private static void CheckSumRows(int outer, int inner, DType dtype, ulong seed)
    {
        // x is a contiguous slice with an offset; y starts at an offset too.
        var baseCpu = Sim.Random([outer * inner + 3], dtype, seed);
        var (xc, xg) = Pair(baseCpu, t => t.Slice(0, 3));
        var (yc, yg) = Pair(Tensor.Zeros([outer + 1], dtype), t => t.Slice(0, 1));
        Sim.Cpu.SumRows(xc, yc, outer, inner);
        Sim.Backend.SumRows(xg, yg, outer, inner);
        Sim.AssertClose(yc, yg, $"sum rows {outer}x{inner} {dtype}", dtype == DType.Float32 ? 1e-5 : 1e-12);
    }

    [Fact]
    public void SumRowsShortRowsLongRowsAndEmptyRows()
    {
        foreach (var dtype in FloatDTypes)
        {
            CheckSumRows(6, 5, dtype, 17);     // one thread per row
            CheckSumRows(3, 70, dtype, 18);    // one group per row (tree in shared memory)
            CheckSumRows(4, 0, dtype, 19);     // empty rows sum to zero
            CheckSumRows(0, 3, dtype, 20);
        }
    }

    [Fact]
    public void SumColumnsAgreesWithTheCpu()
    {
        // The GPU takes IBackend's default (a transposed copy, then sum rows); the CPU adds rows in place.
        foreach (var dtype in FloatDTypes)
            foreach (var (rows, cols) in new[] { (5, 7), (1, 4), (3, 1030), (0, 3), (4, 0) })
            {
                var baseCpu = Sim.Random([rows * cols + 2], dtype, (ulong)(31 + rows + cols));
                var (xc, xg) = Pair(baseCpu, t => t.Slice(0, 2));
                var (yc, yg) = Pair(Tensor.Zeros([cols + 1], dtype), t => t.Slice(0, 1));
                Sim.Cpu.SumColumns(xc, yc, rows, cols);
                ((IBackend)Sim.Backend).SumColumns(xg, yg, rows, cols);
                Sim.AssertClose(yc, yg, $"sum columns {rows}x{cols} {dtype}", dtype == DType.Float32 ? 1e-5 : 1e-12);
            }
    }

    [Fact]
    public void SumRowsSplitsFewLongRowsIntoSegments()
    {
        var backend = Sim.Backend;
        int saved = backend.SplitRowThreshold;
        try
        {
            backend.SplitRowThreshold = 64; // segments of 8: 2 rows × 13 segments, then a second pass
            CheckSumRows(2, 100, DType.Float64, 21);
            CheckSumRows(1, 96, DType.Float32, 22);
        }
        finally
        {
            backend.SplitRowThreshold = saved;
        }
    }

    private static void CheckArgReduce(Tensor source, int outer, int inner, bool max, string what)
    {
        var (xc, xg) = Pair(source, t => t.Reshape(outer * inner));
        var dtype = source.DType;
        var vc = Sim.Empty([outer], dtype, Device.Cpu);
        var vg = Sim.Empty([outer], dtype, Sim.Device);
        var ic = Sim.Empty([outer], DType.Int64, Device.Cpu);
        var ig = Sim.Empty([outer], DType.Int64, Sim.Device);
        Sim.Cpu.ArgReduceRows(xc, vc, ic, outer, inner, max);
        Sim.Backend.ArgReduceRows(xg, vg, ig, outer, inner, max);
        Sim.AssertClose(vc, vg, $"{what} values");
        Sim.AssertClose(ic, ig, $"{what} indices");
    }

    [Fact]
    public void ArgReduceRowsKeepsFirstTieAndFirstNaN()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
            foreach (bool max in new[] { true, false })
                foreach (int inner in new[] { 5, 70 }) // one thread per row, one group per row
                {
                    int outer = 3;
                    // Small integers: many ties. Row 1 gets two NaNs (floats), row 2 is constant.
                    var x = Sim.Random([outer, inner], DType.Int64, 23).To(dtype);
                    if (dtype != DType.Int64)
                    {
                        using var nan = Tensor.Full([], double.NaN, dtype);
                        x[1][inner - 2].CopyInPlace(nan);
                        x[1][inner / 2].CopyInPlace(nan);
                    }
                    using (var seven = Tensor.Full([], 7, dtype)) x[2].CopyInPlace(seven);
                    CheckArgReduce(x, outer, inner, max, $"{(max ? "max" : "min")} {dtype} inner {inner}");
                }
    }

    public static TheoryData<DType> Floats => new() { DType.Float32, DType.Float64 };

    [Theory]
    [MemberData(nameof(Floats))]
    public void MatMulEveryLayoutWithBatchBroadcastAndPartialTiles(DType dtype)
    {
        // M = 21, N = 19, K = 17: two tiles (one partial) in M and N on the simulator's 16 × 16 tiles, two K slices; B = 2.
        const int b = 2, m = 21, n = 19, k = 17;
        var aPlain = Sim.Random([b, m, k], dtype, 24);
        var aTrans = Sim.Random([b, k, m], dtype, 25);
        var bPlain = Sim.Random([b, k, n], dtype, 26);
        var bTrans = Sim.Random([b, n, k], dtype, 27);
        var shared = Sim.Random([1, k, n], dtype, 28);
        var cases = new (string Name, Tensor A, Func<Tensor, Tensor> AView, Tensor B, Func<Tensor, Tensor> BView)[]
        {
            ("NN", aPlain, t => t, bPlain, t => t),
            ("TN", aTrans, t => t.Transpose(1, 2), bPlain, t => t),
            ("NT", aPlain, t => t, bTrans, t => t.Transpose(1, 2)),
            ("TT", aTrans, t => t.Transpose(1, 2), bTrans, t => t.Transpose(1, 2)),
            ("N, batch-broadcast B", aPlain, t => t, shared, t => t.Expand(b, k, n)),
        };
        foreach (var (name, a, aView, bb, bView) in cases)
        {
            var (ac, ag) = Pair(a, aView);
            var (bc, bg) = Pair(bb, bView);
            var cc = Sim.Empty([b, m, n], dtype, Device.Cpu);
            var cg = Sim.Empty([b, m, n], dtype, Sim.Device);
            Sim.Cpu.MatMul(ac, bc, cc);
            Sim.Backend.MatMul(ag, bg, cg);
            Sim.AssertClose(cc, cg, $"matmul {name} {dtype}", dtype == DType.Float32 ? 1e-5 : 1e-12);
        }
    }

    [Fact]
    public void MatMulWithEmptyInnerDimensionGivesZeros()
    {
        var a = Sim.G(Tensor.Zeros([1, 3, 0], DType.Float32));
        var b = Sim.G(Tensor.Zeros([1, 0, 2], DType.Float32));
        var c = Tensor.Full([1, 3, 2], 5, DType.Float32, Sim.Device);
        Sim.Backend.MatMul(a, b, c);
        Assert.All(c.ToArray<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void IndexSelectAlongEveryDimWithAStridedIndex()
    {
        var indexBase = Tensor.From(new long[] { 2, 9, 0, 9, 2, 9, 1 }); // every second entry: 2, 0, 2, 1
        foreach (var dtype in AllDTypes)
            for (int dim = 0; dim < 3; dim++)
            {
                var x = Sim.Random([3, 4, 3], dtype, 29);
                var (ic, ig) = Pair(indexBase, t => t.Slice(0, 0, null, 2));
                var shape = x.Shape.ToArray();
                shape[dim] = 4;
                var xg = Sim.G(x);
                var yc = Sim.Empty(shape, dtype, Device.Cpu);
                var yg = Sim.Empty(shape, dtype, Sim.Device);
                Sim.Cpu.IndexSelect(x, dim, ic, yc);
                Sim.Backend.IndexSelect(xg, dim, ig, yg);
                Sim.AssertClose(yc, yg, $"index_select {dtype} dim {dim}");
            }
    }

    [Fact]
    public void IndexAddAccumulatesDuplicateIndices()
    {
        foreach (var dtype in FloatDTypes)
        {
            var index = Tensor.From(new long[] { 1, 3, 1, 0, 1 });
            var src = Sim.Random([2, 5, 3], dtype, 30);
            var dc = Sim.Random([2, 4, 3], dtype, 31);
            var dg = Sim.G(dc);
            Sim.Cpu.IndexAdd(dc, 1, index, src);
            Sim.Backend.IndexAdd(dg, 1, Sim.G(index), Sim.G(src));
            Sim.AssertClose(dc, dg, $"index_add {dtype}");
        }
    }

    [Fact]
    public void GatherAndScatterAddAlongEachDim()
    {
        foreach (var dtype in AllDTypes)
            for (int dim = 0; dim < 2; dim++)
            {
                var x = Sim.Random([4, 5], dtype, 32);
                var index = Tensor.Randint(0, 4, [3, 4], DType.Int64, new Generator(33 + (ulong)dim));
                var yc = Sim.Empty([3, 4], dtype, Device.Cpu);
                var yg = Sim.Empty([3, 4], dtype, Sim.Device);
                Sim.Cpu.Gather(x, dim, index, yc);
                Sim.Backend.Gather(Sim.G(x), dim, Sim.G(index), yg);
                Sim.AssertClose(yc, yg, $"gather {dtype} dim {dim}");
                if (dtype is DType.Int64 or DType.Bool) continue;
                var src = Sim.Random([3, 4], dtype, 34);
                var dc = Sim.Random([4, 5], dtype, 35);
                var dg = Sim.G(dc);
                Sim.Cpu.ScatterAdd(dc, dim, index, src); // duplicate indices accumulate (atomics on the device)
                Sim.Backend.ScatterAdd(dg, dim, Sim.G(index), Sim.G(src));
                Sim.AssertClose(dc, dg, $"scatter_add {dtype} dim {dim}");
            }
    }

    [Fact]
    public void IndexOutOfRangeThrowsTheCpuException()
    {
        var x = Tensor.Zeros([3, 4], DType.Float32);
        var bad = Tensor.From(new long[] { 0, 4, 1 });
        var negative = Tensor.From(new long[] { 0, -1 });
        Assert.Equal(
            Assert.Throws<IndexOutOfRangeException>(() => Sim.Cpu.IndexSelect(x, 1, negative, Sim.Empty([3, 2], DType.Float32, Device.Cpu))).Message,
            Assert.Throws<IndexOutOfRangeException>(() => Sim.Backend.IndexSelect(Sim.G(x), 1, Sim.G(negative), Sim.Empty([3, 2], DType.Float32, Sim.Device))).Message);
        var cpu = Assert.Throws<IndexOutOfRangeException>(() => Sim.Cpu.IndexSelect(x, 1, bad, Sim.Empty([3, 3], DType.Float32, Device.Cpu)));
        var gpu = Assert.Throws<IndexOutOfRangeException>(() => Sim.Backend.IndexSelect(Sim.G(x), 1, Sim.G(bad), Sim.Empty([3, 3], DType.Float32, Sim.Device)));
        Assert.Equal(cpu.Message, gpu.Message);
        var gatherIndex = Tensor.From(new long[,] { { 0, -5 } });
        var e = Assert.Throws<IndexOutOfRangeException>(() => Sim.G(x).Gather(1, Sim.G(gatherIndex)));
        Assert.Contains("gather: index -5 is out of bounds for a dimension of size 4", e.Message);
        Assert.Throws<IndexOutOfRangeException>(() => Sim.Backend.ScatterAdd(Sim.G(x), 0, Sim.G(Tensor.From(new long[,] { { 3 } })), Sim.G(Tensor.Ones(1, 1))));
        Assert.Throws<IndexOutOfRangeException>(() => Sim.Backend.IndexAdd(Sim.G(x), 0, Sim.G(Tensor.From(new long[] { -4 })), Sim.G(Tensor.Ones(1, 4))));
        // The device is still usable afterwards.
        Sim.AssertClose(x.Add(1), Sim.G(x).Add(1), "after an index error");
    }

    [Fact]
    public void DownloadAndUploadEveryDTypeWithOffsets()
    {
        foreach (var dtype in AllDTypes)
        {
            var source = Sim.Random([3, 4], dtype, 36);
            var onDevice = Sim.G(source);
            Sim.AssertClose(source, onDevice, $"round trip {dtype}");
            var row = source[2].Contiguous();
            var host = Sim.Cpu.Download(row);
            var target = Tensor.Zeros([3, 4], dtype, Sim.Device);
            Sim.Backend.Upload(host, target[1]); // a contiguous view at offset 4
            var expected = Tensor.Zeros([3, 4], dtype);
            expected[1].CopyInPlace(row);
            Sim.AssertClose(expected, target, $"upload {dtype}");
            var downloaded = Sim.Backend.Download(onDevice[1]);
            Assert.Equal(Sim.Cpu.Download(source[1].Contiguous()), downloaded);
        }
    }

    private static ConvGeometry Geometry(int[] input, int[] kernel, int[] stride, int[] dilation, int[] pad)
    {
        var output = new int[input.Length];
        for (int d = 0; d < input.Length; d++) output[d] = ConvGeometry.OutputLength(input[d], kernel[d], stride[d], dilation[d], 2 * pad[d]);
        return new ConvGeometry(input, kernel, stride, dilation, pad, output);
    }

    public static TheoryData<int[], int[], int[], int[], int[]> WindowCases => new()
    {
        // spatial input, kernel, stride, dilation, padding
        { [7], [3], [2], [1], [1] },
        { [5, 6], [3, 2], [1, 2], [2, 1], [1, 0] },
        { [3, 4, 3], [2, 2, 2], [1, 2, 1], [1, 1, 2], [1, 0, 1] },
    };

    [Theory]
    [MemberData(nameof(WindowCases))]
    public void UnfoldAndFoldWithStrideDilationAndPadding(int[] input, int[] kernel, int[] stride, int[] dilation, int[] pad)
    {
        var g = Geometry(input, kernel, stride, dilation, pad);
        int n = 2, c = 2;
        foreach (var dtype in FloatDTypes)
        {
            var x = Sim.Random([n, c, .. input], dtype, 37);
            var cc = Sim.Empty([n, c * g.KernelSize, g.OutputSize], dtype, Device.Cpu);
            var cg = Sim.Empty([n, c * g.KernelSize, g.OutputSize], dtype, Sim.Device);
            Sim.Cpu.Unfold(x, cc, g);
            Sim.Backend.Unfold(Sim.G(x), cg, g);
            Sim.AssertClose(cc, cg, $"unfold {dtype}");
            var cols = Sim.Random([n, c * g.KernelSize, g.OutputSize], dtype, 38);
            var xc = Sim.Random([n, c, .. input], dtype, 39); // overwritten
            var xg = Sim.G(xc);
            Sim.Cpu.Fold(cols, xc, g);
            Sim.Backend.Fold(Sim.G(cols), xg, g);
            Sim.AssertClose(xc, xg, $"fold {dtype}");
        }
    }

    [Theory]
    [MemberData(nameof(WindowCases))]
    public void MaxPoolWindowsWithTiesAndNaN(int[] input, int[] kernel, int[] stride, int[] dilation, int[] pad)
    {
        foreach (var dtype in FloatDTypes)
        {
            // Small integers make ties; one NaN must win its windows.
            var x = Sim.Random([2, 2, .. input], DType.Int64, 40).To(dtype);
            using (var nan = Tensor.Full([], double.NaN, dtype)) x.Flatten()[7].CopyInPlace(nan);
            var cpu = MaxPoolNd(x, kernel, stride, pad, dilation);
            var gpu = MaxPoolNd(Sim.G(x), kernel, stride, pad, dilation);
            Sim.AssertClose(cpu.Values, gpu.Values, $"max pool {input.Length}-d {dtype} values");
            Sim.AssertClose(cpu.Indices, gpu.Indices, $"max pool {input.Length}-d {dtype} indices");
            // ceil mode adds partial windows at the end.
            var cpuCeil = MaxPoolNd(x, kernel, stride, pad, dilation, ceil: true);
            var gpuCeil = MaxPoolNd(Sim.G(x), kernel, stride, pad, dilation, ceil: true);
            Sim.AssertClose(cpuCeil.Indices, gpuCeil.Indices, $"max pool ceil {input.Length}-d {dtype} indices");
        }
    }

    private static (Tensor Values, Tensor Indices) MaxPoolNd(Tensor x, int[] kernel, int[] stride, int[] pad, int[] dilation, bool ceil = false)
    {
        // Padding may be at most half the kernel (PyTorch's rule).
        var p = pad.Select((v, d) => Math.Min(v, kernel[d] / 2)).ToArray();
        return kernel.Length switch
        {
            1 => Functional.MaxPool1dWithIndices(x, kernel, stride, p, dilation, ceil),
            2 => Functional.MaxPool2dWithIndices(x, kernel, stride, p, dilation, ceil),
            _ => Functional.MaxPool3dWithIndices(x, kernel, stride, p, dilation, ceil),
        };
    }

    [Fact]
    public void HasNonFiniteSeesOnlyTheView()
    {
        foreach (var dtype in FloatDTypes)
            foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
            {
                var x = Sim.Random([4, 5], dtype, 41);
                using (var v = Tensor.Full([], bad, dtype)) x[0][3].CopyInPlace(v); // row 0 is outside the view below
                var xg = Sim.G(x);
                Assert.Equal(Sim.Cpu.HasNonFinite(x), Sim.Backend.HasNonFinite(xg));
                Assert.True(Sim.Backend.HasNonFinite(xg));
                Assert.False(Sim.Backend.HasNonFinite(xg.Slice(0, 1).Transpose(0, 1)));
                Assert.True(Sim.Backend.HasNonFinite(xg.Transpose(0, 1)));
            }
        Assert.False(Sim.Backend.HasNonFinite(Tensor.Zeros([0], DType.Float32, Sim.Device)));
    }

    [Fact]
    public void RandomMatchesTheCpuStreamForEveryKindAndDType()
    {
        var kinds = new (RandomKind Kind, double A, double B)[]
        {
            (RandomKind.Uniform, -2, 3), (RandomKind.Normal, 0.5, 2), (RandomKind.Integer, -3, 7), (RandomKind.Bernoulli, 0.3, 0),
        };
        foreach (var (kind, a, b) in kinds)
            foreach (var dtype in AllDTypes)
            {
                if (kind is RandomKind.Uniform or RandomKind.Normal && !dtype.IsFloatingPoint()) continue;
                var gc = new Generator(42);
                var gg = new Generator(42);
                foreach (int n in new[] { 7, 4 }) // odd and even lengths; the second draw starts where the first ended
                {
                    var yc = Sim.Empty([n], dtype, Device.Cpu);
                    var yg = Sim.Empty([n + 1], dtype, Sim.Device).Slice(0, 1); // an offset destination
                    Sim.Cpu.Random(yc, gc, kind, a, b);
                    Sim.Backend.Random(yg.Contiguous(), gg, kind, a, b);
                    Assert.Equal(gc.GetState(), gg.GetState());
                }
                var c1 = Sim.Empty([9], dtype, Device.Cpu);
                var g1 = Sim.Empty([10], dtype, Sim.Device);
                var view = g1.Slice(0, 1);
                Sim.Cpu.Random(c1, gc, kind, a, b);
                Sim.Backend.Random(view, gg, kind, a, b);
                // On a GPU the draws' multiply-adds are fused as on the CPU, so every kind but normal agrees bit for bit (a
                // GPU's log, cos and sin may differ in the last bits: the dtype's usual tolerance). The simulator runs the
                // kernel as .NET code with the multiply-adds unfused: a double may be one rounding (2⁻⁵³ relative) off.
                double? tolerance = Sim.OnSimulator ? (dtype == DType.Float64 && kind != RandomKind.Bernoulli ? 2.3e-16 : 0)
                    : kind != RandomKind.Normal ? 0 : null;
                Sim.AssertClose(c1, view, $"random {kind} {dtype}", tolerance);
            }
        // The public API: the same seed gives the same tensor on both devices.
        Sim.AssertClose(Tensor.Randn([5, 3], DType.Float32, new Generator(7)), Tensor.Randn([5, 3], DType.Float32, new Generator(7), Sim.Device), "randn", Sim.OnSimulator ? 0 : null);
    }
}
