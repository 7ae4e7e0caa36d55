using System.Buffers.Binary;

namespace AutoGradNet.Serialization;

/// <summary>The safetensors dtype codes, their element sizes, and what each becomes in AutoGradNet.</summary>
internal static class SafeTensorsDTypes
{
    /// <summary>A dtype code this library can load: element size in the file and the dtype it loads as.</summary>
    internal readonly record struct Info(string Code, int Size, DType Target)
    {
        /// <summary>True when the file's bytes are the target's little-endian bytes (no conversion).</summary>
        public bool IsNative => Code is "F32" or "F64" or "I64" or "BOOL";
    }

    private static readonly Dictionary<string, Info> s_loadable = new(StringComparer.Ordinal)
    {
        ["BOOL"] = new("BOOL", 1, DType.Bool),
        ["U8"] = new("U8", 1, DType.Int64),
        ["I8"] = new("I8", 1, DType.Int64),
        ["I16"] = new("I16", 2, DType.Int64),
        ["U16"] = new("U16", 2, DType.Int64),
        ["F16"] = new("F16", 2, DType.Float32),
        ["BF16"] = new("BF16", 2, DType.Float32),
        ["I32"] = new("I32", 4, DType.Int64),
        ["U32"] = new("U32", 4, DType.Int64),
        ["F32"] = new("F32", 4, DType.Float32),
        ["F64"] = new("F64", 8, DType.Float64),
        ["I64"] = new("I64", 8, DType.Int64),
        ["U64"] = new("U64", 8, DType.Int64),
    };

    // Valid in the safetensors specification but with no AutoGradNet conversion (8/6/4-bit floats, complex).
    private static readonly HashSet<string> s_knownUnsupported = new(StringComparer.Ordinal)
    {
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64",
    };

    public static string LoadableList => string.Join(", ", s_loadable.Keys);

    public static bool TryGetLoadable(string code, out Info info) => s_loadable.TryGetValue(code, out info);

    public static bool IsKnownUnsupported(string code) => s_knownUnsupported.Contains(code);

    /// <summary>The code a tensor of <paramref name="dtype"/> is written with.</summary>
    public static string CodeOf(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no safetensors dtype for this dtype"),
    };

    /// <summary>
    /// Rank in the reference writer's order (its dtype enum: BOOL &lt; U8 &lt; … &lt; F32 &lt; F64 &lt; I64 &lt; U64),
    /// which it sorts by descending, so wider elements come first and every tensor's data stays aligned.
    /// </summary>
    public static int WriteRank(DType dtype) => dtype switch
    {
        DType.Bool => 0,
        DType.Float32 => 11,
        DType.Float64 => 12,
        DType.Int64 => 13,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "no safetensors dtype for this dtype"),
    };

    /// <summary>
    /// Converts <paramref name="src"/> (whole elements of the non-native <paramref name="code"/>, little-endian) into
    /// <paramref name="dst"/>. Returns the index of the first element that cannot be represented, or −1.
    /// </summary>
    public static int ConvertToFloat32(string code, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (code)
        {
            case "F16":
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]));
                return -1;
            case "BF16":
                // NOTE: bfloat16 is the upper half of a float32, so widening is exact (NaN payloads, ±Inf, subnormals).
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                return -1;
            default:
                throw new InvalidOperationException($"no float32 conversion for {code}");
        }
    }

    /// <summary>Widens integer elements to int64; returns the index of the first U64 value above long.MaxValue, or −1.</summary>
    public static int ConvertToInt64(string code, ReadOnlySpan<byte> src, Span<long> dst)
    {
        switch (code)
        {
            case "U8": for (int i = 0; i < dst.Length; i++) dst[i] = src[i]; return -1;
            case "I8": for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i]; return -1;
            case "I16": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]); return -1;
            case "U16": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]); return -1;
            case "I32": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]); return -1;
            case "U32": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]); return -1;
            case "U64":
                for (int i = 0; i < dst.Length; i++)
                {
                    ulong v = BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]);
                    if (v > long.MaxValue) return i;
                    dst[i] = (long)v;
                }
                return -1;
            default:
                throw new InvalidOperationException($"no int64 conversion for {code}");
        }
    }
}
