using AutoGradNet.Kernels;

namespace AutoGradNet;

// Reductions over any set of dimensions. Primitive: sum and (arg)max/min; the rest are written from them.
public sealed partial class Tensor
{
    /// <summary>Normalised, sorted, distinct dims; all dims when <paramref name="dims"/> is null or empty.</summary>
    private int[] ReduceDims(int[]? dims, string op)
    {
        if (dims is null || dims.Length == 0)
        {
            var all = new int[Rank];
            for (int i = 0; i < all.Length; i++) all[i] = i;
            return all;
        }
        var result = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) result[i] = ShapeUtil.NormalizeDim(dims[i], Rank, op);
        Array.Sort(result);
        for (int i = 1; i < result.Length; i++)
            if (result[i] == result[i - 1]) throw new ArgumentException($"{op}: dimension {result[i]} appears twice in [{string.Join(", ", dims)}]");
        // A 0-d tensor accepts dim 0 / −1 (as PyTorch) but has no dimension to reduce: the reduction is over its one element.
        return Rank == 0 ? [] : result;
    }

    /// <summary>
    /// Moves the reduced dims last and makes the result contiguous, so reductions see rows of
    /// <c>inner</c> elements. Returns the shapes of the result with and without kept dims.
    /// </summary>
    private (DenseHandle Rows, int Outer, int Inner, int[] KeptShape, int[] OutShape) ReduceRows(int[] dims, bool keepDim)
    {
        var isReduced = new bool[Rank];
        foreach (int d in dims) isReduced[d] = true;
        var perm = new List<int>(Rank);
        var kept = new int[Rank];
        var outShape = new List<int>(Rank);
        int outer = 1, inner = 1;
        for (int d = 0; d < Rank; d++)
        {
            kept[d] = isReduced[d] ? 1 : _shape[d];
            if (!isReduced[d]) { perm.Add(d); outShape.Add(_shape[d]); outer *= _shape[d]; }
        }
        foreach (int d in dims) { perm.Add(d); inner *= _shape[d]; }
        // Reduced dims that already come last (a row max or sum over the last dim) need no permuted view.
        bool trailing = true;
        for (int i = 0; i < dims.Length; i++) trailing &= dims[i] == Rank - dims.Length + i;
        DenseHandle rows;
        if (trailing) rows = Dense();
        else
        {
            using (GradMode.NoGrad())
            {
                using var permuted = Permute(perm.ToArray());
                var dense = permuted.Contiguous();
                if (ReferenceEquals(dense, permuted)) dense = permuted.Alias(false);
                rows = new DenseHandle(dense, dense);
            }
        }
        return (rows, outer, inner, kept, keepDim ? kept : outShape.ToArray());
    }

    /// <summary>Sum of all elements (a 0-d tensor).</summary>
    public Tensor Sum() => Sum(null, false);

    /// <summary>Sum over <paramref name="dims"/> (all when null), keeping them as size 1 with <paramref name="keepDim"/>.</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        Guard.Alive(this, "sum");
        if (!DType.IsFloatingPoint())
        {
            using var asDouble = To(DType.Float64);
            using var s = asDouble.Sum(dims, keepDim);
            return s.To(DType.Int64);
        }
        var reduced = ReduceDims(dims, "sum");
        var y = TrySumTrailingFirst(reduced, keepDim, out var kept) ?? SumViaRows(reduced, keepDim, out kept);
        int[] inShape = _shape;
        return Tape.Record(y, "SumBackward", (kept, inShape), static (g, _, _, in st) => [g.Reshape(st.kept).Expand(st.inShape)], [this]);
    }

    private Tensor SumViaRows(int[] reduced, bool keepDim, out int[] kept)
    {
        if (IsContiguous && IsLeadingPrefix(reduced, Rank)) return SumLeading(reduced.Length, keepDim, out kept);
        var (rows, outer, inner, keptShape, outShape) = ReduceRows(reduced, keepDim);
        kept = keptShape;
        var y = Alloc(outShape, DType, Device);
        using (rows) Device.Backend.SumRows(rows, y, outer, inner);
        return y;
    }

    /// <summary>
    /// For a contiguous tensor whose reduced dims end with a trailing block and include others before it (batch
    /// norm's (0, 2, 3) on [N, C, H, W]): sums the trailing block as rows where it lies, with no permuted copy,
    /// then reduces the remaining dims of that much smaller partial sum. Null when the shape does not fit.
    /// </summary>
    private Tensor? TrySumTrailingFirst(int[] reduced, bool keepDim, out int[] kept)
    {
        kept = [];
        int t = Rank;
        while (t > 0 && Array.IndexOf(reduced, t - 1) >= 0) t--;
        if (t == Rank || reduced.Length == Rank - t || !IsContiguous || Numel == 0) return null;
        int inner = 1;
        for (int d = t; d < Rank; d++) inner *= _shape[d];
        using var partial = Alloc(_shape[..t], DType, Device);
        Device.Backend.SumRows(this, partial, Numel / inner, inner);
        var leading = reduced[..^(Rank - t)];
        if (IsLeadingPrefix(leading, t))
        {
            // A conv bias's (0, 2, 3): the partial [N, C] is summed down its columns, with no transposed copy.
            int leadingRows = 1, cols = 1;
            for (int d = 0; d < leading.Length; d++) leadingRows *= _shape[d];
            for (int d = leading.Length; d < t; d++) cols *= _shape[d];
            kept = KeptShape(reduced);
            var sum = Alloc(ReducedShape(reduced, keepDim), DType, Device);
            Device.Backend.SumColumns(partial, sum, leadingRows, cols);
            return sum;
        }
        var (rows, outer2, inner2, _, _) = partial.ReduceRows(leading, false);
        kept = KeptShape(reduced);
        var y = Alloc(ReducedShape(reduced, keepDim), DType, Device);
        using (rows) Device.Backend.SumRows(rows, y, outer2, inner2);
        return y;
    }

    /// <summary>True when the sorted dims are 0, 1, …, k − 1 with k below <paramref name="rank"/> (not every dim).</summary>
    private static bool IsLeadingPrefix(int[] sortedDims, int rank)
    {
        if (sortedDims.Length == 0 || sortedDims.Length >= rank) return false;
        for (int i = 0; i < sortedDims.Length; i++)
            if (sortedDims[i] != i) return false;
        return true;
    }

    /// <summary>The sum over the first <paramref name="count"/> dims of this contiguous tensor, as column sums.</summary>
    private Tensor SumLeading(int count, bool keepDim, out int[] kept)
    {
        int rows = 1;
        for (int d = 0; d < count; d++) rows *= _shape[d];
        int cols = 1;
        for (int d = count; d < Rank; d++) cols *= _shape[d];
        int[] reduced = new int[count];
        for (int d = 0; d < count; d++) reduced[d] = d;
        kept = KeptShape(reduced);
        var y = Alloc(ReducedShape(reduced, keepDim), DType, Device);
        Device.Backend.SumColumns(this, y, rows, cols);
        return y;
    }

    /// <summary>The shape with the sorted <paramref name="reduced"/> dims set to 1.</summary>
    private int[] KeptShape(int[] reduced)
    {
        var kept = (int[])_shape.Clone();
        foreach (int d in reduced) kept[d] = 1;
        return kept;
    }

    /// <summary>The result shape of reducing the sorted <paramref name="reduced"/> dims (kept as 1 with keepDim).</summary>
    private int[] ReducedShape(int[] reduced, bool keepDim)
    {
        if (keepDim) return KeptShape(reduced);
        var shape = new int[Rank - reduced.Length];
        for (int d = 0, at = 0, r = 0; d < Rank; d++)
        {
            if (r < reduced.Length && reduced[r] == d) { r++; continue; }
            shape[at++] = _shape[d];
        }
        return shape;
    }

    /// <summary>Sum over one dimension.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Mean(null, false);

    /// <summary>Mean over <paramref name="dims"/> (all when null).</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        using var composite = OpenComposite();
        Guard.Float(this, "mean");
        int count = 1;
        foreach (int d in ReduceDims(dims, "mean")) count *= _shape[d];
        return composite.Keep(Sum(dims, keepDim).Div(count));
    }

    /// <summary>Mean over one dimension.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Maximum over <paramref name="dim"/>: values and the index of the first maximum (int64).</summary>
    /// <remarks>NOTE: the gradient goes to that first index only; NaN counts as the maximum (propagates).</remarks>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false) => ArgReduce(dim, keepDim, max: true);

    /// <summary>Minimum over <paramref name="dim"/>: values and the index of the first minimum (int64).</summary>
    public (Tensor Values, Tensor Indices) Min(int dim, bool keepDim = false) => ArgReduce(dim, keepDim, max: false);

    /// <summary>Maximum of all elements; the gradient is shared evenly among tied maxima (as PyTorch's <c>max()</c>).</summary>
    public Tensor Max() => Amax(null);

    /// <summary>Minimum of all elements; the gradient is shared evenly among tied minima (as PyTorch's <c>min()</c>).</summary>
    public Tensor Min() => Amin(null);

    /// <summary>Index of the maximum over <paramref name="dim"/>, or over the flattened tensor when null.</summary>
    public Tensor Argmax(int? dim = null, bool keepDim = false)
    {
        using var noGrad = GradMode.NoGrad();
        if (dim is null) { using var flat = Reshape(-1); var (v, i) = flat.ArgReduce(0, false, true); v.Dispose(); return i; }
        var (values, indices) = ArgReduce(dim.Value, keepDim, max: true);
        values.Dispose();
        return indices;
    }

    /// <summary>Index of the minimum over <paramref name="dim"/>, or over the flattened tensor when null.</summary>
    public Tensor Argmin(int? dim = null, bool keepDim = false)
    {
        using var noGrad = GradMode.NoGrad();
        if (dim is null) { using var flat = Reshape(-1); var (v, i) = flat.ArgReduce(0, false, false); v.Dispose(); return i; }
        var (values, indices) = ArgReduce(dim.Value, keepDim, max: false);
        values.Dispose();
        return indices;
    }

    private (Tensor Values, Tensor Indices) ArgReduce(int dim, bool keepDim, bool max)
    {
        string name = max ? "max" : "min";
        Guard.Alive(this, name);
        if (DType == DType.Bool) throw new InvalidOperationException($"{name}: not defined for bool tensors (shape {Shape})");
        int d = ShapeUtil.NormalizeDim(dim, Rank, name);
        if (Rank > 0 && _shape[d] == 0) throw new ArgumentException($"{name}: cannot reduce over dimension {d} of size 0 (shape {Shape})");
        var (rows, outer, inner, kept, outShape) = ReduceRows(Rank == 0 ? [] : [d], keepDim);
        var values = Alloc(outShape, DType, Device);
        var indices = Alloc((int[])outShape.Clone(), DType.Int64, Device);
        using (rows) Device.Backend.ArgReduceRows(rows, values, indices, outer, Math.Max(inner, 1), max);
        if (!DType.IsFloatingPoint()) return (values, indices);
        if (Rank == 0)
        {
            // The single element is its own maximum: the gradient passes through (as PyTorch).
            Tape.Record(values, max ? "MaxBackward" : "MinBackward", (g, _, _) => [g], [this]);
            return (values, indices);
        }
        int[] inShape = _shape;
        Tape.Record(values, max ? "MaxBackward" : "MinBackward", (g, s, _) =>
        {
            var index = s[0].Reshape(kept);
            return [Zeros(inShape, g.DType, g.Device).ScatterAdd(d, index, g.Reshape(kept))];
        }, [this], [indices]);
        return (values, indices);
    }

    /// <summary>Maximum over <paramref name="dims"/>; the gradient is shared evenly among tied maxima (as PyTorch's amax).</summary>
    public Tensor Amax(int[]? dims, bool keepDim = false) => AmaxAmin(dims, keepDim, max: true);

    /// <summary>Minimum over <paramref name="dims"/>; the gradient is shared evenly among tied minima.</summary>
    public Tensor Amin(int[]? dims, bool keepDim = false) => AmaxAmin(dims, keepDim, max: false);

    private Tensor AmaxAmin(int[]? dims, bool keepDim, bool max)
    {
        string name = max ? "amax" : "amin";
        Guard.Float(this, name);
        var reduced = ReduceDims(dims, name);
        var (rows, outer, inner, kept, outShape) = ReduceRows(reduced, keepDim);
        if (inner == 0) { rows.Dispose(); throw new ArgumentException($"{name}: cannot reduce over an empty dimension (shape {Shape})"); }
        var y = Alloc(outShape, DType, Device);
        using (rows)
        using (var idx = Alloc((int[])outShape.Clone(), DType.Int64, Device))
            Device.Backend.ArgReduceRows(rows, y, idx, outer, inner, max);
        return Tape.Record(y, max ? "AmaxBackward" : "AminBackward", (g, s, _) =>
        {
            var hit = s[0].Eq(s[1].Reshape(kept)).To(g.DType);
            var count = hit.Sum(reduced, keepDim: true);
            return [hit.Div(count).Mul(g.Reshape(kept))];
        }, [this], [this, y]);
    }

    /// <summary>Variance over <paramref name="dims"/> with Bessel's <paramref name="correction"/> (1 = unbiased, PyTorch's default).</summary>
    public Tensor Var(int[]? dims = null, int correction = 1, bool keepDim = false)
    {
        using var composite = OpenComposite();
        Guard.Float(this, "var");
        int count = 1;
        foreach (int d in ReduceDims(dims, "var")) count *= _shape[d];
        var centered = Sub(Mean(dims, keepDim: true));
        return composite.Keep(centered.Mul(centered).Sum(dims, keepDim).Div(Math.Max(count - correction, 0)));
    }

    /// <summary>Standard deviation: √<see cref="Var"/>. Where it is 0 the gradient is 0 (PyTorch's convention), not NaN.</summary>
    public Tensor Std(int[]? dims = null, int correction = 1, bool keepDim = false)
    {
        using var composite = OpenComposite();
        var variance = Var(dims, correction, keepDim);
        var y = MapKernel(variance, new SqrtOperator(), "std");
        return composite.Keep(Tape.Record(y, "StdBackward", (g, s, _) =>
        {
            // NOTE: √ has an infinite slope at 0; PyTorch's std_backward masks those entries to 0 (the subgradient of
            // the kink std has where all values agree) instead of 0·∞ = NaN.
            var std = s[0];
            var zero = std.Eq(0.0);
            var safe = Where(zero, OnesLike(std), std);
            return [Where(zero, ZerosLike(g), g.Div(safe.Mul(2.0)))];
        }, [variance], [y]));
    }

    /// <summary>log Σ eˣ over <paramref name="dims"/>, computed stably (shifted by the maximum).</summary>
    public Tensor LogSumExp(int[]? dims, bool keepDim = false)
    {
        using var composite = OpenComposite();
        Guard.Float(this, "logsumexp");
        var reduced = ReduceDims(dims, "logsumexp");
        using var shift = RowMaxForStability(reduced);
        var result = Sub(shift).Exp().Sum(reduced, keepDim: true).Log().Add(shift);
        if (keepDim) return composite.Keep(result);
        var outShape = new List<int>();
        for (int d = 0; d < Rank; d++) if (Array.IndexOf(reduced, d) < 0) outShape.Add(_shape[d]);
        return composite.Keep(result.Reshape(outShape.ToArray()));
    }

    /// <summary>
    /// The p-norm over <paramref name="dims"/> (all when null): (Σ|x|ᵖ)^(1/p) for any real p ≠ 0; p = ∞ gives max |x|,
    /// p = −∞ min |x|, p = 0 the number of non-zeros (as <c>torch.linalg.vector_norm</c>).
    /// The gradient at a zero norm is 0 (PyTorch's convention), not NaN.
    /// </summary>
    public Tensor Norm(double p = 2, int[]? dims = null, bool keepDim = false)
    {
        Guard.Float(this, "norm");
        if (double.IsNaN(p)) throw new ArgumentException("norm: p must be a number, got NaN");
        var reduced = ReduceDims(dims, "norm");
        if (double.IsPositiveInfinity(p)) return Abs().Amax(reduced, keepDim);
        if (double.IsNegativeInfinity(p)) return Abs().Amin(reduced, keepDim);
        if (p == 0) return Abs().Sign().Sum(reduced, keepDim); // a count: gradient 0 everywhere
        Tensor y;
        using (GradMode.NoGrad())
        {
            using var powered = p == 2 ? Mul(this) : Abs().Pow(p);
            using var sum = powered.Sum(reduced, keepDim);
            y = p == 2 ? sum.Sqrt() : sum.Pow(1 / p);
        }
        var kept = new int[Rank];
        for (int d = 0; d < Rank; d++) kept[d] = Array.IndexOf(reduced, d) >= 0 ? 1 : _shape[d];
        return Tape.Record(y, "NormBackward", (g, s, _) =>
        {
            Tensor x = s[0], norm = s[1].Reshape(kept), gk = g.Reshape(kept);
            // ∂‖x‖/∂x = sign(x)·|x|^(p−1) / ‖x‖^(p−1)
            var numerator = p == 2 ? x : x.Sign().Mul(x.Abs().Pow(p - 1));
            var denominator = p == 2 ? norm : norm.Pow(p - 1);
            var zero = norm.Eq(0.0);
            var safeDen = Where(zero, OnesLike(denominator), denominator);
            return [Where(zero, ZerosLike(x), numerator.Div(safeDen).Mul(gk))];
        }, [this], [this, y]);
    }
}
