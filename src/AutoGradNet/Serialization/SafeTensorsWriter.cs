using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Serialization;

/// <summary>Lays out and writes a safetensors file (see <see cref="SafeTensors"/> for the format decisions).</summary>
internal sealed class SafeTensorsWriter
{
    private const int ChunkElements = 1 << 18;
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly record struct Item(string Name, byte[] NameUtf8, Tensor Tensor);

    private readonly List<Item> _items;

    /// <summary>The 8-byte length prefix followed by the header padded with spaces to a multiple of 8 bytes.</summary>
    internal byte[] Prefix { get; }

    /// <summary>Total length of the data buffer.</summary>
    internal long DataLength { get; }

    /// <summary>Validates the arguments and computes the layout and the header bytes; touches no file.</summary>
    internal SafeTensorsWriter(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _items = new List<Item>(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(name, nameof(tensors));
            if (name == "__metadata__")
                throw new ArgumentException("SafeTensors.Save: \"__metadata__\" is reserved for the metadata map and cannot name a tensor", nameof(tensors));
            if (tensor is null)
                throw new ArgumentException($"SafeTensors.Save: tensor '{name}' is null", nameof(tensors));
            if (tensor.IsDisposed)
                throw new ObjectDisposedException(nameof(Tensor), $"SafeTensors.Save: tensor '{name}' of shape {tensor.Shape} was disposed");
            _items.Add(new Item(name, Utf8(name, "tensor name"), tensor));
        }

        // NOTE: the reference writer's order: descending dtype rank (I64, F64, F32, BOOL), then name by UTF-8 bytes.
        // Wider elements first keeps every tensor's data aligned to its element size, since the header is 8-aligned.
        _items.Sort((x, y) =>
        {
            int c = SafeTensorsDTypes.WriteRank(y.Tensor.DType).CompareTo(SafeTensorsDTypes.WriteRank(x.Tensor.DType));
            return c != 0 ? c : x.NameUtf8.AsSpan().SequenceCompareTo(y.NameUtf8);
        });

        var json = new StringBuilder("{");
        if (metadata is { Count: > 0 })
        {
            var entries = new List<(byte[] Key, string KeyText, string Value)>(metadata.Count);
            foreach (var (key, value) in metadata)
            {
                ArgumentNullException.ThrowIfNull(key, nameof(metadata));
                if (value is null) throw new ArgumentException($"SafeTensors.Save: metadata value for key '{key}' is null", nameof(metadata));
                Utf8(value, $"metadata value for key '{key}'");
                entries.Add((Utf8(key, "metadata key"), key, value));
            }
            entries.Sort((x, y) => x.Key.AsSpan().SequenceCompareTo(y.Key));
            json.Append("\"__metadata__\":{");
            for (int i = 0; i < entries.Count; i++)
            {
                if (i > 0) json.Append(',');
                AppendString(json, entries[i].KeyText).Append(':');
                AppendString(json, entries[i].Value);
            }
            json.Append('}');
            if (_items.Count > 0) json.Append(',');
        }

        long offset = 0;
        for (int i = 0; i < _items.Count; i++)
        {
            var t = _items[i].Tensor;
            long end = offset + (long)t.Numel * t.DType.ElementSize();
            if (i > 0) json.Append(',');
            AppendString(json, _items[i].Name).Append(":{\"dtype\":\"").Append(SafeTensorsDTypes.CodeOf(t.DType)).Append("\",\"shape\":[");
            var shape = t.ShapeArray;
            for (int d = 0; d < shape.Length; d++)
            {
                if (d > 0) json.Append(',');
                json.Append(shape[d].ToString(CultureInfo.InvariantCulture));
            }
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
        }
        json.Append('}');
        DataLength = offset;

        byte[] header = s_strictUtf8.GetBytes(json.ToString());
        int padded = (header.Length + 7) / 8 * 8;
        Prefix = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(Prefix, (ulong)padded);
        header.CopyTo(Prefix, 8);
        Prefix.AsSpan(8 + header.Length).Fill((byte)' ');
    }

