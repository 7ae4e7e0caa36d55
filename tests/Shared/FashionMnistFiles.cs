using System.Buffers.Binary;
using System.IO.Compression;

namespace AutoGradNet.Tests.Shared;

/// <summary>
/// Fashion-MNIST's IDX files written byte by byte (independently of the readers), for the trainer's end-to-end tests
/// in both test projects (compiled into each as a linked file).
/// </summary>
internal static class FashionMnistFiles
{
    /// <summary>An IDX file: magic number, big-endian dimensions, then the data.</summary>
    public static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    /// <summary>
    /// A learnable 10-class problem in Fashion-MNIST's file layout in <paramref name="dir"/>: image i has label i mod 10,
    /// dim noise, and a bright block at a place set by the label. Images are gzip-compressed (as the real files ship),
    /// labels are not, so both of the reader's paths run.
    /// </summary>
    public static void WriteLearnable(string dir, int train, int test)
    {
        Directory.CreateDirectory(dir);
        var random = new Random(7);
        foreach (var (prefix, count) in new[] { ("train", train), ("t10k", test) })
        {
            var pixels = new byte[count * 28 * 28];
            var labels = new byte[count];
            for (int i = 0; i < count; i++)
            {
                int label = i % 10;
                labels[i] = (byte)label;
                for (int p = 0; p < 784; p++) pixels[i * 784 + p] = (byte)random.Next(0, 60);
                int row = label / 5 * 12 + 4, col = label % 5 * 5 + 2;
                for (int r = row; r < row + 6; r++)
                    for (int c = col; c < col + 4; c++) pixels[i * 784 + r * 28 + c] = 250;
            }
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), Gzip(Idx(0x803, [count, 28, 28], pixels)));
            File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), Idx(0x801, [count], labels));
        }
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(bytes);
        return ms.ToArray();
    }
}
