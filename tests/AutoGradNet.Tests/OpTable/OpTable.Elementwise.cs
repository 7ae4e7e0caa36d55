namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Tensor.Elementwise.cs.
public static partial class OpTable
{
    /// <summary>A unary elementwise row sampled on <see cref="ElementwiseShapes"/> (first arg set) and [2,3] (the others).</summary>
    private static OpInfo Unary(string name, string[] api, Func<Tensor, SampleCase, Tensor> op, Func<double, SampleCase, double> f,
        Domain domain = Domain.Real, object?[][]? argSets = null, IEnumerable<SampleCase>? extra = null, string family = "elementwise")
    {
        argSets ??= [[]];
        var samples = OnShapes(domain, argSets[0])
            .Concat(argSets.Skip(1).Select((a, i) => S($"args{i + 1}", [In(domain, 2, 3)], a)))
            .Concat(extra ?? [])
            .ToArray();
        return new OpInfo
        {
            Name = name,
            Family = family,
            Api = api,
            Samples = () => samples,
            Op = (x, s) => op(x[0], s),
            Ref = (r, s) => Reference.Map(r[0], v => f(v, s)),
            FromShape = (shape, v) => S("prop", [In(domain, shape)], argSets[v % argSets.Length]),
        };
    }

    private static IEnumerable<OpInfo> ElementwiseRows()
    {
        yield return Unary("neg", ["Neg"], (x, _) => x.Neg(), (v, _) => -v);
        yield return Unary("exp", ["Exp"], (x, _) => x.Exp(), (v, _) => Math.Exp(v));
        yield return Unary("log", ["Log"], (x, _) => x.Log(), (v, _) => Math.Log(v), Domain.Positive);
        yield return Unary("log1p", ["Log1p"], (x, _) => x.Log1p(), (v, _) => Reference.Log1p(v), Domain.Positive, extra:
        [
            S("tiny", [In(Domain.Tiny, 2, 4)]),
            S("near-1", [Fixed([-0.9, -0.5, -1e-3, 0.25, 3, 10], 6)]),
        ]);
        yield return Unary("sqrt", ["Sqrt"], (x, _) => x.Sqrt(), (v, _) => Math.Sqrt(v), Domain.Positive);
        yield return Unary("abs", ["Abs"], (x, _) => x.Abs(), (v, _) => Math.Abs(v), Domain.NonZero) with { Kinks = [0] };
        yield return Unary("sign", ["Sign"], (x, _) => x.Sign(), (v, _) => Reference.Sign(v), Domain.NonZero) with { Kinks = [0] };
        yield return Unary("erf", ["Erf"], (x, _) => x.Erf(), (v, _) => Reference.Erf(v), extra:
        [
            // Both branches of the kernel (series below 2, continued fraction above) and the saturated tail.
            S("wide", [Fixed([-3.5, -2.1, -1.99, -0.3, 0, 0.7, 1.5, 2.0, 2.5, 3.3, 4.0, 5.9], 12)]),
        ]);
        yield return Unary("square", ["Square"], (x, _) => x.Square(), (v, _) => v * v);
        yield return Unary("reciprocal", ["Reciprocal"], (x, _) => x.Reciprocal(), (v, _) => 1 / v, Domain.NonZero);

        // One tensor feeding several ops: the engine must add up the gradients from every use.
        yield return Unary("mul.reused_input", ["Mul"], (x, _) => x.Mul(x).Sub(x.Exp().Mul(x)).Add(x), (v, _) => v * v - Math.Exp(v) * v + v);

        // Scalar forms.
        yield return Unary("add.scalar", ["Add"], (x, s) => x.Add(s.Dbl(0)), (v, s) => v + s.Dbl(0), argSets: [[1.5], [-0.25]]);
        yield return Unary("sub.scalar", ["Sub"], (x, s) => x.Sub(s.Dbl(0)), (v, s) => v - s.Dbl(0), argSets: [[1.5], [-0.3]]);
        yield return Unary("mul.scalar", ["Mul"], (x, s) => x.Mul(s.Dbl(0)), (v, s) => v * s.Dbl(0), argSets: [[-2.5], [1.0], [0.0]]);
        yield return Unary("div.scalar", ["Div"], (x, s) => x.Div(s.Dbl(0)), (v, s) => v / s.Dbl(0), argSets: [[3.0], [-0.7]]);
        yield return Unary("pow.scalar", ["Pow"], (x, s) => x.Pow(s.Dbl(0)), (v, s) => Math.Pow(v, s.Dbl(0)), Domain.Positive,
            argSets: [[2.0], [3.0], [0.5], [-1.5], [0.0], [1.0], [2.5]],
            extra: [S("negative base, integer exponent", [In(Domain.Real, 2, 3)], 3.0), S("negative base, square", [In(Domain.Real, 2, 3)], 2.0)]);
        yield return Unary("rsub", ["RSub"], (x, s) => x.RSub(s.Dbl(0)), (v, s) => s.Dbl(0) - v, argSets: [[2.0], [-1.0]]);
        yield return Unary("rdiv", ["RDiv"], (x, s) => x.RDiv(s.Dbl(0)), (v, s) => s.Dbl(0) / v, Domain.NonZero, argSets: [[1.5], [-3.0]]);
        yield return Unary("clamp.scalar", ["Clamp"], (x, s) => x.Clamp((double?)s.Args[0], (double?)s.Args[1]),
            (v, s) => Math.Min(Math.Max(v, (double?)s.Args[0] ?? double.NegativeInfinity), (double?)s.Args[1] ?? double.PositiveInfinity),
            argSets: [[-0.5, 0.5], [null, 0.3], [-0.2, null]]) with { Kinks = [-0.5, 0.5, 0.3, -0.2] };
    }

