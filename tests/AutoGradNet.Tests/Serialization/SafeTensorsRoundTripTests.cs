using AutoGradNet.Serialization;

namespace AutoGradNet.Tests.Serialization;

public class SafeTensorsRoundTripTests
{
    private static Tensor Bools(int[] shape, params bool[] values) => Tensor.From(values).Reshape(shape);

    /// <summary>Same dtype, shape and bit-identical row-major elements.</summary>
    internal static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        // NOTE: Tensor.IsContiguous is false for some fresh empty tensors (e.g. [2, 0, 4]), so only check non-empty ones.
        if (actual.Numel > 0) Assert.True(actual.IsContiguous);
        switch (expected.DType)
        {
            case DType.Float32:
                Assert.Equal(expected.ToArray<float>().Select(BitConverter.SingleToUInt32Bits), actual.ToArray<float>().Select(BitConverter.SingleToUInt32Bits));
                break;
            case DType.Float64:
                Assert.Equal(expected.ToArray<double>().Select(BitConverter.DoubleToUInt64Bits), actual.ToArray<double>().Select(BitConverter.DoubleToUInt64Bits));
                break;
            case DType.Int64: Assert.Equal(expected.ToArray<long>(), actual.ToArray<long>()); break;
            case DType.Bool: Assert.Equal(expected.ToArray<bool>(), actual.ToArray<bool>()); break;
        }
    }

    private static Dictionary<string, Tensor> AllKinds() => new()
    {
        ["f32"] = Tensor.Randn([2, 3], generator: new Generator(1)),
        ["f32.special"] = Tensor.From([float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0.0f, float.Epsilon, float.MaxValue], 6),
        ["f64"] = Tensor.From([Math.PI, -1e-310, double.NaN, double.MinValue], 2, 2),
        ["i64"] = Tensor.From([long.MinValue, -1, 0, long.MaxValue, 42, 7], 3, 1, 2),
        ["bool"] = Bools([2, 2], true, false, false, true),
        ["scalar.f32"] = Tensor.Scalar(2.5),
        ["scalar.i64"] = Tensor.Scalar(-9, DType.Int64),
        ["scalar.bool"] = Tensor.Scalar(1, DType.Bool),
        ["empty.f64"] = Tensor.Zeros([0, 3], DType.Float64),
        ["empty.i64"] = Tensor.Zeros([2, 0, 4], DType.Int64),
        ["empty.bool"] = Tensor.Zeros([0], DType.Bool),
        ["empty.f32"] = Tensor.Zeros([0], DType.Float32),
    };

    [Fact]
    public void AllDTypesAndShapesRoundTripThroughAFile()
    {
        using var folder = new TempFolder();
        string path = folder.File("model.safetensors");
        var tensors = AllKinds();
        SafeTensors.Save(path, tensors);
        var loaded = SafeTensors.Load(path);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), loaded.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in tensors) AssertSame(t, loaded[name]);
        Assert.Equal(["model.safetensors"], folder.Entries()); // no temporary left behind
    }

    [Fact]
    public void ViewsAreWrittenAsTheirRowMajorElements()
    {
        var baseTensor = Tensor.Arange(24).Reshape(2, 3, 4);
        var views = new Dictionary<string, Tensor>
        {
            ["transposed"] = baseTensor.Transpose(0, 2),
            ["permuted"] = baseTensor.Permute(1, 2, 0),
            ["strided"] = baseTensor.Slice(2, 1, null, 2),
            ["narrowed"] = baseTensor.Narrow(1, 1, 2),
            ["selected"] = baseTensor.Select(0, 1),
            ["expanded"] = Tensor.From([1.0, 2.0], 2, 1).Expand(2, 3),
            ["i64.transposed"] = Tensor.Arange(6, DType.Int64).Reshape(2, 3).Transpose(0, 1),
            ["bool.strided"] = Bools([6], true, false, false, true, true, false).Slice(0, 1, null, 2),
        };
        Assert.Contains(views.Values, v => !v.IsContiguous);
        var loaded = SafeTensors.Load(SafeTensors.Serialize(views));
        foreach (var (name, view) in views)
        {
            AssertSame(view.Contiguous(), loaded[name]);
            AssertSame(view, loaded[name]);
        }
    }

    [Fact]
    public void FileStreamBytesAndForwardOnlyStreamAgree()
    {
        using var folder = new TempFolder();
        string path = folder.File("a.safetensors");
        var tensors = AllKinds();
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        SafeTensors.Save(path, tensors, metadata);
        byte[] bytes = SafeTensors.Serialize(tensors, metadata);
        Assert.Equal(bytes, File.ReadAllBytes(path));

        var viaStream = new MemoryStream();
        SafeTensors.Save(viaStream, tensors, metadata);
        Assert.Equal(bytes, viaStream.ToArray());

        var fromBytes = SafeTensors.LoadWithMetadata(bytes);
        var fromForward = SafeTensors.LoadWithMetadata(new ForwardOnlyStream(new MemoryStream(bytes)));
        foreach (var (name, t) in tensors)
        {
            AssertSame(t, fromBytes.Tensors[name]);
            AssertSame(t, fromForward.Tensors[name]);
        }
        Assert.Equal(metadata, fromBytes.Metadata);
        Assert.Equal(metadata, fromForward.Metadata);
    }

    [Fact]
    public void OutputIsDeterministicWhateverTheInsertionOrder()
    {
        var tensors = AllKinds();
        var reversed = tensors.Reverse().ToDictionary();
        var meta1 = new Dictionary<string, string> { ["z"] = "1", ["a"] = "2", ["é"] = "3", ["B"] = "4" };
        var meta2 = meta1.Reverse().ToDictionary();
        Assert.Equal(SafeTensors.Serialize(tensors, meta1), SafeTensors.Serialize(reversed, meta2));
    }

    [Fact]
    public void LayoutIsWidestDTypeFirstThenNameAndKeepsEveryTensorAligned()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = Tensor.Zeros([3], DType.Bool),
            ["a"] = Tensor.Zeros([3], DType.Bool),
            ["w"] = Tensor.Zeros(5),
            ["c"] = Tensor.Zeros([1], DType.Float64),
            ["x"] = Tensor.Zeros([2], DType.Int64),
            ["d"] = Tensor.Zeros(1),
        };
        var header = SafeTensors.ReadHeader(new MemoryStream(SafeTensors.Serialize(tensors)));
        Assert.Equal(["x", "c", "d", "w", "a", "b"], header.Tensors.Select(e => e.Name));
        Assert.Equal(["I64", "F64", "F32", "F32", "BOOL", "BOOL"], header.Tensors.Select(e => e.DTypeCode));
        Assert.Equal(0, header.HeaderLength % 8);
        foreach (var e in header.Tensors) Assert.Equal(0, e.Begin % SafeTensorsTestFilesSizes.Of(e.DTypeCode));
        Assert.Equal(16 + 8 + 4 + 20 + 3 + 3, header.DataLength);
    }

    [Fact]
    public void MetadataRoundTripsIncludingCharactersThatNeedEscaping()
    {
        using var folder = new TempFolder();
        string path = folder.File("m.safetensors");
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["quote\"back\\slash"] = "line1\nline2\ttab\r\u0001\u001f\b\f",
            ["unicode ключ 🙂"] = "значение 🙂 \u007f",
            [""] = "",
            ["json"] = "{\"a\": [1, 2]}",
        };
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = Tensor.Ones(2) }, metadata);
        var (tensors, loadedMetadata) = SafeTensors.LoadWithMetadata(path);
        Assert.Equal(metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), loadedMetadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal([1f, 1f], tensors["t"].ToArray<float>());
        Assert.Equal(metadata.Count, SafeTensors.ReadHeader(path).Metadata.Count);
    }

    [Fact]
    public void NoMetadataLoadsAsAnEmptyMapAndEmptyMetadataIsNotWritten()
    {
        var tensors = new Dictionary<string, Tensor> { ["t"] = Tensor.Ones(1) };
        byte[] withNull = SafeTensors.Serialize(tensors);
        byte[] withEmpty = SafeTensors.Serialize(tensors, new Dictionary<string, string>());
        Assert.Equal(withNull, withEmpty);
        Assert.Empty(SafeTensors.LoadWithMetadata(withNull).Metadata);
    }

    [Fact]
    public void NamesWithUnicodeAndEscapesRoundTrip()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["layer.0/weight \"q\""] = Tensor.Ones(1),
            ["слой\\1\n"] = Tensor.Zeros(2),
            ["🙂"] = Tensor.Full([1], 3),
            [""] = Tensor.Full([1], 4),
        };
        var loaded = SafeTensors.Load(SafeTensors.Serialize(tensors));
        foreach (var (name, t) in tensors) AssertSame(t, loaded[name]);
    }

    [Fact]
    public void LargeTensorsCrossTheChunkBoundaries()
    {
        // The reader works in 1 MiB chunks and the writer in 2^18-element chunks; these sizes straddle both.
        var flags = new bool[300_001];
        for (int i = 0; i < flags.Length; i++) flags[i] = i % 3 == 0;
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = Tensor.Randn([300_001], generator: new Generator(7)),
            ["f64.t"] = Tensor.Randn([350, 400], DType.Float64, new Generator(8)).Transpose(0, 1),
            ["i64"] = Tensor.Randint(-1000, 1000, [140_001], generator: new Generator(9)),
            ["bool"] = Tensor.From(flags),
        };
        byte[] bytes = SafeTensors.Serialize(tensors);
        var fromBytes = SafeTensors.Load(bytes);
        var fromForward = SafeTensors.Load(new ForwardOnlyStream(new MemoryStream(bytes)));
        foreach (var (name, t) in tensors)
        {
            AssertSame(t, fromBytes[name]);
            AssertSame(t, fromForward[name]);
        }

        const int n = 600_001;
        var halves = new ushort[n];
        for (int i = 0; i < n; i++) halves[i] = (ushort)(i % 0x7C00);
        string header = $"{{\"h\":{{\"dtype\":\"F16\",\"shape\":[{n}],\"data_offsets\":[0,{2 * n}]}}}}";
        float[] widened = SafeTensors.Load(SafeTensorsTestFiles.Assemble(header, SafeTensorsTestFiles.U16(halves)))["h"].ToArray<float>();
        for (int i = 0; i < n; i += 9973) Assert.Equal((float)BitConverter.UInt16BitsToHalf(halves[i]), widened[i]);
        Assert.Equal((float)BitConverter.UInt16BitsToHalf(halves[^1]), widened[^1]);
    }

    [Fact]
    public void EmptyDictionaryRoundTrips()
    {
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(SafeTensors.Serialize(new Dictionary<string, Tensor>(), new Dictionary<string, string> { ["k"] = "v" }));
        Assert.Empty(tensors);
        Assert.Equal("v", metadata["k"]);
    }

    [Fact]
    public void LoadedTensorsAreFreshLeavesThatCanRequireGrad()
    {
        var w = Tensor.Randn([3], generator: new Generator(3)).RequiresGrad_();
        var loaded = SafeTensors.Load(SafeTensors.Serialize(new Dictionary<string, Tensor> { ["w"] = w }))["w"];
        Assert.False(loaded.RequiresGrad);
        AssertSame(w.Detach(), loaded);
    }

    [Fact]
    public void SaveRejectsReservedNameDisposedTensorsAndLoneSurrogates()
    {
        var reserved = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }));
        Assert.Contains("__metadata__", reserved.Message);
        var disposed = Tensor.Ones(1);
        disposed.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["gone"] = disposed }));
        Assert.Contains("'gone'", e.Message);
        var surrogate = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["bad\ud800"] = Tensor.Ones(1) }));
        Assert.Contains("surrogate", surrogate.Message);
    }
}

internal static class SafeTensorsTestFilesSizes
{
    public static int Of(string code) => code switch { "BOOL" or "U8" or "I8" => 1, "F16" or "BF16" or "I16" or "U16" => 2, "F32" or "I32" or "U32" => 4, _ => 8 };
}
