namespace AutoGradNet;

// Views and copies that change shape or layout. Views share storage; their backward reshapes, permutes,
// sums or embeds the gradient back into the input's shape.
public sealed partial class Tensor
{
    private int[] InferShape(int[] shape, string op)
    {
        int infer = -1, known = 1;
        var result = (int[])shape.Clone();
        for (int i = 0; i < result.Length; i++)
        {
            if (result[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: only one dimension can be -1, got {ShapeUtil.Format(shape)}");
                infer = i;
            }
            else if (result[i] < 0) throw new ArgumentException($"{op}: invalid size {result[i]} in {ShapeUtil.Format(shape)}");
            else known *= result[i];
        }
        int numel = Numel;
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ArgumentException($"{op}: shape {ShapeUtil.Format(shape)} is invalid for a tensor of {numel} elements (shape {Shape})");
            result[infer] = numel / known;
        }
        else if (known != numel)
            throw new ArgumentException($"{op}: shape {ShapeUtil.Format(shape)} is invalid for a tensor of {numel} elements (shape {Shape})");
        return result;
    }

    /// <summary>The same elements with a new shape (one size may be −1); a view when the layout allows, else a copy.</summary>
    public Tensor Reshape(params int[] shape)
    {
        Guard.Alive(this, "reshape");
        var target = InferShape(shape, "reshape");
        var strides = ViewStrides(target);
        if (strides is null)
        {
            using var dense = Clone();
            return dense.Reshape(target);
        }
        var y = View(target, strides, Offset);
        int[] inShape = _shape;
        return Tape.Record(y, "ReshapeBackward", inShape, static (g, _, _, in shape) => [g.Reshape(shape)], [this]);
    }

    /// <summary>A view with a new shape; throws if the strides do not allow one (use <see cref="Reshape"/>, which copies then).</summary>
    public Tensor View(params int[] shape)
    {
        Guard.Alive(this, "view");
        if (ViewStrides(InferShape(shape, "view")) is null)
            throw new InvalidOperationException($"view: the tensor of shape {Shape} with strides [{string.Join(", ", _strides)}] cannot be viewed as {ShapeUtil.Format(shape)}; use Reshape or Contiguous()");
        return Reshape(shape);
    }

    /// <summary>
    /// Strides that present this tensor's elements in <paramref name="target"/>'s row-major order without copying, or
    /// null. Each run of dims that is contiguous in memory can be split or merged freely (PyTorch's rule).
    /// </summary>
    private int[]? ViewStrides(int[] target)
    {
        if (IsContiguous || Numel == 0) return ShapeUtil.ContiguousStrides(target);
        var result = new int[target.Length];
        int viewDim = target.Length - 1;
        long chunkStride = _strides.Length > 0 ? _strides[^1] : 1;
        long tensorNumel = 1, viewNumel = 1;
        for (int d = Rank - 1; d >= 0; d--)
        {
            tensorNumel *= _shape[d];
            bool chunkEnds = d == 0 || (_shape[d - 1] != 1 && _strides[d - 1] != tensorNumel * chunkStride);
            if (!chunkEnds) continue;
            while (viewDim >= 0 && (viewNumel < tensorNumel || target[viewDim] == 1))
            {
                result[viewDim] = (int)(viewNumel * chunkStride);
                viewNumel *= target[viewDim];
                viewDim--;
            }
            if (viewNumel != tensorNumel) return null;
            if (d > 0)
            {
                chunkStride = _strides[d - 1];
                tensorNumel = 1;
                viewNumel = 1;
            }
        }
        return viewDim == -1 ? result : null;
    }

