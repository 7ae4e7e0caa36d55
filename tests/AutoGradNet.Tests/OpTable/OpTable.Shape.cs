namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Tensor.ShapeOps.cs.
public static partial class OpTable
{
    private static OpInfo Row(string name, string family, string[] api, SampleCase[] samples, Func<Tensor[], SampleCase, Tensor> op,
        Func<RT[], SampleCase, RT> reference, Func<int[], int, SampleCase?>? fromShape = null) => new()
    {
        Name = name,
        Family = family,
        Api = api,
        Samples = () => samples,
        Op = op,
        Ref = reference,
        FromShape = fromShape,
    };

    /// <summary>Pieces of a split, each scaled differently (so each piece's gradient is told apart), joined again.</summary>
    private static Tensor JoinScaled(Tensor[] parts, int dim) => Tensor.Cat(parts.Select((p, k) => p.Mul(k + 1.0)).ToArray(), dim);

    private static RT JoinScaled(RT[] parts, int dim) => Reference.Cat(parts.Select((p, k) => Reference.Map(p, v => v * (k + 1.0))).ToArray(), dim);

    private static int[] ChunkSizes(int size, int chunks)
    {
        int per = Math.Max((size + chunks - 1) / chunks, 1);
        var sizes = new List<int>();
        for (int at = 0; at < size; at += per) sizes.Add(Math.Min(per, size - at));
        return sizes.ToArray();
    }

