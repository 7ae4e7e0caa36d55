namespace AutoGradNet.Data;

/// <summary>The layout of one planar byte image: <see cref="Channels"/> planes of <see cref="Height"/>×<see cref="Width"/>.</summary>
/// <param name="Channels">Number of channel planes.</param>
/// <param name="Height">Rows per plane.</param>
/// <param name="Width">Columns per row.</param>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Bytes in the image (C·H·W).</summary>
    public int Length => Channels * Height * Width;

    internal void CheckSpans(string op, int image, int scratch)
    {
        if (image != Length)
            throw new ArgumentException($"{op}: the image has {image} bytes, expected {Channels}×{Height}×{Width} = {Length}");
        if (scratch < Length)
            throw new ArgumentException($"{op}: the scratch buffer has {scratch} bytes, needs at least {Length}");
    }
}

/// <summary>How <see cref="RandomRotation"/> samples between pixels.</summary>
public enum Interpolation
{
    /// <summary>Nearest source pixel.</summary>
    Nearest,

    /// <summary>Bilinear blend of the four nearest source pixels (pixels outside the image count as zero).</summary>
    Bilinear,
}

/// <summary>
/// A random, label-preserving image transform applied per sample by <see cref="DataLoader"/> while it collates a batch
/// (the torchvision transforms on uint8 images). It works in place on one C×H×W byte image, may use the caller's
/// scratch buffer (at least as large as the image) and draws its random numbers from the given seeded
/// <see cref="Generator"/>, so it allocates nothing per sample and the same seed gives the same images everywhere.
/// Transforms keep the image size. Pixels shifted in from outside the image are 0.
/// </summary>
/// <remarks>
/// A transform is label-preserving only for some data: a horizontal flip keeps a shoe a shoe (Fashion-MNIST) or a
/// truck a truck (CIFAR-10), but mirrors digits and letters (MNIST: leave <see cref="RandomHorizontalFlip"/> out).
/// Implementations must be safe to share between loaders: keep no per-call state in fields.
/// </remarks>
public abstract class Augmentation
{
    /// <summary>Transforms <paramref name="image"/> in place.</summary>
    /// <param name="image">The image, <paramref name="shape"/>.Length bytes, channel planes one after another.</param>
    /// <param name="shape">Its layout.</param>
    /// <param name="scratch">A buffer of at least <paramref name="shape"/>.Length bytes the transform may overwrite.</param>
    /// <param name="rng">The source of the random choices.</param>
    public abstract void Apply(Span<byte> image, ImageShape shape, Span<byte> scratch, Generator rng);
}

/// <summary>Applies several augmentations in order (torchvision's <c>Compose</c>).</summary>
public sealed class Compose : Augmentation
{
    private readonly Augmentation[] _steps;

    /// <summary>A pipeline of <paramref name="steps"/>, applied first to last.</summary>
    public Compose(params Augmentation[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        foreach (var s in steps) ArgumentNullException.ThrowIfNull(s, nameof(steps));
        _steps = (Augmentation[])steps.Clone();
    }

    /// <summary>The steps, in order.</summary>
    public IReadOnlyList<Augmentation> Steps => _steps;

    /// <inheritdoc/>
    public override void Apply(Span<byte> image, ImageShape shape, Span<byte> scratch, Generator rng)
    {
        foreach (var step in _steps) step.Apply(image, shape, scratch, rng);
    }
}

/// <summary>Mirrors the image left-right with probability <see cref="P"/> (torchvision's <c>RandomHorizontalFlip</c>). Draws one number per image.</summary>
/// <remarks>Label-preserving for Fashion-MNIST and CIFAR, not for MNIST digits.</remarks>
public sealed class RandomHorizontalFlip : Augmentation
{
    /// <summary>A flip with probability <paramref name="p"/>.</summary>
    public RandomHorizontalFlip(double p = 0.5)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"RandomHorizontalFlip: p must be in [0, 1], got {p}");
        P = p;
    }

    /// <summary>Probability of flipping an image.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override void Apply(Span<byte> image, ImageShape shape, Span<byte> scratch, Generator rng)
    {
        shape.CheckSpans(nameof(RandomHorizontalFlip), image.Length, scratch.Length);
        if (rng.NextDouble() < P) Flip(image, shape);
    }

    /// <summary>Mirrors every row of <paramref name="image"/> in place.</summary>
    public static void Flip(Span<byte> image, ImageShape shape)
    {
        shape.CheckSpans(nameof(Flip), image.Length, image.Length);
        int rows = shape.Channels * shape.Height;
        for (int r = 0; r < rows; r++) image.Slice(r * shape.Width, shape.Width).Reverse();
    }
}

/// <summary>
/// Shifts the image by a uniform random whole number of pixels in [−<see cref="MaxShiftY"/>, <see cref="MaxShiftY"/>]
/// rows and [−<see cref="MaxShiftX"/>, <see cref="MaxShiftX"/>] columns, filling with 0 (torchvision's
/// <c>RandomAffine(translate=...)</c> with whole-pixel shifts). Draws two numbers per image (row, then column).
/// </summary>
public sealed class RandomTranslation : Augmentation
{
    /// <summary>Shifts of up to ±<paramref name="maxShift"/> pixels in both directions.</summary>
    public RandomTranslation(int maxShift) : this(maxShift, maxShift)
    {
    }

