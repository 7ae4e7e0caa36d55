using System.IO.Compression;

namespace AutoGradNet.Data;

/// <summary>Opening data files that may be gzip-compressed (detected by the magic bytes 1f 8b, not by the name).</summary>
internal static class DataFile
{
    /// <summary>True when <paramref name="path"/> starts with the gzip magic bytes 1f 8b.</summary>
    public static bool IsGzip(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        Span<byte> head = stackalloc byte[2];
        return f.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == 0x1f && head[1] == 0x8b;
    }

    /// <summary>A read stream over the file's (decompressed) bytes.</summary>
    public static Stream OpenRead(string path)
    {
        bool gzip = IsGzip(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: false) : file;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    public static int ReadFully(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, "corrupt gzip stream", "valid gzip data", e.Message);
        }
    }

    /// <summary>Counts the bytes left in the stream (reads them).</summary>
    public static long CountRemaining(Stream stream, string path)
    {
        var scratch = new byte[1 << 16];
        long n = 0;
        int got;
        while ((got = ReadFully(stream, scratch, path)) > 0) n += got;
        return n;
    }
}
