namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Tensor.Index.cs and Ops/Tensor.Linalg.cs.
public static partial class OpTable
{
    private static IEnumerable<OpInfo> IndexRows()
    {
        const string fam = "index";
        // Index values are drawn with repeats on purpose (5 picks out of 4): duplicates must accumulate in backward.
        yield return Row("index_select", fam, ["IndexSelect"],
            [
                S("dim 0, repeats", [In(4, 3), Idx(4, 5)], 0),
                S("dim 1", [In(4, 3), Idx(3, 2)], 1),
                S("dim -1, 3-d", [In(2, 3, 4), Idx(4, 3)], -1),
                S("vector", [In(5), Idx(5, 7)], 0),
            ],
            (x, s) => x[0].IndexSelect(s.Int(0), x[1]),
            (r, s) => Reference.IndexSelect(r[0], s.Int(0), r[1]),
            (shape, v) =>
            {
                int d = v % shape.Length;
                return S("prop", [In(shape), Idx(shape[d], 1 + (v >> 3) % 4)], d);
            });

        yield return Row("index_add", fam, ["IndexAdd"],
            [
                S("dim 0, repeats", [In(4, 3), Idx(4, 5), In(5, 3)], 0),
                S("dim 1", [In(2, 4), Idx(4, 3), In(2, 3)], 1),
                S("dim -1, 3-d", [In(2, 2, 3), Idx(3, 4), In(2, 2, 4)], -1),
            ],
            (x, s) => x[0].IndexAdd(s.Int(0), x[1], x[2]),
            (r, s) => Reference.IndexAdd(r[0], s.Int(0), r[1], r[2]),
            (shape, v) =>
            {
                int d = v % shape.Length, count = 1 + (v >> 3) % 4;
                var src = (int[])shape.Clone();
                src[d] = count;
                return S("prop", [In(shape), Idx(shape[d], count), In(src)], d);
            });

        yield return Row("gather", fam, ["Gather"],
            [
                S("dim 0", [In(3, 4), Idx(3, 2, 4)], 0),
                S("dim 1, wider index", [In(3, 4), Idx(4, 3, 6)], 1),
                S("dim -1, smaller index", [In(2, 3, 4), Idx(4, 2, 2, 5)], -1),
                S("vector", [In(5), Idx(5, 8)], 0),
            ],
            (x, s) => x[0].Gather(s.Int(0), x[1]),
            (r, s) => Reference.Gather(r[0], s.Int(0), r[1]),
            (shape, v) =>
            {
                int d = v % shape.Length;
                var index = shape.Select((n, k) => k == d ? 1 + (v >> 3) % 4 : 1 + (v >> (5 + k)) % n).ToArray();
                return S("prop", [In(shape), Idx(shape[d], index)], d);
            });

        yield return Row("scatter_add", fam, ["ScatterAdd"],
            [
                S("dim 0", [In(3, 4), Idx(3, 2, 4), In(2, 4)], 0),
                S("dim 1, more sources than slots", [In(3, 4), Idx(4, 3, 5), In(3, 5)], 1),
                S("dim 1, smaller index", [In(3, 4), Idx(4, 2, 3), In(2, 3)], 1),
                S("dim -1, 3-d", [In(2, 2, 3), Idx(3, 2, 1, 4), In(2, 1, 4)], -1),
            ],
            (x, s) => x[0].ScatterAdd(s.Int(0), x[1], x[2]),
            (r, s) => Reference.ScatterAdd(r[0], s.Int(0), r[1], r[2]),
            (shape, v) =>
            {
                int d = v % shape.Length;
                var index = shape.Select((n, k) => k == d ? 1 + (v >> 3) % 4 : 1 + (v >> (5 + k)) % n).ToArray();
                return S("prop", [In(shape), Idx(shape[d], index), In(index)], d);
            });
    }

