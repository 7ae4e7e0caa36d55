using System.Text;
using AutoGradNet.Serialization;
using static AutoGradNet.Tests.Serialization.SafeTensorsTestFiles;

namespace AutoGradNet.Tests.Serialization;

/// <summary>Every malformed file is rejected before data is used, with an error naming the file, the tensor and the problem.</summary>
public class SafeTensorsValidationTests
{
    private const string ValidHeader = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}""";

    private static byte[] ValidFile() => Assemble(ValidHeader, [.. F32(1, 2), .. I64(3)]);

    /// <summary>Loads <paramref name="bytes"/> from a file, a byte array and a forward-only stream; all must fail the same way.</summary>
    private static SafeTensorsFormatException Fails(byte[] bytes, string? tensor, string problem, string? forwardOnlyProblem = null)
    {
        using var folder = new TempFolder();
        string path = folder.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(tensor, e.TensorName);
        Assert.Contains(problem, e.Problem);
        Assert.StartsWith($"Invalid safetensors file '{path}'" + (tensor is null ? ":" : $", tensor '{tensor}':"), e.Message);
        Assert.IsAssignableFrom<FormatException>(e);

        var fromBytes = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(bytes));
        Assert.Null(fromBytes.FilePath);
        Assert.Equal(e.Problem, fromBytes.Problem);
        Assert.StartsWith("Invalid safetensors data" + (tensor is null ? ":" : $", tensor '{tensor}':"), fromBytes.Message);

        var forward = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new ForwardOnlyStream(new MemoryStream(bytes))));
        Assert.Equal(tensor, forward.TensorName);
        Assert.Contains(forwardOnlyProblem ?? problem, forward.Problem);
        return e;
    }

    private static byte[] WithEntry(string entries, byte[] data) => Assemble("{" + entries + "}", data);

    [Fact]
    public void ValidFileLoads()
    {
        var t = SafeTensors.Load(ValidFile());
        Assert.Equal([1f, 2f], t["a"].ToArray<float>());
        Assert.Equal([3L], t["b"].ToArray<long>());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(7)]
    public void TruncatedInTheHeaderLength(int length) =>
        Fails(ValidFile()[..length], null, $"only {length} byte(s) long, too short for the 8-byte little-endian header length");

    [Fact]
    public void HeaderLengthPastTheEndOfTheFile()
    {
        var e = Fails([.. LengthPrefix(1000), .. Encoding.ASCII.GetBytes("{}      ")], null,
            "the header length 1000 runs past the end of the file: only 8 byte(s) follow", forwardOnlyProblem: "ends inside the header");
        Assert.Contains("1000", e.Message);
    }

    [Fact]
    public void TruncatedInTheHeader() =>
        Fails(ValidFile()[..40], null, "runs past the end of the file: only 32 byte(s) follow",
            forwardOnlyProblem: $"the data ends inside the header: the header length says {ValidHeader.Length + (8 - ValidHeader.Length % 8) % 8} bytes but only 32 follow");

    [Fact]
    public void TruncatedInTheData()
    {
        byte[] file = ValidFile();
        Fails(file[..^3], "b", "\"data_offsets\" [8, 16] run past the end of the data: only 13 byte(s) follow the header",
            forwardOnlyProblem: "the data ends inside this tensor: its bytes are [8, 16) of the data buffer but the data stops at 13");
        Fails(file[..^16], "a", "run past the end of the data: only 0 byte(s)", forwardOnlyProblem: "the data stops at 0");
    }

    [Fact]
    public void TrailingBytesAfterTheData() =>
        Fails([.. ValidFile(), 1, 2, 3], null, "the tensors cover 16 byte(s) of data but 19 byte(s) follow the header (3 trailing byte(s)",
            forwardOnlyProblem: "the stream continues after the 16 byte(s) of tensor data");

    [Fact]
    public void HeaderLengthAboveTheLimitIsRejectedBeforeAllocating()
    {
        byte[] bytes = [.. LengthPrefix(200_000_000), .. Encoding.ASCII.GetBytes("{}")];
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new ForwardOnlyStream(new MemoryStream(bytes))));
        Assert.Contains("the header length 200000000 exceeds the 100,000,000-byte limit", e.Message);
        var huge = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new ForwardOnlyStream(new MemoryStream([.. LengthPrefix(ulong.MaxValue)]))));
        Assert.Contains("exceeds", huge.Message);
        Fails([.. LengthPrefix(ulong.MaxValue), 0], null, $"the header length {ulong.MaxValue} runs past the end of the file", forwardOnlyProblem: "exceeds");
        Fails([.. LengthPrefix(0)], null, "the header length is 0");
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32",""", "the header is not valid JSON")]
    [InlineData("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],}}""", "the header is not valid JSON")]
    [InlineData("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}} x""", "the header is not valid JSON")]
    [InlineData("""["a"]""", "must be a JSON object starting with '{' but its first byte is 0x5B")]
    [InlineData(""" {}""", "its first byte is 0x20")]
    [InlineData("\0\0\0\0\0\0\0\0", "its first byte is 0x00")]
    public void HeaderThatIsNotAJsonObject(string header, string problem) => Fails(Assemble(header, []), null, problem);

    [Fact]
    public void HeaderThatIsNotUtf8()
    {
        byte[] header = [.. Encoding.ASCII.GetBytes("{\"a"), 0xFF, .. Encoding.ASCII.GetBytes("\":{}}   ")];
        Fails([.. LengthPrefix((ulong)header.Length), .. header], null, "the header is not valid UTF-8 (first bad byte at header offset 3)");
    }

    [Theory]
    [InlineData("Q7", "unknown dtype \"Q7\" (loadable: BOOL, U8")]
    [InlineData("f32", "unknown dtype \"f32\"")]
    [InlineData("", "unknown dtype \"\"")]
    [InlineData("F8_E4M3", "dtype \"F8_E4M3\" is valid safetensors but AutoGradNet cannot load it")]
    [InlineData("C64", "cannot load it")]
    public void UnknownOrUnsupportedDType(string dtype, string problem) =>
        Fails(WithEntry($$"""
            "ok":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"{{dtype}}","shape":[],"data_offsets":[4,5]}
            """, new byte[5]), "a", problem);

    [Fact]
    public void DTypeThatIsNotAString() =>
        Fails(WithEntry("\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}", new byte[4]), "a", "\"dtype\" must be a string such as \"F32\", got Number");

    [Theory]
    [InlineData("[8,0]", "\"data_offsets\" [8, 0] end before they begin")]
    [InlineData("[0]", "\"data_offsets\" must be an array [begin, end] of two non-negative integers, got [0]")]
    [InlineData("[0,8,9]", "got [0,8,9]")]
    [InlineData("\"0,8\"", "got \"0,8\"")]
    [InlineData("[-1,7]", "\"data_offsets\" [-1,7] must be two non-negative integers")]
    [InlineData("[0.0,8]", "must be two non-negative integers")]
    [InlineData("[0,\"8\"]", "must be two non-negative integers")]
    [InlineData("[0,18446744073709551615]", "below 2^63")]
    public void BadOffsets(string offsets, string problem) =>
        Fails(WithEntry($$"""
            "a":{"dtype":"F32","shape":[2],"data_offsets":{{offsets}}}
            """, new byte[8]), "a", problem);

    [Fact]
    public void OffsetsPastTheDataBuffer() =>
        Fails(WithEntry("""
            "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}
            """, new byte[16]), "b", "\"data_offsets\" [16, 24] run past the end of the data: only 16 byte(s) follow the header",
            forwardOnlyProblem: "leave a hole: bytes [8, 16)");

    [Fact]
    public void OverlappingOffsets() =>
        Fails(WithEntry("""
            "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}
            """, new byte[12]), "b", "data_offsets [4, 12] overlap tensor 'a' at [0, 8]");

    [Fact]
    public void SameOffsetsTwice() =>
        Fails(WithEntry("""
            "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}
            """, new byte[8]), "b", "overlap tensor 'a'");

    [Fact]
    public void HoleBetweenTensors() =>
        Fails(WithEntry("""
            "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}
            """, new byte[20]), "b", "data_offsets [12, 20] leave a hole: bytes [8, 12) of the data buffer belong to no tensor");

    [Fact]
    public void HoleAtTheStart() =>
        Fails(WithEntry("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}", new byte[8]), "a", "bytes [0, 4) of the data buffer belong to no tensor");

    [Theory]
    [InlineData("F32", "[2,3]", "[0,20]", 20, "shape [2, 3] of F32 needs 6 × 4 = 24 byte(s) but \"data_offsets\" [0, 20] cover 20")]
    [InlineData("F64", "[]", "[0,4]", 4, "shape [] of F64 needs 1 × 8 = 8 byte(s)")]
    [InlineData("BOOL", "[0]", "[0,1]", 1, "shape [0] of BOOL needs 0 × 1 = 0 byte(s) but \"data_offsets\" [0, 1] cover 1")]
    [InlineData("BF16", "[3]", "[0,8]", 8, "needs 3 × 2 = 6 byte(s)")]
    public void WrongSizeForTheShape(string dtype, string shape, string offsets, int dataLength, string problem) =>
        Fails(WithEntry($$"""
            "w":{"dtype":"{{dtype}}","shape":{{shape}},"data_offsets":{{offsets}}}
            """, new byte[dataLength]), "w", problem);

    [Theory]
    [InlineData("[2,-1]", "\"shape\" [2,-1] has the negative dimension -1 at index 1")]
    [InlineData("[2.5]", "\"shape\" [2.5] must hold only integers; element 0 is 2.5")]
    [InlineData("[null]", "element 0 is null")]
    [InlineData("[\"2\"]", "element 0 is \"2\"")]
    [InlineData("\"2\"", "\"shape\" must be an array of non-negative integers, got String")]
    [InlineData("[3000000000]", "has the dimension 3000000000 at index 0, above 2147483647")]
    [InlineData("[65536,65536]", "\"shape\" [65536,65536] has more than 2147483647 elements")]
    [InlineData("[99999999999999999999999]", "element 0 is 99999999999999999999999")]
    public void BadShapes(string shape, string problem) =>
        Fails(WithEntry($$"""
            "w":{"dtype":"F32","shape":{{shape}},"data_offsets":[0,4]}
            """, new byte[4]), "w", problem);

    [Fact]
    public void DuplicateTensorNames() =>
        Fails(WithEntry("""
            "a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}
            """, new byte[8]), "a", "the name appears twice in the header");

    [Theory]
    [InlineData("\"a\":[1,2]", "the entry must be an object with \"dtype\", \"shape\" and \"data_offsets\", got Array")]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"offsets\":[0,4]}", "unknown field \"offsets\" in the entry")]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}", "the entry has no \"shape\"")]
    [InlineData("\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}", "the entry has no \"dtype\"")]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"shape\":[1]}", "the entry has no \"data_offsets\"")]
    [InlineData("\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "the field \"dtype\" appears twice in the entry")]
    public void MalformedEntries(string entries, string problem) => Fails(WithEntry(entries, new byte[4]), "a", problem);

    [Theory]
    [InlineData("\"__metadata__\":{\"k\":1}", "\"__metadata__\" value for key 'k' must be a string, got Number")]
    [InlineData("\"__metadata__\":[\"k\"]", "\"__metadata__\" must be an object mapping strings to strings, got Array")]
    [InlineData("\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}", "\"__metadata__\" has the key 'k' twice")]
    [InlineData("\"__metadata__\":{},\"__metadata__\":{}", "the header has two \"__metadata__\" entries")]
    public void MalformedMetadata(string entries, string problem) => Fails(WithEntry(entries, []), null, problem);

    [Fact]
    public void NullMetadataMeansNone() =>
        Assert.Empty(SafeTensors.LoadWithMetadata(WithEntry("\"__metadata__\":null", [])).Metadata);

    [Fact]
    public void BoolBytesMustBeZeroOrOne() =>
        Fails(WithEntry("\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}", [1, 0, 2]), "m", "BOOL element 2 is the byte 2; booleans must be 0 or 1");

    [Fact]
    public void U64AboveTheInt64RangeIsRejected() =>
        Fails(WithEntry("\"u\":{\"dtype\":\"U64\",\"shape\":[2],\"data_offsets\":[0,16]}", [.. I64(1), .. I64(-1)]), "u",
            $"U64 element 1 is {ulong.MaxValue}, above the int64 maximum {long.MaxValue}");

    [Fact]
    public void ReadHeaderValidatesWithoutReadingData()
    {
        using var folder = new TempFolder();
        string path = folder.File("h.safetensors");
        File.WriteAllBytes(path, ValidFile()[..^3]);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.ReadHeader(path));
        Assert.Equal("b", e.TensorName);
        Assert.Equal(path, e.FilePath);
        // BOOL values are data, not header: ReadHeader accepts the file, Load rejects it.
        byte[] badBool = WithEntry("\"m\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}", [7]);
        Assert.Single(SafeTensors.ReadHeader(new MemoryStream(badBool)).Tensors);
    }

    [Fact]
    public void FailedLoadFromAFileStreamNamesTheFile()
    {
        using var folder = new TempFolder();
        string path = folder.File("s.safetensors");
        File.WriteAllBytes(path, WithEntry("\"a\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}", []));
        using var stream = File.OpenRead(path);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(stream));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("tensor 'a'", e.Message);
    }
}
