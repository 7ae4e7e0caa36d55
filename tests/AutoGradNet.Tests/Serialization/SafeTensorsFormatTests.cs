using System.Text;
using AutoGradNet.Serialization;
using static AutoGradNet.Tests.Serialization.SafeTensorsTestFiles;

namespace AutoGradNet.Tests.Serialization;

/// <summary>Byte-exact checks against the specification, with files assembled by hand in the tests.</summary>
public class SafeTensorsFormatTests
{
    // Keys in no particular order, whitespace inside the JSON, metadata in the middle, data deliberately unaligned.
    private const string HandHeader = """
        {
          "mask": {"dtype": "BOOL", "shape": [2, 1], "data_offsets": [58, 60]},
          "__metadata__": {"format": "pt", "note": "hand made"},
          "w": {"shape": [2, 2], "dtype": "F32", "data_offsets": [0, 16]},
          "none": {"dtype": "F32", "shape": [0, 5], "data_offsets": [60, 60]},
          "h": {"dtype": "F16", "shape": [3], "data_offsets": [48, 54]},
          "ids": {"dtype": "I64", "shape": [3], "data_offsets": [16, 40]},
          "bf": {"dtype": "BF16", "shape": [2], "data_offsets": [54, 58]},
          "s": {"data_offsets": [40, 48], "dtype": "F64", "shape": []}
        }
        """;

    private static byte[] HandData() =>
    [
        0x00, 0x00, 0xC0, 0x3F, /* 1.5f */ 0x00, 0x00, 0x00, 0xC0, /* -2f */ 0x00, 0x00, 0x80, 0x3E, /* 0.25f */ 0x00, 0x00, 0x40, 0x40, /* 3f */
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* -1L */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* 2^40 */ 0x07, 0, 0, 0, 0, 0, 0, 0, /* 7 */
        0x69, 0x57, 0x14, 0x8B, 0x0A, 0xBF, 0x05, 0x40, /* Math.E */
        0x00, 0x3C, /* 1 */ 0x00, 0xC0, /* -2 */ 0x55, 0x35, /* 0.333251953125 */
        0x80, 0x3F, /* 1 */ 0x49, 0x40, /* 3.140625 */
        0x01, 0x00, /* true, false */
    ];

    private static void AssertHandFile(Dictionary<string, Tensor> t)
    {
        Assert.Equal(7, t.Count);
        Assert.Equal(DType.Float32, t["w"].DType);
        Assert.Equal(new Shape(2, 2), t["w"].Shape);
        Assert.Equal([1.5f, -2f, 0.25f, 3f], t["w"].ToArray<float>());
        Assert.Equal([-1L, 1L << 40, 7L], t["ids"].ToArray<long>());
        Assert.Equal(0, t["s"].Rank);
        Assert.Equal(Math.E, t["s"].Item<double>());
        Assert.Equal(DType.Float32, t["h"].DType);
        Assert.Equal([1f, -2f, 0.333251953125f], t["h"].ToArray<float>());
        Assert.Equal(DType.Float32, t["bf"].DType);
        Assert.Equal([1f, 3.140625f], t["bf"].ToArray<float>());
        Assert.Equal(new Shape(2, 1), t["mask"].Shape);
        Assert.Equal([true, false], t["mask"].ToArray<bool>());
        Assert.Equal(new Shape(0, 5), t["none"].Shape);
    }

    [Fact]
    public void HandAssembledFileLoadsWithTheRightValues()
    {
        Assert.Equal(60, HandData().Length);
        using var folder = new TempFolder();
        string path = folder.File("hand.safetensors");
        File.WriteAllBytes(path, Assemble(HandHeader, HandData()));
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        AssertHandFile(tensors);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal("hand made", metadata["note"]);
        Assert.Equal(2, metadata.Count);
    }

    [Fact]
    public void HeaderWithoutPaddingAlsoLoads()
    {
        string compact = """{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""";
        Assert.NotEqual(0, compact.Length % 8);
        var t = SafeTensors.Load(Assemble(compact, F32(6.5f), pad: false));
        Assert.Equal([6.5f], t["x"].ToArray<float>());
        AssertHandFile(SafeTensors.Load(new ForwardOnlyStream(new MemoryStream(Assemble(HandHeader, HandData(), pad: false)))));
    }

    [Fact]
    public void ReadHeaderListsEntriesInDataOrder()
    {
        var header = SafeTensors.ReadHeader(new MemoryStream(Assemble(HandHeader, HandData())));
        Assert.Equal(["w", "ids", "s", "h", "bf", "mask", "none"], header.Tensors.Select(e => e.Name));
        Assert.Equal(["F32", "I64", "F64", "F16", "BF16", "BOOL", "F32"], header.Tensors.Select(e => e.DTypeCode));
        Assert.Equal(DType.Float32, header.Tensors[3].LoadedDType);
        Assert.Equal(3, header.Tensors[3].Numel);
        Assert.Equal([48L, 54L], new[] { header.Tensors[3].Begin, header.Tensors[3].End });
        Assert.Equal(60, header.DataLength);
        Assert.Equal(0, header.HeaderLength % 8);
        Assert.Equal("hand made", header.Metadata["note"]);
    }