    private static IEnumerable<OpInfo> LinalgRows()
    {
        const string fam = "linalg";
        yield return Row("bmm", fam, ["Bmm"],
            [
                S("plain", [In(2, 3, 4), In(2, 4, 2)]),
                S("unit sizes", [In(1, 1, 3), In(1, 3, 1)]),
                S("transposed left", [In(2, 3, 4) with { NonContiguous = true }, In(2, 4, 2)]),
                S("transposed right", [In(2, 3, 4), In(2, 4, 2) with { NonContiguous = true }]),
                // .MT views keep a unit stride in the last two dims: the kernel reads them transposed, with a batch stride.
                S("mT operands", [In(2, 4, 3), In(2, 2, 4)], "mT"),
            ],
            (x, s) => s.Args is ["mT"] ? x[0].MT.Bmm(x[1].MT) : x[0].Bmm(x[1]),
            (r, s) => s.Args is ["mT"] ? Reference.Matmul(Reference.Transpose(r[0], 1, 2), Reference.Transpose(r[1], 1, 2)) : Reference.Matmul(r[0], r[1]),
            (shape, v) =>
            {
                int b = shape[0], m = shape.Length > 1 ? shape[1] : 1, k = shape.Length > 2 ? shape[2] : 2, n = 1 + (v >> 3) % 3;
                return S("prop", [In(b, m, k) with { NonContiguous = (v & 1) != 0 }, In(b, k, n) with { NonContiguous = (v & 2) != 0 }]);
            });

        yield return Row("matmul", fam, ["Matmul"],
            [
                S("1-D · 1-D", [In(4), In(4)]),
                S("2-D · 1-D", [In(3, 4), In(4)]),
                S("1-D · 2-D", [In(4), In(4, 2)]),
                S("2-D · 2-D", [In(3, 4), In(4, 2)]),
                S("batched, broadcast batch", [In(2, 1, 3, 2), In(3, 2, 2)]),
                S("3-D · 2-D", [In(2, 3, 4), In(4, 2)]),
                S("2-D · 3-D", [In(3, 2), In(2, 2, 3)]),
                S("1-D · 3-D", [In(4), In(2, 4, 3)]),
                S("3-D · 1-D", [In(2, 3, 4), In(4)]),
                S("batch of one vs two", [In(1, 3, 4), In(2, 4, 2)]),
                S("transposed operands", [In(3, 4) with { NonContiguous = true }, In(4, 2) with { NonContiguous = true }]),
                S("transposed batched", [In(2, 3, 4) with { NonContiguous = true }, In(4, 2)]),
            ],
            (x, _) => x[0].Matmul(x[1]),
            (r, _) => Reference.Matmul(r[0], r[1]),
            (shape, v) =>
            {
                // shape = [..batch, m, k] (or [k]); the right operand is [..partner batch, k, n] (or [k]).
                int k = shape[^1], n = 1 + (v >> 8) % 3;
                int[] right = ((v >> 7) & 1) != 0 ? [k] : shape.Length <= 2 ? [k, n] : [.. Partner(shape[..^2], v), k, n];
                return S("prop", [In(shape) with { NonContiguous = ((v >> 9) & 1) != 0 }, In(right)]);
            });

        yield return Row("linear", fam, ["Linear"],
            [
                S("with bias", [In(3, 4), In(2, 4), In(2)]),
                S("no bias", [In(3, 4), In(2, 4)]),
                S("3-d input", [In(2, 3, 4), In(2, 4), In(2)]),
                S("1-d input", [In(4), In(3, 4), In(3)]),
                S("strided input and weight", [In(3, 4) with { NonContiguous = true }, In(2, 4) with { NonContiguous = true }, In(2)]),
                S("batch 1", [In(1, 5), In(3, 5), In(3)]),
            ],
            (x, _) => Tensor.Linear(x[0], x[1], x.Length > 2 ? x[2] : null),
            (r, _) => Reference.Linear(r[0], r[1], r.Length > 2 ? r[2] : null),
            (shape, v) =>
            {
                int features = shape[^1], outputs = 1 + (v >> 3) % 3;
                return (v & 1) == 0
                    ? S("prop", [In(shape), In(outputs, features), In(outputs)])
                    : S("prop", [In(shape), In(outputs, features)]);
            });
    }
}
