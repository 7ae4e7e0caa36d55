using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Tests;

/// <summary>The blocked GEMM against a naive double-precision triple loop: every transpose case, odd and edge sizes.</summary>
public class GemmTests
{
    public static TheoryData<bool, bool> TransposeCases => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void MatchesNaiveReferenceOnOddShapes(bool transA, bool transB)
    {
        var random = new Random(17);
        int[] sizes = [0, 1, 2, 7, 17, 33, 70];
        foreach (int m in sizes)
        foreach (int n in sizes)
        foreach (int k in new[] { 0, 1, 5, 31, 300 })
        {
            if ((long)m * n * k > 400_000) continue;
            foreach (bool accumulate in new[] { false, true })
                CheckOne(random, transA, transB, batch: 2, m, n, k, padA: 3, padB: 1, accumulate, broadcastA: m % 2 == 1);
        }
    }

    [Fact]
    public void LargeThreadedProblemMatches()
    {
        CheckOne(new Random(5), false, true, batch: 3, m: 129, n: 131, k: 257, padA: 0, padB: 0, accumulate: false, broadcastA: false);
        CheckOne(new Random(6), true, false, batch: 1, m: 200, n: 300, k: 190, padA: 5, padB: 2, accumulate: true, broadcastA: false);
    }

    /// <summary>One A shared by a threaded batch (a convolution's weight) is packed once per worker and reused:
    /// several row blocks and k slabs (m = 300 > MC, k = 600 > KC), both A layouts, items per worker ≥ 2.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SharedAAcrossThreadedBatchMatches(bool transA)
    {
        CheckOne(new Random(7), transA, false, batch: 4, m: 300, n: 40, k: 600, padA: 1, padB: 0, accumulate: false, broadcastA: true);
        CheckOne(new Random(8), transA, true, batch: 6, m: 13, n: 70, k: 301, padA: 0, padB: 3, accumulate: true, broadcastA: true);
    }

    /// <summary>
    /// Products with few rows and a large transposed B (a linear layer's forward on a batch) run as their transpose, B
    /// read in place: both layouts of A, 1–64 rows, ragged panels, padded leading dimensions, overwrite and accumulate,
    /// float and double. (With B untransposed they keep the packed path; the same shapes check that too.)
    /// </summary>
    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void FewRowProductsThroughTheTransposeMatch(bool transA, bool transB)
    {
        var random = new Random(29);
        long before = Gemm.ProductsThroughTranspose;
        int[][] shapes = [[64, 300, 257], [33, 700, 64], [7, 1000, 300], [1, 2000, 700], [64, 129, 200]];
        foreach (var shape in shapes)
            foreach (bool accumulate in new[] { false, true })
                CheckOne(random, transA, transB, batch: 1, shape[0], shape[1], shape[2], padA: 3, padB: 5, accumulate, broadcastA: false);
        // Two calls (float and double) per shape and mode, all of them through the transpose when B is transposed and
        // AVX2 is there.
        if (transB && System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)
            Assert.True(Gemm.ProductsThroughTranspose - before >= 2 * 2 * shapes.Length, $"{Gemm.ProductsThroughTranspose - before} products went through the transpose");
    }

