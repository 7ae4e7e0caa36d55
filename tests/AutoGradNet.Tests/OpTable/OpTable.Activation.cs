namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Tensor.Activation.cs.
public static partial class OpTable
{
    private static IEnumerable<OpInfo> ActivationRows()
    {
        const string fam = "activation";
        yield return Unary("relu", ["Relu"], (x, _) => x.Relu(), (v, _) => Math.Max(v, 0), Domain.NonZero, family: fam) with { Kinks = [0] };
        yield return Unary("leaky_relu", ["LeakyRelu"], (x, s) => x.LeakyRelu(s.Dbl(0)), (v, s) => v > 0 ? v : s.Dbl(0) * v,
            Domain.NonZero, argSets: [[0.01], [0.2]], family: fam) with { Kinks = [0] };
        yield return Unary("elu", ["Elu"], (x, s) => x.Elu(s.Dbl(0)), (v, s) => Reference.Elu(v, s.Dbl(0)),
            Domain.NonZero, argSets: [[1.0], [0.5]], family: fam) with { Kinks = [0] };
        yield return Unary("sigmoid", ["Sigmoid"], (x, _) => x.Sigmoid(), (v, _) => Reference.Sigmoid(v), family: fam, extra:
        [
            S("saturated", [Fixed([-30, -10, -0.5, 0, 0.5, 10, 30], 7)]),
        ]);
        yield return Unary("tanh", ["Tanh"], (x, _) => x.Tanh(), (v, _) => Math.Tanh(v), family: fam);
        yield return Unary("gelu", ["Gelu"], (x, _) => x.Gelu(), (v, _) => Reference.Gelu(v), family: fam, extra:
        [
            S("wide", [Fixed([-5, -3, -1.2, 0, 0.8, 2.9, 4.5], 7)]),
        ]);
        yield return Unary("gelu.tanh", ["Gelu"], (x, _) => x.Gelu(tanhApproximation: true), (v, _) => Reference.GeluTanh(v), family: fam);
        // beta = 2, threshold = 1 switches to the identity at x = 0.5: a (tiny) kink there.
        yield return Unary("softplus", ["Softplus"], (x, s) => x.Softplus(s.Dbl(0), s.Dbl(1)), (v, s) => Reference.Softplus(v, s.Dbl(0), s.Dbl(1)),
            argSets: [[1.0, 20.0], [2.0, 1.0], [0.5, 20.0]], family: fam, extra:
            [
                // softplus is smooth at 0 (slope 1/2) and must stay accurate far out on both sides.
                S("through zero", [Fixed([-30, -1, 0, 0.4, 19, 25], 6)], 1.0, 20.0),
            ]) with { Kinks = [0.5] };

        foreach (var (name, api, log) in new[] { ("softmax", "Softmax", false), ("log_softmax", "LogSoftmax", true) })
        {
            var samples = new[]
            {
                S("dim 0", [In(2, 3, 4)], 0),
                S("dim 1", [In(2, 3, 4)], 1),
                S("dim -1", [In(2, 3, 4)], -1),
                S("vector", [In(5)], 0),
                S("0-d", [In()], 0),
                S("large logits", [Fixed([1000, 1001, 999, -1000, 0, 5], 2, 3)], 1),
            };
            yield return new OpInfo
            {
                Name = name,
                Family = "softmax",
                Api = [api],
                Samples = () => samples,
                Op = (x, s) => log ? x[0].LogSoftmax(s.Int(0)) : x[0].Softmax(s.Int(0)),
                Ref = (r, s) => log ? Reference.LogSoftmax(r[0], s.Int(0)) : Reference.Softmax(r[0], s.Int(0)),
                FromShape = (shape, v) => S("prop", [In(shape)], ((v >> 3) & 1) == 0 ? v % shape.Length : v % shape.Length - shape.Length),
                F32ScaleFloor = 10,
            };
        }
    }
}
