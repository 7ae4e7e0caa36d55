using AutoGradNet.Data;

namespace AutoGradNet.Tests.Data;

public class IdxTests
{
    [Theory]
    [InlineData(false, "imgs-idx3-ubyte")]
    [InlineData(true, "imgs-idx3-ubyte.gz")]
    [InlineData(true, "gzip-without-extension")]
    [InlineData(false, "raw-named.gz")]
    public void ReadsImagesAndLabelsRawOrGzipByMagicBytes(bool gzip, string name)
    {
        using var dir = new TempDir();
        string images = dir.Write(name, Files.Images(3, 2, 4), gzip);
        string labels = dir.Write("l" + name, Files.Labels(7, 0, 9), gzip);

        var (pixels, count, rows, cols) = Idx.ReadImages(images);
        Assert.Equal((3, 2, 4), (count, rows, cols));
        Assert.Equal(24, pixels.Length);
        for (int i = 0; i < pixels.Length; i++) Assert.Equal(Files.Pixel(i), pixels[i]);
        Assert.Equal(new byte[] { 7, 0, 9 }, Idx.ReadLabels(labels));
    }

    [Fact]
    public void LimitReadsTheFirstRecords()
    {
        using var dir = new TempDir();
        var img = Idx.ReadImages(dir.Write("i.gz", Files.Images(5, 3, 3), gzip: true), limit: 2);
        Assert.Equal(2, img.Count);
        Assert.Equal(18, img.Pixels.Length);
        Assert.Equal(Files.Pixel(17), img.Pixels[17]);
        Assert.Equal(new byte[] { 1, 2 }, Idx.ReadLabels(dir.Write("l", Files.Labels(1, 2, 3)), limit: 2));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WrongMagicNamesFileExpectedAndFound(bool gzip)
    {
        using var dir = new TempDir();
        string labels = dir.Write("labels", Files.Labels(1, 2, 3), gzip);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(labels));
        Assert.Contains(labels, e.Message);
        Assert.Contains("wrong magic number", e.Message);
        Assert.Contains("0x00000803", e.Expected);
        Assert.Contains("0x00000801", e.Found);
        Assert.Contains("label file", e.Found);

        string text = dir.Write("text", "hello world, not idx"u8.ToArray());
        e = Assert.Throws<DataFormatException>(() => Idx.ReadLabels(text));
        Assert.Contains("not an IDX file", e.Message);
    }

