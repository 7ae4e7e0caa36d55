namespace AutoGradNet.Backends.Cpu;

// Placeholder until the blocked kernel lands: naive but correct.
internal static class Gemm
{
    public static void Run(bool transA, bool transB, int batch, int m, int n, int k,
        float[] a, long aOffset, int lda, long strideA, float[] b, long bOffset, int ldb, long strideB,
        float[] c, long cOffset, int ldc, long strideC, bool accumulate)
    {
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float s = 0;
                    for (int p = 0; p < k; p++)
                        s += a[aOffset + bt * strideA + (transA ? p * lda + i : i * lda + p)] * b[bOffset + bt * strideB + (transB ? j * ldb + p : p * ldb + j)];
                    long ci = cOffset + bt * strideC + i * ldc + j;
                    c[ci] = accumulate ? c[ci] + s : s;
                }
    }

    public static void Run(bool transA, bool transB, int batch, int m, int n, int k,
        double[] a, long aOffset, int lda, long strideA, double[] b, long bOffset, int ldb, long strideB,
        double[] c, long cOffset, int ldc, long strideC, bool accumulate)
    {
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += a[aOffset + bt * strideA + (transA ? p * lda + i : i * lda + p)] * b[bOffset + bt * strideB + (transB ? j * ldb + p : p * ldb + j)];
                    long ci = cOffset + bt * strideC + i * ldc + j;
                    c[ci] = accumulate ? c[ci] + s : s;
                }
    }
}
