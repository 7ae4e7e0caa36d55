using System.Numerics;
using AutoGradNet.Gpu.Kernels;

namespace AutoGradNet.Gpu;

internal sealed partial class GpuBackend
{
    public void SumRows(Tensor x, Tensor y, int outer, int inner)
    {
        if (x.DType == DType.Float32) SumRowsT<float>(V<float>(x), x.Offset, V<float>(y), y.Offset, outer, inner);
        else SumRowsT<double>(V<double>(x), x.Offset, V<double>(y), y.Offset, outer, inner);
    }

    private void SumRowsT<T>(ArrayView<T> x, int xOffset, ArrayView<T> y, int yOffset, int outer, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outer == 0) return;
        if (inner == 0)
        {
            Run(stream => y.SubView(yOffset, outer).MemSetToZero(stream));
            return;
        }
        if (inner < GroupRowThreshold || ReduceGroup == 1)
        {
            var perThread = Kernel("SumRowsThread", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int, int>(ReduceKernels.SumRowsThread));
            Run(stream => perThread(stream, outer, x, y, xOffset, yOffset, inner));
            return;
        }
        var perGroup = Kernel("SumRowsGroup", static a => a.LoadKernel<ArrayView<T>, ArrayView<T>, SegmentArgs>(ReduceKernels.SumRowsGroup));
        int group = Math.Min(ReduceGroup, NextPowerOfTwo(inner));
        if (inner >= SplitRowThreshold && outer < 64)
        {
            // Few long rows: sum segments of every row in parallel, then each row's segment sums.
            int segment = Math.Max(SplitRowThreshold / 8, 1);
            int segments = (inner + segment - 1) / segment;
            var partial = Allocator.Allocate((long)outer * segments * Unsafe.SizeOf<T>());
            try
            {
                var partialView = partial.Buffer.View.AsContiguous().Cast<T>().SubView(0, outer * segments);
                var split = new SegmentArgs { XOffset = xOffset, YOffset = 0, Inner = inner, Segment = segment, Segments = segments };
                Run(stream => perGroup(stream, new KernelConfig(outer * segments, group), x, partialView, split));
                SumRowsT(partialView, 0, y, yOffset, outer, segments);
            }
            finally
            {
                Allocator.Release(partial); // stream order keeps the block valid for the kernels queued above
            }
            return;
        }
        var args = new SegmentArgs { XOffset = xOffset, YOffset = yOffset, Inner = inner, Segment = inner, Segments = 1 };
        Run(stream => perGroup(stream, new KernelConfig(outer, group), x, y, args));
    }

    public void ArgReduceRows(Tensor x, Tensor values, Tensor indices, int outer, int inner, bool max)
    {
        switch (x.DType)
        {
            case DType.Float32: ArgReduceT<float>(x, values, indices, outer, inner, max); break;
            case DType.Float64: ArgReduceT<double>(x, values, indices, outer, inner, max); break;
            case DType.Int64: ArgReduceT<long>(x, values, indices, outer, inner, max); break;
            default: throw new NotSupportedException($"max/min over {x.DType.Name()}");
        }
    }

    private void ArgReduceT<T>(Tensor x, Tensor values, Tensor indices, int outer, int inner, bool max) where T : unmanaged, INumber<T>
    {
        if (outer == 0 || inner == 0) return;
        var args = new ArgArgs { XOffset = x.Offset, ValuesOffset = values.Offset, IndicesOffset = indices.Offset, Inner = inner, Max = max ? 1 : 0 };
        if (inner < GroupRowThreshold || ReduceGroup == 1)
        {
            var perThread = Kernel("ArgReduceRowsThread", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<long>, ArgArgs>(ReduceKernels.ArgReduceRowsThread));
            Run(stream => perThread(stream, outer, V<T>(x), V<T>(values), V<long>(indices), args));
            return;
        }
        var perGroup = Kernel("ArgReduceRowsGroup", static a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<long>, ArgArgs>(ReduceKernels.ArgReduceRowsGroup));
        int group = Math.Min(ReduceGroup, NextPowerOfTwo(inner));
        Run(stream => perGroup(stream, new KernelConfig(outer, group), V<T>(x), V<T>(values), V<long>(indices), args));
    }
}
