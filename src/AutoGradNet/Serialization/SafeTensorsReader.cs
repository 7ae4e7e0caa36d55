using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Serialization;

/// <summary>Parses and validates a safetensors header, then reads the tensors (see <see cref="SafeTensors"/>).</summary>
internal sealed class SafeTensorsReader
{
    /// <summary>The reference implementation's limit on N; larger values mean a corrupt or foreign file.</summary>
    internal const long MaxHeaderLength = 100_000_000;

    private const int ChunkBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly string? _file;
    private readonly long? _available; // bytes from the stream's position to its end, when it can be known

    internal SafeTensorsReader(Stream stream, string? file)
    {
        _stream = stream;
        _file = file;
        if (stream.CanSeek) _available = stream.Length - stream.Position;
    }

    private SafeTensorsFormatException Error(string problem, string? tensor = null, Exception? inner = null) =>
        new(problem, _file, tensor, inner);

    // ---- header ---------------------------------------------------------------------------------------------

    /// <summary>Reads the length prefix and the header and validates every entry against the data length.</summary>
    internal SafeTensorsHeader ReadHeader()
    {
        Span<byte> prefix = stackalloc byte[8];
        int got = _stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        if (got < 8)
            throw Error($"the data is only {got} byte(s) long, too short for the 8-byte little-endian header length that starts a safetensors file");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);

        if (_available is long available && n > (ulong)(available - 8))
            throw Error($"the header length {n} runs past the end of the file: only {available - 8} byte(s) follow the 8-byte length prefix (truncated file, or not a safetensors file)");
        if (n > MaxHeaderLength)
            throw Error($"the header length {n} exceeds the {MaxHeaderLength:N0}-byte limit (corrupt file, or not a safetensors file)");
        if (n == 0)
            throw Error("the header length is 0; the header must be a JSON object (at least \"{}\")");

        var header = new byte[(int)n];
        got = _stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (got < header.Length)
            throw Error($"the data ends inside the header: the header length says {n} bytes but only {got} follow the length prefix");

