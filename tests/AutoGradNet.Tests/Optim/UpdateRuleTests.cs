using AutoGradNet.Optim;
using static AutoGradNet.Tests.Optim.Problem;

namespace AutoGradNet.Tests.Optim;

/// <summary>
/// The first steps of every optimizer variant against a naive re-computation of the documented formula
/// (PyTorch's torch.optim docs), written here with plain double loops.
/// </summary>
public class UpdateRuleTests
{
    private const int Steps = 5;

    // ---- SGD -------------------------------------------------------------------------------------------------

    public static TheoryData<double, double, double, double, bool> SgdCases => new()
    {
        // lr, momentum, dampening, weight decay, nesterov
        { 0.1, 0, 0, 0, false },
        { 0.1, 0, 0, 0.05, false },
        { 0.1, 0.9, 0, 0, false },
        { 0.1, 0.9, 0.3, 0, false },
        { 0.1, 0.9, 0.3, 0.05, false },
        { 0.1, 0.9, 0, 0, true },
        { 0.05, 0.8, 0, 0.01, true },
    };

    [Theory]
    [MemberData(nameof(SgdCases))]
    public void SgdMatchesFormula(double lr, double momentum, double dampening, double wd, bool nesterov)
    {
        var p = NewParam();
        var actual = Run(new SGD([p], lr, momentum, dampening, wd, nesterov), Steps, p);

        var theta = (double[])Theta0.Clone();
        double[]? b = null;
        var expected = new List<double[]>();
        for (int t = 1; t <= Steps; t++)
        {
            var g = Grad(theta);
            var d = new double[theta.Length];
            for (int i = 0; i < d.Length; i++) d[i] = g[i] + wd * theta[i];
            if (momentum != 0)
            {
                if (b is null) b = (double[])d.Clone();
                else for (int i = 0; i < b.Length; i++) b[i] = momentum * b[i] + (1 - dampening) * d[i];
                for (int i = 0; i < d.Length; i++) d[i] = nesterov ? d[i] + momentum * b[i] : b[i];
            }
            for (int i = 0; i < theta.Length; i++) theta[i] -= lr * d[i];
            expected.Add((double[])theta.Clone());
        }
        AssertClose(expected, actual);
    }

    /// <summary>
    /// Seed deck: v ← 0.9·v − 0.0005·α·θ − α·∇, θ ← θ + v. PyTorch's SGD(momentum 0.9, weight decay 0.0005) gives
    /// the same iterates with b = −v/α while α is constant, and so does the velocity form.
    /// </summary>
    [Fact]
    public void SeedMomentumUpdateEqualsPyTorchSgdWithConstantLr()
    {
        const double alpha = 0.05;
        var seed = SeedRun(t => alpha, 6);
        var p1 = NewParam();
        var pytorchForm = Run(new SGD([p1], lr: alpha, momentum: 0.9, weightDecay: 0.0005), 6, p1);
        var p2 = NewParam();
        var velocityForm = Run(new SGD([p2], lr: alpha, momentum: 0.9, weightDecay: 0.0005, velocityForm: true), 6, p2);
        AssertClose(seed, pytorchForm);
        AssertClose(seed, velocityForm);
    }

    /// <summary>When α changes (here ÷10 from step 4), the seed form is the velocity form, not PyTorch's form.</summary>
    [Fact]
    public void SeedMomentumUpdateWithChangingLrNeedsVelocityForm()
    {
        static double Lr(int t) => t <= 3 ? 0.05 : 0.005;
        var seed = SeedRun(Lr, 6);

        var p = NewParam();
        var sgd = new SGD([p], lr: 0.05, momentum: 0.9, weightDecay: 0.0005, velocityForm: true);
        var q = NewParam();
        var torch = new SGD([q], lr: 0.05, momentum: 0.9, weightDecay: 0.0005);
        var velocity = new List<double[]>();
        var pytorch = new List<double[]>();
        for (int t = 1; t <= 6; t++)
        {
            sgd.ParamGroups[0].Lr = torch.ParamGroups[0].Lr = Lr(t);
            velocity.Add(Run(sgd, 1, p)[0]);
            pytorch.Add(Run(torch, 1, q)[0]);
        }
        AssertClose(seed, velocity);

        // PyTorch's form: b ← 0.9·b + ∇ + 0.0005·θ, θ ← θ − α·b.
        var theta = (double[])Theta0.Clone();
        double[]? b = null;
        var expected = new List<double[]>();
        for (int t = 1; t <= 6; t++)
        {
            var g = Grad(theta);
            b = b is null ? [.. g.Select((x, i) => x + 0.0005 * theta[i])] : [.. b.Select((x, i) => 0.9 * x + g[i] + 0.0005 * theta[i])];
            for (int i = 0; i < theta.Length; i++) theta[i] -= Lr(t) * b[i];
            expected.Add((double[])theta.Clone());
        }
        AssertClose(expected, pytorch);
        Assert.True(Math.Abs(velocity[5][0] - pytorch[5][0]) > 1e-4, "the two forms should differ after the lr change");
    }