    /// <summary>A broadcasting binary row: sampled on equal shapes, 0-d operands, and one broadcast pair (the Broadcasting test adds more).</summary>
    private static OpInfo Binary(string name, string[] api, Func<Tensor, Tensor, SampleCase, Tensor> op, Func<double, double, SampleCase, double> f,
        Domain da = Domain.Real, Domain db = Domain.Real, object?[]? args = null)
    {
        args ??= [];
        var samples = new[]
        {
            S("same shape", [In(da, 2, 3), In(db, 2, 3)], args),
            S("0-d", [In(da), In(db)], args),
            S("vector", [In(da, 5), In(db, 5)], args),
            S("broadcast", [In(da, 2, 3), In(db, 3)], args),
        };
        return new OpInfo
        {
            Name = name,
            Family = "binary",
            Api = api,
            Samples = () => samples,
            Op = (x, s) => op(x[0], x[1], s),
            Ref = (r, s) => Reference.Zip(r[0], r[1], (a, b) => f(a, b, s)),
            Broadcast = [da, db],
            BroadcastArgs = args,
            FromShape = (shape, v) => ((v >> 6) & 1) == 0
                ? S("prop", [In(da, shape), In(db, Partner(shape, v))], args)
                : S("prop", [In(da, Partner(shape, v)), In(db, shape)], args),
        };
    }

