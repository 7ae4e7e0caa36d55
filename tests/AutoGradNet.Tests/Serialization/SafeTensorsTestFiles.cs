using System.Text;

namespace AutoGradNet.Tests.Serialization;

/// <summary>Byte-level helpers that build safetensors files by hand, independently of the library's writer.</summary>
internal static class SafeTensorsTestFiles
{
    /// <summary>8-byte little-endian length, then the header (space-padded to 8 bytes when asked), then the data.</summary>
    public static byte[] Assemble(string headerJson, byte[] data, bool pad = true)
    {
        var header = new List<byte>(Encoding.UTF8.GetBytes(headerJson));
        while (pad && header.Count % 8 != 0) header.Add((byte)' ');
        return [.. LengthPrefix((ulong)header.Count), .. header, .. data];
    }

    public static byte[] LengthPrefix(ulong n)
    {
        var bytes = new byte[8];
        for (int i = 0; i < 8; i++) bytes[i] = (byte)(n >> (8 * i));
        return bytes;
    }

    public static byte[] F32(params float[] values) => values.SelectMany(v => Le(BitConverter.SingleToUInt32Bits(v), 4)).ToArray();

    public static byte[] F64(params double[] values) => values.SelectMany(v => Le(BitConverter.DoubleToUInt64Bits(v), 8)).ToArray();

    public static byte[] I64(params long[] values) => values.SelectMany(v => Le((ulong)v, 8)).ToArray();

    public static byte[] U16(params ushort[] values) => values.SelectMany(v => Le(v, 2)).ToArray();

    /// <summary>The low <paramref name="size"/> bytes of <paramref name="v"/>, least significant first.</summary>
    public static byte[] Le(ulong v, int size)
    {
        var bytes = new byte[size];
        for (int i = 0; i < size; i++) bytes[i] = (byte)(v >> (8 * i));
        return bytes;
    }
}

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "agn-safetensors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string[] Entries() => Directory.GetFileSystemEntries(Path).Select(System.IO.Path.GetFileName).ToArray()!;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A stream that can only be read forward (no Length, no Seek), like a network stream.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    // Returns at most 7 bytes per call so callers must loop to fill their buffers.
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 7));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Passes writes through until <paramref name="limit"/> bytes were written, then throws like a crashed disk/process.</summary>
internal sealed class CrashAfterStream(Stream inner, long limit) : Stream
{
    public long Written { get; private set; }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        long room = limit - Written;
        if (buffer.Length > room)
        {
            inner.Write(buffer[..(int)room]);
            inner.Flush(); // the partial bytes really reach the temporary file
            Written = limit;
            throw new IOException($"simulated crash after {limit} bytes");
        }
        inner.Write(buffer);
        Written += buffer.Length;
    }
}
