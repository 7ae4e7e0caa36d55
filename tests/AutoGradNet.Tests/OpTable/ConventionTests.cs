namespace AutoGradNet.Tests.OpTable;

/// <summary>
/// PyTorch's conventions at ties, kinks and bounds, which finite differences cannot decide (the op table keeps its
/// generated values away from these points): checked against the values PyTorch documents/computes.
/// </summary>
public class ConventionTests
{
    private static Tensor T(params double[] v) => Tensor.From(v, v.Length).RequiresGrad_();

    /// <summary>Gradients of sum(f(inputs)) with respect to every input.</summary>
    private static double[][] Grads(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        using var scope = Tensor.NewDisposeScope();
        var y = f(inputs).Sum();
        return Autograd.Grad([y], inputs, allowUnused: true).Select(g => g?.ToDoubleArray() ?? new double[0]).ToArray();
    }

    [Fact]
    public void ClampWithTensorBoundsGivesValuesOnABoundToTheInput()
    {
        var g = Grads(x => x[0].Clamp(x[1], x[2]), T(1, 2, 3, 0, 5), T(1, 0, 0, 1, 1), T(3, 3, 3, 3, 3));
        Assert.Equal([1, 1, 1, 0, 0], g[0]);
        Assert.Equal([0, 0, 0, 1, 0], g[1]);
        Assert.Equal([0, 0, 0, 0, 1], g[2]);
    }

    [Fact]
    public void ClampWithMinAboveMaxGivesEverythingToMax()
    {
        using var x = T(2, 0.5);
        using var lo = T(3, 3);
        using var hi = T(1, 1);
        var g = Grads(t => t[0].Clamp(t[1], t[2]), x, lo, hi);
        Assert.Equal([1.0, 1.0], x.Clamp(lo, hi).ToDoubleArray());
        Assert.Equal([0, 0], g[0]);
        Assert.Equal([0, 0], g[1]);
        Assert.Equal([1, 1], g[2]);
    }

    [Fact]
    public void ClampWithOneTensorBound()
    {
        Assert.Equal([1, 1, 0], Grads(x => x[0].Clamp(x[1], null), T(1, 2, 0), T(1, 1, 1))[0]);
        Assert.Equal([0, 0, 1], Grads(x => x[0].Clamp(x[1], null), T(1, 2, 0), T(1, 1, 1))[1]);
        Assert.Equal([1, 0, 1], Grads(x => x[0].Clamp(null, x[1]), T(1, 2, 0), T(1, 1, 1))[0]);
        Assert.Equal([0, 1, 0], Grads(x => x[0].Clamp(null, x[1]), T(1, 2, 0), T(1, 1, 1))[1]);
    }

    [Fact]
    public void ClampWithScalarBoundsPassesTheGradientOnTheBounds() =>
        Assert.Equal([1, 1, 0, 0], Grads(x => x[0].Clamp(-0.5, 0.5), T(-0.5, 0.5, 0.7, -2))[0]);

    [Fact]
    public void KinksAtZero()
    {
        Assert.Equal([0, 1, 0], Grads(x => x[0].Relu(), T(0, 1, -1))[0]);
        Assert.Equal([0, 1, -1], Grads(x => x[0].Abs(), T(0, 1, -1))[0]);
        Assert.Equal([0, 0, 0], Grads(x => x[0].Sign(), T(0, 1, -1))[0]);
        Assert.Equal([0.2, 1, 0.2], Grads(x => x[0].LeakyRelu(0.2), T(0, 1, -1e-9))[0]);
        Assert.Equal(0.5, Grads(x => x[0].Elu(0.5), T(0))[0][0], 15);
        Assert.Equal(0.5, Grads(x => x[0].Softplus(), T(0))[0][0], 15);
        Assert.Equal([0, 0, 0], Grads(x => x[0].Norm(2), T(0, 0, 0))[0]);
        Assert.Equal([0, 0], Grads(x => x[0].Std(), T(1.5, 1.5))[0]);
    }

    [Fact]
    public void TiesInReductions()
    {
        // max/min over a dim: the gradient goes to the returned (first) index; over everything and amax: shared evenly.
        Assert.Equal([1, 0, 0], Grads(x => x[0].Max(0).Values, T(3, 3, 1))[0]);
        Assert.Equal([0, 1, 0], Grads(x => x[0].Min(0).Values, T(3, 1, 1))[0]);
        Assert.Equal([0.5, 0.5, 0], Grads(x => x[0].Max(), T(3, 3, 1))[0]);
        Assert.Equal([0, 0.5, 0.5], Grads(x => x[0].Min(), T(3, 1, 1))[0]);
        Assert.Equal([0.5, 0.5, 0], Grads(x => x[0].Amax([0]), T(3, 3, 1))[0]);
        Assert.Equal([1 / 3.0, 1 / 3.0, 1 / 3.0], Grads(x => x[0].Norm(double.PositiveInfinity), T(-2, 2, 2))[0].Select(v => Math.Abs(v)).ToArray());
        Assert.Equal(0L, Tensor.From(new double[] { 3, 3, 1 }, 3).Argmax().Item<long>());
    }