    private static IEnumerable<OpInfo> BinaryRows()
    {
        yield return Binary("add", ["Add"], (a, b, _) => a.Add(b), (a, b, _) => a + b);
        yield return Binary("add.alpha", ["Add"], (a, b, s) => a.Add(b, s.Dbl(0)), (a, b, s) => a + s.Dbl(0) * b, args: [2.5]);
        yield return Binary("sub", ["Sub"], (a, b, _) => a.Sub(b), (a, b, _) => a - b);
        yield return Binary("mul", ["Mul"], (a, b, _) => a.Mul(b), (a, b, _) => a * b);
        yield return Binary("div", ["Div"], (a, b, _) => a.Div(b), (a, b, _) => a / b, db: Domain.NonZero);
        var pow = Binary("pow", ["Pow"], (a, b, _) => a.Pow(b), (a, b, _) => Math.Pow(a, b), Domain.Positive);
        // Base 0 (exponent held constant: 0^b is not differentiable in b there): d/da a^0 = 0 (PyTorch masks b = 0),
        // d/da a^1 = 1, d/da a^2 = 0.
        var zeroBase = S("zero base", [Fixed([0, 0, 0, 0.5], 4), Fixed([0, 1, 2, 0], 4) with { Grad = false }]);
        yield return pow with { Samples = () => pow.Samples().Append(zeroBase) };
        foreach (var (name, max) in new[] { ("maximum", true), ("minimum", false) })
        {
            var row = Binary(name, [max ? "Maximum" : "Minimum"], (a, b, _) => max ? a.Maximum(b) : a.Minimum(b),
                (a, b, _) => max ? Math.Max(a, b) : Math.Min(a, b)) with { Distinct = true };
            // Ties split the gradient ½–½ (as PyTorch), which is what symmetric differences see at a tie.
            var tie = S("ties", [Fixed([1, -2, 0.5, 3], 4), Fixed([1, 0, 0.5, -3], 4)]) with { SecondOrder = false };
            yield return row with { Samples = () => row.Samples().Append(tie) };
        }
        yield return Binary("operators", ["op_Addition", "op_Subtraction", "op_Multiply", "op_Division", "op_UnaryNegation"],
            (a, b, _) => -(a + b) * (a - b) / b + 2.0 * a - a / 3.0 + (1.5 - b) * (0.5 + a) - (b - 1.25) * 0.75 + 2.0 / b,
            (a, b, _) => -(a + b) * (a - b) / b + 2.0 * a - a / 3.0 + (1.5 - b) * (0.5 + a) - (b - 1.25) * 0.75 + 2.0 / b,
            db: Domain.NonZero);

        var clampSamples = new[]
        {
            S("both", [In(2, 3), In(2, 3), In(2, 3)], "both"),
            S("min only", [In(2, 3), In(3), In(1)], "min"),
            S("max only", [In(2, 3), In(2, 1), In(1)], "max"),
            S("0-d bounds", [In(2, 3), In(), In()], "both"),
        };
        yield return new OpInfo
        {
            Name = "clamp.tensor",
            Family = "binary",
            Api = ["Clamp"],
            Distinct = true,
            Samples = () => clampSamples,
            Op = (x, s) => s.Args[0] switch
            {
                "min" => x[0].Clamp(x[1], null),
                "max" => x[0].Clamp(null, x[2]),
                _ => x[0].Clamp(x[1], x[2]),
            },
            Ref = (r, s) => Reference.Zip3(r[0], r[1], r[2], (v, lo, hi) => s.Args[0] switch
            {
                "min" => Math.Max(v, lo),
                "max" => Math.Min(v, hi),
                _ => Math.Min(Math.Max(v, lo), hi),
            }),
            Broadcast = [Domain.Real, Domain.Real, Domain.Real],
            BroadcastArgs = ["both"],
            FromShape = (shape, v) => S("prop", [In(shape), In(Partner(shape, v)), In(Partner(shape, v >> 7))], "both"),
        };

        var whereSamples = new[]
        {
            S("same shape", [In(Domain.Bool, 2, 3), In(2, 3), In(2, 3)]),
            S("broadcast condition", [In(Domain.Bool, 3), In(2, 3), In(2, 1)]),
            S("0-d operands", [In(Domain.Bool, 2, 3), In(), In(3)]),
        };
        yield return new OpInfo
        {
            Name = "where",
            Family = "binary",
            Api = ["Where"],
            Samples = () => whereSamples,
            Op = (x, _) => Tensor.Where(x[0], x[1], x[2]),
            Ref = (r, _) => Reference.Zip3(r[0], r[1], r[2], (c, a, b) => c != 0 ? a : b),
            Broadcast = [Domain.Bool, Domain.Real, Domain.Real],
            FromShape = (shape, v) => S("prop", [In(Domain.Bool, Partner(shape, v >> 7)), In(shape), In(Partner(shape, v))]),
        };
    }
}
