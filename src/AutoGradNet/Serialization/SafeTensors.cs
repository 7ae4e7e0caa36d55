namespace AutoGradNet.Serialization;

/// <summary>
/// Saves and loads tensors in the safetensors checkpoint format (Hugging Face's <c>.safetensors</c>, readable by
/// <c>safetensors.torch.load_file</c> and <c>safetensors.numpy.load_file</c>).
/// </summary>
/// <remarks>
/// <para>Format: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping each tensor name
/// to <c>{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}</c> (offsets into the data buffer that
/// follows the header), plus an optional <c>"__metadata__"</c> string-to-string map; then the data buffer:
/// each tensor's elements little-endian in row-major order. The offsets tile the buffer exactly.</para>
/// <para>Writing: float32, float64, int64 and bool tensors are stored as <c>F32</c>, <c>F64</c>, <c>I64</c> and
/// <c>BOOL</c> (one byte, 0 or 1); any view (transposed, sliced, expanded) is written as its row-major elements.
/// The output is deterministic and matches the reference writer: tensors ordered by descending dtype width
/// (<c>I64</c>, <c>F64</c>, <c>F32</c>, <c>BOOL</c>) and then by name (UTF-8 byte order), which keeps each tensor's
/// data aligned to its element size; <c>__metadata__</c> first with its keys sorted (omitted when empty); compact
/// JSON; the header padded with spaces to a multiple of 8 bytes. <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string}?)"/>
/// writes a temporary file beside the target, flushes it to disk and renames it over the target, so a crash or
/// error mid-save leaves the previous checkpoint intact.</para>
/// <para>Reading: the header is fully validated before any tensor data is read: header length within the file
/// (and at most 100,000,000 bytes), valid UTF-8 JSON object, known dtype, non-negative integer shape, byte size
/// equal to product(shape) × element size = end − begin, offsets within the data buffer and tiling it with no hole
/// or overlap, no duplicate names or fields, no unknown fields, string-valued metadata. Any problem throws
/// <see cref="SafeTensorsFormatException"/> naming the file, the tensor and what was wrong.</para>
/// <para>Dtype conversions on load: <c>F32</c>, <c>F64</c>, <c>I64</c> and <c>BOOL</c> load as float32, float64,
/// int64 and bool; <c>F16</c> and <c>BF16</c> are widened (exactly) to float32; <c>U8</c>, <c>I8</c>, <c>I16</c>,
/// <c>U16</c>, <c>I32</c> and <c>U32</c> are widened (exactly) to int64; <c>U64</c> loads as int64 and is rejected
/// if a value exceeds <see cref="long.MaxValue"/>. <c>BOOL</c> bytes other than 0 and 1 are rejected. The 8-, 6- and
/// 4-bit float dtypes (<c>F8_E4M3</c>, <c>F8_E5M2</c>, …) and <c>C64</c> are rejected with a clear error. Saving a
/// loaded tensor therefore writes the widened dtype, not the original one.</para>
/// <para>Loaded tensors are new CPU tensors (registered in the current dispose scope, not requiring grad).</para>
/// </remarks>
public static class SafeTensors
{
    /// <summary>The conventional file extension, <c>.safetensors</c>.</summary>
    public const string Extension = ".safetensors";

    // ---- writing --------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes <paramref name="tensors"/> (and optional <paramref name="metadata"/>) to <paramref name="path"/>
    /// crash-safely: a temporary file in the same folder is written, flushed to disk and then renamed over the
    /// target, so an interrupted save never destroys an existing checkpoint at <paramref name="path"/>.
    /// </summary>
    /// <remarks>
    /// The temporary file is named <c>.&lt;file name&gt;.&lt;guid&gt;.tmp</c>; it is deleted when the save fails with an
    /// exception, and one left behind by a killed process is harmless and may be deleted. The rename is atomic on
    /// the same volume; the folder entry itself is not flushed (.NET has no portable way to sync a directory).
    /// </remarks>
    /// <exception cref="ArgumentException">A tensor is named <c>__metadata__</c>, a value is null, or a string has no UTF-8 form.</exception>
    /// <exception cref="ObjectDisposedException">A tensor was disposed.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        new SafeTensorsWriter(tensors, metadata).WriteFile(path);

    /// <summary>Save with a hook wrapping the temporary file's stream: lets tests simulate a crash after K bytes.</summary>
    internal static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata, Func<Stream, Stream> wrapStream) =>
        new SafeTensorsWriter(tensors, metadata).WriteFile(path, wrapStream);

    /// <summary>Writes the safetensors bytes of <paramref name="tensors"/> to <paramref name="stream"/> at its position (left open).</summary>
    public static void Save(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        new SafeTensorsWriter(tensors, metadata).WriteTo(stream);
    }

    /// <summary>The safetensors bytes of <paramref name="tensors"/> (what <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string}?)"/> writes).</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var writer = new SafeTensorsWriter(tensors, metadata);
        var buffer = new MemoryStream(checked((int)(writer.Prefix.Length + writer.DataLength)));
        writer.WriteTo(buffer);
        return buffer.ToArray();
    }

    // ---- reading --------------------------------------------------------------------------------------------

    /// <summary>Loads every tensor of the safetensors file at <paramref name="path"/>, keyed by name.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors (the message says where and why).</exception>
    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).Tensors;

    /// <summary>
    /// Loads every tensor from <paramref name="stream"/>, which must hold exactly one safetensors file from its
    /// position to its end (the stream is left open).
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The data is not valid safetensors.</exception>
    public static Dictionary<string, Tensor> Load(Stream stream) => LoadWithMetadata(stream).Tensors;

    /// <summary>Loads every tensor from the bytes of a safetensors file.</summary>
    /// <exception cref="SafeTensorsFormatException">The bytes are not valid safetensors.</exception>
    public static Dictionary<string, Tensor> Load(byte[] data) => LoadWithMetadata(data).Tensors;

    /// <summary>Loads every tensor of the file at <paramref name="path"/> and its <c>__metadata__</c> map (empty when absent).</summary>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        return Read(file, path);
    }

    /// <summary>Loads every tensor from <paramref name="stream"/> and the <c>__metadata__</c> map (empty when absent).</summary>
    /// <exception cref="SafeTensorsFormatException">The data is not valid safetensors.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Read(stream, (stream as FileStream)?.Name);
    }

    /// <summary>Loads every tensor from the bytes of a safetensors file and the <c>__metadata__</c> map (empty when absent).</summary>
    /// <exception cref="SafeTensorsFormatException">The bytes are not valid safetensors.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var stream = new MemoryStream(data, writable: false);
        return Read(stream, null);
    }

    /// <summary>Reads and validates only the header of the file at <paramref name="path"/>: names, dtypes, shapes, offsets and metadata.</summary>
    /// <exception cref="SafeTensorsFormatException">The header is invalid or disagrees with the file's length.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096);
        return new SafeTensorsReader(file, path).ReadHeader();
    }

    /// <summary>
    /// Reads and validates only the header from <paramref name="stream"/> (left just after the header). For a
    /// stream that cannot seek, offsets cannot be checked against the data length.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The header is invalid.</exception>
    public static SafeTensorsHeader ReadHeader(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new SafeTensorsReader(stream, (stream as FileStream)?.Name).ReadHeader();
    }

    private static (Dictionary<string, Tensor>, Dictionary<string, string>) Read(Stream stream, string? file)
    {
        var reader = new SafeTensorsReader(stream, file);
        var header = reader.ReadHeader();
        var tensors = reader.ReadTensors(header);
        return (tensors, new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
    }
}
