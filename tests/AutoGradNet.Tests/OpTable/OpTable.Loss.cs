namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Loss.cs and Ops/Tensor.Compare.cs.
public static partial class OpTable
{
    private static readonly Reduction[] Reductions = [Reduction.Mean, Reduction.Sum, Reduction.None];

    /// <summary>[N, C, d…] logits (from a generated shape; a vector becomes [1, C]) and int64 targets [N, d…].</summary>
    private static (int[] Logits, int[] Target, int Classes) ClassShapes(int[] shape)
    {
        var logits = shape.Length == 1 ? [1, shape[0]] : shape;
        return (logits, logits.Where((_, k) => k != 1).ToArray(), logits[1]);
    }

    private static IEnumerable<OpInfo> LossRows()
    {
        const string fam = "loss";
        yield return Row("cross_entropy", fam, ["CrossEntropy"],
            [
                S("[N,C] mean", [In(4, 3), Idx(3, 4)], Reduction.Mean, 0.0),
                S("[N,C] sum, smoothing", [In(4, 3), Idx(3, 4)], Reduction.Sum, 0.1),
                S("[N,C] none", [In(4, 3), Idx(3, 4)], Reduction.None, 0.0),
                S("[N,C] none, smoothing", [In(3, 5), Idx(5, 3)], Reduction.None, 0.25),
                S("[N,C,d] mean, smoothing", [In(2, 3, 2), Idx(3, 2, 2)], Reduction.Mean, 0.1),
                S("[N,C,d] none", [In(2, 3, 2), Idx(3, 2, 2)], Reduction.None, 0.0),
                S("[N,C,d1,d2] sum", [In(2, 3, 2, 2), Idx(3, 2, 2, 2)], Reduction.Sum, 0.0),
                S("one class", [In(3, 1), Idx(1, 3)], Reduction.Mean, 0.1),
            ],
            (x, s) => Loss.CrossEntropy(x[0], x[1], s.Get<Reduction>(0), s.Dbl(1)),
            (r, s) => Reference.CrossEntropy(r[0], r[1], s.Get<Reduction>(0), s.Dbl(1)),
            (shape, v) =>
            {
                var (logits, target, classes) = ClassShapes(shape);
                return S("prop", [In(logits), Idx(classes, target)], Reductions[v % 3], new[] { 0.0, 0.1, 0.3 }[(v >> 2) % 3]);
            }) with { F32ScaleFloor = 10 };

        yield return Row("nll_loss", fam, ["NllLoss"],
            [
                S("[N,C] mean", [In(4, 3), Idx(3, 4)], Reduction.Mean),
                S("[N,C] sum", [In(4, 3), Idx(3, 4)], Reduction.Sum),
                S("[N,C,d] none", [In(2, 3, 2), Idx(3, 2, 2)], Reduction.None),
            ],
            (x, s) => Loss.NllLoss(x[0], x[1], s.Get<Reduction>(0)),
            (r, s) => Reference.NllLoss(r[0], r[1], s.Get<Reduction>(0)),
            (shape, v) =>
            {
                var (logits, target, classes) = ClassShapes(shape);
                return S("prop", [In(logits), Idx(classes, target)], Reductions[v % 3]);
            });

        SampleCase[] Pairs(Domain target) =>
        [
            S("mean", [In(2, 3), In(target, 2, 3)], Reduction.Mean),
            S("sum", [In(2, 3), In(target, 2, 3)], Reduction.Sum),
            S("none", [In(2, 3), In(target, 2, 3)], Reduction.None),
            S("0-d", [In(), In(target)], Reduction.Mean),
        ];
        yield return Row("mse_loss", fam, ["MseLoss"], Pairs(Domain.Real),
            (x, s) => Loss.MseLoss(x[0], x[1], s.Get<Reduction>(0)),
            (r, s) => Reference.Mse(r[0], r[1], s.Get<Reduction>(0)),
            (shape, v) => S("prop", [In(shape), In(shape)], Reductions[v % 3]));
        // |input − target| has a kink where they meet: keep all values distinct.
        yield return Row("l1_loss", fam, ["L1Loss"], Pairs(Domain.Real),
            (x, s) => Loss.L1Loss(x[0], x[1], s.Get<Reduction>(0)),
            (r, s) => Reference.L1(r[0], r[1], s.Get<Reduction>(0)),
            (shape, v) => S("prop", [In(shape), In(shape)], Reductions[v % 3])) with { Distinct = true };

        yield return Row("bce_with_logits", fam, ["BinaryCrossEntropyWithLogits"],
            Pairs(Domain.Unit).Concat(
            [
                S("pos_weight", [In(2, 3), In(Domain.Unit, 2, 3), In(Domain.Positive, 3)], Reduction.Mean),
                S("pos_weight, none", [In(2, 3), In(Domain.Unit, 2, 3), In(Domain.Positive, 2, 3)], Reduction.None),
                // Logit 0 (a zero-initialised head) is a smooth point of the loss; large logits must not overflow.
                S("zero and large logits", [Fixed([0, -40, 40, 0, 1e-3, -2], 2, 3), In(Domain.Unit, 2, 3)], Reduction.Sum),
                S("zero logits, pos_weight", [Fixed([0, 0, 0], 3), In(Domain.Unit, 3), In(Domain.Positive, 3)], Reduction.None),
            ]).ToArray(),
            (x, s) => Loss.BinaryCrossEntropyWithLogits(x[0], x[1], s.Get<Reduction>(0), x.Length > 2 ? x[2] : null),
            (r, s) => Reference.BceWithLogits(r[0], r[1], s.Get<Reduction>(0), r.Length > 2 ? r[2] : null),
            (shape, v) => (v & 8) == 0
                ? S("prop", [In(shape), In(Domain.Unit, shape)], Reductions[v % 3])
                : S("prop", [In(shape), In(Domain.Unit, shape), In(Domain.Positive, shape[^1])], Reductions[v % 3])) with { F32ScaleFloor = 10 };
    }