    [Fact]
    public void TruncatedHeaderIsReported()
    {
        using var dir = new TempDir();
        var header = Files.Images(1, 2, 2)[..10]; // magic + 1.5 dims
        string path = dir.Write("short", header);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(path));
        Assert.Contains("truncated header", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("only 6 bytes", e.Found);

        string empty = dir.Write("empty", []);
        e = Assert.Throws<DataFormatException>(() => Idx.ReadLabels(empty));
        Assert.Contains("truncated header", e.Message);
        Assert.Contains("empty file", e.Found);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedPayloadIsReported(bool gzip)
    {
        using var dir = new TempDir();
        var full = Files.Images(3, 2, 4);
        string path = dir.Write("trunc", full[..(full.Length - 4)], gzip);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(path));
        Assert.Contains("truncated payload", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("24 data bytes for dims 3×2×4", e.Expected);
        Assert.Contains("only 20 bytes", e.Found);
    }

    [Fact]
    public void DimsThatDoNotMatchThePayloadAreReported()
    {
        using var dir = new TempDir();
        var bytes = Files.Idx(0x801, [3], [1, 2, 3, 4, 5]);
        string path = dir.Write("long.gz", bytes, gzip: true);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadLabels(path));
        Assert.Contains("dims do not match the payload", e.Message);
        Assert.Contains("3 data bytes", e.Expected);
        Assert.Contains("5 bytes", e.Found);

        string negative = dir.Write("neg", Files.Idx(0x803, [2, -1, 4], new byte[8]));
        e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(negative));
        Assert.Contains("invalid dims", e.Message);
    }

    [Fact]
    public void CorruptGzipIsAFormatError()
    {
        using var dir = new TempDir();
        var gz = TempDir.Gzip(Files.Images(50, 28, 28));
        string path = dir.Write("cut.gz", gz[..(gz.Length / 2)]);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MnistDirectoryLoadsBothSplitsWithMixedNames()
    {
        using var dir = new TempDir();
        dir.Write("train-images-idx3-ubyte.gz", Files.Images(4, 28, 28), gzip: true);
        dir.Write("train-labels-idx1-ubyte", Files.Labels(3, 1, 4, 1));
        dir.Write("t10k-images.idx3-ubyte", Files.Images(2, 28, 28));
        dir.Write("t10k-labels.idx1-ubyte.gz", Files.Labels(5, 9), gzip: true);

        var train = new Mnist(dir.Path);
        Assert.Equal(4, train.Count);
        Assert.True(train.Train);
        Assert.Equal((1, 28, 28), (train.Channels, train.Height, train.Width));
        Assert.Equal(new long[] { 3, 1, 4, 1 }, Enumerable.Range(0, 4).Select(train.GetLabel));
        Assert.Equal(Files.Pixel(784 + 5), train.GetPixels(1)[5]);
        var sample = train[2];
        Assert.Equal(4, sample.Label);
        Assert.Equal(784, sample.Pixels.Length);
        Assert.Same(Normalization.Mnist, train.DefaultNormalization);
        Assert.Equal("7", train.ClassNames[7]);

        var test = new FashionMnist(dir.Path, train: false);
        Assert.Equal(2, test.Count);
        Assert.Equal(9, test.GetLabel(1));
        Assert.Equal("Ankle boot", test.ClassNames[9]);
        Assert.Same(Normalization.FashionMnist, test.DefaultNormalization);
        Assert.EndsWith("t10k-images.idx3-ubyte", test.ImagesPath);

        var limited = new FashionMnist(dir.Path, limit: 3);
        Assert.Equal(3, limited.Count);
        Assert.Equal(3, limited.Take(10).Count);
        Assert.Equal(4, limited.Slice(2, 1).GetLabel(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => limited.GetPixels(3));
    }

    [Fact]
    public void CountMismatchNamesBothFiles()
    {
        using var dir = new TempDir();
        string images = dir.Write("train-images-idx3-ubyte", Files.Images(3, 2, 2));
        string labels = dir.Write("train-labels-idx1-ubyte", Files.Labels(1, 2));
        var e = Assert.Throws<DataFormatException>(() => new FashionMnist(dir.Path));
        Assert.Contains(images, e.Message);
        Assert.Contains(labels, e.Message);
        Assert.Contains("counts do not match", e.Message);
        Assert.Contains("3 labels", e.Expected);
        Assert.Contains("2 labels", e.Found);
    }

    [Fact]
    public void LabelOutOfRangeAndMissingFilesAreClear()
    {
        using var dir = new TempDir();
        dir.Write("train-images-idx3-ubyte", Files.Images(2, 2, 2));
        dir.Write("train-labels-idx1-ubyte", Files.Labels(1, 12));
        var e = Assert.Throws<DataFormatException>(() => new Mnist(dir.Path));
        Assert.Contains("label out of range", e.Message);
        Assert.Contains("12", e.Found);

        var missing = Assert.Throws<FileNotFoundException>(() => new FashionMnist(dir.Path, train: false));
        Assert.Contains("t10k-images-idx3-ubyte.gz", missing.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", missing.Message);
        Assert.False(FashionMnist.IsInstalled(dir.Path));
    }
}

public class FashionMnistInstalledTests
{
    private const string Hint = "apt-get install dataset-fashion-mnist";

    [FactIfDirectory(FashionMnist.DefaultDirectory, Hint)]
    public void ReadsTheInstalledDataset()
    {
        Assert.True(FashionMnist.IsInstalled());
        var train = new FashionMnist();
        var test = new FashionMnist(train: false);
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        foreach (var ds in new[] { train, test })
        {
            Assert.Equal((1, 28, 28), (ds.Channels, ds.Height, ds.Width));
            var perClass = new int[10];
            for (int i = 0; i < ds.Count; i++) perClass[ds.GetLabel(i)]++; // throws if a label is outside 0..9
            Assert.All(perClass, n => Assert.Equal(ds.Count / 10, n)); // Fashion-MNIST is balanced
        }

        // The normalisation constants are the training set's pixel statistics.
        double sum = 0, sumSq = 0;
        long n = 0;
        for (int i = 0; i < train.Count; i++)
            foreach (byte b in train.GetPixels(i))
            {
                sum += b;
                sumSq += (double)b * b;
                n++;
            }
        double mean = sum / n / 255, std = Math.Sqrt(sumSq / n / (255.0 * 255) - mean * mean);
        Assert.Equal(0.2860, mean, 0.0005);
        Assert.Equal(0.3530, std, 0.0005);
    }

    [FactIfDirectory(FashionMnist.DefaultDirectory, Hint)]
    public void LimitReadsOnlyTheFirstSamples()
    {
        var few = new FashionMnist(limit: 100);
        var all = new FashionMnist(train: false, limit: 10_000);
        Assert.Equal(100, few.Count);
        Assert.Equal(10_000, all.Count);
        Assert.Equal(9, few.GetLabel(0)); // the first training image is an ankle boot
    }
}
