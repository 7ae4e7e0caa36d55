using System.Numerics;
using System.Numerics.Tensors;
using AutoGradNet.Kernels;

namespace AutoGradNet.Backends.Cpu;

/// <summary>Managed CPU kernels. Loops over memory live here and in <see cref="Strided"/> only.</summary>
internal sealed partial class CpuBackend : IBackend
{
    public static readonly CpuBackend Instance = new();

    private CpuBackend() { }

    public Storage Allocate(DType dtype, int length, bool zero) => dtype switch
    {
        DType.Float32 => new CpuStorage<float>(Device.Cpu, length, zero),
        DType.Float64 => new CpuStorage<double>(Device.Cpu, length, zero),
        DType.Int64 => new CpuStorage<long>(Device.Cpu, length, zero),
        DType.Bool => new CpuStorage<bool>(Device.Cpu, length, zero),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public MemoryStats MemoryStats() => CpuMemory.Stats;

    internal static T[] Data<T>(Tensor t) where T : unmanaged => ((CpuStorage<T>)t.StorageRef).Data;

    public void Fill(Tensor dst, double value)
    {
        switch (dst.DType)
        {
            case DType.Float32: FillT(dst, (float)value); break;
            case DType.Float64: FillT(dst, value); break;
            case DType.Int64: FillT(dst, (long)value); break;
            case DType.Bool: FillT(dst, value != 0); break;
        }
    }

    private static void FillT<T>(Tensor dst, T value) where T : unmanaged =>
        Strided.ForEachRow(dst.ShapeArray, dst, null, null, null, new FillRow<T>(Data<T>(dst), value));

    private readonly struct FillRow<T>(T[] y, T value) : IRowAction where T : unmanaged
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            if (s0 == 1) y.AsSpan(o0, n).Fill(value);
            else for (int i = 0; i < n; i++) y[o0 + i * s0] = value;
        }
    }

    public void Copy(Tensor src, Tensor dst)
    {
        switch (src.DType)
        {
            case DType.Float32: CopyT<float>(src, dst); break;
            case DType.Float64: CopyT<double>(src, dst); break;
            case DType.Int64: CopyT<long>(src, dst); break;
            case DType.Bool: CopyT<bool>(src, dst); break;
        }
    }

    private static void CopyT<T>(Tensor src, Tensor dst) where T : unmanaged =>
        Strided.ForEachRow(dst.ShapeArray, dst, src, null, null, new CopyRow<T>(Data<T>(dst), Data<T>(src)));

    private readonly struct CopyRow<T>(T[] y, T[] x) : IRowAction where T : unmanaged
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            if (s0 == 1 && s1 == 1) x.AsSpan(o1, n).CopyTo(y.AsSpan(o0, n));
            else if (s1 == 0) { var v = x[o1]; for (int i = 0; i < n; i++) y[o0 + i * s0] = v; }
            else for (int i = 0; i < n; i++) y[o0 + i * s0] = x[o1 + i * s1];
        }
    }

    public void Cast(Tensor src, Tensor dst)
    {
        switch (src.DType, dst.DType)
        {
            case (DType.Float32, DType.Float64): CastT<float, double>(src, dst); break;
            case (DType.Float32, DType.Int64): CastT<float, long>(src, dst); break;
            case (DType.Float64, DType.Float32): CastT<double, float>(src, dst); break;
            case (DType.Float64, DType.Int64): CastT<double, long>(src, dst); break;
            case (DType.Int64, DType.Float32): CastT<long, float>(src, dst); break;
            case (DType.Int64, DType.Float64): CastT<long, double>(src, dst); break;
            case (DType.Bool, DType.Float32): FromBool<float>(src, dst); break;
            case (DType.Bool, DType.Float64): FromBool<double>(src, dst); break;
            case (DType.Bool, DType.Int64): FromBool<long>(src, dst); break;
            case (DType.Float32, DType.Bool): ToBool<float>(src, dst); break;
            case (DType.Float64, DType.Bool): ToBool<double>(src, dst); break;
            case (DType.Int64, DType.Bool): ToBool<long>(src, dst); break;
            default: Copy(src, dst); break; // same dtype
        }
    }

    private static void CastT<TIn, TOut>(Tensor src, Tensor dst) where TIn : unmanaged, INumberBase<TIn> where TOut : unmanaged, INumberBase<TOut> =>
        Strided.ForEachRow(dst.ShapeArray, dst, src, null, null, new CastRow<TIn, TOut>(Data<TOut>(dst), Data<TIn>(src)));

    private readonly struct CastRow<TIn, TOut>(TOut[] y, TIn[] x) : IRowAction where TIn : unmanaged, INumberBase<TIn> where TOut : unmanaged, INumberBase<TOut>
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            // NOTE: float → int64 truncates toward zero, as PyTorch's .long().
            for (int i = 0; i < n; i++) y[o0 + i * s0] = TOut.CreateTruncating(x[o1 + i * s1]);
        }
    }

    private static void FromBool<TOut>(Tensor src, Tensor dst) where TOut : unmanaged, INumberBase<TOut> =>
        Strided.ForEachRow(dst.ShapeArray, dst, src, null, null, new FromBoolRow<TOut>(Data<TOut>(dst), Data<bool>(src)));

    private readonly struct FromBoolRow<TOut>(TOut[] y, bool[] x) : IRowAction where TOut : unmanaged, INumberBase<TOut>
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            for (int i = 0; i < n; i++) y[o0 + i * s0] = x[o1 + i * s1] ? TOut.One : TOut.Zero;
        }
    }

    private static void ToBool<TIn>(Tensor src, Tensor dst) where TIn : unmanaged, INumberBase<TIn> =>
        Strided.ForEachRow(dst.ShapeArray, dst, src, null, null, new ToBoolRow<TIn>(Data<bool>(dst), Data<TIn>(src)));

    private readonly struct ToBoolRow<TIn>(bool[] y, TIn[] x) : IRowAction where TIn : unmanaged, INumberBase<TIn>
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            for (int i = 0; i < n; i++) y[o0 + i * s0] = x[o1 + i * s1] != TIn.Zero; // NaN is true, as PyTorch
        }
    }

    /// <summary>The elements of any tensor in row-major order, as doubles (used by casts and formatting).</summary>
    internal static double[] ToDoubles(Tensor t)
    {
        var result = new double[t.Numel];
        var view = new Tensor(new CpuStorage<double>(result, result.Length), (int[])t.ShapeArray.Clone(), ShapeUtil.ContiguousStrides(t.ShapeArray), 0, register: false);
        switch (t.DType)
        {
            case DType.Float32: Strided.ForEachRow(t.ShapeArray, view, t, null, null, new WidenRow<float>(result, Data<float>(t), static v => v)); break;
            case DType.Float64: CopyT<double>(t, view); break;
            case DType.Int64: Strided.ForEachRow(t.ShapeArray, view, t, null, null, new WidenRow<long>(result, Data<long>(t), static v => v)); break;
            case DType.Bool: Strided.ForEachRow(t.ShapeArray, view, t, null, null, new WidenRow<bool>(result, Data<bool>(t), static v => v ? 1 : 0)); break;
        }
        return result;
    }

    private readonly struct WidenRow<T>(double[] y, T[] x, Func<T, double> widen) : IRowAction where T : unmanaged
    {
        public void Row(int n, int o0, int s0, int o1, int s1, int o2, int s2, int o3, int s3)
        {
            for (int i = 0; i < n; i++) y[o0 + i * s0] = widen(x[o1 + i * s1]);
        }
    }

    public Array Download(Tensor src) => src.DType switch
    {
        DType.Float32 => src.ToArray<float>(),
        DType.Float64 => src.ToArray<double>(),
        DType.Int64 => src.ToArray<long>(),
        _ => src.ToArray<bool>(),
    };

    public void Upload(Array src, Tensor dst)
    {
        switch (src)
        {
            case float[] f: f.AsSpan(0, dst.Numel).CopyTo(Data<float>(dst).AsSpan(dst.Offset)); break;
            case double[] d: d.AsSpan(0, dst.Numel).CopyTo(Data<double>(dst).AsSpan(dst.Offset)); break;
            case long[] l: l.AsSpan(0, dst.Numel).CopyTo(Data<long>(dst).AsSpan(dst.Offset)); break;
            case bool[] b: b.AsSpan(0, dst.Numel).CopyTo(Data<bool>(dst).AsSpan(dst.Offset)); break;
            default: throw new ArgumentException($"upload: unsupported host array {src.GetType().Name}");
        }
    }

    public bool HasNonFinite(Tensor x)
    {
        if (x.IsContiguous)
        {
            if (x.DType == DType.Float32)
            {
                foreach (float v in Data<float>(x).AsSpan(x.Offset, x.Numel)) if (!float.IsFinite(v)) return true;
                return false;
            }
            if (x.DType == DType.Float64)
            {
                foreach (double v in Data<double>(x).AsSpan(x.Offset, x.Numel)) if (!double.IsFinite(v)) return true;
                return false;
            }
        }
        foreach (var v in ToDoubles(x))
            if (!double.IsFinite(v)) return true;
        return false;
    }

    public void Random(Tensor dst, Generator generator, RandomKind kind, double a, double b)
    {
        int n = dst.Numel;
        // Every draw uses one Philox block (4 words) per pair of values.
        ulong counter = generator.Advance(4L * ((n + 1) / 2));
        switch (dst.DType)
        {
            case DType.Float32: RandomFill(Data<float>(dst), dst.Offset, n, generator.Seed, counter, kind, a, b, static v => (float)v); break;
            case DType.Float64: RandomFill(Data<double>(dst), dst.Offset, n, generator.Seed, counter, kind, a, b, static v => v); break;
            case DType.Int64: RandomFill(Data<long>(dst), dst.Offset, n, generator.Seed, counter, kind, a, b, static v => (long)v); break;
            case DType.Bool: RandomFill(Data<bool>(dst), dst.Offset, n, generator.Seed, counter, kind, a, b, static v => v != 0); break;
        }
    }

    /// <summary>Fills data[offset..offset+n) in parallel chunks of pairs; element i is <see cref="Draw"/>(key, counter, i).</summary>
    private static void RandomFill<T>(T[] data, int offset, int n, ulong key, ulong counter, RandomKind kind, double a, double b, Func<double, T> convert)
    {
        const int PairsPerChunk = 4096;
        int pairs = (n + 1) / 2;
        CpuParallel.For((pairs + PairsPerChunk - 1) / PairsPerChunk, (data, offset, n, key, counter, kind, a, b, convert, pairs), static (s, chunk) =>
        {
            var (data, offset, n, key, counter, kind, a, b, convert, pairs) = s;
            int end = Math.Min(pairs, (chunk + 1) * PairsPerChunk);
            for (int p = chunk * PairsPerChunk; p < end; p++)
            {
                var (first, second) = DrawPair(key, counter, p, kind, a, b);
                data[offset + 2 * p] = convert(first);
                if (2 * p + 1 < n) data[offset + 2 * p + 1] = convert(second);
            }
        });
    }

    /// <summary>Values 2p and 2p + 1 of a draw from Philox block counter + p (equal to <see cref="Draw"/> for each).</summary>
    private static (double, double) DrawPair(ulong key, ulong counter, long p, RandomKind kind, double a, double b)
    {
        if (kind is not (RandomKind.Uniform or RandomKind.Integer or RandomKind.Bernoulli or RandomKind.Normal))
            throw new ArgumentOutOfRangeException(nameof(kind));
        var (w0, w1, w2, w3) = Philox.Block(key, counter + (ulong)p);
        return Philox.DrawPair<FusedMulAdd>(w0, w1, w2, w3, kind, a, b);
    }

    /// <summary>Value i of a draw: a pure function of (key, counter, i), the contract the GPU kernels follow too.</summary>
    internal static double Draw(ulong key, ulong counter, long i, RandomKind kind, double a, double b)
    {
        var (first, second) = DrawPair(key, counter, i >> 1, kind, a, b);
        return (i & 1) == 0 ? first : second;
    }
}