    private static void CheckOne(Random random, bool transA, bool transB, int batch, int m, int n, int k, int padA, int padB, bool accumulate, bool broadcastA)
    {
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + padA, ldb = bCols + padB, ldc = n + 2;
        long strideA = broadcastA ? 0 : (long)aRows * lda, strideB = (long)bRows * ldb, strideC = (long)m * ldc;
        var a = Fill(random, (int)(broadcastA ? aRows * lda : strideA * batch) + 4);
        var b = Fill(random, (int)(strideB * batch) + 4);
        var c = Fill(random, (int)(strideC * batch) + 4);
        var a64 = Array.ConvertAll(a, v => (double)v);
        var b64 = Array.ConvertAll(b, v => (double)v);
        var c64 = Array.ConvertAll(c, v => (double)v);
        var expected = (float[])c.Clone();
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = a[bt * strideA + (transA ? p * lda + i : i * lda + p)];
                        double bv = b[bt * strideB + (transB ? j * ldb + p : p * ldb + j)];
                        s += av * bv;
                    }
                    long at = bt * strideC + i * ldc + j;
                    expected[at] = (float)((accumulate ? c[at] : 0) + s);
                }
        Gemm.Run(transA, transB, batch, m, n, k, a, 0, lda, strideA, b, 0, ldb, strideB, c, 0, ldc, strideC, accumulate);
        Gemm.Run(transA, transB, batch, m, n, k, a64, 0, lda, strideA, b64, 0, ldb, strideB, c64, 0, ldc, strideC, accumulate);
        double tolerance = 1e-5 * Math.Max(1, k);
        for (int i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(c[i] - expected[i]) <= tolerance, $"float m={m} n={n} k={k} tA={transA} tB={transB} acc={accumulate} at {i}: {c[i]} vs {expected[i]}");
            Assert.True(Math.Abs(c64[i] - expected[i]) <= tolerance, $"double m={m} n={n} k={k} tA={transA} tB={transB} at {i}: {c64[i]} vs {expected[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void IndexedBMatchesNaiveReference(bool transA, bool transB)
    {
        var random = new Random(23);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 17, 5), (6, 32, 8), (13, 70, 31), (64, 40, 300), (20, 131, 67) })
            foreach (bool accumulate in new[] { false, true })
                foreach (bool sharedC in new[] { false, true })
                    CheckIndexed(random, transA, transB, batch: 3, m, n, k, accumulate, sharedC);
    }

    /// <summary>Column offsets shaped like a convolution's: output rows of <paramref name="width"/> offsets, 1 or 2
    /// apart (stride 1 or 2), a gap between rows — so vector groups fall inside one row (plain loads, or even-element
    /// permutes), straddle one boundary (two loads blended) or span more (gathered), depending on the width.</summary>
    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(5, false)]
    [InlineData(7, true)]
    [InlineData(8, false)]
    [InlineData(14, true)]
    [InlineData(14, false)]
    [InlineData(28, true)]
    [InlineData(16, false)]
    [InlineData(32, false)]
    [InlineData(48, false)]
    [InlineData(32, true)]
    public void IndexedBWithRowShapedColumnsMatchesNaiveReference(int width, bool transB)
    {
        var random = new Random(width);
        foreach (int step in new[] { 1, 2 })
            foreach (var (m, n, k) in new[] { (20, 196, 50), (7, 45, 33), (50, 64, 100) })
                CheckIndexed(random, false, transB, batch: 2, m, n, k, accumulate: false, sharedC: transB, runWidth: width, runStep: step);
    }

    /// <summary>Unit-stride rows of 16, 32 and 48 offsets make micro-panels whose two vector-wide halves are runs, which
    /// the kernel reads in place instead of packing (for float and double, with AVX-512 or AVX2 registers); mixed with
    /// packed panels (a row boundary inside a half, ragged last columns), over several k slabs (k > KC, so C is
    /// reloaded), several row blocks (m > MC), accumulating or not, one shared C or one per item.</summary>
    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(48)]
    public void IndexedBReadInPlaceMatchesNaiveReference(int width)
    {
        var random = new Random(100 + width);
        foreach (var (m, n, k) in new[] { (150, 96, 300), (13, 100, 600), (64, 160, 40) })
            foreach (bool accumulate in new[] { false, true })
                CheckIndexed(random, false, false, batch: 2, m, n, k, accumulate, sharedC: !accumulate && m < 100, runWidth: width);
    }

    /// <summary>An indexed A (A(i, p) at rows[i] + cols[p], the way a convolution's weight gradient reads the input as
    /// taps × positions) is broadcast in place by the micro-kernel: every B layout, ragged row panels (m not a multiple
    /// of 6), several k slabs and row blocks, one C per item or one shared C summing the batch (split by items or by
    /// strips), accumulating or not.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IndexedAMatchesNaiveReference(bool transB)
    {
        var random = new Random(transB ? 31 : 37);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 17, 5), (27, 64, 300), (13, 70, 31), (300, 40, 600), (576, 130, 64) })
            foreach (bool accumulate in new[] { false, true })
                foreach (bool sharedC in new[] { false, true })
                    CheckIndexedA(random, transB, batch: 3, m, n, k, accumulate, sharedC);
    }

    private static void CheckIndexedA(Random random, bool transB, int batch, int m, int n, int k, bool accumulate, bool sharedC)
    {
        var cols = new int[k];
        for (int p = 0, at = random.Next(3); p < k; p++, at += random.Next(3) == 0 ? 2 + random.Next(5) : 1) cols[p] = at;
        int span = cols[^1] + 1;
        var rows = new int[m];
        for (int i = 0; i < m; i++) rows[i] = random.Next(0, 3 * span);
        long strideA = 4L * span + 5;
        var a = Fill(random, (int)(strideA * batch));
        int ldb = (transB ? k : n) + 3;
        long strideB = (long)(transB ? n : k) * ldb;
        var b = Fill(random, (int)(strideB * batch));
        long strideC = sharedC ? 0 : (long)m * n;
        var c = Fill(random, (int)(sharedC ? m * n : strideC * batch));
        var (a64, b64, c64) = (Array.ConvertAll(a, v => (double)v), Array.ConvertAll(b, v => (double)v), Array.ConvertAll(c, v => (double)v));
        bool acc = accumulate || sharedC;
        if (sharedC && !accumulate) { Array.Clear(c); Array.Clear(c64); }
        var expected = Array.ConvertAll(c, v => (double)v);
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                        sum += (double)a[bt * strideA + rows[i] + cols[p]] * b[bt * strideB + (transB ? j * ldb + p : p * ldb + j)];
                    long at = bt * strideC + i * n + j;
                    expected[at] = (acc ? expected[at] : 0) + sum;
                }
        Gemm.Run(false, transB, batch, m, n, k, a, 0, 0, strideA, b, 0, ldb, strideB, c, 0, n, strideC, acc, aRows: rows, aCols: cols);
        Gemm.Run(false, transB, batch, m, n, k, a64, 0, 0, strideA, b64, 0, ldb, strideB, c64, 0, n, strideC, acc, aRows: rows, aCols: cols);
        double tolerance = 1e-5 * Math.Max(1, k) * (sharedC ? batch : 1);
        for (int i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(c[i] - expected[i]) <= tolerance, $"indexed A float m={m} n={n} k={k} tB={transB} acc={accumulate} shared={sharedC} at {i}: {c[i]} vs {expected[i]}");
            Assert.True(Math.Abs(c64[i] - expected[i]) <= 1e-9 * Math.Max(1, k) * batch, $"indexed A double m={m} n={n} k={k} at {i}: {c64[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void IndexedARejectsBadTablesAndTransposition()
    {
        var a = new float[64]; var b = new float[16]; var c = new float[16];
        Assert.Throws<ArgumentException>(() => Gemm.Run(false, false, 1, 2, 2, 2, a, 0, 0, 0, b, 0, 2, 0, c, 0, 2, 0, false, aRows: [0, 60], aCols: [0, 4]));
        Assert.Throws<ArgumentException>(() => Gemm.Run(true, false, 1, 2, 2, 2, a, 0, 0, 0, b, 0, 2, 0, c, 0, 2, 0, false, aRows: [0, 4], aCols: [0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Run(false, false, 1, 2, 2, 2, a, 0, 0, 0, b, 0, 2, 0, c, 0, 2, 0, false, aRows: [-1, 4], aCols: [0, 1]));
    }

    [Fact]
    public void IndexedBRejectsBadTables()
    {
        var a = new float[16]; var b = new float[64]; var c = new float[16];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Run(false, false, 1, 2, 2, 2, a, 0, 2, 0, b, 0, 0, 0, c, 0, 2, 0, false, [0, 4], [3, 3]));
        Assert.Throws<ArgumentException>(() => Gemm.Run(false, false, 1, 2, 2, 2, a, 0, 2, 0, b, 0, 0, 0, c, 0, 2, 0, false, [0, 60], [0, 4]));
        Assert.Throws<ArgumentException>(() => Gemm.Run(false, false, 1, 2, 2, 2, a, 0, 2, 0, b, 0, 0, 0, c, 0, 2, 0, false, [0, 4], null));
    }

    /// <summary>An indexed B (element (r, q) of the stored matrix at rows[r] + cols[q], cols made of consecutive runs
    /// with gaps, so both the vector and the gather paths run) against a naive loop over the same elements.</summary>
    private static void CheckIndexed(Random random, bool transA, bool transB, int batch, int m, int n, int k, bool accumulate, bool sharedC,
        int runWidth = 0, int runStep = 1)
    {
        int sRows = transB ? n : k, sCols = transB ? k : n;
        var cols = new int[sCols];
        for (int q = 0, at = random.Next(3); q < sCols; q++)
        {
            cols[q] = at;
            at += runWidth > 0 ? (q % runWidth == runWidth - 1 ? runStep + 4 : runStep) : random.Next(4) == 0 ? 2 + random.Next(5) : 1;
        }
        int span = cols[^1] + 1;
        var rows = new int[sRows];
        for (int r = 0; r < sRows; r++) rows[r] = random.Next(0, 3 * span);
        long strideB = 4L * span + 7;
        var b = Fill(random, (int)(strideB * batch));
        var b64 = Array.ConvertAll(b, v => (double)v);
        int lda = transA ? m + 1 : k + 2;
        long strideA = (long)(transA ? k : m) * lda;
        var a = Fill(random, (int)(strideA * batch));
        var a64 = Array.ConvertAll(a, v => (double)v);
        long strideC = sharedC ? 0 : (long)m * n;
        var c = Fill(random, (int)(sharedC ? m * n : strideC * batch));
        var c64 = Array.ConvertAll(c, v => (double)v);
        var expected = Array.ConvertAll(c, v => accumulate ? (double)v : 0.0);
        for (int bt = 0; bt < batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = a[bt * strideA + (transA ? p * lda + i : i * lda + p)];
                        double bv = b[bt * strideB + (transB ? rows[j] + cols[p] : rows[p] + cols[j])];
                        sum += av * bv;
                    }
                    expected[bt * strideC + i * n + j] += sum;
                }
        bool acc = accumulate || sharedC;
        if (sharedC && !accumulate) { Array.Clear(c); Array.Clear(c64); }
        Gemm.Run(transA, transB, batch, m, n, k, a, 0, lda, strideA, b, 0, 0, strideB, c, 0, n, strideC, acc, rows, cols);
        Gemm.Run(transA, transB, batch, m, n, k, a64, 0, lda, strideA, b64, 0, 0, strideB, c64, 0, n, strideC, acc, rows, cols);
        double tolerance = 1e-5 * Math.Max(1, k) * (sharedC ? batch : 1);
        for (int i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(c[i] - expected[i]) <= tolerance, $"indexed float m={m} n={n} k={k} tA={transA} tB={transB} acc={accumulate} shared={sharedC} at {i}: {c[i]} vs {expected[i]}");
            Assert.True(Math.Abs(c64[i] - expected[i]) <= 1e-9 * Math.Max(1, k), $"indexed double m={m} n={n} k={k} at {i}: {c64[i]} vs {expected[i]}");
        }
    }

    private static float[] Fill(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