    private static List<double[]> SeedRun(Func<int, double> alpha, int steps)
    {
        var theta = (double[])Theta0.Clone();
        var v = new double[theta.Length];
        var result = new List<double[]>();
        for (int t = 1; t <= steps; t++)
        {
            var g = Grad(theta);
            for (int i = 0; i < theta.Length; i++)
            {
                v[i] = 0.9 * v[i] - 0.0005 * alpha(t) * theta[i] - alpha(t) * g[i];
                theta[i] += v[i];
            }
            result.Add((double[])theta.Clone());
        }
        return result;
    }

    // ---- Adagrad ---------------------------------------------------------------------------------------------

    public static TheoryData<double, double, double, double, double> AdagradCases => new()
    {
        // lr, lr decay, weight decay, initial accumulator, eps
        { 0.1, 0, 0, 0, 1e-10 },
        { 0.1, 0.5, 0, 0, 1e-10 },
        { 0.1, 0, 0.05, 0, 1e-10 },
        { 0.1, 0, 0, 0.3, 1e-10 },
        { 0.2, 0.1, 0.02, 0.1, 0.5 },
    };

    [Theory]
    [MemberData(nameof(AdagradCases))]
    public void AdagradMatchesFormula(double lr, double lrDecay, double wd, double initial, double eps)
    {
        var p = NewParam();
        var actual = Run(new Adagrad([p], lr, lrDecay, wd, initial, eps), Steps, p);

        var theta = (double[])Theta0.Clone();
        var sum = Enumerable.Repeat(initial, theta.Length).ToArray();
        var expected = new List<double[]>();
        for (int t = 1; t <= Steps; t++)
        {
            var g = Grad(theta);
            double clr = lr / (1 + (t - 1) * lrDecay);
            for (int i = 0; i < theta.Length; i++)
            {
                double gi = g[i] + wd * theta[i];
                sum[i] += gi * gi;
                theta[i] -= clr * gi / (Math.Sqrt(sum[i]) + eps);
            }
            expected.Add((double[])theta.Clone());
        }
        AssertClose(expected, actual);
    }

    // ---- RMSprop ---------------------------------------------------------------------------------------------

    public static TheoryData<double, double, double, double, double, bool> RmspropCases => new()
    {
        // lr, alpha, eps, weight decay, momentum, centered
        { 0.01, 0.99, 1e-8, 0, 0, false },
        { 0.01, 0.9, 1e-8, 0.05, 0, false },
        { 0.01, 0.9, 1e-8, 0, 0.8, false },
        { 0.01, 0.9, 1e-8, 0, 0, true },
        { 0.02, 0.8, 1e-3, 0.05, 0.7, true },
    };

    [Theory]
    [MemberData(nameof(RmspropCases))]
    public void RmspropMatchesFormula(double lr, double alpha, double eps, double wd, double momentum, bool centered)
    {
        var p = NewParam();
        var actual = Run(new RMSprop([p], lr, alpha, eps, wd, momentum, centered), Steps, p);

        var theta = (double[])Theta0.Clone();
        int n = theta.Length;
        double[] v = new double[n], gAvg = new double[n], buf = new double[n];
        var expected = new List<double[]>();
        for (int t = 1; t <= Steps; t++)
        {
            var g = Grad(theta);
            for (int i = 0; i < n; i++)
            {
                double gi = g[i] + wd * theta[i];
                v[i] = alpha * v[i] + (1 - alpha) * gi * gi;
                double denom;
                if (centered)
                {
                    gAvg[i] = alpha * gAvg[i] + (1 - alpha) * gi;
                    denom = Math.Sqrt(v[i] - gAvg[i] * gAvg[i]) + eps;
                }
                else denom = Math.Sqrt(v[i]) + eps;
                if (momentum > 0)
                {
                    buf[i] = momentum * buf[i] + gi / denom;
                    theta[i] -= lr * buf[i];
                }
                else theta[i] -= lr * gi / denom;
            }
            expected.Add((double[])theta.Clone());
        }
        AssertClose(expected, actual);
    }

