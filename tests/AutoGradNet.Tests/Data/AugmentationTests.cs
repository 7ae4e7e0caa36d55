using AutoGradNet.Data;

namespace AutoGradNet.Tests.Data;

public class AugmentationTests
{
    private static readonly ImageShape Shape = new(2, 5, 6);

    private static byte[] Image()
    {
        var img = new byte[Shape.Length];
        for (int i = 0; i < img.Length; i++) img[i] = (byte)(i * 3 + 1);
        return img;
    }

    private static byte[] OnePixel(ImageShape shape, int c, int y, int x, byte value = 200)
    {
        var img = new byte[shape.Length];
        img[(c * shape.Height + y) * shape.Width + x] = value;
        return img;
    }

    [Fact]
    public void FlipTwiceIsIdentityAndFlipMirrorsRows()
    {
        var img = Image();
        RandomHorizontalFlip.Flip(img, Shape);
        Assert.Equal(Image()[1 * 6 + 0], img[1 * 6 + 5]); // channel 0, row 1: column 0 went to column 5
        Assert.Equal(Image()[30 + 4 * 6 + 1], img[30 + 4 * 6 + 4]); // channel 1, row 4
        RandomHorizontalFlip.Flip(img, Shape);
        Assert.Equal(Image(), img);
    }

    [Fact]
    public void FlipProbabilityZeroAndOne()
    {
        var rng = new Generator(1);
        var scratch = new byte[Shape.Length];
        var img = Image();
        for (int i = 0; i < 10; i++) new RandomHorizontalFlip(0).Apply(img, Shape, scratch, rng);
        Assert.Equal(Image(), img);
        new RandomHorizontalFlip(1).Apply(img, Shape, scratch, rng);
        RandomHorizontalFlip.Flip(img, Shape);
        Assert.Equal(Image(), img);
    }

    [Fact]
    public void CropWithZeroPaddingOrCentredOffsetIsIdentity()
    {
        var dst = new byte[Shape.Length];
        RandomCrop.Crop(Image(), dst, Shape, padding: 0, offsetY: 0, offsetX: 0);
        Assert.Equal(Image(), dst);
        RandomCrop.Crop(Image(), dst, Shape, padding: 4, offsetY: 4, offsetX: 4);
        Assert.Equal(Image(), dst);

        var img = Image();
        new RandomCrop(0).Apply(img, Shape, new byte[Shape.Length], new Generator(3));
        Assert.Equal(Image(), img);
    }

