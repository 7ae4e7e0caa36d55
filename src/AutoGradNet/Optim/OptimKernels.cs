using System.Numerics;
using AutoGradNet.Kernels;

namespace AutoGradNet.Optim;

// Fused elementwise kernels of the optimizer updates. They run through the device backend's Map/Zip (so they
// work on every backend that runs operator structs) and write into preallocated buffers: a steady-state step
// allocates no tensor. Every operator is alias-safe (y may be a or b): element i reads a[i] and b[i] before
// writing y[i], and the span paths are plain per-element loops. ILGPU rules of docs/DESIGN.md apply (no
// T.Create*, scalars through Scalar.FromDouble).

/// <summary>Writes through the backend and bumps the target's version counter, as the in-place tensor ops do.</summary>
internal static class Fused
{
    public static void Zip<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, IBinaryOperator
    {
        y.Device.Backend.Zip(a, b, y, op);
        y.StorageRef.Version++;
    }

    public static void Map<TOp>(Tensor x, Tensor y, TOp op) where TOp : struct, IUnaryOperator
    {
        y.Device.Backend.Map(x, y, op);
        y.StorageRef.Version++;
    }

    public static void Copy(Tensor source, Tensor y)
    {
        y.Device.Backend.Copy(source, y);
        y.StorageRef.Version++;
    }

    public static void Fill(Tensor y, double value)
    {
        y.Device.Backend.Fill(y, value);
        y.StorageRef.Version++;
    }
}

/// <summary>y = α·a + β·b.</summary>
internal readonly struct LinearComboOperator(double alpha, double beta) : IVectorBinaryOperator
{
    private readonly double _alpha = alpha, _beta = beta;
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> =>
        Scalar.FromDouble<T>(_alpha) * a + Scalar.FromDouble<T>(_beta) * b;
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.ZipVectors(this, a, b, y);
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public Vector<T> Invoke<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Vector<T>(Scalar.FromDouble<T>(_alpha)) * a + new Vector<T>(Scalar.FromDouble<T>(_beta)) * b;
}

/// <summary>y = a + w·(b − a) (PyTorch's <c>lerp</c>).</summary>
internal readonly struct LerpOperator(double weight) : IVectorBinaryOperator
{
    private readonly double _weight = weight;
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => a + Scalar.FromDouble<T>(_weight) * (b - a);
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.ZipVectors(this, a, b, y);
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public Vector<T> Invoke<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T> =>
        a + new Vector<T>(Scalar.FromDouble<T>(_weight)) * (b - a);
}

/// <summary>y = β·a + c·b·b (a running sum of squares; PyTorch's <c>mul_(β).addcmul_(b, b, value=c)</c>).</summary>
internal readonly struct SquareAccumulateOperator(double beta, double c) : IVectorBinaryOperator
{
    private readonly double _beta = beta, _c = c;
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> =>
        Scalar.FromDouble<T>(_beta) * a + Scalar.FromDouble<T>(_c) * b * b;
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.ZipVectors(this, a, b, y);
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public Vector<T> Invoke<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Vector<T>(Scalar.FromDouble<T>(_beta)) * a + new Vector<T>(Scalar.FromDouble<T>(_c)) * b * b;
}

/// <summary>y = s·a / b (PyTorch's <c>addcdiv</c> term).</summary>
internal readonly struct ScaledDivOperator(double scale) : IVectorBinaryOperator
{
    private readonly double _scale = scale;
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => Scalar.FromDouble<T>(_scale) * a / b;
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.ZipVectors(this, a, b, y);
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public Vector<T> Invoke<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Vector<T>(Scalar.FromDouble<T>(_scale)) * a / b;
}

/// <summary>y = √(a − b²) + ε (centered RMSprop's denominator).</summary>
internal readonly struct CenteredRootOperator(double eps) : IVectorBinaryOperator
{
    private readonly double _eps = eps;
    public T Invoke<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => T.Sqrt(a - b * b) + Scalar.FromDouble<T>(_eps);
    public void Invoke<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.ZipVectors(this, a, b, y);
    public void Invoke<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public void Invoke<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.Zip(this, a, b, y);
    public Vector<T> Invoke<T>(Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector.SquareRoot(a - b * b) + new Vector<T>(Scalar.FromDouble<T>(_eps));
}

/// <summary>y = √x / d + ε (Adam's bias-corrected denominator; d = 1 for Adagrad and RMSprop).</summary>
internal readonly struct RootOperator(double divisor, double eps) : IVectorUnaryOperator
{
    private readonly double _divisor = divisor, _eps = eps;
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> =>
        T.Sqrt(x) / Scalar.FromDouble<T>(_divisor) + Scalar.FromDouble<T>(_eps);
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.MapVectors(this, x, y);
    public Vector<T> Invoke<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector.SquareRoot(x) / new Vector<T>(Scalar.FromDouble<T>(_divisor)) + new Vector<T>(Scalar.FromDouble<T>(_eps));
}

/// <summary>y = s·x.</summary>
internal readonly struct ScaleOperator(double scale) : IVectorUnaryOperator
{
    private readonly double _scale = scale;
    public T Invoke<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => Scalar.FromDouble<T>(_scale) * x;
    public void Invoke<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => Loops.MapVectors(this, x, y);
    public Vector<T> Invoke<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Vector<T>(Scalar.FromDouble<T>(_scale)) * x;
}
