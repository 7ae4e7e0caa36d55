namespace AutoGradNet.Tests;

public class TensorTests
{
    [Fact]
    public void CreationFunctions()
    {
        Assert.Equal([0f, 0, 0, 0, 0, 0], Tensor.Zeros(2, 3).ToArray<float>());
        Assert.Equal(DType.Float32, Tensor.Ones(2).DType);
        Assert.Equal([2.5, 2.5], Tensor.Full([2], 2.5, DType.Float64).ToArray<double>());
        Assert.Equal([0f, 1, 2, 3, 4], Tensor.Arange(5).ToArray<float>());
        Assert.Equal([1.0, 1.5, 2.0], Tensor.Arange(1, 2.4, 0.5, DType.Float64).ToArray<double>());
        Assert.Equal([0.0, 0.25, 0.5, 0.75, 1.0], Tensor.Linspace(0, 1, 5, DType.Float64).ToArray<double>());
        Assert.Equal([1f, 0, 0, 0, 1, 0], Tensor.Eye(2, 3).ToArray<float>());
        Assert.Equal(new Shape(2, 3), Tensor.Eye(2, 3).Shape);
        var fromMulti = Tensor.From(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal(new Shape(2, 3), fromMulti.Shape);
        Assert.Equal(6f, fromMulti[1][2].Item<float>());
        Assert.Equal(new Shape(2, 2, 1), Tensor.From(new double[,,] { { { 1 }, { 2 } }, { { 3 }, { 4 } } }).Shape);
        Assert.Equal(DType.Int64, Tensor.From(new[] { 1, 2 }).DType);
        Assert.Equal(3.0, Tensor.Scalar(3).Item());
    }

    [Fact]
    public void InvalidCreationThrows()
    {
        Assert.Throws<ArgumentException>(() => Tensor.From(new float[] { 1, 2, 3 }, 2, 2));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(-1, 2));
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0, 1, 0));
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).Item());
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).ToArray<double>());
    }

    [Fact]
    public void SameSeedSameNumbers()
    {
        var a = Tensor.Randn([1000], DType.Float32, new Generator(42)).ToArray<float>();
        var b = Tensor.Randn([1000], DType.Float32, new Generator(42)).ToArray<float>();
        var c = Tensor.Randn([1000], DType.Float32, new Generator(43)).ToArray<float>();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        double mean = a.Average(v => (double)v), var = a.Average(v => (v - mean) * (v - mean));
        Assert.InRange(mean, -0.1, 0.1);
        Assert.InRange(var, 0.85, 1.15);
        var u = Tensor.Rand([1000], DType.Float64, new Generator(1)).ToArray<double>();
        Assert.All(u, v => Assert.InRange(v, 0.0, 1.0 - double.Epsilon));
        var ints = Tensor.Randint(-2, 3, [500], generator: new Generator(5)).ToArray<long>();
        Assert.All(ints, v => Assert.InRange(v, -2L, 2L));
        Assert.Equal(5, ints.Distinct().Count());
    }

    [Fact]
    public void RandomStreamIsPinnedAcrossMachines()
    {
        // Philox4x32-10 known-answer values (Random123's test vector: counter 0, key 0).
        var (a, b, c, d) = Kernels.Philox.Block(0, 0);
        Assert.Equal((0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u), (a, b, c, d));
    }

    [Fact]
    public void ViewsShareStorage()
    {
        var t = Tensor.Arange(6, DType.Float64).Reshape(2, 3);
        var tt = t.T;
        Assert.False(tt.IsContiguous);
        Assert.Equal([0.0, 3, 1, 4, 2, 5], tt.ToArray<double>());
        var c = tt.Contiguous();
        Assert.True(c.IsContiguous);
        Assert.Equal(tt.ToArray<double>(), c.ToArray<double>());
        var row = t.Select(0, 1);
        using (GradMode.NoGrad()) row.FillInPlace(9);
        Assert.Equal([0.0, 1, 2, 9, 9, 9], t.ToArray<double>());
        var expanded = Tensor.From(new double[] { 1, 2 }).Reshape(2, 1).Expand(2, 3);
        Assert.Equal(0, expanded.Stride(1));
        Assert.Equal([1.0, 1, 1, 2, 2, 2], expanded.ToArray<double>());
    }

    [Fact]
    public void ToStringLooksLikePyTorch()
    {
        Assert.Equal("tensor([[1., 2.],\n        [3., 4.]], size=(2, 2))", Tensor.From(new float[,] { { 1, 2 }, { 3, 4 } }).ToString());
        Assert.Equal("tensor([0.5000, 1.2500], size=(2,), dtype=float64)", Tensor.From(new double[] { 0.5, 1.25 }).ToString());
        Assert.Equal("tensor(3.)", Tensor.Scalar(3).ToString());
        var x = Tensor.From(new double[] { 1, 2 }).RequiresGrad_();
        Assert.EndsWith("requires_grad=True)", x.ToString());
        Assert.Contains("grad_fn=<MulBackward>", (x * 2.0).ToString());
        var big = Tensor.Arange(2000).ToString();
        Assert.Contains("...", big);
        Assert.Contains("1999.", big);
        Assert.Contains("size=(2000,)", big);
        Assert.Equal("tensor([ True, False], size=(2,), dtype=bool)", Tensor.From(new[] { true, false }).ToString());
    }

    [Fact]
    public void MismatchesThrowNamingOpAndShapes()
    {
        var a = Tensor.Ones(2, 3);
        var e1 = Assert.Throws<ArgumentException>(() => a.Add(Tensor.Ones(4)));
        Assert.Contains("add", e1.Message);
        Assert.Contains("[2, 3]", e1.Message);
        Assert.Contains("[4]", e1.Message);
        var e2 = Assert.Throws<InvalidOperationException>(() => a.Mul(Tensor.Ones([2, 3], DType.Float64)));
        Assert.Contains("float64", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => a.Matmul(Tensor.Ones(2, 3)));
        Assert.Contains("matmul", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => a.Reshape(4, 2));
        Assert.Contains("reshape", e4.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Sum(2));
        Assert.Throws<InvalidOperationException>(() => Tensor.From(new long[] { 1 }).Exp());
        var e5 = Assert.Throws<ArgumentException>(() => Loss.CrossEntropy(Tensor.Ones(4, 3), Tensor.From(new long[] { 0, 1 })));
        Assert.Contains("cross_entropy", e5.Message);
        Assert.Throws<ArgumentException>(() => Loss.CrossEntropy(Tensor.Ones(2, 3), Tensor.From(new long[] { 0, 3 })));
        Assert.Throws<IndexOutOfRangeException>(() => Tensor.Ones(3).IndexSelect(0, Tensor.From(new long[] { 3 })));
    }
    [Theory]
    [InlineData(70, 2100, false)] // column blocks spread over the cores
    [InlineData(5, 3, false)]
    [InlineData(1, 9, true)]
    public void SumOverLeadingDimsAddsColumnsInPlace(int rows, int cols, bool keepDim)
    {
        // Sums over leading dims of a contiguous tensor (a linear layer's bias gradient, a conv bias's after its
        // spatial sum) go down the columns without a transposed copy; checked against a float64 loop.
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([rows, cols / 3 == 0 ? cols : 3, cols / 3 == 0 ? 1 : cols / 3], dtype, new Generator(3));
            var y = x.Sum([0], keepDim);
            var values = x.ToDoubleArray();
            int inner = x.Numel / rows;
            var got = y.ToDoubleArray();
            Assert.Equal(inner, got.Length);
            Assert.Equal(keepDim ? [1, .. x.Shape.ToArray()[1..]] : x.Shape.ToArray()[1..], y.Shape.ToArray());
            for (int c = 0; c < inner; c++)
            {
                double expected = 0;
                for (int r = 0; r < rows; r++) expected += values[r * inner + c];
                Assert.True(Math.Abs(got[c] - expected) <= (dtype == DType.Float32 ? 1e-4 : 1e-11) * (1 + Math.Abs(expected)),
                    $"{dtype} column {c}: {got[c]} vs {expected}");
            }
            // conv-bias shape: [N, C, H, W] summed over (0, 2, 3)
            var z = Tensor.Randn([rows, 4, 3, 2], dtype, new Generator(4));
            var bias = z.Sum([0, 2, 3]).ToDoubleArray();
            var zv = z.ToDoubleArray();
            for (int ch = 0; ch < 4; ch++)
            {
                double expected = 0;
                for (int n = 0; n < rows; n++)
                    for (int i = 0; i < 6; i++) expected += zv[(n * 4 + ch) * 6 + i];
                Assert.True(Math.Abs(bias[ch] - expected) <= (dtype == DType.Float32 ? 1e-4 : 1e-11) * (1 + Math.Abs(expected)));
            }
        }
    }
}