        long? dataLength = _available is long a ? a - 8 - (long)n : null;
        return Parse(header, dataLength);
    }

    private SafeTensorsHeader Parse(byte[] header, long? dataLength)
    {
        if (!Utf8.IsValid(header))
            throw Error($"the header is not valid UTF-8 (first bad byte at header offset {FirstInvalidUtf8(header)})");
        if (header[0] != (byte)'{')
            throw Error($"the header must be a JSON object starting with '{{' but its first byte is 0x{header[0]:X2}");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Error($"the header is not valid JSON ({e.Message})", inner: e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error($"the header must be a JSON object, got {root.ValueKind}");

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                string name = property.Name;
                if (!seen.Add(name))
                    throw name == "__metadata__"
                        ? Error("the header has two \"__metadata__\" entries")
                        : Error("the name appears twice in the header", name);
                if (name == "__metadata__") ParseMetadata(property.Value, metadata);
                else entries.Add(ParseEntry(name, property.Value, dataLength));
            }

            // Per the specification the offsets tile the data buffer: sorted by position, each tensor starts
            // where the previous one ended, the first at 0, and the last ends at the end of the buffer.
            entries.Sort((x, y) =>
            {
                int c = x.Begin.CompareTo(y.Begin);
                if (c == 0) c = x.End.CompareTo(y.End);
                return c != 0 ? c : string.CompareOrdinal(x.Name, y.Name);
            });
            long expected = 0;
            SafeTensorsEntry? previous = null;
            foreach (var e in entries)
            {
                if (e.Begin < expected)
                    throw Error($"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' at [{previous.Begin}, {previous.End}]", e.Name);
                if (e.Begin > expected)
                    throw Error($"data_offsets [{e.Begin}, {e.End}] leave a hole: bytes [{expected}, {e.Begin}) of the data buffer belong to no tensor", e.Name);
                expected = e.End;
                previous = e;
            }
            if (dataLength is long length && length != expected)
                throw Error(length > expected
                    ? $"the tensors cover {expected} byte(s) of data but {length} byte(s) follow the header ({length - expected} trailing byte(s) belong to no tensor)"
                    : $"the tensors cover {expected} byte(s) of data but only {length} byte(s) follow the header (the file is truncated)");

            return new SafeTensorsHeader(entries, metadata, header.Length, expected);
        }
    }

    private void ParseMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Error($"\"__metadata__\" must be an object mapping strings to strings, got {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Error($"\"__metadata__\" value for key '{item.Name}' must be a string, got {item.Value.ValueKind}");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Error($"\"__metadata__\" has the key '{item.Name}' twice");
        }
    }

    private SafeTensorsEntry ParseEntry(string name, JsonElement value, long? dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Error($"the entry must be an object with \"dtype\", \"shape\" and \"data_offsets\", got {value.ValueKind}", name);

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeElement;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeElement; break;
                case "shape": slot = ref shapeElement; break;
                case "data_offsets": slot = ref offsetsElement; break;
                default: throw Error($"unknown field \"{field.Name}\" in the entry (expected only \"dtype\", \"shape\" and \"data_offsets\")", name);
            }
            if (slot is not null) throw Error($"the field \"{field.Name}\" appears twice in the entry", name);
            slot = field.Value;
        }
        if (dtypeElement is not { } dtypeValue) throw Error("the entry has no \"dtype\"", name);
        if (shapeElement is not { } shapeValue) throw Error("the entry has no \"shape\"", name);
        if (offsetsElement is not { } offsetsValue) throw Error("the entry has no \"data_offsets\"", name);

        // dtype
        if (dtypeValue.ValueKind != JsonValueKind.String)
            throw Error($"\"dtype\" must be a string such as \"F32\", got {dtypeValue.ValueKind}", name);
        string code = dtypeValue.GetString()!;
        if (!SafeTensorsDTypes.TryGetLoadable(code, out var info))
            throw SafeTensorsDTypes.IsKnownUnsupported(code)
                ? Error($"dtype \"{code}\" is valid safetensors but AutoGradNet cannot load it (loadable: {SafeTensorsDTypes.LoadableList})", name)
                : Error($"unknown dtype \"{code}\" (loadable: {SafeTensorsDTypes.LoadableList})", name);

        // shape
        if (shapeValue.ValueKind != JsonValueKind.Array)
            throw Error($"\"shape\" must be an array of non-negative integers, got {shapeValue.ValueKind}", name);
        var shape = new int[shapeValue.GetArrayLength()];
        long numel = 1;
        int k = 0;
        foreach (var dim in shapeValue.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d))
                throw Error($"\"shape\" {shapeValue.GetRawText()} must hold only integers; element {k} is {dim.GetRawText()}", name);
            if (d < 0)
                throw Error($"\"shape\" {shapeValue.GetRawText()} has the negative dimension {d} at index {k}", name);
            if (d > int.MaxValue)
                throw Error($"\"shape\" {shapeValue.GetRawText()} has the dimension {d} at index {k}, above {int.MaxValue}, the largest AutoGradNet size", name);
            numel *= d; // running product like ShapeUtil.Numel: at most (2^31 − 1)², so it cannot overflow
            if (numel > int.MaxValue)
                throw Error($"\"shape\" {shapeValue.GetRawText()} has more than {int.MaxValue} elements, the most an AutoGradNet tensor holds", name);
            shape[k++] = (int)d;
        }

        // data_offsets
        if (offsetsValue.ValueKind != JsonValueKind.Array || offsetsValue.GetArrayLength() != 2)
            throw Error($"\"data_offsets\" must be an array [begin, end] of two non-negative integers, got {offsetsValue.GetRawText()}", name);
        long begin = Offset(offsetsValue[0], offsetsValue, name);
        long end = Offset(offsetsValue[1], offsetsValue, name);
        if (end < begin)
            throw Error($"\"data_offsets\" [{begin}, {end}] end before they begin", name);
        long needed = numel * info.Size;
        if (end - begin != needed)
            throw Error($"shape {ShapeUtil.Format(shape)} of {code} needs {numel} × {info.Size} = {needed} byte(s) but \"data_offsets\" [{begin}, {end}] cover {end - begin}", name);
        if (dataLength is long length && end > length)
            throw Error($"\"data_offsets\" [{begin}, {end}] run past the end of the data: only {length} byte(s) follow the header (the file is truncated, or the offsets are wrong)", name);

        return new SafeTensorsEntry(name, code, shape, begin, end, info.Target);
    }

    private long Offset(JsonElement element, JsonElement offsets, string name)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out long v) || v < 0)
            throw Error($"\"data_offsets\" {offsets.GetRawText()} must be two non-negative integers below 2^63", name);
        return v;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed);
            if (status != OperationStatus.Done) return offset;
            offset += consumed;
        }
        return -1;
    }

    // ---- data -----------------------------------------------------------------------------------------------

    /// <summary>Reads every tensor of a validated header from the stream (positioned just after the header).</summary>
    internal Dictionary<string, Tensor> ReadTensors(SafeTensorsHeader header)
    {
        var result = new Dictionary<string, Tensor>(header.Tensors.Count, StringComparer.Ordinal);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            foreach (var entry in header.Tensors)
            {
                var t = Tensor.Alloc(entry.Shape.ToArray(), entry.LoadedDType, Device.Cpu);
                result.Add(entry.Name, t);
                Fill(entry, t, buffer);
            }
            if (_available is null && _stream.ReadByte() >= 0)
                throw Error($"the stream continues after the {header.DataLength} byte(s) of tensor data the header declares");
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Fill(SafeTensorsEntry entry, Tensor t, byte[] buffer)
    {
        SafeTensorsDTypes.TryGetLoadable(entry.DTypeCode, out var info);
        int numel = t.Numel;
        int perChunk = ChunkBytes / info.Size;
        for (int start = 0; start < numel; start += perChunk)
        {
            int count = Math.Min(perChunk, numel - start);
            int bytes = count * info.Size;
            int bad = -1;
            switch (entry.LoadedDType)
            {
                case DType.Float32 when info.IsNative:
                    ReadNative(entry, Elements<float>(t, start, count), start);
                    break;
                case DType.Float64:
                    ReadNative(entry, Elements<double>(t, start, count), start);
                    break;
                case DType.Int64 when info.IsNative:
                    ReadNative(entry, Elements<long>(t, start, count), start);
                    break;
                case DType.Bool:
                    var flags = Elements<bool>(t, start, count);
                    var raw = buffer.AsSpan(0, bytes);
                    ReadChunk(entry, raw, start);
                    int invalid = raw.IndexOfAnyExcept((byte)0, (byte)1);
                    if (invalid >= 0)
                        throw Error($"BOOL element {start + invalid} is the byte {raw[invalid]}; booleans must be 0 or 1", entry.Name);
                    raw.CopyTo(MemoryMarshal.AsBytes(flags)); // every byte is 0 or 1, so each is a valid bool
                    break;
                case DType.Float32:
                    ReadChunk(entry, buffer.AsSpan(0, bytes), start * (long)info.Size);
                    bad = SafeTensorsDTypes.ConvertToFloat32(info.Code, buffer.AsSpan(0, bytes), Elements<float>(t, start, count));
                    break;
                case DType.Int64:
                    ReadChunk(entry, buffer.AsSpan(0, bytes), start * (long)info.Size);
                    bad = SafeTensorsDTypes.ConvertToInt64(info.Code, buffer.AsSpan(0, bytes), Elements<long>(t, start, count));
                    break;
            }
            if (bad >= 0)
                throw Error($"{info.Code} element {start + bad} is {BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(bad * 8))}, above the int64 maximum {long.MaxValue}", entry.Name);
        }
    }

    private static Span<T> Elements<T>(Tensor t, int start, int count) where T : unmanaged =>
        ((CpuStorage<T>)t.StorageRef).Span.Slice(start, count);

    private void ReadNative<T>(SafeTensorsEntry entry, Span<T> destination, int start) where T : unmanaged
    {
        ReadChunk(entry, MemoryMarshal.AsBytes(destination), start * (long)Unsafe.SizeOf<T>());
        if (!BitConverter.IsLittleEndian) ReverseEndianness(destination);
    }

    private static void ReverseEndianness<T>(Span<T> values) where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() == 4) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, int>(values), MemoryMarshal.Cast<T, int>(values));
        else if (Unsafe.SizeOf<T>() == 8) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, long>(values), MemoryMarshal.Cast<T, long>(values));
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length or reports where the data stopped.</summary>
    private void ReadChunk(SafeTensorsEntry entry, Span<byte> destination, long offsetInTensor)
    {
        int got = _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (got < destination.Length)
            throw Error($"the data ends inside this tensor: its bytes are [{entry.Begin}, {entry.End}) of the data buffer but the data stops at {entry.Begin + offsetInTensor + got} (the file is truncated)", entry.Name);
    }
}
