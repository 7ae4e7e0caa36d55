using System.Numerics;
using AutoGradNet.Kernels;

namespace AutoGradNet.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public void Map<TOp>(Tensor x, Tensor y, TOp op) where TOp : struct, IUnaryOperator
    {
        if (x.DType == DType.Float32) MapT<float, TOp>(x, y, op);
        else MapT<double, TOp>(x, y, op);
    }

    private static void MapT<T, TOp>(Tensor x, Tensor y, TOp op) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUnaryOperator =>
        Strided.ForEachRow(y.ShapeArray, y, x, null, null, new MapRow<T, TOp>(Data<T>(y), Data<T>(x), op));

    private readonly struct MapRow<T, TOp>(T[] y, T[] x, TOp op) : IRowAction
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUnaryOperator
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            if (s0 == 1 && s1 == 1) op.Invoke<T>(x.AsSpan(o1, n), y.AsSpan(o0, n));
            else for (int i = 0; i < n; i++) y[o0 + i * s0] = op.Invoke(x[o1 + i * s1]);
        }
    }

    public void Zip<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, IBinaryOperator
    {
        if (a.DType == DType.Float32) ZipT<float, TOp>(a, b, y, op);
        else ZipT<double, TOp>(a, b, y, op);
    }

    private static void ZipT<T, TOp>(Tensor a, Tensor b, Tensor y, TOp op) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator =>
        Strided.ForEachRow(y.ShapeArray, y, a, b, null, new ZipRow<T, TOp>(Data<T>(y), Data<T>(a), Data<T>(b), op));

    private readonly struct ZipRow<T, TOp>(T[] y, T[] a, T[] b, TOp op) : IRowAction
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryOperator
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            if (s0 == 1)
            {
                var dst = y.AsSpan(o0, n);
                if (s1 == 1 && s2 == 1) { op.Invoke<T>(a.AsSpan(o1, n), b.AsSpan(o2, n), dst); return; }
                if (s1 == 1 && s2 == 0) { op.Invoke<T>(a.AsSpan(o1, n), b[o2], dst); return; }
                if (s1 == 0 && s2 == 1) { op.Invoke<T>(a[o1], b.AsSpan(o2, n), dst); return; }
            }
            for (int i = 0; i < n; i++) y[o0 + i * s0] = op.Invoke(a[o1 + i * s1], b[o2 + i * s2]);
        }
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

    private static void CompareT<T, TOp>(Tensor a, Tensor b, Tensor y, TOp op) where T : unmanaged, INumber<T> where TOp : struct, ICompareOperator =>
        Strided.ForEachRow(y.ShapeArray, y, a, b, null, new CompareRow<T, TOp>(Data<bool>(y), Data<T>(a), Data<T>(b), op));

    private readonly struct CompareRow<T, TOp>(bool[] y, T[] a, T[] b, TOp op) : IRowAction
        where T : unmanaged, INumber<T> where TOp : struct, ICompareOperator
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            for (int i = 0; i < n; i++) y[o0 + i * s0] = op.Invoke(a[o1 + i * s1], b[o2 + i * s2]);
        }
    }

    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        switch (a.DType)
        {
            case DType.Float32: WhereT<float>(cond, a, b, y); break;
            case DType.Float64: WhereT<double>(cond, a, b, y); break;
            case DType.Int64: WhereT<long>(cond, a, b, y); break;
            case DType.Bool: WhereT<bool>(cond, a, b, y); break;
        }
    }

    private static void WhereT<T>(Tensor cond, Tensor a, Tensor b, Tensor y) where T : unmanaged =>
        Strided.ForEachRow(y.ShapeArray, y, cond, a, b, new WhereRow<T>(Data<T>(y), Data<bool>(cond), Data<T>(a), Data<T>(b)));

    private readonly struct WhereRow<T>(T[] y, bool[] c, T[] a, T[] b) : IRowAction where T : unmanaged
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            for (int i = 0; i < n; i++) y[o0 + i * s0] = c[o1 + i * s1] ? a[o2 + i * s2] : b[o3 + i * s3];
        }
    }
}
