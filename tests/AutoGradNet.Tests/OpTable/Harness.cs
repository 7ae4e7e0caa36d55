using Xunit.Sdk;

namespace AutoGradNet.Tests.OpTable;

/// <summary>Builds a row's inputs and runs the checks the table drives: forward vs reference, gradcheck, gradgradcheck.</summary>
public static class Harness
{
    /// <summary>float64 tolerances: |actual − reference| ≤ atol·scale + rtol·|reference| (scale: largest |value| involved).</summary>
    public const double F64Rtol = 1e-12, F64Atol = 1e-13;

    /// <summary>A deterministic source of raw values in [−1, 1] for a table sample (seeded by the op and sample names).</summary>
    public static Func<int, double> SeededSource(string key)
    {
        ulong h = 14695981039346656037UL; // FNV-1a: string.GetHashCode is randomised per process
        foreach (char c in key) h = (h ^ c) * 1099511628211UL;
        var random = new Random((int)(h ^ (h >> 32)));
        var cache = new List<double>();
        return i =>
        {
            while (cache.Count <= i) cache.Add(random.NextDouble() * 2 - 1);
            return cache[i];
        };
    }

    /// <summary>The values of every input (row-major doubles): fixed ones, or raw values mapped into each input's domain.</summary>
    public static double[][] MakeValues(OpInfo row, SampleCase sample, Func<int, double> raw, bool spreadOut = true)
    {
        int counter = 0;
        var result = new double[sample.Inputs.Length][];
        for (int k = 0; k < sample.Inputs.Length; k++)
        {
            var spec = sample.Inputs[k];
            int n = Reference.Numel(spec.Shape);
            if (spec.Values is { } fixedValues)
            {
                if (fixedValues.Length != n) throw new ArgumentException($"{row.Name}/{sample.Name}: {fixedValues.Length} fixed values for shape [{string.Join(",", spec.Shape)}]");
                result[k] = (double[])fixedValues.Clone();
                continue;
            }
            var values = new double[n];
            for (int j = 0; j < n; j++) values[j] = Map(spec, Math.Clamp(raw(counter++), -1, 1));
            result[k] = values;
        }
        if (spreadOut && (row.Distinct || row.DistinctAbs || row.Kinks.Length > 0)) SpreadOut(row, sample, result);
        return result;
    }

    private static double Map(InputSpec spec, double r) => spec.Domain switch
    {
        Domain.Real => 2 * r,
        Domain.Positive => 0.3 + 1.7 * Math.Abs(r),
        Domain.NonZero => (r < 0 ? -1 : 1) * (0.2 + 1.8 * Math.Abs(r)),
        Domain.Unit => 0.1 + 0.4 * (r + 1),
        Domain.Tiny => (r < 0 ? -1 : 1) * Math.Pow(10, -12 + 8 * Math.Abs(r)),
        Domain.Grid => Math.Round(2 * r) / 2,
        Domain.Bool => r > 0 ? 1 : 0,
        Domain.Index => Math.Min(spec.IndexHigh - 1, (int)Math.Floor((r + 1) / 2 * spec.IndexHigh)),
        _ => throw new ArgumentOutOfRangeException(nameof(spec)),
    };

    /// <summary>
    /// Moves generated float values (away from zero, in steps) until they are pairwise ≥ 0.01 apart (for
    /// <see cref="OpInfo.Distinct"/> rows) and ≥ 0.05 from every kink, so finite differences never straddle a tie or a kink.
    /// </summary>
    private static void SpreadOut(OpInfo row, SampleCase sample, double[][] values)
    {
        var taken = new List<double>();
        for (int k = 0; k < values.Length; k++)
        {
            var spec = sample.Inputs[k];
            if (!spec.IsFloat) continue;
            if (spec.Values is not null) { taken.AddRange(values[k]); continue; }
            for (int j = 0; j < values[k].Length; j++)
            {
                double v = values[k][j];
                for (int guard = 0; guard < 1000; guard++)
                {
                    bool clash = row.Kinks.Any(kink => Math.Abs(v - kink) < 0.05) || (row.Distinct && taken.Any(t => Math.Abs(v - t) < 0.01))
                        || (row.DistinctAbs && taken.Any(t => Math.Abs(Math.Abs(v) - Math.Abs(t)) < 0.01));
                    if (!clash) break;
                    v += v < 0 ? -0.0371 : 0.0371;
                }
                values[k][j] = v;
                taken.Add(v);
            }
        }
    }

