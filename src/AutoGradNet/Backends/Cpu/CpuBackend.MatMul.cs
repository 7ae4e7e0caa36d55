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

    public void MatMul2D(Tensor a, Tensor b, Tensor c, bool accumulate = false)
    {
        int m = c.ShapeArray[0], n = c.ShapeArray[1], k = a.ShapeArray[1];
        var (transA, lda) = Layout(a, 0);
        var (transB, ldb) = Layout(b, 0);
        if (a.DType == DType.Float32)
            Gemm.Run(transA, transB, 1, m, n, k, Data<float>(a), a.Offset, lda, 0, Data<float>(b), b.Offset, ldb, 0,
                Data<float>(c), c.Offset, Ldc(c, 0), 0, accumulate);
        else
            Gemm.Run(transA, transB, 1, m, n, k, Data<double>(a), a.Offset, lda, 0, Data<double>(b), b.Offset, ldb, 0,
                Data<double>(c), c.Offset, Ldc(c, 0), 0, accumulate);
    }

    /// <summary>The leading dimension of c, whose rows are dim <paramref name="d"/> (1 in a [B, M, N] view, 0 in a matrix).</summary>
    private static int Ldc(Tensor c, int d = 1) => c.ShapeArray[d] <= 1 ? Math.Max(c.ShapeArray[d + 1], 1) : c.Strides[d];

    /// <summary>Whether a matrix (dims <paramref name="d"/>, d + 1 of t: the last two of a [B, R, C] view) is stored
    /// transposed, and its leading dimension.</summary>
    private static (bool Transposed, int Ld) Layout(Tensor t, int d = 1)
    {
        int rows = t.ShapeArray[d], cols = t.ShapeArray[d + 1];
        int rs = t.Strides[d], cs = t.Strides[d + 1];
        if (cs == 1 || cols == 1) return (false, rows == 1 ? Math.Max(cols, 1) : rs);
        if (rs == 1 || rows == 1) return (true, cols == 1 ? Math.Max(rows, 1) : cs);
        throw new ArgumentException($"matmul: operand with strides [{rs}, {cs}] has no unit stride; make it contiguous first");
    }
}
