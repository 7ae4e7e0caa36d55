namespace AutoGradNet.Data;

/// <summary>A map-style dataset (PyTorch's <c>torch.utils.data.Dataset</c>): <see cref="Count"/> samples addressed by index.</summary>
/// <typeparam name="TSample">The sample type.</typeparam>
public interface IDataset<out TSample>
{
    /// <summary>Number of samples (<c>len(dataset)</c>).</summary>
    int Count { get; }

    /// <summary>The sample at <paramref name="index"/> (<c>dataset[index]</c>), 0 ≤ index &lt; <see cref="Count"/>.</summary>
    TSample Get(int index);
}

/// <summary>Base class for map-style datasets: implement <see cref="Count"/> and <see cref="Get"/>; adds an indexer.</summary>
/// <typeparam name="TSample">The sample type.</typeparam>
public abstract class Dataset<TSample> : IDataset<TSample>
{
    /// <inheritdoc/>
    public abstract int Count { get; }

    /// <inheritdoc/>
    public abstract TSample Get(int index);

    /// <summary>The sample at <paramref name="index"/> (same as <see cref="Get"/>).</summary>
    public TSample this[int index] => Get(index);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless 0 ≤ <paramref name="index"/> &lt; <see cref="Count"/>.</summary>
    protected void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{GetType().Name}: index {index} is out of range for {Count} samples");
    }
}

/// <summary>One image and its label. <see cref="Pixels"/> is a view of the dataset's memory (C×H×W bytes, planar), not a copy.</summary>
/// <param name="Pixels">Channels × Height × Width bytes, channel planes one after another, rows top to bottom.</param>
/// <param name="Label">The class index.</param>
/// <param name="Channels">Number of channels (1 for grey, 3 for RGB).</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
public readonly record struct ImageSample(ReadOnlyMemory<byte> Pixels, long Label, int Channels, int Height, int Width);