    [Fact]
    public void CropAtTheCornerShiftsAndZeroFills()
    {
        var shape = new ImageShape(1, 4, 4);
        var dst = new byte[16];
        RandomCrop.Crop(OnePixel(shape, 0, 0, 0), dst, shape, padding: 2, offsetY: 0, offsetX: 1);
        Assert.Equal(OnePixel(shape, 0, 2, 1), dst); // window starts 2 rows and 1 column before the image
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomCrop.Crop(new byte[16], dst, shape, 2, 5, 0));
    }

    [Fact]
    public void TranslationMovesAKnownPixel()
    {
        var shape = new ImageShape(3, 5, 5);
        var dst = new byte[shape.Length];
        RandomTranslation.Translate(OnePixel(shape, 2, 1, 3), dst, shape, dy: 2, dx: -1);
        Assert.Equal(OnePixel(shape, 2, 3, 2), dst);
        RandomTranslation.Translate(OnePixel(shape, 0, 1, 3), dst, shape, dy: 0, dx: 2); // moved out
        Assert.All(dst, b => Assert.Equal(0, b));
        RandomTranslation.Translate(OnePixel(shape, 1, 4, 4), dst, shape, dy: -9, dx: 0); // shift past the size
        Assert.All(dst, b => Assert.Equal(0, b));
        RandomTranslation.Translate(Image(), dst.AsSpan(0, Shape.Length), Shape, 0, 0);
        Assert.Equal(Image(), dst[..Shape.Length]);
    }

    [Fact]
    public void RandomTranslationStaysWithinItsRange()
    {
        var shape = new ImageShape(1, 9, 9);
        var aug = new RandomTranslation(2);
        var rng = new Generator(5);
        var scratch = new byte[shape.Length];
        var seen = new HashSet<(int, int)>();
        for (int i = 0; i < 200; i++)
        {
            var img = OnePixel(shape, 0, 4, 4);
            aug.Apply(img, shape, scratch, rng);
            int at = Array.FindIndex(img, b => b != 0);
            seen.Add((at / 9 - 4, at % 9 - 4));
        }
        Assert.Equal(25, seen.Count); // every shift in [-2, 2]² occurs, nothing else
        Assert.All(seen, s => Assert.True(Math.Abs(s.Item1) <= 2 && Math.Abs(s.Item2) <= 2));
    }

    [Theory]
    [InlineData(Interpolation.Nearest)]
    [InlineData(Interpolation.Bilinear)]
    public void RotationByZeroOrFullTurnIsIdentity(Interpolation interpolation)
    {
        var dst = new byte[Shape.Length];
        RandomRotation.Rotate(Image(), dst, Shape, 0, interpolation);
        Assert.Equal(Image(), dst);
        RandomRotation.Rotate(Image(), dst, Shape, 360, interpolation);
        Assert.Equal(Image(), dst);

        var img = Image();
        new RandomRotation(0, interpolation).Apply(img, Shape, dst, new Generator(9));
        Assert.Equal(Image(), img);
    }

    [Theory]
    [InlineData(Interpolation.Nearest)]
    [InlineData(Interpolation.Bilinear)]
    public void RotationBy90IsCounterClockwise(Interpolation interpolation)
    {
        var shape = new ImageShape(1, 3, 3);
        var dst = new byte[9];
        RandomRotation.Rotate(OnePixel(shape, 0, 1, 2), dst, shape, 90, interpolation); // middle right
        Assert.Equal(OnePixel(shape, 0, 0, 1), dst); // goes to top middle
        RandomRotation.Rotate(OnePixel(shape, 0, 0, 0), dst, shape, -90, interpolation); // top left
        Assert.Equal(OnePixel(shape, 0, 0, 2), dst); // clockwise: top right
    }

    [Fact]
    public void SmallRotationKeepsTheCentreAndZeroFillsCorners()
    {
        var shape = new ImageShape(1, 9, 9);
        var full = Enumerable.Repeat((byte)255, 81).ToArray();
        var dst = new byte[81];
        RandomRotation.Rotate(full, dst, shape, 30);
        Assert.Equal(255, dst[4 * 9 + 4]);
        Assert.Equal(0, dst[0]); // the corner comes from outside the image
    }

    [Fact]
    public void ComposeIsDeterministicBySeedAndAllocationFree()
    {
        var shape = new ImageShape(1, 28, 28);
        var aug = new Compose(new RandomCrop(2), new RandomHorizontalFlip(), new RandomTranslation(1), new RandomRotation(15));
        var source = new byte[shape.Length];
        for (int i = 0; i < source.Length; i++) source[i] = (byte)(i * 13);
        var scratch = new byte[shape.Length];

        byte[] Run(ulong seed)
        {
            var rng = new Generator(seed);
            var all = new byte[20 * shape.Length];
            for (int k = 0; k < 20; k++)
            {
                var img = all.AsSpan(k * shape.Length, shape.Length);
                source.CopyTo(img);
                aug.Apply(img, shape, scratch, rng);
            }
            return all;
        }

        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));

        var image = (byte[])source.Clone();
        var g = new Generator(1);
        aug.Apply(image, shape, scratch, g); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 100; k++) aug.Apply(image, shape, scratch, g);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void WrongSizesAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new RandomHorizontalFlip().Apply(new byte[10], Shape, new byte[60], new Generator(0)));
        Assert.Contains("2×5×6", e.Message);
        Assert.Throws<ArgumentException>(() => new RandomCrop(1).Apply(Image(), Shape, new byte[3], new Generator(0)));
    }
}