    /// <summary>Shifts of up to ±<paramref name="maxShiftY"/> rows and ±<paramref name="maxShiftX"/> columns.</summary>
    public RandomTranslation(int maxShiftY, int maxShiftX)
    {
        if (maxShiftY < 0 || maxShiftX < 0)
            throw new ArgumentOutOfRangeException(nameof(maxShiftY), $"RandomTranslation: shifts must be non-negative, got {maxShiftY}, {maxShiftX}");
        MaxShiftY = maxShiftY;
        MaxShiftX = maxShiftX;
    }

    /// <summary>Largest vertical shift in pixels.</summary>
    public int MaxShiftY { get; }

    /// <summary>Largest horizontal shift in pixels.</summary>
    public int MaxShiftX { get; }

    /// <inheritdoc/>
    public override void Apply(Span<byte> image, ImageShape shape, Span<byte> scratch, Generator rng)
    {
        shape.CheckSpans(nameof(RandomTranslation), image.Length, scratch.Length);
        int dy = rng.NextInt(2 * MaxShiftY + 1) - MaxShiftY;
        int dx = rng.NextInt(2 * MaxShiftX + 1) - MaxShiftX;
        if (dy == 0 && dx == 0) return;
        var dst = scratch[..shape.Length];
        Translate(image, dst, shape, dy, dx);
        dst.CopyTo(image);
    }

    /// <summary>
    /// Writes <paramref name="source"/> shifted down by <paramref name="dy"/> rows and right by <paramref name="dx"/>
    /// columns into <paramref name="destination"/>: <c>dst[c, y, x] = src[c, y − dy, x − dx]</c>, 0 where that is outside.
    /// </summary>
    public static void Translate(ReadOnlySpan<byte> source, Span<byte> destination, ImageShape shape, int dy, int dx)
    {
        shape.CheckSpans(nameof(Translate), source.Length, destination.Length);
        int h = shape.Height, w = shape.Width;
        // Columns x in [x0, x1) read source columns x - dx, which are inside the image.
        int x0 = Math.Clamp(dx, 0, w), x1 = Math.Clamp(w + dx, 0, w);
        for (int c = 0; c < shape.Channels; c++)
        {
            int plane = c * h * w;
            for (int y = 0; y < h; y++)
            {
                var row = destination.Slice(plane + y * w, w);
                int sy = y - dy;
                if (sy < 0 || sy >= h || x0 >= x1)
                {
                    row.Clear();
                    continue;
                }
                row[..x0].Clear();
                source.Slice(plane + sy * w + x0 - dx, x1 - x0).CopyTo(row[x0..x1]);
                row[x1..].Clear();
            }
        }
    }
}

/// <summary>
/// Pads the image by <see cref="Padding"/> zero pixels on every side and crops back a window of the original size at
/// a uniform random position (torchvision's <c>RandomCrop(size, padding)</c>, e.g. pad 4 for 32×32 CIFAR, pad 2 for
/// 28×28 Fashion-MNIST). Draws two numbers per image (row offset, then column offset, each in [0, 2·padding]).
/// </summary>
public sealed class RandomCrop : Augmentation
{
    /// <summary>A random crop after zero-padding by <paramref name="padding"/> pixels.</summary>
    public RandomCrop(int padding)
    {
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"RandomCrop: padding must be non-negative, got {padding}");
        Padding = padding;
    }

    /// <summary>Zero padding on each side, in pixels.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    public override void Apply(Span<byte> image, ImageShape shape, Span<byte> scratch, Generator rng)
    {
        shape.CheckSpans(nameof(RandomCrop), image.Length, scratch.Length);
        int oy = rng.NextInt(2 * Padding + 1);
        int ox = rng.NextInt(2 * Padding + 1);
        if (oy == Padding && ox == Padding) return;
        var dst = scratch[..shape.Length];
        Crop(image, dst, shape, Padding, oy, ox);
        dst.CopyTo(image);
    }

    /// <summary>
    /// The window at (<paramref name="offsetY"/>, <paramref name="offsetX"/>) of <paramref name="source"/> zero-padded by
    /// <paramref name="padding"/>: <c>dst[c, y, x] = padded[c, y + offsetY, x + offsetX]</c>. Offsets (padding, padding) give the image back.
    /// </summary>
    public static void Crop(ReadOnlySpan<byte> source, Span<byte> destination, ImageShape shape, int padding, int offsetY, int offsetX)
    {
        if (offsetY < 0 || offsetY > 2 * padding || offsetX < 0 || offsetX > 2 * padding)
            throw new ArgumentOutOfRangeException(nameof(offsetY), $"Crop: offsets must be in [0, {2 * padding}] for padding {padding}, got ({offsetY}, {offsetX})");
        RandomTranslation.Translate(source, destination, shape, padding - offsetY, padding - offsetX);
    }
}

