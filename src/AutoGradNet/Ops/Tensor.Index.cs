namespace AutoGradNet;

// Indexing ops come in adjoint pairs: gather ↔ scatter_add and index_select ↔ index_add, each the other's backward.
public sealed partial class Tensor
{
    /// <summary>Entries along <paramref name="dim"/> at the positions in a 1-D int64 <paramref name="index"/>.</summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        const string name = "index_select";
        Guard.Alive(this, name);
        Guard.Index(index, name);
        Guard.SameDevice(this, index, name);
        if (index.Rank > 1) throw new ArgumentException($"{name}: index must be 1-D, got shape {index.Shape}");
        int d = ShapeUtil.NormalizeDim(dim, Rank, name);
        if (Rank == 0) throw new ArgumentException($"{name}: cannot index a 0-d tensor");
        var shape = (int[])_shape.Clone();
        shape[d] = index.Numel;
        var y = Alloc(shape, DType, Device);
        using (var dense = Dense())
        using (var flatIndex = index.Reshape(-1))
            Device.Backend.IndexSelect(dense, d, flatIndex, y);
        int[] inShape = _shape;
        return Tape.Record(y, "IndexSelectBackward", (g, s, _) => [Zeros(inShape, g.DType, g.Device).IndexAdd(d, s[0], g)], [this], [index]);
    }

    /// <summary>A copy of this tensor with <paramref name="source"/> slices added at the positions in <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor IndexAdd(int dim, Tensor index, Tensor source)
    {
        const string name = "index_add";
        Guard.Compatible(this, source, name);
        Guard.Float(this, name);
        Guard.Index(index, name);
        int d = ShapeUtil.NormalizeDim(dim, Rank, name);
        var expected = (int[])_shape.Clone();
        expected[d] = index.Numel;
        if (!ShapeUtil.SequenceEqual(expected, source._shape))
            throw new ArgumentException($"{name}: source shape {source.Shape} does not match {ShapeUtil.Format(expected)} (self {Shape}, {index.Numel} indices along dim {d})");
        Tensor y;
        using (GradMode.NoGrad())
        using (var dense = source.Dense())
        using (var flatIndex = index.Reshape(-1))
        {
            y = Clone();
            Device.Backend.IndexAdd(y, d, flatIndex, dense);
        }
        return Tape.Record(y, "IndexAddBackward", (g, s, need) => [need[0] ? g : null, need[1] ? g.IndexSelect(d, s[0]) : null], [this, source], [index]);
    }

    /// <summary>out[i][j][k] = this[index[i][j][k]][j][k] for dim 0 (and likewise for other dims); index is int64 of the output's shape.</summary>
    public Tensor Gather(int dim, Tensor index)
    {
        const string name = "gather";
        Guard.Alive(this, name);
        Guard.Index(index, name);
        Guard.SameDevice(this, index, name);
        int d = ShapeUtil.NormalizeDim(dim, Rank, name);
        if (index.Rank != Rank) throw new ArgumentException($"{name}: index shape {index.Shape} must have the same rank as the input {Shape}");
        for (int k = 0; k < Rank; k++)
            if (k != d && index._shape[k] > _shape[k])
                throw new ArgumentException($"{name}: index shape {index.Shape} exceeds input shape {Shape} in dimension {k}");
        var y = Alloc((int[])index._shape.Clone(), DType, Device);
        using (var denseIndex = index.Dense())
            Device.Backend.Gather(this, d, denseIndex, y);
        int[] inShape = _shape;
        return Tape.Record(y, "GatherBackward", (inShape, d), static (g, s, _, in st) => [Zeros(st.inShape, g.DType, g.Device).ScatterAdd(st.d, s[0], g)], [this], [index]);
    }

    /// <summary>A copy of this tensor with each element of <paramref name="source"/> added at the position <paramref name="index"/> names along <paramref name="dim"/>.</summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor source)
    {
        const string name = "scatter_add";
        Guard.Compatible(this, source, name);
        Guard.Float(this, name);
        Guard.Index(index, name);
        int d = ShapeUtil.NormalizeDim(dim, Rank, name);
        if (index.Rank != Rank || !ShapeUtil.SequenceEqual(index._shape, source._shape))
            throw new ArgumentException($"{name}: index {index.Shape} and source {source.Shape} must have the same shape and the rank of self {Shape}");
        for (int k = 0; k < Rank; k++)
            if (k != d && index._shape[k] > _shape[k])
                throw new ArgumentException($"{name}: index shape {index.Shape} exceeds self shape {Shape} in dimension {k}");
        Tensor y;
        using (GradMode.NoGrad())
        using (var denseIndex = index.Dense())
        using (var denseSource = source.Dense())
        {
            y = Clone();
            Device.Backend.ScatterAdd(y, d, denseIndex, denseSource);
        }
        return Tape.Record(y, "ScatterAddBackward", (g, s, need) => [need[0] ? g : null, need[1] ? g.Gather(d, s[0]) : null], [this, source], [index]);
    }
}
