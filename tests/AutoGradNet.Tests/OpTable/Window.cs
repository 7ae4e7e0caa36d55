namespace AutoGradNet.Tests.OpTable;

/// <summary>Which sliding-window hyper-parameters a row takes (what the window generator varies for it).</summary>
public enum WindowKind
{
    /// <summary>Convolution: groups, channels per group, kernel, stride, padding (ints or "same"), dilation, bias.</summary>
    Conv,
    /// <summary>Transposed convolution: as <see cref="Conv"/> without "same", plus output padding.</summary>
    ConvTranspose,
    /// <summary>Max pooling: kernel, stride, padding ≤ half the effective kernel, dilation, ceil mode.</summary>
    MaxPool,
    /// <summary>Average pooling: kernel, stride, padding ≤ half the kernel, ceil mode, count_include_pad, divisor override.</summary>
    AvgPool,
    /// <summary>Unfold/fold: sliding blocks with kernel, stride, padding, dilation.</summary>
    Blocks,
}

/// <summary>How a row takes part in the window properties: its kind, its number of spatial dims, and its sample builder (null: invalid for the row).</summary>
public sealed record WindowRow(WindowKind Kind, int Rank, Func<Window, SampleCase?> Sample);

/// <summary>
/// Generated hyper-parameters of a convolution or pooling call. The input is [Batch, Groups·InPerGroup, *Spatial]
/// (no batch dim when <see cref="Unbatched"/>); a convolution's weight is [Groups·OutPerGroup, InPerGroup, *Kernel],
/// a transposed convolution's [Groups·InPerGroup, OutPerGroup, *Kernel]. Fields a kind does not use keep their neutral values.
/// </summary>
public sealed record Window
{
    public required WindowKind Kind { get; init; }
    public int Batch { get; init; } = 1;
    public bool Unbatched { get; init; }
    public int Groups { get; init; } = 1;
    public int InPerGroup { get; init; } = 1;
    public int OutPerGroup { get; init; } = 1;
    public required int[] Spatial { get; init; }
    public required int[] Kernel { get; init; }
    public required int[] Stride { get; init; }
    /// <summary>Padding on both sides of each dim (ignored when <see cref="Same"/>).</summary>
    public required int[] Padding { get; init; }
    public required int[] Dilation { get; init; }
    public int[]? OutputPadding { get; init; }
    /// <summary>padding="same" (convolution, stride 1).</summary>
    public bool Same { get; init; }
    public bool Bias { get; init; }
    public bool CeilMode { get; init; }
    public bool CountIncludePad { get; init; } = true;
    public int? DivisorOverride { get; init; }
    /// <summary>Seed of the input values.</summary>
    public int Seed { get; init; }

    public int Rank => Spatial.Length;
    public int Channels => Groups * InPerGroup;
    public int[] InputShape => Unbatched ? [Channels, .. Spatial] : [Batch, Channels, .. Spatial];
    /// <summary>The padding argument as the rows pass it: "same" or one int per dim.</summary>
    public object PaddingArg => Same ? "same" : Padding;
    /// <summary>Effective (dilated) kernel extent of dim d.</summary>
    public int Effective(int d) => Dilation[d] * (Kernel[d] - 1) + 1;

    public override string ToString()
    {
        static string T(int[] v) => "(" + string.Join(",", v) + ")";
        var parts = new List<string> { $"x[{string.Join(",", InputShape)}]", $"k{T(Kernel)}", $"s{T(Stride)}", Same ? "p=same" : $"p{T(Padding)}" };
        if (Kind != WindowKind.AvgPool) parts.Add($"d{T(Dilation)}");
        if (Kind is WindowKind.Conv or WindowKind.ConvTranspose)
        {
            parts.Add($"groups {Groups} ({InPerGroup} in, {OutPerGroup} out per group)");
            if (Bias) parts.Add("bias");
        }
        if (OutputPadding is { } op) parts.Add($"output padding {T(op)}");
        if (CeilMode) parts.Add("ceil");
        if (Kind == WindowKind.AvgPool && !CountIncludePad) parts.Add("count_include_pad=false");
        if (DivisorOverride is { } div) parts.Add($"divisor {div}");
        parts.Add($"seed {Seed}");
        return string.Join(" ", parts);
    }
}
