namespace AutoGradNet;

/// <summary>Settings of <see cref="GradCheck"/> (PyTorch's defaults).</summary>
public sealed record GradCheckOptions
{
    /// <summary>Perturbation for central differences.</summary>
    public double Eps { get; init; } = 1e-6;
    /// <summary>Absolute tolerance.</summary>
    public double Atol { get; init; } = 1e-5;
    /// <summary>Relative tolerance (relative to the numerical value).</summary>
    public double Rtol { get; init; } = 1e-3;
    /// <summary>Check random projections vᵀJu instead of the full Jacobian (for large inputs).</summary>
    public bool FastMode { get; init; }
    /// <summary>Tolerance between two backward runs (0: they must agree exactly).</summary>
    public double NondetTol { get; init; }
    /// <summary>Seed for the random vectors of fast mode and of <see cref="GradCheck.GradGradCheck"/>.</summary>
    public ulong Seed { get; init; } = 0;
}

/// <summary>Thrown by <see cref="GradCheck"/> when analytical and numerical gradients disagree, with the details.</summary>
public sealed class GradCheckException(string message) : Exception(message);

/// <summary>
/// Verifies gradients by finite differences, as PyTorch's <c>torch.autograd.gradcheck</c>: float64 inputs,
/// central differences (f(x + ε) − f(x − ε)) / 2ε compared to the backward's vector-Jacobian products with
/// |analytical − numerical| ≤ atol + rtol·|numerical|. Also checks that backward is reentrant (same result twice),
/// that a zero upstream gradient gives zero input gradients, and the gradients' shapes and dtypes.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks a single-output function. Returns true or throws <see cref="GradCheckException"/>.</summary>
    public static bool Check(Func<Tensor[], Tensor> function, Tensor[] inputs, GradCheckOptions? options = null) =>
        Check(x => [function(x)], inputs, options);

    /// <summary>
    /// Checks a multi-output function. Inputs that require grad are differentiated; others are constants. When no
    /// output requires grad, the numerical Jacobian must be exactly zero (PyTorch's rule).
    /// </summary>
    public static bool Check(Func<Tensor[], Tensor[]> function, Tensor[] inputs, GradCheckOptions? options = null)
    {
        options ??= new GradCheckOptions();
        var diff = DifferentiableInputs(inputs, "GradCheck");
        using var scope = Tensor.NewDisposeScope();
        var outputs = function(inputs);
        ValidateOutputs(outputs);
        var differentiable = outputs.Where(o => o.RequiresGrad).ToArray();
        if (differentiable.Length == 0)
        {
            // As PyTorch: with no differentiable output (e.g. a gradient that is identically zero, checked by
            // GradGradCheck), the function must be locally constant: every numerical derivative exactly 0.
            CheckNumericallyConstant(function, inputs, diff, outputs, options);
            return true;
        }

        CheckZeroGradient(differentiable, inputs, diff);
        if (options.FastMode) CheckFast(function, inputs, diff, outputs, options);
        else CheckFull(function, inputs, diff, outputs, options);
        return true;
    }

    /// <summary>
    /// Second-order check: gradcheck of the function (inputs, v) ↦ vᵀ·∂f/∂inputs computed with <c>createGraph</c>,
    /// with random upstream gradients v that are themselves differentiated.
    /// </summary>
    public static bool GradGradCheck(Func<Tensor[], Tensor> function, Tensor[] inputs, GradCheckOptions? options = null)
    {
        options ??= new GradCheckOptions();
        var diff = DifferentiableInputs(inputs, "GradGradCheck");
        int[] outShape;
        Device outDevice;
        using (Tensor.NewDisposeScope())
        {
            var probe = function(inputs);
            ValidateOutputs([probe]);
            outShape = probe.Shape.ToArray();
            outDevice = probe.Device;
        }
        var generator = new Generator(options.Seed + 7919);
        var v = Tensor.Randn(outShape, DType.Float64, generator, outDevice).RequiresGrad_();
        var extended = inputs.Append(v).ToArray();
        Tensor[] FirstDerivatives(Tensor[] all)
        {
            var xs = all[..^1];
            var output = function(xs);
            var wrt = diff.Select(i => xs[i]).ToArray();
            var grads = Autograd.Grad([output], wrt, [all[^1]], createGraph: true, allowUnused: true);
            var result = new Tensor[grads.Length];
            for (int i = 0; i < grads.Length; i++) result[i] = grads[i] ?? Tensor.ZerosLike(wrt[i]);
            return result;
        }
        try { return Check(FirstDerivatives, extended, options); }
        catch (GradCheckException e) { throw new GradCheckException("GradGradCheck (second order): " + e.Message); }
        finally { v.Dispose(); }
    }

    private static int[] DifferentiableInputs(Tensor[] inputs, string who)
    {
        var diff = new List<int>();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad) continue;
            if (inputs[i].DType != DType.Float64)
                throw new ArgumentException($"{who}: input {i} (shape {inputs[i].Shape}) is {inputs[i].DType.Name()}; finite differences need float64 inputs (use .To(DType.Float64))");
            diff.Add(i);
        }
        if (diff.Count == 0) throw new ArgumentException($"{who}: no input requires grad");
        return diff.ToArray();
    }

    private static void ValidateOutputs(Tensor[] outputs)
    {
        for (int k = 0; k < outputs.Length; k++)
            if (outputs[k].RequiresGrad && outputs[k].DType != DType.Float64)
                throw new ArgumentException($"GradCheck: output {k} (shape {outputs[k].Shape}) is {outputs[k].DType.Name()}; use float64 throughout");
    }

    /// <summary>Evaluates the function at inputs where input <paramref name="which"/> is replaced by <paramref name="values"/>; returns each output's values.</summary>
    private static double[][] Evaluate(Func<Tensor[], Tensor[]> function, Tensor[] inputs, int which, double[] values)
    {
        using var scope = Tensor.NewDisposeScope();
        var replaced = (Tensor[])inputs.Clone();
        var original = inputs[which];
        replaced[which] = Tensor.FromDoubles(values, original.Shape.ToArray(), DType.Float64, original.Device).RequiresGrad_(original.RequiresGrad);
        var outputs = function(replaced);
        return outputs.Select(o => o.ToDoubleArray()).ToArray();
    }

    private static void CheckFull(Func<Tensor[], Tensor[]> function, Tensor[] inputs, int[] diff, Tensor[] outputs, GradCheckOptions options)
    {
        // Analytical Jacobian: one vector-Jacobian product per output element, twice (reentrancy).
        var analytical = AnalyticalJacobian(outputs, inputs, diff);
        var again = AnalyticalJacobian(outputs, inputs, diff);
        CompareRuns(analytical, again, diff, outputs, inputs, options);

        for (int di = 0; di < diff.Length; di++)
        {
            int i = diff[di];
            var x = inputs[i].ToDoubleArray();
            for (int j = 0; j < x.Length; j++)
            {
                double saved = x[j];
                x[j] = saved + options.Eps;
                var plus = Evaluate(function, inputs, i, x);
                x[j] = saved - options.Eps;
                var minus = Evaluate(function, inputs, i, x);
                x[j] = saved;
                for (int o = 0; o < outputs.Length; o++)
                {
                    if (!outputs[o].RequiresGrad) continue;
                    for (int k = 0; k < plus[o].Length; k++)
                    {
                        double numerical = (plus[o][k] - minus[o][k]) / (2 * options.Eps);
                        double a = analytical[o][k][di][j];
                        if (!(Math.Abs(a - numerical) <= options.Atol + options.Rtol * Math.Abs(numerical)))
                            throw new GradCheckException(
                                $"Jacobian mismatch for output {o} (shape {outputs[o].Shape}) element {Describe(outputs[o], k)} " +
                                $"with respect to input {i} (shape {inputs[i].Shape}) element {Describe(inputs[i], j)}: " +
                                $"numerical {numerical:R}, analytical {a:R} (atol {options.Atol}, rtol {options.Rtol})");
                    }
                }
            }
        }
    }

    private static void CheckNumericallyConstant(Func<Tensor[], Tensor[]> function, Tensor[] inputs, int[] diff, Tensor[] outputs, GradCheckOptions options)
    {
        foreach (int i in diff)
        {
            var x = inputs[i].ToDoubleArray();
            for (int j = 0; j < x.Length; j++)
            {
                double saved = x[j];
                x[j] = saved + options.Eps;
                var plus = Evaluate(function, inputs, i, x);
                x[j] = saved - options.Eps;
                var minus = Evaluate(function, inputs, i, x);
                x[j] = saved;
                for (int o = 0; o < outputs.Length; o++)
                {
                    if (!outputs[o].DType.IsFloatingPoint()) continue;
                    for (int k = 0; k < plus[o].Length; k++)
                    {
                        double numerical = (plus[o][k] - minus[o][k]) / (2 * options.Eps);
                        if (numerical != 0)
                            throw new GradCheckException(
                                $"no output requires grad, so the numerical gradient should be zero, but output {o} (shape {outputs[o].Shape}) element {Describe(outputs[o], k)} " +
                                $"changes with input {i} (shape {inputs[i].Shape}) element {Describe(inputs[i], j)}: numerical derivative {numerical:R}");
                    }
                }
            }
        }
    }

    /// <summary>[output][output element][differentiable input][input element].</summary>
    private static double[][][][] AnalyticalJacobian(Tensor[] outputs, Tensor[] inputs, int[] diff)
    {
        var wrt = diff.Select(i => inputs[i]).ToArray();
        var result = new double[outputs.Length][][][];
        for (int o = 0; o < outputs.Length; o++)
        {
            var output = outputs[o];
            int n = output.Numel;
            result[o] = new double[n][][];
            if (!output.RequiresGrad) continue;
            for (int k = 0; k < n; k++)
            {
                using var scope = Tensor.NewDisposeScope();
                var basis = new double[n];
                basis[k] = 1;
                var v = Tensor.FromDoubles(basis, output.Shape.ToArray(), output.DType, output.Device);
                var grads = Autograd.Grad([output], wrt, [v], retainGraph: true, allowUnused: true);
                result[o][k] = new double[wrt.Length][];
                for (int w = 0; w < wrt.Length; w++)
                {
                    CheckGradientLayout(grads[w], wrt[w], diff[w]);
                    result[o][k][w] = grads[w]?.ToDoubleArray() ?? new double[wrt[w].Numel];
                }
            }
        }
        return result;
    }

    private static void CheckGradientLayout(Tensor? grad, Tensor input, int index)
    {
        if (grad is null) return;
        if (grad.Shape != input.Shape || grad.DType != input.DType || grad.Device != input.Device)
            throw new GradCheckException(
                $"gradient for input {index} has shape {grad.Shape} {grad.DType.Name()} on {grad.Device}, but the input is {input.Shape} {input.DType.Name()} on {input.Device}");
    }

    private static void CompareRuns(double[][][][] first, double[][][][] second, int[] diff, Tensor[] outputs, Tensor[] inputs, GradCheckOptions options)
    {
        for (int o = 0; o < first.Length; o++)
            for (int k = 0; k < first[o].Length; k++)
            {
                if (first[o][k] is null) continue;
                for (int w = 0; w < diff.Length; w++)
                    for (int j = 0; j < first[o][k][w].Length; j++)
                        if (!(Math.Abs(first[o][k][w][j] - second[o][k][w][j]) <= options.NondetTol))
                            throw new GradCheckException(
                                $"backward is not reentrant: two runs gave {first[o][k][w][j]:R} and {second[o][k][w][j]:R} for output {o} element {Describe(outputs[o], k)} " +
                                $"with respect to input {diff[w]} element {Describe(inputs[diff[w]], j)}");
            }
    }

    private static void CheckZeroGradient(Tensor[] outputs, Tensor[] inputs, int[] diff)
    {
        using var scope = Tensor.NewDisposeScope();
        var wrt = diff.Select(i => inputs[i]).ToArray();
        var zeros = outputs.Select(o => (Tensor?)Tensor.ZerosLike(o)).ToArray();
        var grads = Autograd.Grad(outputs, wrt, zeros, retainGraph: true, allowUnused: true);
        for (int w = 0; w < grads.Length; w++)
        {
            if (grads[w] is not { } g) continue;
            CheckGradientLayout(g, wrt[w], diff[w]);
            var values = g.ToDoubleArray();
            for (int j = 0; j < values.Length; j++)
                if (values[j] != 0)
                    throw new GradCheckException($"a zero upstream gradient gave a non-zero gradient {values[j]:R} for input {diff[w]} element {Describe(wrt[w], j)}");
        }
    }

    private static void CheckFast(Func<Tensor[], Tensor[]> function, Tensor[] inputs, int[] diff, Tensor[] outputs, GradCheckOptions options)
    {
        var generator = new Generator(options.Seed);
        var vs = outputs.Select(o => Tensor.Randn(o.Shape.ToArray(), DType.Float64, generator, o.Device)).ToArray();
        var wrt = diff.Select(i => inputs[i]).ToArray();
        var live = Enumerable.Range(0, outputs.Length).Where(o => outputs[o].RequiresGrad).ToArray();
        var grads = Autograd.Grad(live.Select(o => outputs[o]).ToArray(), wrt, live.Select(o => (Tensor?)vs[o]).ToArray(), retainGraph: true, allowUnused: true);
        var again = Autograd.Grad(live.Select(o => outputs[o]).ToArray(), wrt, live.Select(o => (Tensor?)vs[o]).ToArray(), retainGraph: true, allowUnused: true);
        for (int w = 0; w < diff.Length; w++)
        {
            int i = diff[w];
            CheckGradientLayout(grads[w], wrt[w], i);
            var u = Tensor.Randn(inputs[i].Shape.ToArray(), DType.Float64, generator).ToDoubleArray();
            var g1 = grads[w]?.ToDoubleArray() ?? new double[u.Length];
            var g2 = again[w]?.ToDoubleArray() ?? new double[u.Length];
            double analytical = Dot(g1, u), repeat = Dot(g2, u);
            if (!(Math.Abs(analytical - repeat) <= options.NondetTol))
                throw new GradCheckException($"backward is not reentrant for input {i}: vᵀJu was {analytical:R} then {repeat:R}");

            var x = inputs[i].ToDoubleArray();
            var shifted = new double[x.Length];
            for (int j = 0; j < x.Length; j++) shifted[j] = x[j] + options.Eps * u[j];
            var plus = Evaluate(function, inputs, i, shifted);
            for (int j = 0; j < x.Length; j++) shifted[j] = x[j] - options.Eps * u[j];
            var minus = Evaluate(function, inputs, i, shifted);
            double numerical = 0;
            foreach (int o in live)
            {
                var v = vs[o].ToDoubleArray();
                for (int k = 0; k < v.Length; k++) numerical += v[k] * (plus[o][k] - minus[o][k]) / (2 * options.Eps);
            }
            if (!(Math.Abs(analytical - numerical) <= options.Atol + options.Rtol * Math.Abs(numerical)))
                throw new GradCheckException(
                    $"fast-mode mismatch for input {i} (shape {inputs[i].Shape}): vᵀJu numerical {numerical:R}, analytical {analytical:R} (atol {options.Atol}, rtol {options.Rtol})");
        }
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static string Describe(Tensor t, int flat)
    {
        var shape = t.Shape.ToArray();
        if (shape.Length == 0) return "[]";
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return "[" + string.Join(", ", index) + "]";
    }
}
