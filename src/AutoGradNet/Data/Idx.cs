using System.Buffers.Binary;

namespace AutoGradNet.Data;

/// <summary>The images of an IDX image file: <see cref="Count"/> row-major <see cref="Rows"/>×<see cref="Cols"/> uint8 images back to back.</summary>
/// <param name="Pixels">Count × Rows × Cols bytes, image after image.</param>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Cols">Image width.</param>
public readonly record struct IdxImages(byte[] Pixels, int Count, int Rows, int Cols);

/// <summary>
/// Reader for the IDX format of MNIST and Fashion-MNIST (big-endian header: magic 0x000008NN where 08 = unsigned
/// byte and NN = number of dimensions, then NN big-endian int32 sizes, then the uint8 data). Files may be raw or
/// gzip-compressed; gzip is detected by its magic bytes (1f 8b), whatever the file name.
/// </summary>
/// <remarks>Every format problem throws <see cref="DataFormatException"/> naming the file, what was expected and what was found.</remarks>
public static class Idx
{
    /// <summary>Magic number of an IDX image file (unsigned bytes, 3 dims: count, rows, cols).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX label file (unsigned bytes, 1 dim: count).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an IDX image file (magic 0x00000803).</summary>
    /// <param name="path">A raw or gzip-compressed idx3-ubyte file.</param>
    /// <param name="limit">Read only the first <paramref name="limit"/> images (the rest of the file is then not checked).</param>
    public static IdxImages ReadImages(string path, int? limit = null)
    {
        var (dims, data) = Read(path, ImagesMagic, limit);
        return new IdxImages(data, Math.Min(dims[0], limit ?? int.MaxValue), dims[1], dims[2]);
    }

    /// <summary>Reads an IDX label file (magic 0x00000801): one byte per sample.</summary>
    /// <param name="path">A raw or gzip-compressed idx1-ubyte file.</param>
    /// <param name="limit">Read only the first <paramref name="limit"/> labels (the rest of the file is then not checked).</param>
    public static byte[] ReadLabels(string path, int? limit = null) => Read(path, LabelsMagic, limit).Data;

    /// <summary>Reads a uint8 IDX file with the given magic; returns its dims and its (first records of) data.</summary>
    private static (int[] Dims, byte[] Data) Read(string path, int magic, int? limit)
    {
        if (limit is < 0) throw new ArgumentOutOfRangeException(nameof(limit), $"Idx: limit must be non-negative, got {limit}");
        int rank = magic & 0xff;
        string kind = magic == ImagesMagic ? "image" : "label";
        using var stream = DataFile.OpenRead(path);

        Span<byte> head = stackalloc byte[4 + 4 * 3];
        head = head[..(4 + 4 * rank)];
        int got = DataFile.ReadFully(stream, head[..4], path);
        if (got < 4)
            throw new DataFormatException(path, $"truncated header (IDX {kind} file)", "a 4-byte magic number", got == 0 ? "an empty file" : $"only {got} bytes");
        int found = BinaryPrimitives.ReadInt32BigEndian(head);
        if (found != magic)
            throw new DataFormatException(path, $"wrong magic number for an IDX {kind} file",
                $"0x{magic:X8} (unsigned bytes, {rank} dims)", $"0x{found:X8}{DescribeMagic(found)}");
        got = DataFile.ReadFully(stream, head[4..], path);
        if (got < 4 * rank)
            throw new DataFormatException(path, $"truncated header (IDX {kind} file)",
                $"{rank} big-endian int32 dims after the magic number ({4 * rank} bytes)", $"only {got} bytes");

        var dims = new int[rank];
        long total = 1;
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(head[(4 + 4 * d)..]);
            if (dims[d] < 0 || (d > 0 && dims[d] == 0))
                throw new DataFormatException(path, $"invalid dims in the header (IDX {kind} file)", "positive sizes", FormatDims(dims, d + 1));
            total *= dims[d];
        }
        long recordBytes = dims[0] == 0 ? 0 : total / dims[0];
        int count = Math.Min(dims[0], limit ?? int.MaxValue);
        long want = recordBytes * count;
        if (want > Array.MaxLength)
            throw new DataFormatException(path, $"payload too large (IDX {kind} file)", $"at most {Array.MaxLength} bytes", $"dims {FormatDims(dims, rank)} = {want} bytes");

        var data = GC.AllocateUninitializedArray<byte>((int)want);
        got = DataFile.ReadFully(stream, data, path);
        if (got < want)
            throw new DataFormatException(path, $"truncated payload (IDX {kind} file; truncated file or wrong dims)",
                $"{total} data bytes for dims {FormatDims(dims, rank)}", $"only {got} bytes after the header");
        if (count == dims[0])
        {
            long extra = DataFile.CountRemaining(stream, path);
            if (extra > 0)
                throw new DataFormatException(path, $"dims do not match the payload (IDX {kind} file)",
                    $"{total} data bytes for dims {FormatDims(dims, rank)}", $"{total + extra} bytes after the header");
        }
        return (dims, data);
    }

    private static string FormatDims(int[] dims, int n) => string.Join("×", dims.Take(n));

    private static string DescribeMagic(int found) => found switch
    {
        ImagesMagic => " (an IDX image file)",
        LabelsMagic => " (an IDX label file)",
        _ when (found & 0xffff0000) == 0 && (found >> 8 & 0xff) != 0x08 => $" (an IDX file of element type 0x{found >> 8 & 0xff:X2}, not unsigned bytes)",
        _ when (found & 0xffff0000) == 0 => $" (an unsigned-byte IDX file with {found & 0xff} dims)",
        _ => " (not an IDX file)",
    };
}
