using AutoGradNet.Data;

namespace AutoGradNet.Tests.Data;

public class CifarTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsCifar10RecordsRawOrGzip(bool gzip)
    {
        using var dir = new TempDir();
        string path = dir.Write("data_batch_1.bin", Files.CifarRecords([3, 0, 9]), gzip);
        var batch = Cifar.ReadBatch(path);
        Assert.Equal(3, batch.Count);
        Assert.Equal(new long[] { 3, 0, 9 }, batch.Labels);
        Assert.Null(batch.CoarseLabels);
        Assert.Equal(3 * 3072, batch.Pixels.Length);
        // Record 2, G plane (offset 1024), row 1, column 5.
        Assert.Equal((byte)((2 + 1024 + 32 + 5) % 256), batch.Pixels[2 * 3072 + 1024 + 32 + 5]);
        Assert.Equal(2, Cifar.ReadBatch(path, limit: 2).Count);
    }

    [Fact]
    public void ReadsCifar100CoarseAndFineLabels()
    {
        using var dir = new TempDir();
        string path = dir.Write("train.bin", Files.CifarRecords([99, 42], coarse: [19, 4]));
        var batch = Cifar.ReadBatch(path, cifar100: true);
        Assert.Equal(new long[] { 99, 42 }, batch.Labels);
        Assert.Equal(new long[] { 19, 4 }, batch.CoarseLabels);
        Assert.Equal((byte)1, batch.Pixels[3072]); // record 1, pixel 0
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedRecordIsReported(bool cifar100)
    {
        using var dir = new TempDir();
        var bytes = Files.CifarRecords([1, 2], cifar100 ? [1, 2] : null);
        string path = dir.Write("cut.bin", bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<DataFormatException>(() => Cifar.ReadBatch(path, cifar100));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated record", e.Message);
        Assert.Contains(cifar100 ? "3074 bytes" : "3073 bytes", e.Expected);
        Assert.Contains("1 whole records and a truncated one of", e.Found);

        string empty = dir.Write("empty.bin", []);
        e = Assert.Throws<DataFormatException>(() => Cifar.ReadBatch(empty, cifar100));
        Assert.Contains("empty file", e.Found);
    }

    [Fact]
    public void LabelOutOfRangeIsReported()
    {
        using var dir = new TempDir();
        string path = dir.Write("bad.bin", Files.CifarRecords([1, 10]));
        var e = Assert.Throws<DataFormatException>(() => Cifar.ReadBatch(path));
        Assert.Contains("record 1", e.Message);
        Assert.Contains("0..9", e.Expected);
        Assert.Contains("10", e.Found);
    }

    [Fact]
    public void Cifar10DatasetReadsTheStandardFilesInOrder()
    {
        using var dir = new TempDir();
        for (int b = 1; b <= 5; b++)
            dir.Write($"cifar-10-batches-bin/data_batch_{b}.bin", Files.CifarRecords([(byte)(2 * b - 2), (byte)(2 * b - 1)]), gzip: b == 3);
        dir.Write("cifar-10-batches-bin/test_batch.bin", Files.CifarRecords([7]));

        var train = new Cifar10(dir.Path); // the parent directory works
        Assert.Equal(10, train.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Enumerable.Range(0, 10).Select(train.GetLabel));
        Assert.Equal((3, 32, 32), (train.Channels, train.Height, train.Width));
        Assert.Equal(10, train.ClassNames.Count);
        Assert.Same(Normalization.Cifar10, train.DefaultNormalization);

        var test = new Cifar10(dir.File("cifar-10-batches-bin"), train: false);
        Assert.Equal(7, Assert.Single(Enumerable.Range(0, test.Count).Select(test.GetLabel)));

        var limited = new Cifar10(dir.Path, limit: 3); // spans two files
        Assert.Equal(new long[] { 0, 1, 2 }, Enumerable.Range(0, 3).Select(limited.GetLabel));

        Assert.Throws<FileNotFoundException>(() => new Cifar100(dir.Path));
    }

    [Fact]
    public void Cifar100DatasetChoosesFineOrCoarseLabels()
    {
        using var dir = new TempDir();
        dir.Write("test.bin", Files.CifarRecords([55, 3], coarse: [12, 0]));
        var fine = new Cifar100(dir.Path, train: false);
        var coarse = new Cifar100(dir.Path, train: false, coarse: true);
        Assert.Equal(55, fine.GetLabel(0));
        Assert.Equal(12, coarse.GetLabel(0));
        Assert.Equal(100, fine.ClassNames.Count);
        Assert.Equal(20, coarse.ClassNames.Count);
        Assert.Equal(100, Cifar100.FineClasses.Distinct().Count());
        Assert.Equal("otter", fine.ClassNames[55]);
        Assert.Equal(3, fine.FineLabels[1]);
    }
}

public class FactIfDirectoryTests
{
    [Fact]
    public void SkipsWithAVisibleReasonWhenTheDirectoryIsMissing()
    {
        Assert.Equal("/no/such/dir not found (install it)", new FactIfDirectoryAttribute("/no/such/dir", "install it").Skip);
        Assert.Null(new FactIfDirectoryAttribute(Path.GetTempPath(), "x").Skip);
    }
}
