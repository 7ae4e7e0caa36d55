namespace AutoGradNet.Kernels;

/// <summary>Special functions that .NET's Math lacks, written branch-light so GPU kernels can use them too.</summary>
public static class Special
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtPi = 0.5641895835477563;

    /// <summary>The error function, accurate to about 1e-15 relative in double.</summary>
    /// <remarks>
    /// |x| &lt; 2: the Maclaurin series 2/√π Σ (−1)ⁿ x²ⁿ⁺¹ / (n!(2n+1)) (terms stay below 10, so little cancellation).
    /// |x| ≥ 2: 1 − erfc x, with erfc from its continued fraction e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))),
    /// evaluated bottom-up with a fixed number of terms (it converges fast for x ≥ 2).
    /// </remarks>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        double result;
        if (ax < 2.0)
        {
            double x2 = x * x, term = x, sum = x;
            for (int n = 1; n < 40; n++)
            {
                term *= -x2 / n;
                sum += term / (2 * n + 1);
            }
            return TwoOverSqrtPi * sum;
        }
        if (ax > 6.0) result = 1.0;
        else
        {
            double f = ax;
            for (int k = 60; k >= 1; k--) f = ax + k * 0.5 / f;
            result = 1.0 - Math.Exp(-ax * ax) * InvSqrtPi / f;
        }
        return x < 0 ? -result : result;
    }
}