    // ---- Adam / AdamW ----------------------------------------------------------------------------------------

    public static TheoryData<bool, double, double, double, double, double, bool> AdamCases => new()
    {
        // decoupled (AdamW), lr, beta1, beta2, eps, weight decay, amsgrad
        { false, 0.1, 0.9, 0.999, 1e-8, 0, false },
        { false, 0.1, 0.9, 0.999, 1e-8, 0.05, false },
        { false, 0.1, 0.8, 0.9, 1e-8, 0, true },
        { false, 0.05, 0.5, 0.7, 1e-3, 0.1, true },
        { true, 0.1, 0.9, 0.999, 1e-8, 0.05, false },
        { true, 0.1, 0.8, 0.9, 1e-8, 0.1, true },
        { true, 0.1, 0.9, 0.999, 1e-8, 0, false },
    };

    [Theory]
    [MemberData(nameof(AdamCases))]
    public void AdamMatchesFormula(bool decoupled, double lr, double beta1, double beta2, double eps, double wd, bool amsgrad)
    {
        var p = NewParam();
        Optimizer opt = decoupled ? new AdamW([p], lr, beta1, beta2, eps, wd, amsgrad) : new Adam([p], lr, beta1, beta2, eps, wd, amsgrad);
        var actual = Run(opt, Steps, p);
        AssertClose(AdamReference(decoupled, lr, beta1, beta2, eps, wd, amsgrad, Steps), actual);
    }

    [Fact]
    public void AdamWDiffersFromAdamOnlyThroughTheDecay()
    {
        var p1 = NewParam();
        var p2 = NewParam();
        var adam = Run(new Adam([p1], lr: 0.1, weightDecay: 0.1), 3, p1);
        var adamw = Run(new AdamW([p2], lr: 0.1, weightDecay: 0.1), 3, p2);
        Assert.True(Math.Abs(adam[2][0] - adamw[2][0]) > 1e-4);
        var q1 = NewParam();
        var q2 = NewParam();
        Assert.Equal(Run(new Adam([q1], lr: 0.1), 3, q1), Run(new AdamW([q2], lr: 0.1, weightDecay: 0), 3, q2));
    }

    [Fact]
    public void Float32ParametersFollowTheFloat64Formula()
    {
        var p = NewParam(DType.Float32);
        var actual = Run(new Adam([p], lr: 0.1, weightDecay: 0.05, amsgrad: true), Steps, p);
        Assert.Equal(DType.Float32, p.DType);
        AssertClose(AdamReference(false, 0.1, 0.9, 0.999, 1e-8, 0.05, true, Steps), actual, 2e-6);
    }

    private static List<double[]> AdamReference(bool decoupled, double lr, double beta1, double beta2, double eps, double wd, bool amsgrad, int steps)
    {
        var theta = (double[])Theta0.Clone();
        int n = theta.Length;
        double[] m = new double[n], v = new double[n], vMax = new double[n];
        var expected = new List<double[]>();
        for (int t = 1; t <= steps; t++)
        {
            var g = Grad(theta);
            for (int i = 0; i < n; i++)
            {
                double gi = g[i];
                if (decoupled) theta[i] *= 1 - lr * wd;
                else gi += wd * theta[i];
                m[i] = beta1 * m[i] + (1 - beta1) * gi;
                v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
                double mHat = m[i] / (1 - Math.Pow(beta1, t));
                vMax[i] = Math.Max(vMax[i], v[i]);
                double vHat = (amsgrad ? vMax[i] : v[i]) / (1 - Math.Pow(beta2, t));
                theta[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            expected.Add((double[])theta.Clone());
        }
        return expected;
    }
}
