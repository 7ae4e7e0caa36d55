namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Tensor.Reduce.cs.
public static partial class OpTable
{
    /// <summary>Dim sets (args: dims, keepDim) every dim-set reduction is sampled on, including a 0-d input.</summary>
    private static SampleCase[] DimSetSamples(Domain domain) =>
    [
        S("all", [In(domain, 2, 3, 4)], null, false),
        S("dim 1 keep", [In(domain, 2, 3, 4)], new[] { 1 }, true),
        S("dims 0,2", [In(domain, 2, 3, 4)], new[] { 0, 2 }, false),
        S("dims -1,0 keep", [In(domain, 2, 3, 4)], new[] { -1, 0 }, true),
        S("dims 0,2,3 keep, rows of 65 (vector sums)", [In(domain, 2, 3, 5, 13)], new[] { 0, 2, 3 }, true),
        S("vector", [In(domain, 5)], new[] { 0 }, false),
        S("0-d", [In(domain)], null, false),
        S("0-d keep", [In(domain)], null, true),
        S("0-d, dim 0", [In(domain)], new[] { 0 }, false),
        S("0-d, dim -1 keep", [In(domain)], new[] { -1 }, true),
    ];

    private static OpInfo DimSetRow(string name, string[] api, Func<Tensor, int[]?, bool, Tensor> op, Func<RT, int[]?, bool, RT> reference,
        Domain domain = Domain.Real, string family = "reduce") => new()
    {
        Name = name,
        Family = family,
        Api = api,
        Samples = () => DimSetSamples(domain),
        Op = (x, s) => op(x[0], s.Ints(0), s.Bool(1)),
        Ref = (r, s) => reference(r[0], s.Ints(0), s.Bool(1)),
        FromShape = (shape, v) => S("prop", [In(domain, shape)], DimsOf(shape.Length, v), ((v >> 5) & 1) != 0),
    };

    /// <summary>Single-dim reductions (args: dim, keepDim).</summary>
    private static SampleCase[] DimSamples(Domain domain) =>
    [
        S("dim 1", [In(domain, 2, 3, 4)], 1, false),
        S("dim 0 keep", [In(domain, 2, 3, 4)], 0, true),
        S("dim -1", [In(domain, 2, 3, 4)], -1, false),
        S("vector", [In(domain, 5)], 0, false),
        S("0-d", [In(domain)], 0, false),
    ];