    private static IEnumerable<OpInfo> CompareRows()
    {
        const string fam = "compare";
        var ops = new (string Name, Func<Tensor, Tensor, Tensor> Tensor, Func<Tensor, double, Tensor> Scalar, Func<double, double, bool> F)[]
        {
            ("eq", (a, b) => a.Eq(b), (a, b) => a.Eq(b), (a, b) => a == b),
            ("ne", (a, b) => a.Ne(b), (a, b) => a.Ne(b), (a, b) => a != b),
            ("lt", (a, b) => a.Lt(b), (a, b) => a.Lt(b), (a, b) => a < b),
            ("le", (a, b) => a.Le(b), (a, b) => a.Le(b), (a, b) => a <= b),
            ("gt", (a, b) => a.Gt(b), (a, b) => a.Gt(b), (a, b) => a > b),
            ("ge", (a, b) => a.Ge(b), (a, b) => a.Ge(b), (a, b) => a >= b),
        };
        foreach (var (name, tensorOp, scalarOp, f) in ops)
        {
            string api = char.ToUpperInvariant(name[0]) + name[1..];
            // Grid values (multiples of 0.5) make ties common, so equality is exercised.
            yield return Binary(name, [api], (a, b, _) => tensorOp(a, b), (a, b, _) => Reference.Bool(f(a, b)), Domain.Grid, Domain.Grid) with
            {
                Family = fam,
                Differentiable = false,
                OutDType = DType.Bool,
            };
            yield return Unary($"{name}.scalar", [api], (x, s) => scalarOp(x, s.Dbl(0)), (v, s) => Reference.Bool(f(v, s.Dbl(0))), Domain.Grid,
                argSets: [[0.5], [-1.0], [0.25]], family: fam) with { Differentiable = false, OutDType = DType.Bool };
        }
        yield return Binary("lt.int64", ["Lt"], (a, b, _) => a.Lt(b), (a, b, _) => Reference.Bool(a < b), Domain.Index, Domain.Index) with
        {
            Family = fam,
            Differentiable = false,
            OutDType = DType.Bool,
            Samples = () => [S("int64", [Idx(3, 2, 3), Idx(3, 3)]), S("int64 0-d", [Idx(3, 4), Idx(3)])],
            Broadcast = null,
            FromShape = (shape, v) => S("prop", [Idx(3, shape), Idx(3, Partner(shape, v))]),
        };
        // Integer and bool tensors against non-integral (or out-of-range) scalars compare by value, as PyTorch
        // promotes them: int64 0 < 0.5 is true; bool true == 2 is false.
        var scalarCompare = new List<SampleCase>();
        foreach (var (op, _, _, _) in ops)
            foreach (double value in new[] { 0.5, -0.5, 1.0, 2.5 })
            {
                scalarCompare.Add(S($"int64 {op} {value}", [Idx(3, 2, 3)], op, value));
                scalarCompare.Add(S($"bool {op} {value}", [In(Domain.Bool, 4)], op, value + 0.5));
            }
        yield return Row("compare.integral.scalar", fam, ["Eq", "Ne", "Lt", "Le", "Gt", "Ge"], scalarCompare.ToArray(),
            (x, s) => ops.Single(o => o.Name == (string)s.Args[0]!).Scalar(x[0], s.Dbl(1)),
            (r, s) => Reference.Map(r[0], v => Reference.Bool(ops.Single(o => o.Name == (string)s.Args[0]!).F(v, s.Dbl(1)))),
            (shape, v) => S("prop", [Idx(3, shape)], ops[v % 6].Name, new[] { 0.5, -0.5, 1.0, 2.5, 1.5 }[(v >> 3) % 5])) with
        {
            Differentiable = false,
            OutDType = DType.Bool,
        };

        yield return Binary("logical_and", ["LogicalAnd"], (a, b, _) => a.LogicalAnd(b), (a, b, _) => Reference.Bool(a != 0 && b != 0), Domain.Bool, Domain.Bool) with
        {
            Family = fam,
            Differentiable = false,
            OutDType = DType.Bool,
        };
        yield return Binary("logical_or", ["LogicalOr"], (a, b, _) => a.LogicalOr(b), (a, b, _) => Reference.Bool(a != 0 || b != 0), Domain.Bool, Domain.Bool) with
        {
            Family = fam,
            Differentiable = false,
            OutDType = DType.Bool,
        };
        yield return Unary("logical_not", ["LogicalNot"], (x, _) => x.LogicalNot(), (v, _) => Reference.Bool(v == 0), Domain.Bool, family: fam) with
        {
            Differentiable = false,
            OutDType = DType.Bool,
        };
    }
}