    /// <summary>Merges dims <paramref name="startDim"/>..<paramref name="endDim"/> into one.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = ShapeUtil.NormalizeDim(startDim, Rank, "flatten"), e = ShapeUtil.NormalizeDim(endDim, Rank, "flatten");
        if (s > e) throw new ArgumentException($"flatten: start dim {startDim} comes after end dim {endDim} (shape {Shape})");
        var shape = new List<int>();
        for (int d = 0; d < s; d++) shape.Add(_shape[d]);
        int merged = 1;
        for (int d = s; d <= e; d++) merged *= _shape[d];
        shape.Add(merged);
        for (int d = e + 1; d < Rank; d++) shape.Add(_shape[d]);
        return Reshape(shape.ToArray());
    }

    /// <summary>Removes size-1 dims (all of them, or only <paramref name="dim"/>).</summary>
    public Tensor Squeeze(int? dim = null)
    {
        var shape = new List<int>();
        int target = dim is null ? -1 : ShapeUtil.NormalizeDim(dim.Value, Rank, "squeeze");
        for (int d = 0; d < Rank; d++)
            if (!(_shape[d] == 1 && (target < 0 || target == d))) shape.Add(_shape[d]);
        return Reshape(shape.ToArray());
    }

    /// <summary>Inserts a size-1 dim at <paramref name="dim"/> (−1 appends).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank + 1, "unsqueeze");
        var shape = new List<int>(_shape);
        shape.Insert(d, 1);
        return Reshape(shape.ToArray());
    }

    /// <summary>Reorders dims (a view).</summary>
    public Tensor Permute(params int[] dims)
    {
        Guard.Alive(this, "permute");
        if (dims.Length != Rank) throw new ArgumentException($"permute: got {dims.Length} dims [{string.Join(", ", dims)}] for a tensor of shape {Shape}");
        var seen = new bool[Rank];
        var shape = new int[Rank];
        var strides = new int[Rank];
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = ShapeUtil.NormalizeDim(dims[i], Rank, "permute");
            if (seen[d]) throw new ArgumentException($"permute: dim {d} repeats in [{string.Join(", ", dims)}]");
            seen[d] = true;
            shape[i] = _shape[d];
            strides[i] = _strides[d];
            inverse[d] = i;
        }
        var y = View(shape, strides, Offset);
        return Tape.Record(y, "PermuteBackward", (g, _, _) => [g.Permute(inverse)], [this]);
    }

    /// <summary>Swaps two dims (a view).</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        var perm = new int[Rank];
        for (int i = 0; i < Rank; i++) perm[i] = i;
        int a = ShapeUtil.NormalizeDim(dim0, Rank, "transpose"), b = ShapeUtil.NormalizeDim(dim1, Rank, "transpose");
        if (Rank == 0) return Permute(perm); // dims 0 / −1 of a 0-d tensor name the tensor itself (as PyTorch)
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>The transpose of a matrix (rank ≤ 2), as PyTorch's <c>.T</c>.</summary>
    public Tensor T
    {
        get
        {
            if (Rank > 2) throw new InvalidOperationException($"T: defined for rank ≤ 2 only, got shape {Shape}; use Transpose or MT");
            return Rank < 2 ? Reshape(_shape) : Transpose(0, 1);
        }
    }

    /// <summary>Transposes the last two dims (PyTorch's <c>.mT</c>).</summary>
    public Tensor MT => Transpose(-2, -1);

    /// <summary>Broadcasts size-1 dims to larger sizes without copying; −1 keeps a size.</summary>
    public Tensor Expand(params int[] shape)
    {
        Guard.Alive(this, "expand");
        if (shape.Length < Rank) throw new ArgumentException($"expand: target {ShapeUtil.Format(shape)} has fewer dims than the tensor's shape {Shape}");
        int lead = shape.Length - Rank;
        var target = new int[shape.Length];
        var strides = new int[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            int have = i < lead ? 1 : _shape[i - lead];
            int want = shape[i] == -1 && i >= lead ? have : shape[i];
            if (want < 0 || (have != want && have != 1))
                throw new ArgumentException($"expand: the tensor of shape {Shape} cannot be expanded to {ShapeUtil.Format(shape)} (dim {i}: {have} → {shape[i]})");
            target[i] = want;
            strides[i] = i < lead || (have == 1 && want != 1) ? 0 : _strides[i - lead];
        }
        if (ShapeUtil.SequenceEqual(target, _shape)) return Tape.Record(View(target, _strides, Offset), "ExpandBackward", (g, _, _) => [g], [this]);
        var y = View(target, strides, Offset);
        int[] inShape = _shape;
        return Tape.Record(y, "ExpandBackward", inShape, static (g, _, _, in shape) => [g.SumTo(shape)], [this]);
    }

    /// <summary>Expands to <paramref name="shape"/> under broadcasting rules.</summary>
    public Tensor BroadcastTo(params int[] shape) => Expand(shape);

    /// <summary>This tensor if it is contiguous, else a contiguous copy.</summary>
    public Tensor Contiguous()
    {
        Guard.Alive(this, "contiguous");
        return IsContiguous ? this : Clone();
    }

    /// <summary>A contiguous copy (differentiable: the gradient passes through).</summary>
    public Tensor Clone()
    {
        Guard.Alive(this, "clone");
        var y = EmptyLike(this);
        Device.Backend.Copy(this, y);
        return Tape.Record(y, "CloneBackward", (g, _, _) => [g], [this]);
    }

    /// <summary>This tensor converted to <paramref name="dtype"/> (itself when already of that dtype).</summary>
    public Tensor To(DType dtype)
    {
        Guard.Alive(this, "to");
        if (dtype == DType) return this;
        var y = EmptyLike(this, dtype);
        Device.Backend.Cast(this, y);
        if (!dtype.IsFloatingPoint()) return y;
        var source = DType;
        return Tape.Record(y, "ToCopyBackward", (g, _, _) => [g.To(source)], [this]);
    }

    /// <summary>This tensor on <paramref name="device"/> (itself when already there).</summary>
    public Tensor To(Device device)
    {
        Guard.Alive(this, "to");
        if (device == Device) return this;
        var y = Alloc((int[])_shape.Clone(), DType, device);
        using (var dense = Contiguous().Alias(false)) device.Backend.Upload(Device.Backend.Download(dense), y);
        var source = Device;
        return Tape.Record(y, "ToCopyBackward", (g, _, _) => [g.To(source)], [this]);
    }

    // ---- slicing -------------------------------------------------------------------------------------------

    /// <summary>A strided sub-view: per dim a start, a step and a size (the general form of slicing).</summary>
    internal Tensor Region(int[] starts, int[] steps, int[] sizes)
    {
        int offset = Offset;
        var strides = new int[Rank];
        for (int d = 0; d < Rank; d++)
        {
            offset += starts[d] * _strides[d];
            strides[d] = _strides[d] * steps[d];
        }
        var y = View(sizes, strides, sizes.Contains(0) ? Offset : offset);
        int[] inShape = _shape;
        return Tape.Record(y, "SliceBackward", (g, _, _) => [Embed(g, inShape, starts, steps, 0)], [this]);
    }

    /// <summary>A tensor of <paramref name="fullShape"/> filled with <paramref name="fill"/> with x written into a region (the backward of slicing, and padding).</summary>
    internal static Tensor Embed(Tensor x, int[] fullShape, int[] starts, int[] steps, double fill)
    {
        var y = Full(fullShape, fill, x.DType, x.Device);
        int offset = 0;
        var strides = new int[fullShape.Length];
        for (int d = 0; d < fullShape.Length; d++)
        {
            offset += starts[d] * y._strides[d];
            strides[d] = y._strides[d] * steps[d];
        }
        if (x.Numel > 0) x.Device.Backend.Copy(x, new Tensor(y.StorageRef, x._shape, strides, offset, register: false));
        int[] xShape = x._shape;
        return Tape.Record(y, "EmbedBackward", (g, _, _) => [g.Region(starts, steps, xShape)], [x]);
    }

    /// <summary>Elements start, start+step, … below end along <paramref name="dim"/> (Python slice semantics, negative indices allowed).</summary>
    public Tensor Slice(int dim, int? start = null, int? end = null, int step = 1)
    {
        Guard.Alive(this, "slice");
        if (step <= 0) throw new ArgumentException($"slice: step must be positive, got {step}");
        int d = ShapeUtil.NormalizeDim(dim, Rank, "slice");
        int size = _shape[d];
        int s = start ?? 0, e = end ?? size;
        if (s < 0) s += size;
        if (e < 0) e += size;
        s = Math.Clamp(s, 0, size);
        e = Math.Clamp(e, s, size);
        var starts = new int[Rank];
        var steps = new int[Rank];
        var sizes = (int[])_shape.Clone();
        Array.Fill(steps, 1);
        starts[d] = s;
        steps[d] = step;
        sizes[d] = (e - s + step - 1) / step;
        return Region(starts, steps, sizes);
    }

    /// <summary><paramref name="length"/> elements from <paramref name="start"/> along <paramref name="dim"/> (a view).</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "narrow");
        if (start < 0) start += _shape[d];
        if (start < 0 || length < 0 || start + length > _shape[d])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: start {start} + length {length} exceeds dimension {d} of size {_shape[d]} (shape {Shape})");
        return Slice(d, start, start + length);
    }

    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, with that dim removed.</summary>
    public Tensor Select(int dim, int index)
    {
        using var composite = OpenComposite();
        int d = ShapeUtil.NormalizeDim(dim, Rank, "select");
        int size = _shape[d];
        if (index < -size || index >= size)
            throw new IndexOutOfRangeException($"select: index {index} is out of range for dimension {d} of size {size} (shape {Shape})");
        if (index < 0) index += size;
        return composite.Keep(Narrow(d, index, 1).Squeeze(d));
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along the first dim (PyTorch's <c>x[i]</c>).</summary>
    [IndexerName("At")]
    public Tensor this[int index] => Select(0, index);

    /// <summary>
    /// Pads with a constant. <paramref name="pad"/> lists (before, after) pairs starting from the last dim, as
    /// PyTorch's <c>F.pad</c>: (left, right) pads the last dim, (left, right, top, bottom) the last two.
    /// Negative amounts remove elements from that side (as <c>F.pad</c>).
    /// </summary>
    public Tensor Pad(int[] pad, double value = 0)
    {
        Guard.Alive(this, "pad");
        if (pad.Length % 2 != 0 || pad.Length / 2 > Rank)
            throw new ArgumentException($"pad: expected an even number of values for at most {Rank} dims, got [{string.Join(", ", pad)}] for shape {Shape}");
        var full = (int[])_shape.Clone();
        var starts = new int[Rank];
        var steps = new int[Rank];
        Array.Fill(steps, 1);
        var source = this;
        for (int i = 0; i < pad.Length / 2; i++)
        {
            int d = Rank - 1 - i;
            int before = pad[2 * i], after = pad[2 * i + 1], size = _shape[d];
            if (size + before + after < 0)
                throw new ArgumentException($"pad: padding [{string.Join(", ", pad)}] makes dimension {d} of size {size} negative (shape {Shape})");
            if (before < 0 || after < 0)
            {
                // Crop first: keep input positions [max(−before, 0), size − max(−after, 0)), possibly none.
                int start = Math.Min(Math.Max(-before, 0), size), end = Math.Max(size - Math.Max(-after, 0), start);
                source = source.Narrow(d, start, end - start);
            }
            full[d] = size + before + after;
            starts[d] = Math.Max(before, 0);
        }
        return Embed(source, full, starts, steps, value);
    }

    // ---- joining and splitting ---------------------------------------------------------------------------

    /// <summary>Concatenates tensors along an existing dim.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        if (tensors.Count == 0) throw new ArgumentException("cat: expected at least one tensor");
        var first = tensors[0];
        int d = ShapeUtil.NormalizeDim(dim, first.Rank, "cat");
        int total = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            Guard.Compatible(first, t, "cat");
            if (t.Rank != first.Rank) throw new ArgumentException($"cat: tensor {i} has shape {t.Shape} but tensor 0 has shape {first.Shape}");
            for (int k = 0; k < first.Rank; k++)
                if (k != d && t._shape[k] != first._shape[k])
                    throw new ArgumentException($"cat: sizes must match except in dimension {d}; tensor {i} has shape {t.Shape}, tensor 0 has shape {first.Shape}");
            total += t._shape[d];
        }
        var shape = (int[])first._shape.Clone();
        shape[d] = total;
        var y = Alloc(shape, first.DType, first.Device);
        var sizes = new int[tensors.Count];
        int offset = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            sizes[i] = t._shape[d];
            if (t.Numel > 0)
                first.Device.Backend.Copy(t, new Tensor(y.StorageRef, t._shape, y._strides, offset * y._strides[d], register: false));
            offset += sizes[i];
        }
        if (!first.DType.IsFloatingPoint()) return y;
        return Tape.Record(y, "CatBackward", (g, _, need) =>
        {
            var grads = new Tensor?[sizes.Length];
            int at = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (need[i]) grads[i] = g.Narrow(d, at, sizes[i]);
                at += sizes[i];
            }
            return grads;
        }, tensors.ToArray());
    }

    /// <summary>Stacks same-shaped tensors along a new dim.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        using var composite = OpenComposite();
        if (tensors.Count == 0) throw new ArgumentException("stack: expected at least one tensor");
        for (int i = 1; i < tensors.Count; i++)
            if (!ShapeUtil.SequenceEqual(tensors[i]._shape, tensors[0]._shape))
                throw new ArgumentException($"stack: all tensors must have the same shape; tensor {i} has {tensors[i].Shape}, tensor 0 has {tensors[0].Shape}");
        int d = ShapeUtil.NormalizeDim(dim, tensors[0].Rank + 1, "stack");
        var parts = new Tensor[tensors.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = tensors[i].Unsqueeze(d);
        return composite.Keep(Cat(parts, d));
    }

    /// <summary>Splits into pieces of <paramref name="splitSize"/> along <paramref name="dim"/> (the last may be smaller); views.</summary>
    public Tensor[] Split(int splitSize, int dim = 0)
    {
        if (splitSize <= 0) throw new ArgumentException($"split: size must be positive, got {splitSize}");
        int d = ShapeUtil.NormalizeDim(dim, Rank, "split");
        var sizes = new List<int>();
        for (int at = 0; at < _shape[d]; at += splitSize) sizes.Add(Math.Min(splitSize, _shape[d] - at));
        if (sizes.Count == 0) sizes.Add(0);
        return Split(sizes.ToArray(), d);
    }

    /// <summary>Splits into pieces of the given sizes along <paramref name="dim"/>; views.</summary>
    public Tensor[] Split(int[] sizes, int dim = 0)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "split");
        if (sizes.Sum() != _shape[d] || sizes.Any(s => s < 0))
            throw new ArgumentException($"split: sizes [{string.Join(", ", sizes)}] do not add up to dimension {d} of size {_shape[d]} (shape {Shape})");
        var parts = new Tensor[sizes.Length];
        int at = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            parts[i] = Narrow(d, at, sizes[i]);
            at += sizes[i];
        }
        return parts;
    }

    /// <summary>Splits into <paramref name="chunks"/> nearly equal pieces along <paramref name="dim"/> (PyTorch's rule: ceil-sized pieces).</summary>
    public Tensor[] Chunk(int chunks, int dim = 0)
    {
        if (chunks <= 0) throw new ArgumentException($"chunk: number of chunks must be positive, got {chunks}");
        int d = ShapeUtil.NormalizeDim(dim, Rank, "chunk");
        int size = (_shape[d] + chunks - 1) / chunks;
        return Split(Math.Max(size, 1), d);
    }
}
