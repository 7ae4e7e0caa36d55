namespace AutoGradNet;

/// <summary>
/// Sliding-window geometry over up to three spatial dims (1-D and 2-D problems are embedded in 3-D with size-1
/// dims): input size, kernel, stride, dilation, padding before each dim, and the resulting output size.
/// Shared by unfold/fold (convolution) and pooling; kernels index with it, so one loop serves 1-D, 2-D and 3-D.
/// </summary>
internal sealed class ConvGeometry
{
    public const int MaxSpatial = 3;

    public ConvGeometry(ReadOnlySpan<int> input, ReadOnlySpan<int> kernel, ReadOnlySpan<int> stride, ReadOnlySpan<int> dilation,
        ReadOnlySpan<int> padBefore, ReadOnlySpan<int> output)
    {
        int lead = MaxSpatial - input.Length;
        Input = Embed(input, lead, 1);
        Kernel = Embed(kernel, lead, 1);
        Stride = Embed(stride, lead, 1);
        Dilation = Embed(dilation, lead, 1);
        PadBefore = Embed(padBefore, lead, 0);
        Output = Embed(output, lead, 1);
        SpatialRank = input.Length;
    }

    [ThreadStatic] private static Dictionary<(GeometryKey, int), ConvGeometry>? t_shared;
    private const int MaxShared = 256;

    /// <summary>
    /// The geometry of these sizes, built once per thread and then shared: a training step asks for the same few
    /// geometries at every step (a layer's forward and both its gradients), and each build allocated seven objects.
    /// Sharing is safe because a geometry is never written after construction.
    /// </summary>
    public static ConvGeometry Of(ReadOnlySpan<int> input, ReadOnlySpan<int> kernel, ReadOnlySpan<int> stride, ReadOnlySpan<int> dilation,
        ReadOnlySpan<int> padBefore, ReadOnlySpan<int> output)
    {
        var key = new GeometryKey();
        Span<int> sizes = key.Sizes;
        int lead = MaxSpatial - input.Length, at = 0;
        at = Put(sizes, at, input, lead, 1);
        at = Put(sizes, at, kernel, lead, 1);
        at = Put(sizes, at, stride, lead, 1);
        at = Put(sizes, at, dilation, lead, 1);
        at = Put(sizes, at, padBefore, lead, 0);
        Put(sizes, at, output, lead, 1);
        var shared = t_shared ??= [];
        if (shared.TryGetValue((key, input.Length), out var g)) return g;
        if (shared.Count >= MaxShared) shared.Clear();
        g = new ConvGeometry(input, kernel, stride, dilation, padBefore, output);
        shared.Add((key, input.Length), g);
        return g;
    }

    private static int Put(Span<int> sizes, int at, ReadOnlySpan<int> values, int lead, int fill)
    {
        if (values.Length != MaxSpatial - lead)
            throw new ArgumentException($"geometry: expected {MaxSpatial - lead} sizes, got {values.Length}");
        for (int i = 0; i < MaxSpatial; i++) sizes[at + i] = i < lead ? fill : values[i - lead];
        return at + MaxSpatial;
    }

    public int SpatialRank { get; }
    public int[] Input { get; }
    public int[] Kernel { get; }
    public int[] Stride { get; }
    public int[] Dilation { get; }
    public int[] PadBefore { get; }
    public int[] Output { get; }

    /// <summary>Every size of the geometry as one value: equal keys mean equal geometries (for kernel caches).</summary>
    public GeometryKey Key
    {
        get
        {
            var key = new GeometryKey();
            Span<int> sizes = key.Sizes;
            int at = 0;
            foreach (var part in (ReadOnlySpan<int[]>)[Input, Kernel, Stride, Dilation, PadBefore, Output])
                foreach (int v in part) sizes[at++] = v;
            return key;
        }
    }

    public int InputSize => Input[0] * Input[1] * Input[2];
    public int KernelSize => Kernel[0] * Kernel[1] * Kernel[2];
    public int OutputSize => Output[0] * Output[1] * Output[2];

    private static int[] Embed(ReadOnlySpan<int> values, int lead, int fill)
    {
        var result = new int[MaxSpatial];
        Put(result, 0, values, lead, fill);
        return result;
    }

    /// <summary>floor((in + padTotal − dilation·(k − 1) − 1) / stride) + 1, or with ceiling (pooling's ceil_mode).</summary>
    public static int OutputLength(int input, int kernel, int stride, int dilation, int padTotal, bool ceil = false)
    {
        int span = input + padTotal - dilation * (kernel - 1) - 1;
        if (span < 0) return 0;
        return (ceil ? (span + stride - 1) / stride : span / stride) + 1;
    }
}

/// <summary>The 18 sizes of a <see cref="ConvGeometry"/> (six 3-vectors), compared by value without allocating.</summary>
internal struct GeometryKey : IEquatable<GeometryKey>
{
    private Sizes18 _sizes;

    [System.Diagnostics.CodeAnalysis.UnscopedRef] public Span<int> Sizes => _sizes;

    public readonly bool Equals(GeometryKey other) =>
        ((ReadOnlySpan<int>)_sizes).SequenceEqual(other._sizes);

    public override readonly bool Equals(object? obj) => obj is GeometryKey other && Equals(other);

    public override readonly int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int v in (ReadOnlySpan<int>)_sizes) hash.Add(v);
        return hash.ToHashCode();
    }

    [System.Runtime.CompilerServices.InlineArray(18)]
    private struct Sizes18
    {
        private int _first;
    }
}