    private static IEnumerable<OpInfo> ShapeRows()
    {
        const string fam = "shape";
        SampleCase[] reshapes =
        [
            S("merge", [In(2, 3, 4)], new[] { 6, 4 }),
            S("flat -1", [In(2, 3, 4)], new[] { -1 }),
            S("infer middle", [In(2, 3, 4)], new[] { 4, -1, 3 }),
            S("add unit dims", [In(6)], new[] { 2, 1, 3 }),
            S("0-d to [1]", [In()], new[] { 1 }),
            S("[1] to 0-d", [In(1)], Array.Empty<int>()),
        ];
        yield return Row("reshape", fam, ["Reshape"], reshapes, (x, s) => x[0].Reshape(s.Ints(0)!), (r, s) => Reference.Reshape(r[0], s.Ints(0)!),
            (shape, v) => S("prop", [In(shape)], (v & 1) == 0 ? new[] { -1 } : shape.Reverse().ToArray()));
        yield return Row("view", fam, ["View"], reshapes, (x, s) => x[0].View(s.Ints(0)!), (r, s) => Reference.Reshape(r[0], s.Ints(0)!),
            (shape, v) => S("prop", [In(shape)], (v & 1) == 0 ? new[] { -1 } : shape.Reverse().ToArray())) with { ContiguousOnly = true };

        yield return Row("flatten", fam, ["Flatten"],
            [
                S("all", [In(2, 3, 4)], 0, -1),
                S("1..2", [In(2, 3, 4)], 1, 2),
                S("0..1", [In(2, 3, 4)], 0, 1),
                S("-2..-1", [In(2, 1, 3)], -2, -1),
                S("single dim", [In(2, 3)], 1, 1),
                S("0-d", [In()], 0, -1),
            ],
            (x, s) => x[0].Flatten(s.Int(0), s.Int(1)),
            (r, s) =>
            {
                var shape = r[0].Shape;
                if (shape.Length == 0) return Reference.Reshape(r[0], [1]);
                int a = Reference.Norm(s.Int(0), shape.Length), b = Reference.Norm(s.Int(1), shape.Length);
                var target = shape[..a].Append(shape[a..(b + 1)].Aggregate(1, (p, q) => p * q)).Concat(shape[(b + 1)..]).ToArray();
                return Reference.Reshape(r[0], target);
            },
            (shape, v) =>
            {
                int a = v % shape.Length;
                return S("prop", [In(shape)], a, a + (v >> 3) % (shape.Length - a));
            });

        yield return Row("squeeze", fam, ["Squeeze"],
            [
                S("all", [In(2, 1, 3, 1)], (object?)null),
                S("dim 1", [In(2, 1, 3, 1)], 1),
                S("dim -1", [In(2, 1, 3, 1)], -1),
                S("not size 1", [In(2, 1, 3, 1)], 0),
                S("to 0-d", [In(1, 1)], (object?)null),
                S("0-d, dim 0", [In()], 0),
            ],
            (x, s) => x[0].Squeeze((int?)s.Args[0]),
            (r, s) =>
            {
                var shape = r[0].Shape;
                int? d = s.Args[0] is int k ? Reference.Norm(k, shape.Length) : null;
                return Reference.Reshape(r[0], shape.Where((n, i) => !(n == 1 && (d is null || d == i))).ToArray());
            },
            (shape, v) => S("prop", [In(shape)], v % (shape.Length + 1) == shape.Length ? null : v % (shape.Length + 1)));

        yield return Row("unsqueeze", fam, ["Unsqueeze"],
            [S("front", [In(2, 3)], 0), S("back", [In(2, 3)], -1), S("middle", [In(2, 3)], 1), S("negative middle", [In(2, 3)], -2), S("0-d", [In()], 0)],
            (x, s) => x[0].Unsqueeze(s.Int(0)),
            (r, s) =>
            {
                var shape = r[0].Shape.ToList();
                int d = s.Int(0) < 0 ? s.Int(0) + shape.Count + 1 : s.Int(0);
                shape.Insert(d, 1);
                return Reference.Reshape(r[0], shape.ToArray());
            },
            (shape, v) => S("prop", [In(shape)], v % (2 * shape.Length + 2) - (shape.Length + 1)));

        yield return Row("permute", fam, ["Permute"],
            [S("rotate", [In(2, 3, 4)], new[] { 2, 0, 1 }), S("negative dims", [In(2, 3, 4)], new[] { -1, 0, 1 }), S("identity", [In(2, 3)], new[] { 0, 1 }), S("matrix", [In(2, 3)], new[] { 1, 0 })],
            (x, s) => x[0].Permute(s.Ints(0)!),
            (r, s) => Reference.Permute(r[0], s.Ints(0)!),
            (shape, v) => S("prop", [In(shape)], Enumerable.Range(0, shape.Length).Select(i => (i + v) % shape.Length).ToArray()));

        yield return Row("transpose", fam, ["Transpose"],
            [S("0,2", [In(2, 3, 4)], 0, 2), S("-1,0", [In(2, 3, 4)], -1, 0), S("same dim", [In(2, 3)], 1, 1), S("0-d", [In()], 0, -1)],
            (x, s) => x[0].Transpose(s.Int(0), s.Int(1)),
            (r, s) => Reference.Transpose(r[0], s.Int(0), s.Int(1)),
            (shape, v) => S("prop", [In(shape)], v % shape.Length, (v >> 3) % shape.Length));

        yield return Row("t", fam, ["get_T"],
            [S("matrix", [In(2, 3)]), S("vector", [In(4)]), S("0-d", [In()])],
            (x, _) => x[0].T,
            (r, _) => r[0].Rank == 2 ? Reference.Transpose(r[0], 0, 1) : Reference.Reshape(r[0], r[0].Shape),
            (shape, _) => shape.Length <= 2 ? S("prop", [In(shape)]) : null);

        yield return Row("mt", fam, ["get_MT"],
            [S("batched", [In(2, 3, 4)]), S("matrix", [In(3, 2)])],
            (x, _) => x[0].MT,
            (r, _) => Reference.Transpose(r[0], -2, -1),
            (shape, _) => shape.Length >= 2 ? S("prop", [In(shape)]) : null);

        yield return Row("expand", fam, ["Expand", "BroadcastTo"],
            [
                S("new dims", [In(3, 1)], new[] { 2, 3, 4 }, false),
                S("vector", [In(1)], new[] { 3 }, false),
                S("keep with -1", [In(2, 1)], new[] { -1, 3 }, true),
                S("0-d", [In()], new[] { 2, 2 }, true),
                S("no-op", [In(2, 3)], new[] { 2, 3 }, false),
            ],
            (x, s) => s.Bool(1) ? x[0].BroadcastTo(s.Ints(0)!) : x[0].Expand(s.Ints(0)!),
            (r, s) => Reference.Expand(r[0], s.Ints(0)!),
            (shape, v) => S("prop", [In(Partner(shape, v))], shape, ((v >> 7) & 1) != 0));

        yield return Row("contiguous", fam, ["Contiguous"],
            [S("contiguous", [In(2, 3)]), S("transposed", [In(2, 3, 2) with { NonContiguous = true }]), S("0-d", [In()])],
            (x, _) => x[0].Contiguous(),
            (r, _) => r[0],
            (shape, v) => S("prop", [In(shape) with { NonContiguous = (v & 1) != 0 }]));

        yield return Row("clone", fam, ["Clone"],
            [S("matrix", [In(2, 3)]), S("transposed", [In(3, 2) with { NonContiguous = true }]), S("0-d", [In()])],
            (x, _) => x[0].Clone(),
            (r, _) => r[0],
            (shape, v) => S("prop", [In(shape) with { NonContiguous = (v & 1) != 0 }]));

        // float64 → float32 → float64: the values are rounded to float32; the gradient passes through (and back to
        // float64). The function is linear, so a larger finite-difference step is exact up to that rounding.
        yield return Row("to", fam, ["To"],
            [S("matrix", [In(2, 3)]), S("0-d", [In()]), S("transposed", [In(2, 3) with { NonContiguous = true }])],
            (x, _) => x[0].To(DType.Float32).To(Device.Cpu).To(DType.Float64),
            (r, _) => Reference.Map(r[0], v => (float)v),
            (shape, _) => S("prop", [In(shape)])) with { OutDType = DType.Float64, GradOptions = new GradCheckOptions { Eps = 1e-3 } };

        foreach (var (name, dtype) in new[] { ("to.int64", DType.Int64), ("to.bool", DType.Bool) })
        {
            // Conversions out of floating point truncate toward zero (int64) or test ≠ 0 (bool), as PyTorch; not differentiable.
            yield return Row(name, fam, ["To"],
                [S("matrix", [In(2, 3)]), S("with zeros", [Fixed([-2.7, -0.5, -0.0, 0, 0.5, 3.99], 2, 3)]), S("0-d", [In()])],
                (x, _) => x[0].Mul(2.0).To(dtype),
                (r, _) => Reference.Map(r[0], v => dtype == DType.Int64 ? Math.Truncate(2 * v) : Reference.Bool(2 * v != 0)),
                (shape, _) => S("prop", [In(shape)])) with { Differentiable = false, OutDType = dtype };
        }

        yield return Row("slice", fam, ["Slice"],
            [
                S("from 1", [In(2, 3, 4)], 1, 1, null, 1),
                S("negative end", [In(2, 3, 4)], 0, null, -1, 1),
                S("negative start, step 2", [In(2, 3, 4)], 2, -3, null, 2),
                S("step 2 window", [In(2, 5)], 1, 0, 4, 2),
                S("end past size, step 3", [In(2, 5)], -1, 1, 100, 3),
                S("empty", [In(2, 3)], 0, 5, null, 1),
                S("start before 0", [In(4)], 0, -10, 2, 1),
            ],
            (x, s) => x[0].Slice(s.Int(0), (int?)s.Args[1], (int?)s.Args[2], s.Int(3)),
            (r, s) => Reference.Slice(r[0], s.Int(0), (int?)s.Args[1], (int?)s.Args[2], s.Int(3)),
            (shape, v) =>
            {
                int d = v % shape.Length, size = shape[d];
                int start = (v >> 3) % (size + 1) - (((v >> 6) & 1) != 0 ? size : 0);
                return S("prop", [In(shape)], d, start, null, 1 + (v >> 7) % 3);
            });

        yield return Row("narrow", fam, ["Narrow"],
            [S("middle", [In(2, 3, 4)], 1, 1, 2), S("negative start", [In(2, 3, 4)], 0, -1, 1), S("whole", [In(2, 3, 4)], 2, 0, 4), S("last dim", [In(2, 5)], -1, 2, 3)],
            (x, s) => x[0].Narrow(s.Int(0), s.Int(1), s.Int(2)),
            (r, s) =>
            {
                int d = Reference.Norm(s.Int(0), r[0].Rank), start = s.Int(1) < 0 ? s.Int(1) + r[0].Shape[d] : s.Int(1);
                return Reference.Take(r[0], d, Enumerable.Range(start, s.Int(2)).ToArray());
            },
            (shape, v) =>
            {
                int d = v % shape.Length, start = (v >> 3) % shape[d];
                return S("prop", [In(shape)], d, start, 1 + (v >> 6) % (shape[d] - start));
            });

        yield return Row("select", fam, ["Select"],
            [S("dim 0", [In(2, 3, 4)], 0, 1), S("negative index", [In(2, 3, 4)], 1, -1), S("last dim", [In(2, 3, 4)], -1, 2), S("vector", [In(4)], 0, 3)],
            (x, s) => x[0].Select(s.Int(0), s.Int(1)),
            (r, s) => Reference.Select(r[0], s.Int(0), s.Int(1)),
            (shape, v) =>
            {
                int d = v % shape.Length;
                return S("prop", [In(shape)], d, (v >> 3) % (2 * shape[d]) - shape[d]);
            });

        yield return Row("indexer", fam, ["get_At"],
            [S("first", [In(3, 2, 2)], 0), S("last", [In(3, 2, 2)], -1), S("vector", [In(4)], 2)],
            (x, s) => x[0][s.Int(0)],
            (r, s) => Reference.Select(r[0], 0, s.Int(0)),
            (shape, v) => S("prop", [In(shape)], v % (2 * shape[0]) - shape[0]));

        yield return Row("pad", fam, ["Pad"],
            [
                S("last dim", [In(2, 3)], new[] { 1, 2 }, 0.0),
                S("last two, value", [In(2, 3)], new[] { 1, 0, 2, 1 }, 1.5),
                S("three dims", [In(2, 2, 2)], new[] { 0, 1, 1, 0, 2, 2 }, -1.0),
                S("vector", [In(3)], new[] { 2, 2 }, 0.0),
                S("negative crops", [In(3, 4)], new[] { -1, 1 }, 0.0),
                S("negative and positive", [In(3, 4)], new[] { 1, -2, -1, 0 }, 0.5),
            ],
            (x, s) => x[0].Pad(s.Ints(0)!, s.Dbl(1)),
            (r, s) => Reference.Pad(r[0], s.Ints(0)!, s.Dbl(1)),
            (shape, v) =>
            {
                int dims = 1 + v % shape.Length;
                var pad = new int[2 * dims];
                for (int i = 0; i < pad.Length; i++) pad[i] = (v >> (2 + i)) % 3 - (i % 2 == 1 && shape[shape.Length - 1 - i / 2] > 2 ? 1 : 0);
                return S("prop", [In(shape)], pad, 0.25);
            });

        yield return Row("cat", fam, ["Cat"],
            [
                S("dim 0, three", [In(2, 3), In(1, 3), In(3, 3)], 0),
                S("dim 1", [In(2, 1), In(2, 3)], 1),
                S("dim -1", [In(2, 3, 1), In(2, 3, 2)], -1),
                S("vectors", [In(4), In(2)], 0),
                S("single", [In(2, 3)], 1),
            ],
            (x, s) => Tensor.Cat(x, s.Int(0)),
            (r, s) => Reference.Cat(r, s.Int(0)),
            (shape, v) =>
            {
                int d = v % shape.Length;
                var other = (int[])shape.Clone();
                other[d] = 1 + (v >> 3) % 3;
                return S("prop", [In(shape), In(other)], d);
            });

        yield return Row("stack", fam, ["Stack"],
            [S("dim 0", [In(2, 3), In(2, 3), In(2, 3)], 0), S("dim 1", [In(2, 3), In(2, 3)], 1), S("dim -1", [In(2, 3), In(2, 3)], -1), S("0-d", [In(), In()], 0)],
            (x, s) => Tensor.Stack(x, s.Int(0)),
            (r, s) => Reference.Stack(r, s.Int(0)),
            (shape, v) => S("prop", [In(shape), In(shape)], v % (shape.Length + 1)));

        yield return Row("split", fam, ["Split"],
            [
                S("size 2", [In(5, 3)], 2, 0),
                S("sizes", [In(2, 5)], new[] { 1, 3, 1 }, 1),
                S("sizes, dim -1", [In(2, 5)], new[] { 4, 1 }, -1),
                S("one piece", [In(4, 2)], 4, 0),
                S("size 1", [In(3)], 1, 0),
            ],
            (x, s) => JoinScaled(s.Args[0] is int size ? x[0].Split(size, s.Int(1)) : x[0].Split(s.Ints(0)!, s.Int(1)), s.Int(1)),
            (r, s) =>
            {
                int d = Reference.Norm(s.Int(1), r[0].Rank), n = r[0].Shape[d];
                var sizes = s.Args[0] is int size ? ChunkSizesBySize(n, size) : s.Ints(0)!;
                return JoinScaled(Reference.SplitSizes(r[0], d, sizes), d);
            },
            // Pieces of 1–3 on small shapes; on large ones at most ~4 pieces, so the row stays cheap.
            (shape, v) => S("prop", [In(shape)], Math.Max(1 + (v >> 3) % 3, shape[v % shape.Length] / 4), v % shape.Length));

        yield return Row("chunk", fam, ["Chunk"],
            [S("3 of 5", [In(5, 3)], 3, 0), S("4 of 6", [In(2, 6)], 4, 1), S("2 of 5, dim -1", [In(2, 5)], 2, -1), S("more chunks than rows", [In(2, 3)], 5, 0)],
            (x, s) => JoinScaled(x[0].Chunk(s.Int(0), s.Int(1)), s.Int(1)),
            (r, s) =>
            {
                int d = Reference.Norm(s.Int(1), r[0].Rank);
                return JoinScaled(Reference.SplitSizes(r[0], d, ChunkSizes(r[0].Shape[d], s.Int(0))), d);
            },
            (shape, v) => S("prop", [In(shape)], 1 + (v >> 3) % 4, v % shape.Length));
    }

    private static int[] ChunkSizesBySize(int n, int size)
    {
        var sizes = new List<int>();
        for (int at = 0; at < n; at += size) sizes.Add(Math.Min(size, n - at));
        return sizes.ToArray();
    }
}
