using AutoGradNet.Kernels;

namespace AutoGradNet;

// Comparisons and logic: not differentiable; results are bool tensors.
public sealed partial class Tensor
{
    private Tensor CompareKernel<TOp>(Tensor other, TOp op, string name) where TOp : struct, ICompareOperator
    {
        Guard.Compatible(this, other, name);
        var shape = ShapeUtil.Broadcast(_shape, other._shape, name);
        var y = Alloc(shape, DType.Bool, Device);
        if (DType == DType.Bool)
        {
            using var a = To(DType.Int64);
            using var b = other.To(DType.Int64);
            Device.Backend.Compare(a.BroadcastView(shape), b.BroadcastView(shape), y, op);
        }
        else Device.Backend.Compare(BroadcastView(shape), other.BroadcastView(shape), y, op);
        return y;
    }

    private Tensor ScalarOfMyType(double value) => Full([], value, DType, Device);

    /// <summary>this == other elementwise (bool).</summary>
    public Tensor Eq(Tensor other) => CompareKernel(other, new EqOperator(), "eq");
    /// <summary>this ≠ other elementwise (bool).</summary>
    public Tensor Ne(Tensor other) => CompareKernel(other, new NeOperator(), "ne");
    /// <summary>this &lt; other elementwise (bool).</summary>
    public Tensor Lt(Tensor other) => CompareKernel(other, new LtOperator(), "lt");
    /// <summary>this ≤ other elementwise (bool).</summary>
    public Tensor Le(Tensor other) => CompareKernel(other, new LeOperator(), "le");
    /// <summary>this &gt; other elementwise (bool).</summary>
    public Tensor Gt(Tensor other) => CompareKernel(other, new GtOperator(), "gt");
    /// <summary>this ≥ other elementwise (bool).</summary>
    public Tensor Ge(Tensor other) => CompareKernel(other, new GeOperator(), "ge");

    private Tensor CompareScalar<TOp>(double value, TOp op, string name) where TOp : struct, ICompareOperator
    {
        Guard.Alive(this, name);
        // NOTE: an int64 or bool tensor compared with a value its dtype cannot hold (0.5; 2 or −1 for bool) compares by
        // value, as PyTorch promotes both sides to a float type; converting the value to the tensor's dtype would
        // truncate it (int64 0 < 0.5 came out false).
        bool representable = DType switch
        {
            DType.Bool => value is 0 or 1,
            DType.Int64 => Math.Floor(value) == value && Math.Abs(value) < 9.2e18,
            _ => true,
        };
        if (!representable)
        {
            using var wide = To(DType.Float64);
            using var ws = Full([], value, DType.Float64, Device);
            return wide.CompareKernel(ws, op, name);
        }
        using var s = ScalarOfMyType(value);
        return CompareKernel(s, op, name);
    }

    /// <summary>this == value elementwise (bool).</summary>
    public Tensor Eq(double value) => CompareScalar(value, new EqOperator(), "eq");
    /// <summary>this ≠ value elementwise (bool).</summary>
    public Tensor Ne(double value) => CompareScalar(value, new NeOperator(), "ne");
    /// <summary>this &lt; value elementwise (bool).</summary>
    public Tensor Lt(double value) => CompareScalar(value, new LtOperator(), "lt");
    /// <summary>this ≤ value elementwise (bool).</summary>
    public Tensor Le(double value) => CompareScalar(value, new LeOperator(), "le");
    /// <summary>this &gt; value elementwise (bool).</summary>
    public Tensor Gt(double value) => CompareScalar(value, new GtOperator(), "gt");
    /// <summary>this ≥ value elementwise (bool).</summary>
    public Tensor Ge(double value) => CompareScalar(value, new GeOperator(), "ge");

    /// <summary>Elementwise AND of two bool tensors (broadcasting).</summary>
    public Tensor LogicalAnd(Tensor other) => BoolLogic(other, and: true);

    /// <summary>Elementwise OR of two bool tensors (broadcasting).</summary>
    public Tensor LogicalOr(Tensor other) => BoolLogic(other, and: false);

    /// <summary>Elementwise NOT of a bool tensor.</summary>
    public Tensor LogicalNot()
    {
        RequireBool(this, "logical_not");
        using var f = Full([], 0, DType.Bool, Device);
        return Eq(f);
    }

    private Tensor BoolLogic(Tensor other, bool and)
    {
        string name = and ? "logical_and" : "logical_or";
        RequireBool(this, name);
        RequireBool(other, name);
        using var t = Full([], 1, DType.Bool, Device);
        using var f = Full([], 0, DType.Bool, Device);
        return and ? Where(this, other, f) : Where(this, t, other);
    }

    private static void RequireBool(Tensor t, string name)
    {
        t.ThrowIfDisposed(name);
        if (t.DType != DType.Bool) throw new InvalidOperationException($"{name}: expected a bool tensor, got {t.DType.Name()} of shape {t.Shape}");
    }

    /// <summary>True when every element is finite (no NaN or infinity).</summary>
    public bool AllFinite() => !HasNonFinite();

    internal bool HasNonFinite()
    {
        ThrowIfDisposed("isfinite");
        return DType.IsFloatingPoint() && Device.Backend.HasNonFinite(this);
    }

    /// <summary>True when both tensors have the same shape and all elements are within atol + rtol·|other|.</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        if (!ShapeUtil.SequenceEqual(_shape, other._shape)) return false;
        var a = ToDoubleArray();
        var b = other.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == b[i]) continue;
            if (!(Math.Abs(a[i] - b[i]) <= atol + rtol * Math.Abs(b[i]))) return false;
        }
        return true;
    }
}
