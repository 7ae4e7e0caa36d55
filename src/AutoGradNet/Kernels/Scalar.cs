namespace AutoGradNet.Kernels;

/// <summary>
/// Conversions between double and the element type that ILGPU can compile as well as the CPU JIT.
/// </summary>
/// <remarks>
/// NOTE: <c>T.CreateTruncating</c> cannot be used in operator structs: its BCL body branches on
/// <c>typeof(TOther)</c>, which ILGPU rejects. The IL <c>sizeof</c> opcode and a reinterpreting load compile on
/// both (checked against ILGPU 1.5.3's PTX backend), and the JIT folds the branch per instantiation.
/// Only float and double element types reach these helpers.
/// </remarks>
public static class Scalar
{
    /// <summary>(T)value for T = float or double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe T FromDouble<T>(double value) where T : unmanaged
    {
        if (sizeof(T) == sizeof(float))
        {
            float f = (float)value;
            return Unsafe.As<float, T>(ref f);
        }
        return Unsafe.As<double, T>(ref value);
    }

    /// <summary>(double)value for T = float or double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe double ToDouble<T>(T value) where T : unmanaged
    {
        if (sizeof(T) == sizeof(float)) return Unsafe.As<T, float>(ref value);
        return Unsafe.As<T, double>(ref value);
    }
}
