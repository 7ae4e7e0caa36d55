using AutoGradNet.Optim;

namespace AutoGradNet.Tests.Optim;

/// <summary>
/// A fixed float64 problem: f(θ) = Σ ½·aᵢθᵢ² + bᵢθᵢ, gradient g(θ) = a⊙θ + b, fed to the optimizer by setting
/// <see cref="Tensor.Grad"/> (so the tests do not depend on autograd).
/// </summary>
internal static class Problem
{
    public static readonly double[] Theta0 = [0.5, -1.2, 2.0, 0.05];
    private static readonly double[] A = [2.0, 0.5, 1.0, 3.0];
    private static readonly double[] B = [0.3, -0.4, 0.1, -0.2];

    public static double[] Grad(double[] theta)
    {
        var g = new double[theta.Length];
        for (int i = 0; i < theta.Length; i++) g[i] = A[i % A.Length] * theta[i] + B[i % B.Length];
        return g;
    }

    public static Tensor NewParam(DType dtype = DType.Float64, double[]? values = null)
    {
        var v = values ?? Theta0;
        return Tensor.From(v, v.Length).To(dtype).DetachFromDisposeScope().RequiresGrad_();
    }

    public static void SetGrad(Tensor p)
    {
        p.ZeroGrad();
        p.Grad = Tensor.From(Grad(p.ToDoubleArray()), p.Shape.ToArray()).To(p.DType);
    }

    /// <summary>Runs <paramref name="steps"/> steps and returns θ after each.</summary>
    public static List<double[]> Run(Optimizer optimizer, int steps, params Tensor[] parameters)
    {
        var trajectory = new List<double[]>();
        for (int t = 0; t < steps; t++)
        {
            foreach (var p in parameters) SetGrad(p);
            optimizer.Step();
            trajectory.Add([.. parameters.SelectMany(p => p.ToDoubleArray())]);
        }
        return trajectory;
    }

    public static void AssertClose(IReadOnlyList<double[]> expected, IReadOnlyList<double[]> actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int t = 0; t < expected.Count; t++)
        {
            Assert.Equal(expected[t].Length, actual[t].Length);
            for (int i = 0; i < expected[t].Length; i++)
            {
                double e = expected[t][i], a = actual[t][i];
                Assert.True(Math.Abs(e - a) <= tol * (1 + Math.Abs(e)), $"step {t + 1}, element {i}: expected {e:R}, got {a:R}");
            }
        }
    }

    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"index {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