    [Fact]
    public void TiesInElementwiseMaximum()
    {
        var g = Grads(x => x[0].Maximum(x[1]), T(1, 2), T(1, 1));
        Assert.Equal([0.5, 1], g[0]);
        Assert.Equal([0.5, 0], g[1]);
    }

    [Fact]
    public void PowAtZero()
    {
        // d/da a^b at a = 0: 0 for b = 0 (masked), b·0^(b−1) otherwise; d/db at a = 0, b ≥ 0: 0.
        var g = Grads(x => x[0].Pow(x[1]), T(0, 0, 0), T(0, 1, 2));
        Assert.Equal([0, 1, 0], g[0]);
        Assert.Equal([0, 0, 0], g[1]);
        Assert.Equal([0, 0], Grads(x => x[0].Pow(0.0), T(0, 2))[0]);
    }

    [Fact]
    public void IndexOpsRejectNegativeIndicesAsPyTorch()
    {
        using var x = Tensor.From(new double[] { 1, 2, 3 }, 3);
        using var index = Tensor.From(new long[] { 0, -1 }, 2);
        Assert.Throws<IndexOutOfRangeException>(() => x.Gather(0, index));
        Assert.Throws<IndexOutOfRangeException>(() => x.IndexSelect(0, index));
        using var source = Tensor.From(new double[] { 1, 1 }, 2);
        Assert.Throws<IndexOutOfRangeException>(() => x.ScatterAdd(0, index, source));
        Assert.Throws<IndexOutOfRangeException>(() => x.IndexAdd(0, index, source));
    }

    [Fact]
    public void LargeScatterAddReportsABadIndexItselfFromTheParallelPath()
    {
        // Large enough for the row-parallel kernel: the error must not arrive wrapped in an AggregateException.
        var indices = new long[512 * 1024];
        indices[500 * 1024 + 7] = 64;
        using var bad = Tensor.From(indices, 512, 1024);
        using var source = Tensor.Ones([512, 1024]);
        using var x = Tensor.Zeros([512, 64]);
        var e = Assert.Throws<IndexOutOfRangeException>(() => x.ScatterAdd(1, bad, source));
        Assert.Contains("scatter_add", e.Message);
        indices[500 * 1024 + 7] = 3;
        using var good = Tensor.From(indices, 512, 1024);
        using var sum = Tensor.Zeros([512, 64]).ScatterAdd(1, good, source);
        Assert.Equal(1023.0, sum[500][0].Item(), 6);
        Assert.Equal(1.0, sum[500][3].Item(), 6);
        Assert.Equal(0.0, sum[500][5].Item(), 6);
        Assert.Equal(1024.0, sum[7][0].Item(), 6);
    }

    [Fact]
    public void IntegralTensorsCompareWithFractionalScalarsByValue()
    {
        using var x = Tensor.From(new long[] { -1, 0, 1 }, 3);
        Assert.Equal([true, true, false], x.Lt(0.5).ToArray<bool>());
        Assert.Equal([false, true, true], x.Ge(-0.5).ToArray<bool>());
        Assert.Equal([false, false, false], x.Eq(0.5).ToArray<bool>());
        using var flags = Tensor.From(new[] { true, false });
        Assert.Equal([false, false], flags.Eq(2.0).ToArray<bool>());
        Assert.Equal([true, true], flags.Gt(-1.0).ToArray<bool>());
    }

    [Fact]
    public void MaxPoolWindowWithNoInputPositionIsMinusInfinityWithNoGradient()
    {
        // Kernel 2, dilation 3, padding 2 (at most half the effective kernel 4, so PyTorch accepts it) on a length-2
        // input: the windows read positions {−2, 1}, {−1, 2} and {0, 3}; the middle one holds no input position. PyTorch's
        // CPU kernel gives −∞ there (with an index outside the window); the library gives −∞ with index −1, and such an
        // output passes no gradient back.
        using var x = T(0.5, -1.5);
        using var x3 = x.Reshape(1, 1, 2);
        var (values, indices) = Functional.MaxPool1dWithIndices(x3, 2, stride: 1, padding: 2, dilation: 3);
        Assert.Equal([-1.5, double.NegativeInfinity, 0.5], values.ToDoubleArray());
        Assert.Equal([1L, -1L, 0L], indices.ToArray<long>());
        Assert.Equal([1.0, 1.0], Grads(t => Functional.MaxPool1d(t[0].Reshape(1, 1, 2), 2, 1, 2, 3), x)[0]);
        // Every window empty (2-D, one row): all −∞, all gradients zero.
        using var row = T(1, 2);
        Assert.All(Functional.MaxPool2d(row.Reshape(1, 1, 1, 2), (2, 1), stride: 1, padding: (2, 0), dilation: (3, 1)).ToDoubleArray(),
            v => Assert.Equal(double.NegativeInfinity, v));
        Assert.Equal([0.0, 0.0], Grads(t => Functional.MaxPool2d(t[0].Reshape(1, 1, 1, 2), (2, 1), 1, (2, 0), (3, 1)), row)[0]);
    }
}
