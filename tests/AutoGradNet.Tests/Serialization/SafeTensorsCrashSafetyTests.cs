using AutoGradNet.Serialization;

namespace AutoGradNet.Tests.Serialization;

/// <summary>An interrupted save must leave the previous checkpoint byte-for-byte intact and no partial file behind.</summary>
public class SafeTensorsCrashSafetyTests
{
    private static Dictionary<string, Tensor> Version(int v) => new()
    {
        ["weight"] = Tensor.Full([64, 32], v),
        ["bias"] = Tensor.Full([32], -v, DType.Float64),
        ["step"] = Tensor.Scalar(v, DType.Int64),
        ["mask"] = Tensor.Full([5], v % 2, DType.Bool),
    };

    private static void AssertIsVersion(int v, Dictionary<string, Tensor> loaded)
    {
        Assert.All(loaded["weight"].ToArray<float>(), x => Assert.Equal(v, x));
        Assert.All(loaded["bias"].ToArray<double>(), x => Assert.Equal(-v, x));
        Assert.Equal(v, loaded["step"].Item<long>());
        Assert.All(loaded["mask"].ToArray<bool>(), x => Assert.Equal(v % 2 == 1, x));
    }

    public static TheoryData<long> CrashPoints()
    {
        long total = SafeTensors.Serialize(Version(2)).Length;
        long header = SafeTensors.ReadHeader(new MemoryStream(SafeTensors.Serialize(Version(2)))).HeaderLength + 8;
        // Nothing written, inside the length prefix, inside the header, at the data's start, mid-data, one byte short.
        return [0, 3, 8 + 10, header, header + 4096, total - 1];
    }

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public void CrashMidSaveLeavesThePreviousCheckpointIntact(long crashAfter)
    {
        using var folder = new TempFolder();
        string path = folder.File("ckpt.safetensors");
        SafeTensors.Save(path, Version(1), new Dictionary<string, string> { ["epoch"] = "1" });
        byte[] before = File.ReadAllBytes(path);

        CrashAfterStream? wrapper = null;
        var e = Assert.Throws<IOException>(() => SafeTensors.Save(path, Version(2), new Dictionary<string, string> { ["epoch"] = "2" },
            s => wrapper = new CrashAfterStream(s, crashAfter)));
        Assert.Contains("simulated crash", e.Message);
        Assert.Equal(crashAfter, wrapper!.Written);

        Assert.Equal(before, File.ReadAllBytes(path));
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        AssertIsVersion(1, tensors);
        Assert.Equal("1", metadata["epoch"]);
        Assert.Equal(["ckpt.safetensors"], folder.Entries()); // the partial temporary file was removed
    }

    [Fact]
    public void CrashOnTheFirstSaveLeavesNoFile()
    {
        using var folder = new TempFolder();
        string path = folder.File("new.safetensors");
        Assert.Throws<IOException>(() => SafeTensors.Save(path, Version(1), null, s => new CrashAfterStream(s, 100)));
        Assert.False(File.Exists(path));
        Assert.Empty(folder.Entries());
    }

    [Fact]
    public void SuccessfulSaveReplacesThePreviousCheckpoint()
    {
        using var folder = new TempFolder();
        string path = folder.File("ckpt.safetensors");
        SafeTensors.Save(path, Version(1));
        // A stale temporary from a process killed mid-save in the past does not disturb later saves.
        string stale = folder.File(".ckpt.safetensors.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(stale, [1, 2, 3]);
        SafeTensors.Save(path, Version(2), null, s => new CrashAfterStream(s, long.MaxValue));
        AssertIsVersion(2, SafeTensors.Load(path));
        Assert.Equal(SafeTensors.Serialize(Version(2)), File.ReadAllBytes(path));
        Assert.Equal([".ckpt.safetensors.0123456789abcdef0123456789abcdef.tmp", "ckpt.safetensors"], folder.Entries().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void InvalidArgumentsFailBeforeAnyFileIsTouched()
    {
        using var folder = new TempFolder();
        string path = folder.File("ckpt.safetensors");
        SafeTensors.Save(path, Version(1));
        byte[] before = File.ReadAllBytes(path);
        var disposed = Tensor.Ones(3);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = disposed }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, Version(2), new Dictionary<string, string> { ["k"] = null! }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["ckpt.safetensors"], folder.Entries());
    }

    [Fact]
    public void SaveIntoAMissingFolderThrowsAndCreatesNothing()
    {
        using var folder = new TempFolder();
        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(Path.Combine(folder.Path, "missing", "x.safetensors"), Version(1)));
        Assert.Empty(folder.Entries());
    }
}
