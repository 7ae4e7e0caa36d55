using System.Numerics;
using AutoGradNet.Gpu.Kernels;
using AutoGradNet.Kernels;

namespace AutoGradNet.Gpu;

internal sealed partial class GpuBackend
{
    public void Fill(Tensor dst, double value)
    {
        switch (dst.DType)
        {
            case DType.Float32: FillT(dst, (float)value); break;
            case DType.Float64: FillT(dst, value); break;
            case DType.Int64: FillT(dst, (long)value); break;
            case DType.Bool: FillT(dst, value != 0 ? (byte)1 : (byte)0); break;
        }
    }

    private void FillT<T>(Tensor dst, T value) where T : unmanaged
    {
        int n = dst.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(dst.ShapeArray, dst);
        var kernel = Kernel("Fill", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, Extent8, Strides8, T>(ElementwiseKernels.Fill));
        Run(stream => kernel(stream, n, V<T>(dst), e, s[0], value));
    }

    public void Copy(Tensor src, Tensor dst)
    {
        switch (src.DType)
        {
            case DType.Float32: CopyT<float>(src, dst); break;
            case DType.Float64: CopyT<double>(src, dst); break;
            case DType.Int64: CopyT<long>(src, dst); break;
            case DType.Bool: CopyT<byte>(src, dst); break;
        }
    }

    private void CopyT<T>(Tensor src, Tensor dst) where T : unmanaged
    {
        int n = dst.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(dst.ShapeArray, dst, src);
        var kernel = Kernel("Copy", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, Extent8, Strides8, Strides8>(ElementwiseKernels.Copy));
        Run(stream => kernel(stream, n, V<T>(src), V<T>(dst), e, s[1], s[0]));
    }

    public void Cast(Tensor src, Tensor dst)
    {
        if (src.DType == dst.DType)
        {
            Copy(src, dst);
            return;
        }
        switch (src.DType)
        {
            case DType.Float32: CastFrom<float, F32Element>(src, dst); break;
            case DType.Float64: CastFrom<double, F64Element>(src, dst); break;
            case DType.Int64: CastFrom<long, I64Element>(src, dst); break;
            case DType.Bool: CastFrom<byte, BoolElement>(src, dst); break;
        }
    }

    private void CastFrom<TS, CS>(Tensor src, Tensor dst) where TS : unmanaged where CS : struct, IElement<TS>
    {
        switch (dst.DType)
        {
            case DType.Float32: CastT<TS, float, CS, F32Element>(src, dst); break;
            case DType.Float64: CastT<TS, double, CS, F64Element>(src, dst); break;
            case DType.Int64: CastT<TS, long, CS, I64Element>(src, dst); break;
            case DType.Bool: CastT<TS, byte, CS, BoolElement>(src, dst); break;
        }
    }

    private void CastT<TS, TD, CS, CD>(Tensor src, Tensor dst)
        where TS : unmanaged where TD : unmanaged where CS : struct, IElement<TS> where CD : struct, IElement<TD>
    {
        int n = dst.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(dst.ShapeArray, dst, src);
        var kernel = Kernel("Cast", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<TS>, ArrayView<TD>, Extent8, Strides8, Strides8>(ElementwiseKernels.Cast<TS, TD, CS, CD>));
        Run(stream => kernel(stream, n, V<TS>(src), V<TD>(dst), e, s[1], s[0]));
    }

    public void Map<TOp>(Tensor x, Tensor y, TOp op) where TOp : struct, IUnaryOperator
    {
        if (x.DType == DType.Float32) MapT<float, TOp>(x, y, op);
        else MapT<double, TOp>(x, y, op);
    }

    private void MapT<T, TOp>(Tensor x, Tensor y, TOp op) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUnaryOperator
    {
        int n = y.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(y.ShapeArray, y, x);
        var kernel = Kernel("Map", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, Extent8, Strides8, Strides8, TOp>(ElementwiseKernels.Map<T, TOp>));
        Run(stream => kernel(stream, n, V<T>(x), V<T>(y), e, s[1], s[0], op));
    }

    public void Zip<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, IBinaryOperator
    {
        if (a.DType == DType.Float32) ZipT<float, TOp>(a, b, y, op);
        else ZipT<double, TOp>(a, b, y, op);
    }

    private void ZipT<T, TOp>(Tensor a, Tensor b, Tensor y, TOp op) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator
    {
        int n = y.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(y.ShapeArray, y, a, b);
        var kernel = Kernel("Zip", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, Extent8, Strides8, Strides8, Strides8, TOp>(ElementwiseKernels.Zip<T, TOp>));
        Run(stream => kernel(stream, n, V<T>(a), V<T>(b), V<T>(y), e, s[1], s[2], s[0], op));
    }

    public void Compare<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, ICompareOperator
    {
        switch (a.DType)
        {
            case DType.Float32: CompareT<float, TOp>(a, b, y, op); break;
            case DType.Float64: CompareT<double, TOp>(a, b, y, op); break;
            case DType.Int64: CompareT<long, TOp>(a, b, y, op); break;
            default: throw new NotSupportedException($"compare: {a.DType.Name()} operands reach the backend only as int64");
        }
    }

    private void CompareT<T, TOp>(Tensor a, Tensor b, Tensor y, TOp op) where T : unmanaged, INumber<T> where TOp : struct, ICompareOperator
    {
        int n = y.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(y.ShapeArray, y, a, b);
        var kernel = Kernel("Compare", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<byte>, Extent8, Strides8, Strides8, Strides8, TOp>(ElementwiseKernels.Compare<T, TOp>));
        Run(stream => kernel(stream, n, V<T>(a), V<T>(b), V<byte>(y), e, s[1], s[2], s[0], op));
    }

    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        switch (a.DType)
        {
            case DType.Float32: WhereT<float>(cond, a, b, y); break;
            case DType.Float64: WhereT<double>(cond, a, b, y); break;
            case DType.Int64: WhereT<long>(cond, a, b, y); break;
            case DType.Bool: WhereT<byte>(cond, a, b, y); break;
        }
    }

    private void WhereT<T>(Tensor cond, Tensor a, Tensor b, Tensor y) where T : unmanaged
    {
        int n = y.Numel;
        if (n == 0) return;
        var (e, s) = LayoutBuilder.Build(y.ShapeArray, y, cond, a, b);
        var kernel = Kernel("Where", static acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<byte>, ArrayView<T>, ArrayView<T>, ArrayView<T>, Extent8, Strides8, Strides8, Strides8, Strides8>(ElementwiseKernels.Where));
        Run(stream => kernel(stream, n, V<byte>(cond), V<T>(a), V<T>(b), V<T>(y), e, s[1], s[2], s[3], s[0]));
    }

    public bool HasNonFinite(Tensor x)
    {
        if (x.DType == DType.Float32) return HasNonFiniteT<float>(x);
        if (x.DType == DType.Float64) return HasNonFiniteT<double>(x);
        return false;
    }

    private bool HasNonFiniteT<T>(Tensor x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Numel;
        if (n == 0) return false;
        var (e, s) = LayoutBuilder.Build(x.ShapeArray, x);
        var kernel = Kernel("NonFinite", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<T>, Extent8, Strides8, ArrayView<int>>(ElementwiseKernels.NonFinite));
        return RunWithStatus((stream, status) => kernel(stream, n, V<T>(x), e, s[0], status.Cast<int>())).Flag != 0;
    }
}