    private static byte[] Utf8(string text, string what)
    {
        try
        {
            return s_strictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"SafeTensors.Save: the {what} \"{text}\" is not valid UTF-16 (it has a lone surrogate), so it has no UTF-8 form", e);
        }
    }

    /// <summary>A JSON string escaped like serde_json: quote, backslash and control characters; the rest verbatim.</summary>
    private static StringBuilder AppendString(StringBuilder json, string s)
    {
        json.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                default:
                    if (c < 0x20) json.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else json.Append(c);
                    break;
            }
        }
        return json.Append('"');
    }

    /// <summary>Writes the whole file (prefix, header, data) to <paramref name="stream"/>.</summary>
    internal void WriteTo(Stream stream)
    {
        stream.Write(Prefix);
        foreach (var item in _items)
        {
            var t = item.Tensor;
            switch (t.DType)
            {
                case DType.Float32: WriteData<float>(stream, t); break;
                case DType.Float64: WriteData<double>(stream, t); break;
                case DType.Int64: WriteData<long>(stream, t); break;
                case DType.Bool: WriteBool(stream, t); break;
                default: throw new NotSupportedException($"SafeTensors.Save: tensor '{item.Name}' has dtype {t.DType.Name()}, which has no safetensors code");
            }
        }
    }

    /// <summary>Row-major elements of any view: the storage itself when dense on the CPU, else a contiguous copy.</summary>
    private static ReadOnlySpan<T> RowMajor<T>(Tensor t) where T : unmanaged
    {
        if (t.Numel == 0) return [];
        if (t.Device == Device.Cpu && t.IsContiguous) return ((CpuStorage<T>)t.StorageRef).Data.AsSpan(t.Offset, t.Numel);
        return t.ToArray<T>();
    }

    private static void WriteData<T>(Stream stream, Tensor t) where T : unmanaged
    {
        var values = RowMajor<T>(t);
        T[]? swapped = BitConverter.IsLittleEndian ? null : ArrayPool<T>.Shared.Rent(Math.Min(ChunkElements, values.Length));
        try
        {
            for (int start = 0; start < values.Length; start += ChunkElements)
            {
                var chunk = values.Slice(start, Math.Min(ChunkElements, values.Length - start));
                if (swapped is not null)
                {
                    var copy = swapped.AsSpan(0, chunk.Length);
                    chunk.CopyTo(copy);
                    if (Unsafe.SizeOf<T>() == 4) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, int>(copy), MemoryMarshal.Cast<T, int>(copy));
                    else BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, long>(copy), MemoryMarshal.Cast<T, long>(copy));
                    chunk = copy;
                }
                stream.Write(MemoryMarshal.AsBytes(chunk));
            }
        }
        finally
        {
            if (swapped is not null) ArrayPool<T>.Shared.Return(swapped);
        }
    }

    private static void WriteBool(Stream stream, Tensor t)
    {
        var values = RowMajor<bool>(t);
        byte[] bytes = ArrayPool<byte>.Shared.Rent(Math.Min(ChunkElements, Math.Max(values.Length, 1)));
        try
        {
            for (int start = 0; start < values.Length; start += ChunkElements)
            {
                int count = Math.Min(ChunkElements, values.Length - start);
                for (int i = 0; i < count; i++) bytes[i] = values[start + i] ? (byte)1 : (byte)0;
                stream.Write(bytes, 0, count);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>
    /// Writes the file crash-safely: a temporary file in the target's folder, flushed to disk, then renamed over the
    /// target. <paramref name="wrap"/> (tests only) wraps the temporary file's stream, e.g. to fail after K bytes.
    /// </summary>
    internal void WriteFile(string path, Func<Stream, Stream>? wrap = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"SafeTensors.Save: '{path}' names no file", nameof(path));
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Stream stream = wrap?.Invoke(file) ?? file;
                WriteTo(stream);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