    [Fact]
    public void WriterBytesEqualHandComputedBytes()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = Tensor.From([1f, -2f], 2),
            ["m"] = Tensor.From(new[] { true, false, true }),
            ["a"] = Tensor.Scalar(5, DType.Int64),
            ["c"] = Tensor.From([0.5], 1),
        };
        // Order: I64 "a", F64 "c", F32 "b", BOOL "m"; 243 bytes of JSON padded with 5 spaces to 248 = 0xF8.
        const string json = "{\"__metadata__\":{\"k\":\"v\"},"
            + "\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
            + "\"c\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
            + "\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[24,27]}}";
        Assert.Equal(243, json.Length);
        byte[] expected =
        [
            0xF8, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes(json), 0x20, 0x20, 0x20, 0x20, 0x20,
            0x05, 0, 0, 0, 0, 0, 0, 0,                 // a = 5L
            0, 0, 0, 0, 0, 0, 0xE0, 0x3F,              // c = 0.5
            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, // b = 1f, -2f
            0x01, 0x00, 0x01,                          // m = true, false, true
        ];
        Assert.Equal(expected, SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["k"] = "v" }));
    }

    [Fact]
    public void EmptyDictionaryIsTheBracesPaddedToEightBytes()
    {
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32], SafeTensors.Serialize(new Dictionary<string, Tensor>()));
    }

    [Fact]
    public void NamesAndMetadataAreEscapedLikeJson()
    {
        byte[] bytes = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["a\"\\\n\u0001é"] = Tensor.Zeros([0]) });
        string header = Encoding.UTF8.GetString(bytes, 8, bytes.Length - 8).TrimEnd(' ');
        Assert.Equal("{\"a\\\"\\\\\\n\\u0001é\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", header);
    }

    [Fact]
    public void Float16ValuesWidenExactlyToFloat32()
    {
        ushort[] bits = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x8000, 0x3555, 0x7E00];
        float[] expected = [1f, -2f, 65504f, MathF.Pow(2, -24), 1023 * MathF.Pow(2, -24), float.PositiveInfinity, float.NegativeInfinity, -0f, 0.333251953125f];
        var header = $$$"""{"h":{"dtype":"F16","shape":[{{{bits.Length}}}],"data_offsets":[0,{{{2 * bits.Length}}}]}}""";
        float[] got = SafeTensors.Load(Assemble(header, U16(bits)))["h"].ToArray<float>();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(BitConverter.SingleToUInt32Bits(expected[i]), BitConverter.SingleToUInt32Bits(got[i]));
        Assert.True(float.IsNaN(got[^1]));
    }

    [Fact]
    public void BFloat16ValuesWidenExactlyToFloat32()
    {
        ushort[] bits = [0x3F80, 0xC040, 0x4049, 0x7F80, 0xFF80, 0x0001, 0x8000, 0x7F7F, 0x7FC0];
        float[] expected = [1f, -3f, 3.140625f, float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(0x00010000), -0f, BitConverter.Int32BitsToSingle(0x7F7F0000)];
        const string header = """{"b":{"dtype":"BF16","shape":[3,3],"data_offsets":[0,18]}}""";
        var t = SafeTensors.Load(Assemble(header, U16(bits)))["b"];
        Assert.Equal(new Shape(3, 3), t.Shape);
        float[] got = t.ToArray<float>();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(BitConverter.SingleToUInt32Bits(expected[i]), BitConverter.SingleToUInt32Bits(got[i]));
        Assert.True(float.IsNaN(got[^1]));
    }

    [Fact]
    public void SmallerIntegersWidenToInt64()
    {
        byte[] data =
        [
            0xFF, 0x00,                                     // U8: 255, 0
            0x80, 0x7F,                                     // I8: -128, 127
            0x00, 0x80, 0xFF, 0x7F,                         // I16: -32768, 32767
            0xFF, 0xFF,                                     // U16: 65535
            0x00, 0x00, 0x00, 0x80,                         // I32: int.MinValue
            0xFF, 0xFF, 0xFF, 0xFF,                         // U32: uint.MaxValue
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, // U64: long.MaxValue
        ];
        const string header = """
            {"u8":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"i8":{"dtype":"I8","shape":[2],"data_offsets":[2,4]},
             "i16":{"dtype":"I16","shape":[2],"data_offsets":[4,8]},"u16":{"dtype":"U16","shape":[1],"data_offsets":[8,10]},
             "i32":{"dtype":"I32","shape":[],"data_offsets":[10,14]},"u32":{"dtype":"U32","shape":[1],"data_offsets":[14,18]},
             "u64":{"dtype":"U64","shape":[1],"data_offsets":[18,26]}}
            """;
        var t = SafeTensors.Load(Assemble(header, data));
        Assert.All(t.Values, v => Assert.Equal(DType.Int64, v.DType));
        Assert.Equal([255L, 0L], t["u8"].ToArray<long>());
        Assert.Equal([-128L, 127L], t["i8"].ToArray<long>());
        Assert.Equal([-32768L, 32767L], t["i16"].ToArray<long>());
        Assert.Equal([65535L], t["u16"].ToArray<long>());
        Assert.Equal((long)int.MinValue, t["i32"].Item<long>());
        Assert.Equal([(long)uint.MaxValue], t["u32"].ToArray<long>());
        Assert.Equal([long.MaxValue], t["u64"].ToArray<long>());
    }
}
