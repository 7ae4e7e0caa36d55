using System.Buffers.Binary;
using System.IO.Compression;

namespace AutoGradNet.Tests.Data;

/// <summary>A temporary directory the data tests write small IDX/CIFAR files into; deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "agn-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/>, gzip-compressed when <paramref name="gzip"/>.</summary>
    public string Write(string name, byte[] bytes, bool gzip = false)
    {
        string path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, gzip ? Gzip(bytes) : bytes);
        return path;
    }

    public static byte[] Gzip(byte[] bytes) => Shared.FashionMnistFiles.Gzip(bytes);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Builds IDX and CIFAR file contents byte by byte (independently of the readers).</summary>
internal static class Files
{
    public static byte[] Idx(int magic, int[] dims, byte[] data) => Shared.FashionMnistFiles.Idx(magic, dims, data);

    /// <summary>An IDX image file of <paramref name="count"/> images; pixel (i, r, c) = (i·31 + r·rows… ) mod 256 (<see cref="Pixel"/>).</summary>
    public static byte[] Images(int count, int rows, int cols)
    {
        var data = new byte[count * rows * cols];
        for (int i = 0; i < data.Length; i++) data[i] = Pixel(i);
        return Idx(0x803, [count, rows, cols], data);
    }

    public static byte Pixel(int flatIndex) => (byte)((flatIndex * 7 + 3) % 256);

    public static byte[] Labels(params byte[] labels) => Idx(0x801, [labels.Length], labels);

    /// <summary>CIFAR records: label byte(s) then 3072 pixels with pixel j of record i = (i + j) mod 256.</summary>
    public static byte[] CifarRecords(byte[] fine, byte[]? coarse = null)
    {
        int labelBytes = coarse is null ? 1 : 2;
        int record = labelBytes + 3072;
        var bytes = new byte[fine.Length * record];
        for (int i = 0; i < fine.Length; i++)
        {
            int at = i * record;
            if (coarse is not null) bytes[at++] = coarse[i];
            bytes[at++] = fine[i];
            for (int j = 0; j < 3072; j++) bytes[at + j] = (byte)((i + j) % 256);
        }
        return bytes;
    }
}

/// <summary>A fact that is skipped, with the reason shown, when <paramref name="directory"/> is missing.</summary>
public sealed class FactIfDirectoryAttribute : FactAttribute
{
    public FactIfDirectoryAttribute(string directory, string hint)
    {
        if (!Directory.Exists(directory)) Skip = $"{directory} not found ({hint})";
    }
}