    /// <summary>A tensor holding <paramref name="values"/> in the dtype the spec asks for (floats in <paramref name="floatType"/>).</summary>
    public static Tensor MakeTensor(InputSpec spec, double[] values, DType floatType, bool requiresGrad, bool nonContiguous = false)
    {
        var dtype = spec.Domain switch { Domain.Bool => DType.Bool, Domain.Index => DType.Int64, _ => floatType };
        var shape = spec.Shape;
        Tensor t;
        if ((nonContiguous || spec.NonContiguous) && shape.Length >= 2)
        {
            // Store the values transposed (dims reversed) and permute back: same values, non-contiguous strides.
            var reversed = shape.Reverse().ToArray();
            var stored = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                var pos = Reference.Unravel(i, shape);
                Array.Reverse(pos);
                stored[Reference.Ravel(pos, reversed)] = values[i];
            }
            using var baseTensor = Tensor.From(stored, reversed).To(dtype);
            t = baseTensor.Permute(Enumerable.Range(0, shape.Length).Reverse().ToArray());
            if (t.IsContiguous && values.Length > 1 && shape.Count(s => s > 1) > 1)
                throw new InvalidOperationException("harness: a transposed input came out contiguous");
        }
        else if (shape.Length == 0)
        {
            t = Tensor.Scalar(values[0], dtype);
        }
        else
        {
            t = Tensor.From(values, shape).To(dtype);
        }
        if (requiresGrad && spec.IsFloat && spec.Grad) t.RequiresGrad_();
        return t;
    }

    /// <summary>The input values as the op sees them in <paramref name="floatType"/> (float32 rounds), for the reference.</summary>
    public static RT[] ReferenceInputs(SampleCase sample, double[][] values, DType floatType) =>
        sample.Inputs.Select((spec, k) => new RT(
            spec.IsFloat && floatType == DType.Float32 ? values[k].Select(v => (double)(float)v).ToArray() : (double[])values[k].Clone(),
            (int[])spec.Shape.Clone())).ToArray();

    public static Tensor[] MakeInputs(SampleCase sample, double[][] values, DType floatType, bool requiresGrad, bool nonContiguous = false) =>
        sample.Inputs.Select((spec, k) => MakeTensor(spec, values[k], floatType, requiresGrad, nonContiguous)).ToArray();

    // ---- checks ------------------------------------------------------------------------------------------------

    /// <summary>Runs the op on <paramref name="floatType"/> inputs and compares with the reference on the same (rounded) values.</summary>
    public static void CheckForward(OpInfo row, SampleCase sample, double[][] values, DType floatType, bool nonContiguous = false)
    {
        using var scope = Tensor.NewDisposeScope();
        string where = $"{row.Name} {sample} [{floatType.Name()}{(nonContiguous ? ", non-contiguous inputs" : "")}]";
        var refInputs = ReferenceInputs(sample, values, floatType);
        var expected = row.Ref(refInputs, sample);
        Tensor actual;
        try { actual = row.Op(MakeInputs(sample, values, floatType, requiresGrad: false, nonContiguous), sample); }
        catch (Exception e) { throw new XunitException($"{where}: the op threw {e.GetType().Name}: {e.Message}"); }
        double rtol = floatType == DType.Float64 ? F64Rtol : row.F32Rtol;
        // The absolute tolerance is relative to the scale of the values involved (largest |input| or |output|),
        // so tiny results (log1p near 0) are still held to the relative tolerance.
        double scale = refInputs.Where((_, k) => sample.Inputs[k].IsFloat).SelectMany(r => r.Data).Concat(expected.Data)
            .Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
        double atol = floatType == DType.Float64 ? F64Atol * scale : row.F32Atol * Math.Max(scale, row.F32ScaleFloor);
        AssertClose(where, actual, expected, rtol, atol, row.OutDType ?? floatType);
    }

    public static void AssertClose(string where, Tensor actual, RT expected, double rtol, double atol, DType expectedDType)
    {
        if (!actual.Shape.ToArray().SequenceEqual(expected.Shape))
            throw new XunitException($"{where}: shape {actual.Shape}, expected [{string.Join(", ", expected.Shape)}]");
        if (actual.DType != expectedDType)
            throw new XunitException($"{where}: result dtype {actual.DType.Name()}, expected {expectedDType.Name()}");
        var a = actual.ToDoubleArray();
        bool exact = !actual.DType.IsFloatingPoint();
        for (int i = 0; i < a.Length; i++)
        {
            double e = expected.Data[i];
            bool ok = exact ? a[i] == e
                : double.IsNaN(e) ? double.IsNaN(a[i])
                : double.IsInfinity(e) ? a[i] == e
                : Math.Abs(a[i] - e) <= atol + rtol * Math.Abs(e);
            if (!ok)
                throw new XunitException(
                    $"{where}: element {i} [{string.Join(", ", Reference.Unravel(i, expected.Shape))}] is {a[i]:R}, reference {e:R} " +
                    $"(|diff| {Math.Abs(a[i] - e):G3}, rtol {rtol:G2}, atol {atol:G2})\n  actual    {Fmt(a)}\n  reference {Fmt(expected.Data)}");
        }
    }

    private static string Fmt(double[] v) => string.Join(", ", v.Take(16).Select(x => x.ToString("G9"))) + (v.Length > 16 ? ", …" : "");

    /// <summary>
    /// The vector-Jacobian product of the op in <paramref name="floatType"/> with upstream gradient values <paramref name="v"/>
    /// (stored transposed when <paramref name="transposedGrad"/>), as doubles per input (null: no gradient).
    /// </summary>
    public static (double[]?[] Grads, DType[] DTypes) Vjp(OpInfo row, SampleCase sample, double[][] values, double[] v, DType floatType, bool transposedGrad)
    {
        using var scope = Tensor.NewDisposeScope();
        var inputs = MakeInputs(sample, values, floatType, requiresGrad: true);
        var y = row.Op(inputs, sample);
        if (!y.RequiresGrad) throw new XunitException($"{row.Name} {sample} [{floatType.Name()}]: the output does not require grad");
        var gradOut = MakeTensor(new InputSpec(y.Shape.ToArray()), v.Take(y.Numel).ToArray(), y.DType, requiresGrad: false, nonContiguous: transposedGrad);
        var wrt = inputs.Where(t => t.RequiresGrad).ToArray();
        var grads = Autograd.Grad([y], wrt, [gradOut], allowUnused: true);
        return (grads.Select(g => g?.ToDoubleArray()).ToArray(), grads.Select(g => g?.DType ?? floatType).ToArray());
    }

    public static void CheckGradient(OpInfo row, SampleCase sample, double[][] values, bool secondOrder, bool nonContiguous = false)
    {
        using var scope = Tensor.NewDisposeScope();
        var inputs = MakeInputs(sample, values, DType.Float64, requiresGrad: true, nonContiguous);
        if (!inputs.Any(t => t.RequiresGrad)) throw new XunitException($"{row.Name} {sample}: no differentiable input");
        Func<Tensor[], Tensor> f = x => row.Op(x, sample);
        try
        {
            bool ok = secondOrder ? GradCheck.GradGradCheck(f, inputs, row.GradOptions) : GradCheck.Check(f, inputs, row.GradOptions);
            Assert.True(ok);
        }
        catch (Exception e) when (e is not XunitException)
        {
            throw new XunitException($"{row.Name} {sample}{(nonContiguous ? " [non-contiguous]" : "")} {(secondOrder ? "gradgradcheck" : "gradcheck")}: {e.GetType().Name}: {e.Message}");
        }
    }
}