    private static IEnumerable<OpInfo> ReduceRows()
    {
        yield return DimSetRow("sum", ["Sum"], (x, d, k) => d is null && !k ? x.Sum() : d is [var one] ? x.Sum(one, k) : x.Sum(d, k),
            (r, d, k) => Reference.Sum(r, d, k));
        yield return DimSetRow("mean", ["Mean"], (x, d, k) => d is null && !k ? x.Mean() : d is [var one] ? x.Mean(one, k) : x.Mean(d, k),
            (r, d, k) => Reference.Mean(r, d, k));
        foreach (var (name, max) in new[] { ("amax", true), ("amin", false) })
            yield return DimSetRow(name, [max ? "Amax" : "Amin"], (x, d, k) => max ? x.Amax(d, k) : x.Amin(d, k),
                (r, d, k) => max ? Reference.Max(r, d, k) : Reference.Min(r, d, k)) with
            {
                Distinct = true,
                Samples = () => DimSetSamples(Domain.Real).Append(
                    S("two-way ties", [Fixed(max ? [1, 3, 3, 0.5, 2, 2] : [1, -3, -3, 0.5, -2, -2], 2, 3)], new[] { 1 }, false) with { SecondOrder = false }),
            };
        yield return DimSetRow("logsumexp", ["LogSumExp"], (x, d, k) => x.LogSumExp(d, k), (r, d, k) => Reference.LogSumExp(r, d, k)) with
        {
            Samples = () => DimSetSamples(Domain.Real).Append(S("large", [Fixed([800, 801, -800, 3, 1e3, 1e3], 3, 2)], new[] { 1 }, false)),
            F32ScaleFloor = 10,
        };

        // Integer sums stay int64 (exact), as PyTorch.
        yield return DimSetRow("sum.int64", ["Sum"], (x, d, k) => x.Sum(d, k), (r, d, k) => Reference.Sum(r, d, k)) with
        {
            Differentiable = false,
            OutDType = DType.Int64,
            Samples = () => DimSetSamples(Domain.Real).Select(s => s with { Inputs = [Idx(7, s.Inputs[0].Shape)] }),
            FromShape = (shape, v) => S("prop", [Idx(7, shape)], DimsOf(shape.Length, v), ((v >> 5) & 1) != 0),
        };

        foreach (var (name, api, isStd) in new[] { ("var", "Var", false), ("std", "Std", true) })
        {
            var samples = new[]
            {
                S("all, unbiased", [In(2, 3, 4)], null, 1, false),
                S("all, biased", [In(2, 3, 4)], null, 0, false),
                S("dim 1 keep", [In(2, 3, 4)], new[] { 1 }, 1, true),
                S("dims 0,2 biased", [In(2, 3, 4)], new[] { 0, 2 }, 0, false),
                S("dim -1", [In(2, 3, 4)], new[] { -1 }, 1, false),
                S("vector", [In(6)], new[] { 0 }, 1, true),
                S("0-d biased", [In()], null, 0, false),
                // A constant row: var is smooth there (gradient 0); std has a kink and PyTorch's convention, gradient 0,
                // is what symmetric differences see. No second derivatives of std there.
                S("constant row", [Fixed([0.5, 0.5, 0.5, 1, -1, 2], 2, 3)], new[] { 1 }, 1, false) with { SecondOrder = !isStd },
            };
            yield return new OpInfo
            {
                Name = name,
                Family = "reduce",
                Api = [api],
                Samples = () => samples,
                Op = (x, s) => isStd ? x[0].Std(s.Ints(0), s.Int(1), s.Bool(2)) : x[0].Var(s.Ints(0), s.Int(1), s.Bool(2)),
                Ref = (r, s) => isStd ? Reference.Std(r[0], s.Ints(0), s.Int(1), s.Bool(2)) : Reference.Var(r[0], s.Ints(0), s.Int(1), s.Bool(2)),
                // Reductions over a single element with correction 1 divide by zero (NaN, as PyTorch): keep ≥ 2 elements.
                FromShape = (shape, v) =>
                {
                    var dims = DimsOf(shape.Length, v);
                    int count = Reference.Dims(dims, shape.Length).Aggregate(1, (acc, d) => acc * shape[d]);
                    return count < 2 ? null : S("prop", [In(shape)], dims, (v >> 7) & 1, ((v >> 5) & 1) != 0);
                },
            };
        }

        var normSamples = new List<SampleCase>();
        // torch.linalg.vector_norm's orders: any real p, 0 (count of non-zeros), ±∞ (max / min |x|).
        foreach (double p in new[] { 1.0, 2.0, 3.0, double.PositiveInfinity, 0.0, double.NegativeInfinity, 1.5, 0.5, -1.0 })
        {
            normSamples.Add(S($"p={p} all", [In(Domain.NonZero, 2, 3)], p, null, false));
            normSamples.Add(S($"p={p} dim 1 keep", [In(Domain.NonZero, 2, 3, 2)], p, new[] { 1 }, true));
            normSamples.Add(S($"p={p} dims 0,-1", [In(Domain.NonZero, 2, 3, 2)], p, new[] { 0, -1 }, false));
            normSamples.Add(S($"p={p} 0-d", [In(Domain.NonZero)], p, null, false));
        }
        // At a zero vector the norm has a kink; PyTorch's convention gives gradient 0 there, which is also what
        // symmetric finite differences see. Second derivatives do not exist there.
        foreach (double p in new[] { 1.0, 2.0, 3.0, double.PositiveInfinity })
            normSamples.Add(S($"p={p} zero row", [Fixed([0, 0, 0, 0.5, -1.5, 1], 2, 3)], p, new[] { 1 }, false) with { SecondOrder = false });
        yield return new OpInfo
        {
            Name = "norm",
            Family = "reduce",
            Api = ["Norm"],
            DistinctAbs = true,
            Kinks = [0],
            Samples = () => normSamples,
            Op = (x, s) => x[0].Norm(s.Dbl(0), s.Ints(1), s.Bool(2)),
            Ref = (r, s) => Reference.PNorm(r[0], s.Dbl(0), s.Ints(1), s.Bool(2)),
            FromShape = (shape, v) => S("prop", [In(Domain.NonZero, shape)], new[] { 1.0, 2.0, 3.0, double.PositiveInfinity, 0.0, double.NegativeInfinity, 1.5, -1.0 }[(v >> 7) & 7],
                DimsOf(shape.Length, v), ((v >> 5) & 1) != 0),
        };

        foreach (var (name, max) in new[] { ("max", true), ("min", false) })
        {
            yield return new OpInfo
            {
                Name = $"{name}.dim",
                Family = "reduce",
                Api = [max ? "Max" : "Min"],
                Distinct = true,
                Samples = () => DimSamples(Domain.Real),
                Op = (x, s) => (max ? x[0].Max(s.Int(0), s.Bool(1)) : x[0].Min(s.Int(0), s.Bool(1))).Values,
                Ref = (r, s) => max ? Reference.Max(r[0], [s.Int(0)], s.Bool(1)) : Reference.Min(r[0], [s.Int(0)], s.Bool(1)),
                FromShape = (shape, v) => S("prop", [In(shape)], v % shape.Length, ((v >> 5) & 1) != 0),
            };
            yield return new OpInfo
            {
                Name = $"{name}.dim.indices",
                Family = "reduce",
                Api = [max ? "Max" : "Min"],
                Differentiable = false,
                OutDType = DType.Int64,
                Samples = () => DimSamples(Domain.Real).Append(S("ties keep the first", [In(Domain.Grid, 3, 5)], 1, false)),
                Op = (x, s) => (max ? x[0].Max(s.Int(0), s.Bool(1)) : x[0].Min(s.Int(0), s.Bool(1))).Indices,
                Ref = (r, s) => Reference.ArgBest(r[0], [s.Int(0)], s.Bool(1), max),
                FromShape = (shape, v) => S("prop", [In(Domain.Grid, shape)], v % shape.Length, ((v >> 5) & 1) != 0),
            };
            // At a two-way tie the gradient is shared evenly (as PyTorch's max()/min()), which is also what symmetric
            // finite differences measure; second derivatives do not exist there.
            var allSamples = new[]
            {
                S("matrix", [In(2, 3)]), S("vector", [In(5)]), S("0-d", [In()]),
                S("two-way tie", [Fixed(max ? [1, 3, -2, 3, 0.5, 2] : [1, -3, -2, -3, 0.5, 2], 2, 3)]) with { SecondOrder = false },
            };
            yield return new OpInfo
            {
                Name = $"{name}.all",
                Family = "reduce",
                Api = [max ? "Max" : "Min"],
                Distinct = true,
                Samples = () => allSamples,
                Op = (x, _) => max ? x[0].Max() : x[0].Min(),
                Ref = (r, _) => max ? Reference.Max(r[0]) : Reference.Min(r[0]),
                FromShape = (shape, _) => S("prop", [In(shape)]),
            };
            var argSamples = new[]
            {
                S("flattened", [In(2, 3, 4)], null, false),
                S("dim 1", [In(2, 3, 4)], 1, false),
                S("dim 0 keep", [In(2, 3, 4)], 0, true),
                S("dim -1", [In(2, 3, 4)], -1, false),
                S("0-d", [In()], null, false),
                S("ties keep the first", [In(Domain.Grid, 4, 5)], 1, false),
                S("ties, flattened", [In(Domain.Grid, 4, 5)], null, false),
            };
            yield return new OpInfo
            {
                Name = max ? "argmax" : "argmin",
                Family = "reduce",
                Api = [max ? "Argmax" : "Argmin"],
                Differentiable = false,
                OutDType = DType.Int64,
                Samples = () => argSamples,
                Op = (x, s) => max ? x[0].Argmax((int?)s.Args[0], s.Bool(1)) : x[0].Argmin((int?)s.Args[0], s.Bool(1)),
                Ref = (r, s) => Reference.ArgBest(r[0], s.Args[0] is int d ? [d] : null, s.Args[0] is not null && s.Bool(1), max),
                FromShape = (shape, v) => S("prop", [In(Domain.Grid, shape)], v % (shape.Length + 1) == shape.Length ? null : v % (shape.Length + 1), ((v >> 5) & 1) != 0),
            };
        }
    }
}
