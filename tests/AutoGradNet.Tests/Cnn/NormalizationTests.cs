using F = AutoGradNet.Functional;

namespace AutoGradNet.Tests.Cnn;

public class NormalizationTests
{
    private static Tensor Rand(int[] shape, ulong seed, bool grad = false)
    {
        var t = Tensor.Randn(shape, DType.Float64, new Generator(seed));
        return grad ? t.RequiresGrad_() : t;
    }

    /// <summary>Naive per-channel statistics over all dims but 1.</summary>
    private static (double[] Mean, double[] BiasedVar) ChannelStats(double[] x, int[] shape)
    {
        int c = shape[1], inner = x.Length / shape[0] / c;
        var mean = new double[c];
        var variance = new double[c];
        int count = shape[0] * inner;
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int n = 0; n < shape[0]; n++) for (int i = 0; i < inner; i++) s += x[(n * c + ch) * inner + i];
            mean[ch] = s / count;
            double v = 0;
            for (int n = 0; n < shape[0]; n++) for (int i = 0; i < inner; i++) v += Math.Pow(x[(n * c + ch) * inner + i] - mean[ch], 2);
            variance[ch] = v / count;
        }
        return (mean, variance);
    }

    [Fact]
    public void BatchNormTrainingNormalisesAndUpdatesRunningStats()
    {
        int[] shape = [4, 3, 2, 2];
        var x = Rand(shape, 1);
        var gamma = Rand([3], 2);
        var beta = Rand([3], 3);
        var runningMean = Tensor.Zeros([3], DType.Float64);
        var runningVar = Tensor.Ones([3], DType.Float64);
        var y = F.BatchNorm(x, runningMean, runningVar, gamma, beta, training: true, momentum: 0.1, eps: 1e-5);
        var data = x.ToArray<double>();
        var (mean, variance) = ChannelStats(data, shape);
        var yd = y.ToArray<double>();
        var g = gamma.ToArray<double>();
        var b = beta.ToArray<double>();
        for (int i = 0; i < data.Length; i++)
        {
            int ch = i / 4 % 3;
            Assert.Equal((data[i] - mean[ch]) / Math.Sqrt(variance[ch] + 1e-5) * g[ch] + b[ch], yd[i], 12);
        }
        int count = 16;
        for (int ch = 0; ch < 3; ch++)
        {
            Assert.Equal(0.1 * mean[ch], runningMean.ToArray<double>()[ch], 14);
            Assert.Equal(0.9 + 0.1 * variance[ch] * count / (count - 1), runningVar.ToArray<double>()[ch], 14); // unbiased
        }
    }

    /// <summary>
    /// The running statistics of the op table's batch_norm samples: one update per training call (against the table's
    /// reference), none from backward or from evaluation calls, and never part of the graph.
    /// </summary>
    [Fact]
    public void BatchNormRunningStatsUpdateOncePerTrainingCall()
    {
        var row = OpTable.OpTable.Get("batch_norm.running_stats");
        foreach (var sample in row.Samples())
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                using var scope = Tensor.NewDisposeScope();
                var values = OpTable.Harness.MakeValues(row, sample, OpTable.Harness.SeededSource("running/" + sample.Name));
                var inputs = OpTable.Harness.MakeInputs(sample, values, dtype, requiresGrad: false);
                var x = inputs[0].Clone().RequiresGrad_();
                var (mean, variance) = (inputs[1], inputs[2]);
                double momentum = sample.Dbl(0);
                var expected = OpTable.Reference.BatchNormRunningStats(
                    new OpTable.RT(x.ToDoubleArray(), x.Shape.ToArray()), new OpTable.RT(mean.ToDoubleArray(), [mean.Numel]),
                    new OpTable.RT(variance.ToDoubleArray(), [variance.Numel]), momentum).Data;
                var y = F.BatchNorm(x, mean, variance, training: true, momentum: momentum);
                y.Mul(y).Sum().Backward();
                F.BatchNorm(x, mean, variance, training: false).Sum().Backward();
                Assert.False(mean.RequiresGrad || variance.RequiresGrad);
                Assert.Null(mean.GradFn);
                var actual = mean.ToDoubleArray().Concat(variance.ToDoubleArray()).ToArray();
                CnnReference.AssertClose(expected, actual, dtype == DType.Float64 ? 1e-12 : 1e-5, $"running stats ({sample.Name}, {dtype.Name()})");
            }
    }

    [Fact]
    public void BatchNormEvalUsesRunningStatsAndSeedConventionIsExpressible()
    {
        var x = Rand([3, 2], 4);
        var rm = Tensor.From(new double[] { 0.5, -1 });
        var rv = Tensor.From(new double[] { 4, 0.25 });
        var y = F.BatchNorm(x, rm, rv, training: false, eps: 1e-3);
        var xd = x.ToArray<double>();
        for (int i = 0; i < 6; i++)
        {
            int ch = i % 2;
            Assert.Equal((xd[i] - rm.ToArray<double>()[ch]) / Math.Sqrt(rv.ToArray<double>()[ch] + 1e-3), y.ToArray<double>()[i], 12);
        }
        // Seed convention: running ← τ·running + (1 − τ)·batch with τ = 0.99 is momentum 0.01.
        var runningMean = Tensor.From(new double[] { 1, 1 });
        F.BatchNorm(x, runningMean, null, training: true, momentum: 1 - 0.99, eps: 1e-3);
        var (mean, _) = ChannelStats(xd, [3, 2]);
        Assert.Equal(0.99 * 1 + 0.01 * mean[0], runningMean.ToArray<double>()[0], 14);
    }

    [Fact]
    public void BatchNormWithOneValuePerChannelInTrainingThrows()
    {
        var e = Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Randn(1, 3), null, null, training: true));
        Assert.Contains("more than 1 value per channel", e.Message);
        Assert.Contains("[1, 3]", e.Message);
    }

    [Fact]
    public void NormalizationsGradCheck()
    {
        var x = Rand([2, 4, 3], 5, true);
        var w = Rand([4], 6, true);
        var b = Rand([4], 7, true);
        var opts = new GradCheckOptions { FastMode = true };
        Func<Tensor[], Tensor>[] fs =
        [
            t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true),
            t => F.InstanceNorm(t[0], t[1], t[2]),
            t => F.GroupNorm(t[0], 2, t[1], t[2]),
            t => F.LayerNorm(t[0], [3]),
            t => F.LocalResponseNorm(t[0], 3, 0.1, 0.75, 2.0),
        ];
        foreach (var f in fs)
        {
            Assert.True(GradCheck.Check(f, [x, w, b]));
            Assert.True(GradCheck.GradGradCheck(f, [x, w, b], opts));
        }
    }

    [Fact]
    public void LayerInstanceGroupNormNormaliseTheRightSets()
    {
        var x = Rand([2, 4, 3, 2], 8);
        // Group norm with one group per channel equals instance norm; with one group, layer norm over [C, H, W].
        Assert.True(F.GroupNorm(x, 4).AllClose(F.InstanceNorm(x), 1e-10, 1e-10));
        Assert.True(F.GroupNorm(x, 1).AllClose(F.LayerNorm(x, [4, 3, 2]), 1e-10, 1e-10));
        var ln = F.LayerNorm(x, [3, 2]);
        var rows = ln.Reshape(8, 6);
        Assert.True(rows.Mean(1).AllClose(Tensor.Zeros([8], DType.Float64), 0, 1e-12));
        Assert.True(rows.Var([1], correction: 0).AllClose(Tensor.Ones([8], DType.Float64), 1e-4, 1e-4));
        Assert.Throws<ArgumentException>(() => F.GroupNorm(x, 3));
        Assert.Throws<ArgumentException>(() => F.LayerNorm(x, [2, 3]));
    }

    [Fact]
    public void LocalResponseNormMatchesSeedFormula()
    {
        // b_c = a_c / (k + α Σ_{j=c−2}^{c+2} a_j²)^β (AlexNet: size 5, α 1e-4, β 0.75, k 2).
        var x = Rand([1, 7, 2, 1], 9).Mul(10.0);
        var y = F.LocalResponseNorm(x, 5, 1e-4, 0.75, 2, alphaPerSize: false).ToArray<double>();
        var yTorch = F.LocalResponseNorm(x, 5, 5e-4, 0.75, 2).ToArray<double>(); // PyTorch divides α by the size
        var a = x.ToArray<double>();
        for (int c = 0; c < 7; c++)
            for (int p = 0; p < 2; p++)
            {
                double s = 0;
                for (int j = Math.Max(0, c - 2); j <= Math.Min(6, c + 2); j++) s += a[j * 2 + p] * a[j * 2 + p];
                double expected = a[c * 2 + p] / Math.Pow(2 + 1e-4 * s, 0.75);
                Assert.Equal(expected, y[c * 2 + p], 12);
                Assert.Equal(expected, yTorch[c * 2 + p], 12);
            }
    }

    [Fact]
    public void DropoutScalesKeptElementsAndIsSeeded()
    {
        var x = Tensor.Ones([10000], DType.Float64);
        var y = F.Dropout(x, 0.3, training: true, new Generator(1)).ToArray<double>();
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7) < 1e-12));
        double kept = y.Count(v => v != 0) / 10000.0;
        Assert.InRange(kept, 0.67, 0.73);
        Assert.Equal(y, F.Dropout(x, 0.3, training: true, new Generator(1)).ToArray<double>());
        Assert.Same(x, F.Dropout(x, 0.3, training: false));
        Assert.Throws<ArgumentException>(() => F.Dropout(x, 1.5));
        var grad = Tensor.Ones([100], DType.Float64).RequiresGrad_();
        var dropped = F.Dropout(grad, 0.5, true, new Generator(2));
        dropped.Sum().Backward();
        Assert.Equal(dropped.ToArray<double>(), grad.Grad!.ToArray<double>()); // gradient is the same mask
    }

    [Fact]
    public void Dropout2dZeroesWholeChannels()
    {
        var x = Tensor.Ones([4, 8, 3, 3]);
        var y = F.Dropout2d(x, 0.5, training: true, new Generator(3));
        var perChannel = y.Reshape(32, 9).ToArray<float>();
        for (int c = 0; c < 32; c++)
        {
            var values = perChannel.Skip(c * 9).Take(9).Distinct().ToArray();
            Assert.Single(values);
            Assert.True(values[0] == 0 || values[0] == 2);
        }
        Assert.Contains(0f, perChannel);
        Assert.Contains(2f, perChannel);
    }

    [Fact]
    public void FoldedBatchNormGivesTheSameOutputs()
    {
        var x = Rand([2, 3, 6, 6], 10);
        var w = Rand([4, 3, 3, 3], 11);
        var b = Rand([4], 12);
        var rm = Rand([4], 13);
        var rv = Rand([4], 14).Abs().Add(0.5);
        var gamma = Rand([4], 15);
        var beta = Rand([4], 16);
        var reference = F.BatchNorm(F.Conv2d(x, w, b, padding: 1), rm, rv, gamma, beta, training: false);
        var (fw, fb) = F.FoldBatchNorm(w, b, rm, rv, gamma, beta);
        Assert.True(F.Conv2d(x, fw, fb, padding: 1).AllClose(reference, 1e-10, 1e-10));
    }
}
