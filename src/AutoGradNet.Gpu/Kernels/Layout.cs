using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Gpu.Kernels;

// Kernels receive shapes and strides as small fixed-size structs (passed by value as kernel parameters), with
// dimension 0 the innermost. Up to 8 dimensions remain after size-1 dims are dropped and contiguous neighbours
// merged (the same coalescing the CPU backend uses), which covers every tensor a CNN produces.

/// <summary>The sizes of up to 8 dims, innermost first; unused dims have size 1.</summary>
internal struct Extent8
{
    public int Rank;
    public int S0, S1, S2, S3, S4, S5, S6, S7;

    /// <summary>The coordinates of flat (row-major) element <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Coord8 Decompose(int i)
    {
        // Each step peels the innermost remaining dim; the rank test is uniform across a launch.
        Coord8 c = default;
        c.C0 = i;
        if (Rank > 1) { c.C1 = c.C0 / S0; c.C0 -= c.C1 * S0; }
        if (Rank > 2) { c.C2 = c.C1 / S1; c.C1 -= c.C2 * S1; }
        if (Rank > 3) { c.C3 = c.C2 / S2; c.C2 -= c.C3 * S2; }
        if (Rank > 4) { c.C4 = c.C3 / S3; c.C3 -= c.C4 * S3; }
        if (Rank > 5) { c.C5 = c.C4 / S4; c.C4 -= c.C5 * S4; }
        if (Rank > 6) { c.C6 = c.C5 / S5; c.C5 -= c.C6 * S5; }
        if (Rank > 7) { c.C7 = c.C6 / S6; c.C6 -= c.C7 * S6; }
        return c;
    }

    public void Set(int d, int value)
    {
        switch (d)
        {
            case 0: S0 = value; break;
            case 1: S1 = value; break;
            case 2: S2 = value; break;
            case 3: S3 = value; break;
            case 4: S4 = value; break;
            case 5: S5 = value; break;
            case 6: S6 = value; break;
            default: S7 = value; break;
        }
    }
}

/// <summary>Coordinates in an <see cref="Extent8"/>, innermost first.</summary>
internal struct Coord8
{
    public int C0, C1, C2, C3, C4, C5, C6, C7;
}

/// <summary>One operand's start offset and element strides, innermost first (0 for broadcast or unused dims).</summary>
internal struct Strides8
{
    public int Offset;
    public int T0, T1, T2, T3, T4, T5, T6, T7;

    /// <summary>The element offset of coordinates <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int At(Coord8 c) =>
        Offset + c.C0 * T0 + c.C1 * T1 + c.C2 * T2 + c.C3 * T3 + c.C4 * T4 + c.C5 * T5 + c.C6 * T6 + c.C7 * T7;

    public void Set(int d, int value)
    {
        switch (d)
        {
            case 0: T0 = value; break;
            case 1: T1 = value; break;
            case 2: T2 = value; break;
            case 3: T3 = value; break;
            case 4: T4 = value; break;
            case 5: T5 = value; break;
            case 6: T6 = value; break;
            default: T7 = value; break;
        }
    }
}

/// <summary>Builds <see cref="Extent8"/>/<see cref="Strides8"/> for up to four views of one shape.</summary>
internal static class LayoutBuilder
{
    public const int MaxRank = 8;

    /// <summary>Coalesces the views of <paramref name="shape"/> (strides per operand) into kernel layouts.</summary>
    public static (Extent8 Extent, Strides8[] Operands) Build(int[] shape, params Tensor[] operands)
    {
        var strides = new int[operands.Length][];
        for (int k = 0; k < operands.Length; k++) strides[k] = operands[k].Strides;
        var (dims, st) = Strided.Coalesce(shape, strides);
        if (dims.Length > MaxRank)
            throw new NotSupportedException($"gpu: views with more than {MaxRank} non-mergeable dims are not supported (shape {ShapeUtil.Format(shape)}); make the tensor contiguous first");
        var extent = new Extent8 { Rank = dims.Length, S0 = 1, S1 = 1, S2 = 1, S3 = 1, S4 = 1, S5 = 1, S6 = 1, S7 = 1 };
        var result = new Strides8[operands.Length];
        for (int k = 0; k < operands.Length; k++) result[k].Offset = operands[k].Offset;
        for (int d = 0; d < dims.Length; d++)
        {
            int inner = dims.Length - 1 - d;
            extent.Set(inner, dims[d]);
            for (int k = 0; k < operands.Length; k++) result[k].Set(inner, st[k][d]);
        }
        return (extent, result);
    }

    /// <summary>The full (uncoalesced) layout of one shape, for kernels that address a given dim (gather, scatter).</summary>
    public static Extent8 Exact(int[] shape)
    {
        if (shape.Length > MaxRank)
            throw new NotSupportedException($"gpu: tensors of rank {shape.Length} are not supported by this kernel (at most {MaxRank})");
        var extent = new Extent8 { Rank = Math.Max(shape.Length, 1), S0 = 1, S1 = 1, S2 = 1, S3 = 1, S4 = 1, S5 = 1, S6 = 1, S7 = 1 };
        for (int d = 0; d < shape.Length; d++) extent.Set(shape.Length - 1 - d, shape[d]);
        return extent;
    }

    /// <summary>Strides of a view in <see cref="Exact"/> order; the dim <paramref name="zeroDim"/> (if any) gets stride 0.</summary>
    public static Strides8 ExactStrides(Tensor t, int zeroDim = -1)
    {
        var s = new Strides8 { Offset = t.Offset };
        int rank = t.Rank;
        for (int d = 0; d < rank; d++) s.Set(rank - 1 - d, d == zeroDim ? 0 : t.Strides[d]);
        return s;
    }
}
