namespace AutoGradNet.Tests.OpTable;

/// <summary>A plain row-major float64 array with a shape: what the naive reference computes on.</summary>
public sealed class RT
{
    public RT(double[] data, int[] shape)
    {
        if (data.Length != Reference.Numel(shape))
            throw new ArgumentException($"reference tensor: {data.Length} values for shape [{string.Join(", ", shape)}]");
        Data = data;
        Shape = shape;
    }

    public double[] Data { get; }
    public int[] Shape { get; }
    public int Rank => Shape.Length;
    public int Numel => Data.Length;

    public double this[params int[] pos] => Data[Reference.Ravel(pos, Shape)];

    public static RT Scalar(double v) => new([v], []);

    public override string ToString() => $"[{string.Join(", ", Shape)}] {{{string.Join(", ", Data.Take(12).Select(v => v.ToString("G6")))}{(Data.Length > 12 ? ", …" : "")}}}";
}

/// <summary>
/// Naive float64 reference implementations written directly from the formulas: nested loops over
/// <see cref="RT"/> with explicit index arithmetic. Nothing here calls AutoGradNet; it is the independent
/// oracle of the op table (only the BCL's scalar math — Math.Exp, Math.Log, Math.Tanh, Math.Pow — is shared).
/// </summary>
public static partial class Reference
{
    // ---- index arithmetic ------------------------------------------------------------------------------------

    public static int Numel(int[] shape)
    {
        int n = 1;
        foreach (int s in shape) n *= s;
        return n;
    }