/// <summary>
/// Rotates the image about its centre by a uniform random angle in [−<see cref="Degrees"/>, <see cref="Degrees"/>]
/// (positive = counter-clockwise, as torchvision's <c>RandomRotation</c>), filling with 0. Draws one number per image.
/// </summary>
public sealed class RandomRotation : Augmentation
{
    /// <summary>Rotations of up to ±<paramref name="degrees"/>.</summary>
    public RandomRotation(double degrees, Interpolation interpolation = Interpolation.Bilinear)
    {
        if (!(degrees >= 0 && degrees <= 180)) throw new ArgumentOutOfRangeException(nameof(degrees), $"RandomRotation: degrees must be in [0, 180], got {degrees}");
        Degrees = degrees;
        Interpolation = interpolation;
    }

    /// <summary>Largest rotation angle in degrees.</summary>
    public double Degrees { get; }

    /// <summary>How pixels are sampled.</summary>
    public Interpolation Interpolation { get; }

    /// <inheritdoc/>
    public override void Apply(Span<byte> image, ImageShape shape, Span<byte> scratch, Generator rng)
    {
        shape.CheckSpans(nameof(RandomRotation), image.Length, scratch.Length);
        double angle = (2 * rng.NextDouble() - 1) * Degrees;
        if (angle == 0) return;
        var dst = scratch[..shape.Length];
        Rotate(image, dst, shape, angle, Interpolation);
        dst.CopyTo(image);
    }

    /// <summary>
    /// Writes <paramref name="source"/> rotated counter-clockwise by <paramref name="degrees"/> about the centre
    /// ((W−1)/2, (H−1)/2) into <paramref name="destination"/>; pixels from outside the image are 0.
    /// </summary>
    /// <remarks>Each output pixel samples the source at the inverse-rotated position (no holes). Bilinear results round to nearest.</remarks>
    public static void Rotate(ReadOnlySpan<byte> source, Span<byte> destination, ImageShape shape, double degrees, Interpolation interpolation = Interpolation.Bilinear)
    {
        shape.CheckSpans(nameof(Rotate), source.Length, destination.Length);
        int h = shape.Height, w = shape.Width;
        double rad = degrees * Math.PI / 180;
        // NOTE: whole multiples of 90° use exact cos/sin, so they permute pixels exactly.
        double cos = Math.Round(Math.Cos(rad), 15), sin = Math.Round(Math.Sin(rad), 15);
        double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
        bool nearest = interpolation == Interpolation.Nearest;
        for (int c = 0; c < shape.Channels; c++)
        {
            var src = source.Slice(c * h * w, h * w);
            var dst = destination.Slice(c * h * w, h * w);
            for (int y = 0; y < h; y++)
            {
                double ry = y - cy;
                // Source of output (x, y), image coordinates with y down: (cx + cos·rx − sin·ry, cy + sin·rx + cos·ry).
                double sxBase = cx - sin * ry, syBase = cy + cos * ry;
                var row = dst.Slice(y * w, w);
                for (int x = 0; x < w; x++)
                {
                    double rx = x - cx;
                    double sx = sxBase + cos * rx, sy = syBase + sin * rx;
                    row[x] = nearest ? Nearest(src, w, h, sx, sy) : Bilinear(src, w, h, sx, sy);
                }
            }
        }
    }

    private static byte Nearest(ReadOnlySpan<byte> src, int w, int h, double sx, double sy)
    {
        int ix = (int)Math.Floor(sx + 0.5), iy = (int)Math.Floor(sy + 0.5);
        return (uint)ix < (uint)w && (uint)iy < (uint)h ? src[iy * w + ix] : (byte)0;
    }

    private static byte Bilinear(ReadOnlySpan<byte> src, int w, int h, double sx, double sy)
    {
        if (sx <= -1 || sy <= -1 || sx >= w || sy >= h) return 0;
        int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
        double fx = sx - x0, fy = sy - y0;
        double v00, v01, v10, v11;
        if ((uint)x0 < (uint)(w - 1) && (uint)y0 < (uint)(h - 1))
        {
            // Interior: all four neighbours exist.
            int at = y0 * w + x0;
            v00 = src[at];
            v01 = src[at + 1];
            v10 = src[at + w];
            v11 = src[at + w + 1];
        }
        else
        {
            v00 = At(src, w, h, x0, y0);
            v01 = At(src, w, h, x0 + 1, y0);
            v10 = At(src, w, h, x0, y0 + 1);
            v11 = At(src, w, h, x0 + 1, y0 + 1);
        }
        double top = v00 + (v01 - v00) * fx, bottom = v10 + (v11 - v10) * fx;
        return (byte)Math.Min(255, (int)(top + (bottom - top) * fy + 0.5));
    }

    private static double At(ReadOnlySpan<byte> src, int w, int h, int x, int y) =>
        (uint)x < (uint)w && (uint)y < (uint)h ? src[y * w + x] : 0;
}
