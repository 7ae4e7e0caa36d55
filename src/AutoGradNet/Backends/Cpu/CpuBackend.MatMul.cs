namespace AutoGradNet.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public void MatMul(Tensor a, Tensor b, Tensor c, bool accumulate = false)
    {
        int batch = c.ShapeArray[0], m = c.ShapeArray[1], n = c.ShapeArray[2], k = a.ShapeArray[2];
        var (transA, lda) = Layout(a);
        var (transB, ldb) = Layout(b);
        if (a.DType == DType.Float32)
            Gemm.Run(transA, transB, batch, m, n, k, Data<float>(a), a.Offset, lda, a.Strides[0], Data<float>(b), b.Offset, ldb, b.Strides[0],
                Data<float>(c), c.Offset, Ldc(c), c.Strides[0], accumulate);
        else
            Gemm.Run(transA, transB, batch, m, n, k, Data<double>(a), a.Offset, lda, a.Strides[0], Data<double>(b), b.Offset, ldb, b.Strides[0],
                Data<double>(c), c.Offset, Ldc(c), c.Strides[0], accumulate);
    }

    private static int Ldc(Tensor c) => c.ShapeArray[1] <= 1 ? Math.Max(c.ShapeArray[2], 1) : c.Strides[1];

    /// <summary>Whether a [B, R, C] view is stored transposed, and its leading dimension.</summary>
    private static (bool Transposed, int Ld) Layout(Tensor t)
    {
        int rows = t.ShapeArray[1], cols = t.ShapeArray[2];
        int rs = t.Strides[1], cs = t.Strides[2];
        if (cs == 1 || cols == 1) return (false, rows == 1 ? Math.Max(cols, 1) : rs);
        if (rs == 1 || rows == 1) return (true, cols == 1 ? Math.Max(rows, 1) : cs);
        throw new ArgumentException($"matmul: operand with strides [{t.Strides[1]}, {t.Strides[2]}] has no unit stride; make it contiguous first");
    }
}