    /// <summary>Row-major flat position of a multi-index.</summary>
    public static int Ravel(int[] pos, int[] shape)
    {
        int flat = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            if (pos[d] < 0 || pos[d] >= shape[d]) throw new IndexOutOfRangeException($"reference: index {pos[d]} out of range for dim {d} of size {shape[d]}");
            flat = flat * shape[d] + pos[d];
        }
        return flat;
    }

    /// <summary>Multi-index of a row-major flat position.</summary>
    public static int[] Unravel(int flat, int[] shape)
    {
        var pos = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            pos[d] = flat % shape[d];
            flat /= shape[d];
        }
        return pos;
    }

    public static int Norm(int dim, int rank) => dim < 0 ? dim + rank : dim;

    /// <summary>NumPy broadcasting: align on the right, size 1 stretches.</summary>
    public static int[] BroadcastShape(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int size = 1;
            foreach (var s in shapes)
            {
                int k = i - (rank - s.Length);
                int d = k < 0 ? 1 : s[k];
                if (d == 1) continue;
                if (size != 1 && size != d) throw new ArgumentException("reference: shapes do not broadcast");
                size = d;
            }
            result[i] = size;
        }
        return result;
    }

    /// <summary>The position in a tensor of <paramref name="shape"/> that feeds output position <paramref name="outPos"/> under broadcasting.</summary>
    public static int BroadcastSource(int[] outPos, int[] shape)
    {
        int lead = outPos.Length - shape.Length;
        int flat = 0;
        for (int d = 0; d < shape.Length; d++)
            flat = flat * shape[d] + (shape[d] == 1 ? 0 : outPos[lead + d]);
        return flat;
    }

    // ---- elementwise -------------------------------------------------------------------------------------------

    public static RT Map(RT x, Func<double, double> f)
    {
        var y = new double[x.Numel];
        for (int i = 0; i < y.Length; i++) y[i] = f(x.Data[i]);
        return new RT(y, (int[])x.Shape.Clone());
    }

    public static RT Zip(RT a, RT b, Func<double, double, double> f)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, shape);
            y[i] = f(a.Data[BroadcastSource(pos, a.Shape)], b.Data[BroadcastSource(pos, b.Shape)]);
        }
        return new RT(y, shape);
    }

    public static RT Zip3(RT a, RT b, RT c, Func<double, double, double, double> f)
    {
        var shape = BroadcastShape(a.Shape, b.Shape, c.Shape);
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, shape);
            y[i] = f(a.Data[BroadcastSource(pos, a.Shape)], b.Data[BroadcastSource(pos, b.Shape)], c.Data[BroadcastSource(pos, c.Shape)]);
        }
        return new RT(y, shape);
    }

    public static double Bool(bool b) => b ? 1 : 0;

    /// <summary>ln(1 + x) accurate for tiny x (Goldberg's trick: the rounding of 1 + x is divided back out).</summary>
    public static double Log1p(double x)
    {
        double u = 1 + x;
        if (u == 1) return x;
        if (double.IsInfinity(u)) return Math.Log(u);
        return Math.Log(u) * x / (u - 1);
    }

    /// <summary>erf x = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): all terms positive, no cancellation.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        if (Math.Abs(x) > 6) return Math.Sign(x);
        double term = x, sum = x;
        for (int n = 1; n < 2000; n++)
        {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) < 1e-18 * Math.Abs(sum)) break;
        }
        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>(1/β)·ln(1 + e^(βx)), or x where βx &gt; threshold.</summary>
    public static double Softplus(double x, double beta, double threshold)
    {
        double z = beta * x;
        if (z > threshold) return x;
        return (Math.Max(z, 0) + Log1p(Math.Exp(-Math.Abs(z)))) / beta;
    }

    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    public static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    public static double Elu(double x, double alpha) => x > 0 ? x : alpha * (Math.Exp(x) - 1);

    public static double Sign(double x) => x > 0 ? 1 : x < 0 ? -1 : x;

    // ---- reductions --------------------------------------------------------------------------------------------

    /// <summary>Normalised sorted dims; all dims when null or empty.</summary>
    public static int[] Dims(int[]? dims, int rank)
    {
        if (dims is null || dims.Length == 0 || rank == 0) return Enumerable.Range(0, rank).ToArray();
        return dims.Select(d => d < 0 ? d + rank : d).OrderBy(d => d).ToArray();
    }

    /// <summary>Shape of a reduction's result.</summary>
    public static int[] ReducedShape(int[] shape, int[] dims, bool keepDim)
    {
        var result = new List<int>();
        for (int d = 0; d < shape.Length; d++)
        {
            if (dims.Contains(d)) { if (keepDim) result.Add(1); }
            else result.Add(shape[d]);
        }
        return result.ToArray();
    }

    /// <summary>
    /// For every output position, the input values along the reduced dims (in row-major order of those dims),
    /// passed to <paramref name="f"/>.
    /// </summary>
    public static RT Reduce(RT x, int[]? dims, bool keepDim, Func<double[], double> f)
    {
        var rd = Dims(dims, x.Rank);
        var keptShape = ReducedShape(x.Shape, rd, keepDim: true);
        var outShape = ReducedShape(x.Shape, rd, keepDim);
        var reducedSizes = rd.Select(d => x.Shape[d]).ToArray();
        int count = Numel(reducedSizes);
        var y = new double[Numel(keptShape)];
        for (int o = 0; o < y.Length; o++)
        {
            var outPos = Unravel(o, keptShape);
            var values = new double[count];
            for (int r = 0; r < count; r++)
            {
                var rpos = Unravel(r, reducedSizes);
                var pos = (int[])outPos.Clone();
                for (int k = 0; k < rd.Length; k++) pos[rd[k]] = rpos[k];
                values[r] = x.Data[Ravel(pos, x.Shape)];
            }
            y[o] = f(values);
        }
        return new RT(y, outShape);
    }

    public static double SumOf(double[] v)
    {
        double s = 0;
        foreach (var x in v) s += x;
        return s;
    }

    public static RT Sum(RT x, int[]? dims = null, bool keepDim = false) => Reduce(x, dims, keepDim, SumOf);

    public static RT Mean(RT x, int[]? dims = null, bool keepDim = false) => Reduce(x, dims, keepDim, v => SumOf(v) / v.Length);

    /// <summary>Σ(x − mean)² / (n − correction).</summary>
    public static RT Var(RT x, int[]? dims, int correction, bool keepDim) => Reduce(x, dims, keepDim, v =>
    {
        double mean = SumOf(v) / v.Length, ss = 0;
        foreach (var e in v) ss += (e - mean) * (e - mean);
        return ss / Math.Max(v.Length - correction, 0);
    });

    public static RT Std(RT x, int[]? dims, int correction, bool keepDim) => Map(Var(x, dims, correction, keepDim), Math.Sqrt);

    public static RT Max(RT x, int[]? dims = null, bool keepDim = false) => Reduce(x, dims, keepDim, v => v.Max());

    public static RT Min(RT x, int[]? dims = null, bool keepDim = false) => Reduce(x, dims, keepDim, v => v.Min());

    /// <summary>Index of the first maximum (or minimum) along the reduced dims (flattened).</summary>
    public static RT ArgBest(RT x, int[]? dims, bool keepDim, bool max) => Reduce(x, dims, keepDim, v =>
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (max ? v[i] > v[best] : v[i] < v[best]) best = i;
        return best;
    });

    /// <summary>m + ln Σ e^(x − m), m the maximum.</summary>
    public static RT LogSumExp(RT x, int[]? dims, bool keepDim) => Reduce(x, dims, keepDim, v =>
    {
        double m = v.Max(), s = 0;
        foreach (var e in v) s += Math.Exp(e - m);
        return m + Math.Log(s);
    });

    /// <summary>(Σ|x|ᵖ)^(1/p); max |x| for p = ∞.</summary>
    public static RT PNorm(RT x, double p, int[]? dims, bool keepDim) => Reduce(x, dims, keepDim, v =>
    {
        if (double.IsPositiveInfinity(p)) return v.Select(Math.Abs).Max();
        if (double.IsNegativeInfinity(p)) return v.Select(Math.Abs).Min();
        if (p == 0) return v.Count(e => e != 0);
        double s = 0;
        foreach (var e in v) s += Math.Pow(Math.Abs(e), p);
        return Math.Pow(s, 1 / p);
    });

    /// <summary>Applies <paramref name="f"/> to every 1-D lane along <paramref name="dim"/>.</summary>
    public static RT Lanes(RT x, int dim, Func<double[], double[]> f)
    {
        if (x.Rank == 0) return new RT(f([x.Data[0]]), []);
        int d = Norm(dim, x.Rank);
        var y = new double[x.Numel];
        int size = x.Shape[d];
        var laneShape = (int[])x.Shape.Clone();
        laneShape[d] = 1;
        for (int l = 0; l < Numel(laneShape); l++)
        {
            var pos = Unravel(l, laneShape);
            var lane = new double[size];
            for (int i = 0; i < size; i++) { pos[d] = i; lane[i] = x.Data[Ravel(pos, x.Shape)]; }
            var result = f(lane);
            for (int i = 0; i < size; i++) { pos[d] = i; y[Ravel(pos, x.Shape)] = result[i]; }
        }
        return new RT(y, (int[])x.Shape.Clone());
    }

    public static RT Softmax(RT x, int dim) => Lanes(x, dim, v =>
    {
        double m = v.Max();
        var e = v.Select(t => Math.Exp(t - m)).ToArray();
        double s = SumOf(e);
        return e.Select(t => t / s).ToArray();
    });

    public static RT LogSoftmax(RT x, int dim) => Lanes(x, dim, v =>
    {
        double m = v.Max(), s = 0;
        foreach (var t in v) s += Math.Exp(t - m);
        double lse = m + Math.Log(s);
        return v.Select(t => t - lse).ToArray();
    });

    // ---- shape ops ----------------------------------------------------------------------------------------------

    public static RT Reshape(RT x, int[] shape)
    {
        var s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0) s[infer] = x.Numel / Numel(s.Where(v => v != -1).ToArray());
        return new RT((double[])x.Data.Clone(), s);
    }

    public static RT Permute(RT x, int[] perm)
    {
        var p = perm.Select(d => Norm(d, x.Rank)).ToArray();
        var shape = p.Select(d => x.Shape[d]).ToArray();
        var y = new double[x.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            var outPos = Unravel(i, shape);
            var inPos = new int[x.Rank];
            for (int k = 0; k < p.Length; k++) inPos[p[k]] = outPos[k];
            y[i] = x.Data[Ravel(inPos, x.Shape)];
        }
        return new RT(y, shape);
    }

    public static RT Transpose(RT x, int a, int b)
    {
        if (x.Rank == 0) return x;
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        a = Norm(a, x.Rank);
        b = Norm(b, x.Rank);
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }

    public static RT Expand(RT x, int[] shape)
    {
        var target = (int[])shape.Clone();
        int lead = target.Length - x.Rank;
        for (int i = lead; i < target.Length; i++) if (target[i] == -1) target[i] = x.Shape[i - lead];
        var y = new double[Numel(target)];
        for (int i = 0; i < y.Length; i++) y[i] = x.Data[BroadcastSource(Unravel(i, target), x.Shape)];
        return new RT(y, target);
    }

    /// <summary>Python slice start:end:step along one dim (negative start/end count from the end, clipped).</summary>
    public static RT Slice(RT x, int dim, int? start, int? end, int step)
    {
        int d = Norm(dim, x.Rank), size = x.Shape[d];
        int s = start ?? 0, e = end ?? size;
        if (s < 0) s += size;
        if (e < 0) e += size;
        s = Math.Min(Math.Max(s, 0), size);
        e = Math.Min(Math.Max(e, s), size);
        var picks = new List<int>();
        for (int i = s; i < e; i += step) picks.Add(i);
        return Take(x, d, picks.ToArray());
    }

    /// <summary>The entries at <paramref name="picks"/> along <paramref name="dim"/> (index_select).</summary>
    public static RT Take(RT x, int dim, int[] picks)
    {
        int d = Norm(dim, x.Rank);
        var shape = (int[])x.Shape.Clone();
        shape[d] = picks.Length;
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, shape);
            int p = picks[pos[d]];
            pos[d] = p < 0 ? p + x.Shape[d] : p;
            y[i] = x.Data[Ravel(pos, x.Shape)];
        }
        return new RT(y, shape);
    }

    public static RT Select(RT x, int dim, int index)
    {
        int d = Norm(dim, x.Rank);
        var taken = Take(x, d, [index]);
        return new RT(taken.Data, x.Shape.Where((_, k) => k != d).ToArray());
    }

    /// <summary>F.pad with a constant: (before, after) pairs from the last dim backwards; negative values crop.</summary>
    public static RT Pad(RT x, int[] pad, double value)
    {
        var shape = (int[])x.Shape.Clone();
        var before = new int[x.Rank];
        for (int i = 0; i < pad.Length / 2; i++)
        {
            int d = x.Rank - 1 - i;
            before[d] = pad[2 * i];
            shape[d] += pad[2 * i] + pad[2 * i + 1];
        }
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, shape);
            bool inside = true;
            for (int d = 0; d < x.Rank; d++)
            {
                pos[d] -= before[d];
                if (pos[d] < 0 || pos[d] >= x.Shape[d]) inside = false;
            }
            y[i] = inside ? x.Data[Ravel(pos, x.Shape)] : value;
        }
        return new RT(y, shape);
    }

    public static RT Cat(RT[] xs, int dim)
    {
        int d = Norm(dim, xs[0].Rank);
        var shape = (int[])xs[0].Shape.Clone();
        shape[d] = xs.Sum(t => t.Shape[d]);
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, shape);
            int k = 0, at = pos[d];
            while (at >= xs[k].Shape[d]) { at -= xs[k].Shape[d]; k++; }
            pos[d] = at;
            y[i] = xs[k].Data[Ravel(pos, xs[k].Shape)];
        }
        return new RT(y, shape);
    }

    public static RT Stack(RT[] xs, int dim)
    {
        int d = Norm(dim, xs[0].Rank + 1);
        return Cat(xs.Select(t =>
        {
            var s = t.Shape.ToList();
            s.Insert(d, 1);
            return new RT(t.Data, s.ToArray());
        }).ToArray(), d);
    }

    /// <summary>Consecutive pieces of the given sizes along dim.</summary>
    public static RT[] SplitSizes(RT x, int dim, int[] sizes)
    {
        int d = Norm(dim, x.Rank), at = 0;
        var parts = new RT[sizes.Length];
        for (int k = 0; k < sizes.Length; k++)
        {
            parts[k] = Take(x, d, Enumerable.Range(at, sizes[k]).ToArray());
            at += sizes[k];
        }
        return parts;
    }

    // ---- indexing -----------------------------------------------------------------------------------------------

    public static int Idx(double v, int size)
    {
        int i = (int)v;
        return i < 0 ? i + size : i;
    }

    /// <summary>out[p] = x[p with p[dim] replaced by index[p]].</summary>
    public static RT Gather(RT x, int dim, RT index)
    {
        int d = Norm(dim, x.Rank);
        var y = new double[index.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            var pos = Unravel(i, index.Shape);
            pos[d] = Idx(index.Data[i], x.Shape[d]);
            y[i] = x.Data[Ravel(pos, x.Shape)];
        }
        return new RT(y, (int[])index.Shape.Clone());
    }

    /// <summary>self with self[p with p[dim] = index[p]] += src[p] for every p of index.</summary>
    public static RT ScatterAdd(RT self, int dim, RT index, RT src)
    {
        int d = Norm(dim, self.Rank);
        var y = (double[])self.Data.Clone();
        for (int i = 0; i < index.Numel; i++)
        {
            var pos = Unravel(i, index.Shape);
            double v = src.Data[i];
            pos[d] = Idx(index.Data[i], self.Shape[d]);
            y[Ravel(pos, self.Shape)] += v;
        }
        return new RT(y, (int[])self.Shape.Clone());
    }

    public static RT IndexSelect(RT x, int dim, RT index) =>
        Take(x, dim, index.Data.Select(v => Idx(v, x.Shape[Norm(dim, x.Rank)])).ToArray());

    /// <summary>self with self[..., index[j], ...] += src[..., j, ...] along dim.</summary>
    public static RT IndexAdd(RT self, int dim, RT index, RT src)
    {
        int d = Norm(dim, self.Rank);
        var y = (double[])self.Data.Clone();
        for (int i = 0; i < src.Numel; i++)
        {
            var pos = Unravel(i, src.Shape);
            pos[d] = Idx(index.Data[pos[d]], self.Shape[d]);
            y[Ravel(pos, self.Shape)] += src.Data[i];
        }
        return new RT(y, (int[])self.Shape.Clone());
    }

    // ---- linear algebra -----------------------------------------------------------------------------------------

    /// <summary>torch.matmul's rules, with a triple loop per batch entry.</summary>
    public static RT Matmul(RT a, RT b)
    {
        if (a.Rank == 1 && b.Rank == 1)
        {
            double s = 0;
            for (int p = 0; p < a.Numel; p++) s += a.Data[p] * b.Data[p];
            return RT.Scalar(s);
        }
        var sa = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape;
        var sb = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = sa[^2], k = sa[^1], n = sb[^1];
        if (sb[^2] != k) throw new ArgumentException("reference matmul: inner sizes differ");
        var batchA = sa[..^2];
        var batchB = sb[..^2];
        var batch = BroadcastShape(batchA, batchB);
        var outShape = batch.Concat([m, n]).ToArray();
        var y = new double[Numel(outShape)];
        for (int bi = 0; bi < Numel(batch); bi++)
        {
            var bpos = Unravel(bi, batch);
            int ab = BroadcastSource(bpos, batchA), bb = BroadcastSource(bpos, batchB);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += a.Data[(ab * m + i) * k + p] * b.Data[(bb * k + p) * n + j];
                    y[(bi * m + i) * n + j] = s;
                }
        }
        var finalShape = outShape.ToList();
        if (b.Rank == 1) finalShape.RemoveAt(finalShape.Count - 1);
        if (a.Rank == 1) finalShape.RemoveAt(finalShape.Count - (b.Rank == 1 ? 1 : 2));
        return new RT(y, finalShape.ToArray());
    }

    /// <summary>x·Wᵀ + b.</summary>
    public static RT Linear(RT x, RT w, RT? bias)
    {
        var y = Matmul(x, Transpose(w, 0, 1));
        return bias is null ? y : Zip(y, bias, (u, v) => u + v);
    }

    // ---- losses -------------------------------------------------------------------------------------------------

    public static RT ReduceLoss(RT values, Reduction reduction) => reduction switch
    {
        Reduction.None => values,
        Reduction.Sum => RT.Scalar(SumOf(values.Data)),
        _ => RT.Scalar(SumOf(values.Data) / values.Numel),
    };

    /// <summary>
    /// Cross-entropy on logits [N, C, d…] and targets [N, d…]: per position with log p = log_softmax over C,
    /// (1 − ε)(−log p_t) − (ε/C) Σ_c log p_c.
    /// </summary>
    public static RT CrossEntropy(RT logits, RT target, Reduction reduction, double smoothing)
    {
        int n = logits.Shape[0], c = logits.Shape[1];
        int inner = Numel(logits.Shape[2..]);
        var loss = new double[n * inner];
        for (int i = 0; i < n; i++)
            for (int s = 0; s < inner; s++)
            {
                var z = new double[c];
                for (int k = 0; k < c; k++) z[k] = logits.Data[(i * c + k) * inner + s];
                double m = z.Max(), sum = 0;
                foreach (var v in z) sum += Math.Exp(v - m);
                double lse = m + Math.Log(sum);
                int t = (int)target.Data[i * inner + s];
                double nll = -(z[t] - lse), all = 0;
                for (int k = 0; k < c; k++) all += -(z[k] - lse);
                loss[i * inner + s] = (1 - smoothing) * nll + smoothing * all / c;
            }
        return ReduceLoss(new RT(loss, (int[])target.Shape.Clone()), reduction);
    }

    /// <summary>−input[n, target[n], d…].</summary>
    public static RT NllLoss(RT input, RT target, Reduction reduction)
    {
        int n = input.Shape[0], c = input.Shape[1];
        int inner = Numel(input.Shape[2..]);
        var loss = new double[n * inner];
        for (int i = 0; i < n; i++)
            for (int s = 0; s < inner; s++)
                loss[i * inner + s] = -input.Data[(i * c + (int)target.Data[i * inner + s]) * inner + s];
        return ReduceLoss(new RT(loss, (int[])target.Shape.Clone()), reduction);
    }

    public static RT Mse(RT x, RT y, Reduction r) => ReduceLoss(Zip(x, y, (a, b) => (a - b) * (a - b)), r);

    public static RT L1(RT x, RT y, Reduction r) => ReduceLoss(Zip(x, y, (a, b) => Math.Abs(a - b)), r);

    /// <summary>PyTorch's formula: (1 − y)·x + (1 + (w − 1)·y)·(ln(1 + e^(−|x|)) + max(−x, 0)).</summary>
    public static RT BceWithLogits(RT x, RT y, Reduction r, RT? posWeight)
    {
        var w = posWeight ?? RT.Scalar(1);
        return ReduceLoss(Zip3(x, y, w, (xv, yv, wv) =>
            (1 - yv) * xv + (1 + (wv - 1) * yv) * (Log1p(Math.Exp(-Math.Abs(xv))) + Math.Max(-xv, 0))), r);
    }
}
