namespace AutoGradNet;

/// <summary>Element type of a tensor. <see cref="Float32"/> is the default, as in PyTorch.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (<c>float</c>).</summary>
    Float32,
    /// <summary>64-bit IEEE float (<c>double</c>); what <see cref="GradCheck"/> needs.</summary>
    Float64,
    /// <summary>64-bit signed integer (<c>long</c>): class indices, arg-max results, index tensors.</summary>
    Int64,
    /// <summary>Boolean (<c>bool</c>): results of comparisons, masks for <see cref="Tensor.Where"/>.</summary>
    Bool,
}

/// <summary>Facts about a <see cref="DType"/>.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Int64 => 8,
        DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True for <see cref="DType.Float32"/> and <see cref="DType.Float64"/>: the dtypes that carry gradients.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>The PyTorch-style name: <c>float32</c>, <c>float64</c>, <c>int64</c>, <c>bool</c>.</summary>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int64 => "int64",
        DType.Bool => "bool",
        _ => dtype.ToString(),
    };

    /// <summary>The dtype of a CLR element type (<c>float</c>, <c>double</c>, <c>long</c>, <c>bool</c>).</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        throw new NotSupportedException($"no tensor dtype for element type {typeof(T).Name}; use float, double, long or bool");
    }
}
