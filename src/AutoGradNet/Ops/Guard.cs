namespace AutoGradNet;

/// <summary>Argument checks shared by ops; every message names the op and the offending shapes or values.</summary>
internal static class Guard
{
    public static void Alive(Tensor t, string op) => t.ThrowIfDisposed(op);

    public static void Float(Tensor t, string op)
    {
        t.ThrowIfDisposed(op);
        if (!t.DType.IsFloatingPoint())
            throw new InvalidOperationException($"{op}: expected a float32 or float64 tensor, got {t.DType.Name()} of shape {t.Shape}");
    }

    public static void Compatible(Tensor a, Tensor b, string op)
    {
        a.ThrowIfDisposed(op);
        b.ThrowIfDisposed(op);
        if (a.Device != b.Device)
            throw new InvalidOperationException($"{op}: tensors are on different devices: {a.Device} (shape {a.Shape}) and {b.Device} (shape {b.Shape})");
        if (a.DType != b.DType)
            throw new InvalidOperationException($"{op}: dtype mismatch: {a.DType.Name()} (shape {a.Shape}) and {b.DType.Name()} (shape {b.Shape}); convert one with To(DType)");
    }

    public static void SameDevice(Tensor a, Tensor b, string op)
    {
        a.ThrowIfDisposed(op);
        b.ThrowIfDisposed(op);
        if (a.Device != b.Device)
            throw new InvalidOperationException($"{op}: tensors are on different devices: {a.Device} (shape {a.Shape}) and {b.Device} (shape {b.Shape})");
    }

    public static void Index(Tensor index, string op)
    {
        index.ThrowIfDisposed(op);
        if (index.DType != DType.Int64)
            throw new InvalidOperationException($"{op}: indices must be int64, got {index.DType.Name()} of shape {index.Shape}");
    }

    public static void Rank(Tensor t, int min, int max, string op)
    {
        if (t.Rank < min || t.Rank > max)
            throw new ArgumentException($"{op}: expected a tensor of rank {(min == max ? min.ToString() : $"{min}..{max}")}, got shape {t.Shape}");
    }

    public static void InPlace(Tensor self, string op)
    {
        self.ThrowIfDisposed(op);
        if (GradMode.IsEnabled && self.RequiresGrad)
            throw new InvalidOperationException(
                $"{op}: in-place operation on a tensor that requires grad (shape {self.Shape}); run it under GradMode.NoGrad() or use the out-of-place op");
    }
}
