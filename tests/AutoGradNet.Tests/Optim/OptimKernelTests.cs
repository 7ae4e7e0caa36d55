using AutoGradNet.Kernels;
using AutoGradNet.Optim;

namespace AutoGradNet.Tests.Optim;

/// <summary>
/// The optimizer update operators run a vector form on the CPU's contiguous spans and the scalar form everywhere else
/// (strided tensors, span tails, GPU kernels). Both must give the same bits, or the same update would depend on a
/// tensor's layout and length: checked on lengths with and without a tail, in float32 and float64, in place too.
/// </summary>
public class OptimKernelTests
{
    private static T[] Random<T>(int n, int seed, bool positive) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => T.CreateChecked(positive ? rng.NextDouble() * 3 + 0.1 : rng.NextDouble() * 4 - 2)).ToArray();
    }

    private static void CheckBinary<T, TOp>(TOp op, bool positive = false) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        where TOp : struct, IVectorBinaryOperator
    {
        foreach (int n in new[] { 1, 7, 8, 37, 64 })
        {
            T[] a = Random<T>(n, 1, positive), b = Random<T>(n, 2, positive), y = new T[n];
            op.Invoke<T>(a, b, y);
            for (int i = 0; i < n; i++)
                Assert.True(y[i] == op.Invoke(a[i], b[i]), $"{typeof(TOp).Name} {typeof(T).Name} n={n} [{i}]: {y[i]} vs {op.Invoke(a[i], b[i])}");
            // In place (y = a), as the optimizers call it.
            var expected = a.Zip(b, (u, v) => op.Invoke(u, v)).ToArray();
            op.Invoke<T>(a, b, a);
            Assert.Equal(expected, a);
        }
    }

    private static void CheckUnary<T, TOp>(TOp op) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        where TOp : struct, IVectorUnaryOperator
    {
        foreach (int n in new[] { 1, 7, 8, 37, 64 })
        {
            T[] x = Random<T>(n, 3, positive: true), y = new T[n];
            op.Invoke<T>(x, y);
            for (int i = 0; i < n; i++) Assert.True(y[i] == op.Invoke(x[i]), $"{typeof(TOp).Name} {typeof(T).Name} n={n} [{i}]");
        }
    }

    [Fact]
    public void VectorFormsRoundLikeTheScalarForms()
    {
        CheckBinary<float, LinearComboOperator>(new(0.9, -0.013));
        CheckBinary<double, LinearComboOperator>(new(0.9, -0.013));
        CheckBinary<float, LerpOperator>(new(0.1));
        CheckBinary<double, LerpOperator>(new(0.1));
        CheckBinary<float, SquareAccumulateOperator>(new(0.999, 0.001));
        CheckBinary<double, SquareAccumulateOperator>(new(0.999, 0.001));
        CheckBinary<float, ScaledDivOperator>(new(-0.003), positive: true);
        CheckBinary<double, ScaledDivOperator>(new(-0.003), positive: true);
        CheckUnary<float, RootOperator>(new(0.7, 1e-8));
        CheckUnary<double, RootOperator>(new(0.7, 1e-8));
        CheckUnary<float, ScaleOperator>(new(-0.01));
        CheckUnary<double, ScaleOperator>(new(-0.01));
    }

    [Fact]
    public void CenteredRootMatchesItsScalarForm()
    {
        // a − b² must stay positive: a from [0.1, 3.1), b scaled down.
        foreach (int n in new[] { 5, 37 })
        {
            var a = Random<float>(n, 4, positive: true);
            var b = Random<float>(n, 5, positive: false).Select(v => v * 0.1f).ToArray();
            var y = new float[n];
            var op = new CenteredRootOperator(1e-8);
            op.Invoke<float>(a, b, y);
            for (int i = 0; i < n; i++) Assert.True(y[i] == op.Invoke(a[i], b[i]), $"[{i}]");
        }
    }
}
