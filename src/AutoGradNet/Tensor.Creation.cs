using AutoGradNet.Backends;
using AutoGradNet.Backends.Cpu;

namespace AutoGradNet;

public sealed partial class Tensor
{
    /// <summary>A tensor of zeros (float32 on the CPU unless told otherwise).</summary>
    public static Tensor Zeros(params int[] shape) => Full(shape, 0.0);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(int[] shape, DType dtype, Device? device = null, bool requiresGrad = false) =>
        Full(shape, 0.0, dtype, device, requiresGrad);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(shape, 1.0);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(int[] shape, DType dtype, Device? device = null, bool requiresGrad = false) =>
        Full(shape, 1.0, dtype, device, requiresGrad);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false)
    {
        device ??= Device.Default;
        var t = Alloc(new Shape(shape).ToArray(), dtype, device, zero: value == 0);
        if (value != 0) device.Backend.Fill(t, value);
        return requiresGrad ? t.RequiresGrad_() : t;
    }

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    /// <summary>An uninitialised tensor (contents are whatever the pool held).</summary>
    public static Tensor Empty(int[] shape, DType dtype = DType.Float32, Device? device = null) =>
        Alloc(new Shape(shape).ToArray(), dtype, device ?? Device.Default);

    /// <summary>Zeros with the shape, dtype and device of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Full(like._shape, 0.0, like.DType, like.Device);

    /// <summary>Ones with the shape, dtype and device of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Full(like._shape, 1.0, like.DType, like.Device);

    /// <summary>A constant with the shape, dtype and device of <paramref name="like"/>.</summary>
    public static Tensor FullLike(Tensor like, double value) => Full(like._shape, value, like.DType, like.Device);

    /// <summary>Values start, start+step, … below end (PyTorch's <c>arange</c>); float32 by default.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0) throw new ArgumentException("Arange: step must be non-zero");
        if (!double.IsFinite(start) || !double.IsFinite(end)) throw new ArgumentException($"Arange: bounds must be finite, got {start}..{end}");
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = start + i * step;
        return FromDoubles(values, [n], dtype, device);
    }

    /// <summary>0, 1, …, end−1.</summary>
    public static Tensor Arange(int end, DType dtype = DType.Float32, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    public static Tensor Linspace(double start, double end, int steps, DType dtype = DType.Float32, Device? device = null)
    {
        if (steps < 0) throw new ArgumentException($"Linspace: steps must be non-negative, got {steps}");
        var values = new double[steps];
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        // NOTE: like PyTorch, the second half counts back from the end, so both ends are exact.
        int half = steps / 2;
        for (int i = 0; i < steps; i++) values[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
        return FromDoubles(values, [steps], dtype, device);
    }

    /// <summary>An n×m matrix with ones on the diagonal.</summary>
    public static Tensor Eye(int n, int? m = null, DType dtype = DType.Float32, Device? device = null)
    {
        int cols = m ?? n;
        if (n < 0 || cols < 0) throw new ArgumentException($"Eye: sizes must be non-negative, got {n}×{cols}");
        var values = new double[n * cols];
        for (int i = 0; i < Math.Min(n, cols); i++) values[i * cols + i] = 1;
        return FromDoubles(values, [n, cols], dtype, device);
    }

    /// <summary>Uniform samples on [0, 1).</summary>
    public static Tensor Rand(int[] shape, DType dtype = DType.Float32, Generator? generator = null, Device? device = null) =>
        RandomTensor(shape, dtype, generator, device, RandomKind.Uniform, 0, 1);

    /// <summary>Uniform samples on [0, 1), float32.</summary>
    public static Tensor Rand(params int[] shape) => Rand(shape, DType.Float32);

    /// <summary>Uniform samples on [low, high).</summary>
    public static Tensor Uniform(int[] shape, double low, double high, DType dtype = DType.Float32, Generator? generator = null, Device? device = null) =>
        RandomTensor(shape, dtype, generator, device, RandomKind.Uniform, low, high);

    /// <summary>Standard normal samples.</summary>
    public static Tensor Randn(int[] shape, DType dtype = DType.Float32, Generator? generator = null, Device? device = null) =>
        RandomTensor(shape, dtype, generator, device, RandomKind.Normal, 0, 1);

    /// <summary>Standard normal samples, float32.</summary>
    public static Tensor Randn(params int[] shape) => Randn(shape, DType.Float32);

    /// <summary>Normal samples with the given mean and standard deviation.</summary>
    public static Tensor Normal(int[] shape, double mean, double std, DType dtype = DType.Float32, Generator? generator = null, Device? device = null) =>
        RandomTensor(shape, dtype, generator, device, RandomKind.Normal, mean, std);

    /// <summary>Uniform integers in [low, high), int64 by default.</summary>
    public static Tensor Randint(long low, long high, int[] shape, DType dtype = DType.Int64, Generator? generator = null, Device? device = null)
    {
        if (high <= low) throw new ArgumentException($"Randint: high ({high}) must be greater than low ({low})");
        return RandomTensor(shape, dtype, generator, device, RandomKind.Integer, low, high);
    }

    /// <summary>1 with probability p, else 0, in the given floating dtype.</summary>
    public static Tensor Bernoulli(int[] shape, double p, DType dtype = DType.Float32, Generator? generator = null, Device? device = null)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentException($"Bernoulli: p must be in [0, 1], got {p}");
        return RandomTensor(shape, dtype, generator, device, RandomKind.Bernoulli, p, 0);
    }

    /// <summary>A random permutation of 0..n−1 (int64).</summary>
    public static Tensor Randperm(int n, Generator? generator = null)
    {
        generator ??= Generator.Default;
        var perm = new double[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = generator.NextInt(i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return FromDoubles(perm, [n], DType.Int64, null);
    }

    /// <summary>Sets the seed of this thread's default generator (PyTorch's <c>torch.manual_seed</c>).</summary>
    public static void ManualSeed(ulong seed) => Generator.Default.ManualSeed(seed);

    private static Tensor RandomTensor(int[] shape, DType dtype, Generator? generator, Device? device, RandomKind kind, double a, double b)
    {
        device ??= Device.Default;
        var t = Alloc(new Shape(shape).ToArray(), dtype, device);
        device.Backend.Random(t, generator ?? Generator.Default, kind, a, b);
        return t;
    }

    /// <summary>A tensor with the elements of a C# array of any rank (float, double, long, int, bool).</summary>
    /// <example><c>Tensor.From(new float[,] { { 1, 2 }, { 3, 4 } })</c></example>
    public static Tensor From(Array array, bool requiresGrad = false)
    {
        var shape = new int[array.Rank];
        for (int d = 0; d < shape.Length; d++) shape[d] = array.GetLength(d);
        var element = array.GetType().GetElementType()!;
        Tensor t;
        if (element == typeof(float)) t = FromSpan<float>(Flatten<float>(array), shape);
        else if (element == typeof(double)) t = FromSpan<double>(Flatten<double>(array), shape);
        else if (element == typeof(long)) t = FromSpan<long>(Flatten<long>(array), shape);
        else if (element == typeof(int)) t = FromSpan<long>(Array.ConvertAll(Flatten<int>(array), v => (long)v), shape);
        else if (element == typeof(bool)) t = FromSpan<bool>(Flatten<bool>(array), shape);
        else throw new ArgumentException($"From: arrays of {element.Name} are not supported; use float, double, long, int or bool");
        return requiresGrad ? t.RequiresGrad_() : t;
    }

    /// <summary>A tensor of the given shape over a copy of flat row-major <paramref name="data"/>.</summary>
    public static Tensor From(float[] data, params int[] shape) => FromFlat(data, shape);

    /// <summary>A tensor of the given shape over a copy of flat row-major <paramref name="data"/>.</summary>
    public static Tensor From(double[] data, params int[] shape) => FromFlat(data, shape);

    /// <summary>A tensor of the given shape over a copy of flat row-major <paramref name="data"/>.</summary>
    public static Tensor From(long[] data, params int[] shape) => FromFlat(data, shape);

    private static Tensor FromFlat<T>(T[] data, int[] shape) where T : unmanaged
    {
        if (shape.Length == 0) shape = [data.Length];
        if (new Shape(shape).Numel != data.Length)
            throw new ArgumentException($"From: {data.Length} values do not fill shape {ShapeUtil.Format(shape)}");
        return FromSpan<T>(data, (int[])shape.Clone());
    }

    private static T[] Flatten<T>(Array array)
    {
        var flat = new T[array.Length];
        int i = 0;
        foreach (T v in array) flat[i++] = v; // a multi-dimensional array enumerates in row-major order
        return flat;
    }

    private static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] shape) where T : unmanaged
    {
        var t = Alloc(shape, DTypeInfo.Of<T>(), Device.Cpu);
        data.CopyTo(((CpuStorage<T>)t.StorageRef).Span);
        return t;
    }

    internal static Tensor FromDoubles(double[] values, int[] shape, DType dtype, Device? device)
    {
        var source = new Tensor(new CpuStorage<double>(values, values.Length), shape, ShapeUtil.ContiguousStrides(shape), 0, register: false);
        var t = Alloc((int[])shape.Clone(), dtype, Device.Cpu);
        CpuBackend.Instance.Cast(source, t);
        device ??= Device.Default;
        if (device == Device.Cpu) return t;
        using (t) return t.To(device);
    }

    /// <summary>The elements in row-major order. <typeparamref name="T"/> must match <see cref="DType"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        ThrowIfDisposed("ToArray");
        if (DTypeInfo.Of<T>() != DType)
            throw new InvalidOperationException($"ToArray<{typeof(T).Name}>: the tensor's dtype is {DType.Name()}; convert with To(DType) first");
        using var host = Device == Device.Cpu ? Alias(false) : To(Device.Cpu);
        var result = new T[Numel];
        var view = new Tensor(new CpuStorage<T>(result, result.Length), (int[])_shape.Clone(), ShapeUtil.ContiguousStrides(_shape), 0, register: false);
        CpuBackend.Instance.Copy(host, view);
        return result;
    }

    /// <summary>The elements in row-major order converted to double, whatever the dtype.</summary>
    public double[] ToDoubleArray()
    {
        ThrowIfDisposed("ToDoubleArray");
        using var host = Device == Device.Cpu ? Alias(false) : To(Device.Cpu);
        return CpuBackend.ToDoubles(host);
    }

    /// <summary>The value of a one-element tensor as a double (PyTorch's <c>item()</c>).</summary>
    public double Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item: only one-element tensors can be converted to a number, this one has shape {Shape}");
        return ToDoubleArray()[0];
    }

    /// <summary>The value of a one-element tensor as <typeparamref name="T"/> (must match the dtype).</summary>
    public T Item<T>() where T : unmanaged
    {
        if (Numel != 1) throw new InvalidOperationException($"Item: only one-element tensors can be converted to a number, this one has shape {Shape}");
        return ToArray<T>()[0];
    }
}
