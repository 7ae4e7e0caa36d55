namespace AutoGradNet.Serialization;

/// <summary>One tensor's entry in a safetensors header, as validated by <see cref="SafeTensors.ReadHeader(string)"/>.</summary>
public sealed class SafeTensorsEntry
{
    internal SafeTensorsEntry(string name, string dtypeCode, int[] shape, long begin, long end, DType loadedDType)
    {
        Name = name;
        DTypeCode = dtypeCode;
        Shape = shape;
        Begin = begin;
        End = end;
        LoadedDType = loadedDType;
    }

    /// <summary>The tensor's name (the key in the header).</summary>
    public string Name { get; }

    /// <summary>The dtype as written in the file: <c>F32</c>, <c>F64</c>, <c>I64</c>, <c>BOOL</c>, <c>F16</c>, <c>BF16</c>, …</summary>
    public string DTypeCode { get; }

    /// <summary>The sizes of the tensor's dimensions (empty for a 0-d tensor).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>First byte of the tensor's data, counted from the start of the data buffer (after the header).</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor's data, counted from the start of the data buffer.</summary>
    public long End { get; }

    /// <summary>The AutoGradNet dtype <see cref="SafeTensors.Load(string)"/> gives this tensor (after any widening).</summary>
    public DType LoadedDType { get; }

    /// <summary>Number of elements (the product of <see cref="Shape"/>; 1 for a 0-d tensor).</summary>
    public int Numel
    {
        get
        {
            int n = 1;
            foreach (int d in Shape) n *= d;
            return n;
        }
    }
}

/// <summary>A validated safetensors header: the tensor entries in data order and the <c>__metadata__</c> map.</summary>
public sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(IReadOnlyList<SafeTensorsEntry> tensors, IReadOnlyDictionary<string, string> metadata, long headerLength, long dataLength)
    {
        Tensors = tensors;
        Metadata = metadata;
        HeaderLength = headerLength;
        DataLength = dataLength;
    }

    /// <summary>The tensors, ordered by their position in the data buffer.</summary>
    public IReadOnlyList<SafeTensorsEntry> Tensors { get; }

    /// <summary>The free-form string map stored under <c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>N, the length in bytes of the JSON header (padding included) that follows the 8-byte length prefix.</summary>
    public long HeaderLength { get; }

    /// <summary>Length in bytes of the data buffer the tensors tile (what follows the header).</summary>
    public long DataLength { get; }
}