/// <summary>Per-channel normalisation applied after scaling pixels to [0, 1]: <c>(x / 255 - Mean[c]) / Std[c]</c> (torchvision's <c>Normalize</c>).</summary>
public sealed record Normalization
{
    /// <summary>Normalisation with the given per-channel statistics (one entry per channel).</summary>
    public Normalization(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalization: mean and std need one entry per channel, got {mean.Length} and {std.Length}");
        foreach (var s in std)
            if (!(s > 0)) throw new ArgumentException($"Normalization: every std must be positive, got {s}");
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>Per-channel mean of the [0, 1]-scaled pixels.</summary>
    public float[] Mean { get; }

    /// <summary>Per-channel standard deviation of the [0, 1]-scaled pixels.</summary>
    public float[] Std { get; }

    /// <summary>No normalisation: pixels scaled to [0, 1] only (mean 0, std 1 for every channel).</summary>
    public static Normalization None(int channels) => new(new float[channels], Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>Fashion-MNIST training-set statistics: mean 0.2860, std 0.3530.</summary>
    public static Normalization FashionMnist { get; } = new([0.2860f], [0.3530f]);

    /// <summary>MNIST training-set statistics: mean 0.1307, std 0.3081.</summary>
    public static Normalization Mnist { get; } = new([0.1307f], [0.3081f]);

    /// <summary>CIFAR-10 training-set per-channel (R, G, B) statistics: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616).</summary>
    public static Normalization Cifar10 { get; } = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>CIFAR-100 training-set per-channel (R, G, B) statistics: mean (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564, 0.2762).</summary>
    public static Normalization Cifar100 { get; } = new([0.5071f, 0.4865f, 0.4409f], [0.2673f, 0.2564f, 0.2762f]);

    /// <summary>The 256-entry lookup table per channel mapping a byte to its normalised float (channel c at [c·256, c·256+256)).</summary>
    internal float[] LookupTable(int channels)
    {
        if (Mean.Length != channels)
            throw new ArgumentException($"Normalization: {Mean.Length} channel statistics for images with {channels} channels");
        var lut = new float[channels * 256];
        for (int c = 0; c < channels; c++)
            for (int v = 0; v < 256; v++)
                lut[c * 256 + v] = (float)((v / 255.0 - Mean[c]) / Std[c]);
        return lut;
    }
}

/// <summary>A dataset of fixed-size byte images with integer labels: what <see cref="DataLoader"/> batches.</summary>
public interface IImageDataset : IDataset<ImageSample>
{
    /// <summary>Channels per image.</summary>
    int Channels { get; }

    /// <summary>Image height.</summary>
    int Height { get; }

    /// <summary>Image width.</summary>
    int Width { get; }

    /// <summary>Class names, index = label (empty when unknown).</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The normalisation the data set is usually trained with (used by <see cref="DataLoader"/> when it is given none).</summary>
    Normalization? DefaultNormalization { get; }

    /// <summary>The C×H×W bytes of sample <paramref name="index"/> (no copy).</summary>
    ReadOnlySpan<byte> GetPixels(int index);

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    long GetLabel(int index);
}

/// <summary>
/// An in-memory image dataset: <c>N×C×H×W</c> bytes (planar channels) and <c>N</c> int64 labels. The arrays are
/// used as given (not copied); do not change them while a <see cref="DataLoader"/> reads them.
/// </summary>
public class ImageDataset : Dataset<ImageSample>, IImageDataset
{
    private readonly byte[] _pixels;
    private readonly long[] _labels;
    private readonly int _start;
    private readonly int _count;

    /// <summary>A dataset over <paramref name="pixels"/> (N×C×H×W bytes) and <paramref name="labels"/> (N).</summary>
    /// <param name="pixels">The images, each C×H×W bytes with channel planes one after another.</param>
    /// <param name="labels">One class index per image.</param>
    /// <param name="channels">Channels per image.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="classNames">Class names (index = label), or null.</param>
    /// <param name="normalization">The usual normalisation for this data, or null.</param>
    public ImageDataset(byte[] pixels, long[] labels, int channels, int height, int width,
        IReadOnlyList<string>? classNames = null, Normalization? normalization = null)
        : this(pixels, labels, channels, height, width, classNames, normalization, 0, labels?.Length ?? 0)
    {
    }

    private ImageDataset(byte[] pixels, long[] labels, int channels, int height, int width,
        IReadOnlyList<string>? classNames, Normalization? normalization, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"ImageDataset: channels, height and width must be positive, got {channels}×{height}×{width}");
        long per = (long)channels * height * width;
        if (pixels.LongLength != per * labels.Length)
            throw new ArgumentException($"ImageDataset: {labels.Length} labels need {labels.Length}×{channels}×{height}×{width} = {per * labels.Length} pixel bytes, got {pixels.LongLength}");
        if (normalization is not null && normalization.Mean.Length != channels)
            throw new ArgumentException($"ImageDataset: normalisation has {normalization.Mean.Length} channels, images have {channels}");
        _pixels = pixels;
        _labels = labels;
        _start = start;
        _count = count;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames ?? [];
        DefaultNormalization = normalization;
    }

    /// <summary>Builds a dataset from an image array and a label array read from two files, checking that their counts agree.</summary>
    /// <exception cref="DataFormatException">The counts differ (the message names both files).</exception>
    protected ImageDataset(byte[] pixels, int imageCount, long[] labels, int channels, int height, int width,
        IReadOnlyList<string>? classNames, Normalization? normalization, string imagesPath, string labelsPath)
        : this(pixels, CheckCounts(labels, imageCount, imagesPath, labelsPath), channels, height, width, classNames, normalization)
    {
    }

    private static long[] CheckCounts(long[] labels, int imageCount, string imagesPath, string labelsPath)
    {
        if (labels.Length != imageCount)
            throw new DataFormatException($"{imagesPath} and {labelsPath}", "image and label counts do not match",
                $"{imageCount} labels (one per image)", $"{labels.Length} labels");
        return labels;
    }

    /// <inheritdoc/>
    public override int Count => _count;

    /// <inheritdoc/>
    public int Channels { get; }

    /// <inheritdoc/>
    public int Height { get; }

    /// <inheritdoc/>
    public int Width { get; }

    /// <summary>Bytes per image (C·H·W).</summary>
    public int SampleBytes => Channels * Height * Width;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc/>
    public Normalization? DefaultNormalization { get; }

    /// <inheritdoc/>
    public override ImageSample Get(int index)
    {
        CheckIndex(index);
        return new ImageSample(_pixels.AsMemory((_start + index) * SampleBytes, SampleBytes), _labels[_start + index], Channels, Height, Width);
    }

    /// <inheritdoc/>
    public ReadOnlySpan<byte> GetPixels(int index)
    {
        CheckIndex(index);
        return _pixels.AsSpan((_start + index) * SampleBytes, SampleBytes);
    }

    /// <inheritdoc/>
    public long GetLabel(int index)
    {
        CheckIndex(index);
        return _labels[_start + index];
    }

    /// <summary>The samples [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) as a dataset sharing this one's memory (e.g. a validation split).</summary>
    public ImageDataset Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > _count)
            throw new ArgumentOutOfRangeException(nameof(start), $"ImageDataset.Slice: [{start}, {start + count}) is outside the {_count} samples");
        return new ImageDataset(_pixels, _labels, Channels, Height, Width, ClassNames, DefaultNormalization, _start + start, count);
    }

    /// <summary>The first min(<paramref name="limit"/>, Count) samples (shares memory).</summary>
    public ImageDataset Take(int limit) => Slice(0, Math.Clamp(limit, 0, _count));
}
