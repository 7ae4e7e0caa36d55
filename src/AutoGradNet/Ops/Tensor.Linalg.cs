namespace AutoGradNet;

// Matrix products. One primitive (batched 3-D product); every matmul case is reshapes and expands around it.
public sealed partial class Tensor
{
    /// <summary>Batched matrix product of [B,M,K] and [B,K,N] (PyTorch's <c>bmm</c>).</summary>
    public Tensor Bmm(Tensor other)
    {
        const string name = "bmm";
        Guard.Compatible(this, other, name);
        Guard.Float(this, name);
        if (Rank != 3 || other.Rank != 3 || _shape[0] != other._shape[0] || _shape[2] != other._shape[1])
            throw new ArgumentException($"{name}: expected [B,M,K] and [B,K,N], got {Shape} and {other.Shape}");
        var y = Alloc([_shape[0], _shape[1], other._shape[2]], DType, Device);
        using (var a = GemmOperand())
        using (var b = other.GemmOperand())
            Device.Backend.MatMul(a, b, y);
        return Tape.Record(y, "BmmBackward", (g, s, need) =>
            [need[0] ? ProductGrad(g, s[1].MT, s[0]) : null, need[1] ? ProductGrad(s[0].MT, g, s[1]) : null], [this, other], [this, other]);
    }

    /// <summary>
    /// The gradient a·b of a bmm operand laid out like the operand: for a transposed (column-major) operand such
    /// as the Wᵀ of a linear layer it is computed as (bᵀ·aᵀ)ᵀ, so the transpose's backward hands the weight a
    /// contiguous gradient (as PyTorch's mm backward does) instead of a strided one that must be copied.
    /// </summary>
    private static Tensor ProductGrad(Tensor a, Tensor b, Tensor operand)
    {
        bool columnMajor = operand._strides[1] == 1 && operand._strides[2] != 1 && operand._shape[1] > 1 && operand._shape[2] > 1;
        return columnMajor ? b.MT.Bmm(a.MT).MT : a.Bmm(b);
    }

    /// <summary>A borrowed operand the GEMM kernel can read: unit stride in one of the last two dims.</summary>
    private Tensor GemmOperand()
    {
        int rs = _strides[1], cs = _strides[2];
        bool rowMajor = cs == 1 || _shape[2] == 1;
        bool colMajor = rs == 1 || _shape[1] == 1;
        bool usable = (rowMajor && (rs != 0 || _shape[1] == 1)) || (colMajor && (cs != 0 || _shape[2] == 1));
        if (usable) return Alias(false);
        using var noGrad = GradMode.NoGrad();
        var dense = Clone();
        var alias = dense.Alias(false);
        dense.Dispose();
        return alias;
    }

    /// <summary>
    /// Matrix product with PyTorch's rules: 1-D·1-D is a dot product, 2-D·2-D a matrix product, a 1-D operand
    /// is a row (left) or column (right) vector, and leading batch dims broadcast.
    /// </summary>
    public Tensor Matmul(Tensor other)
    {
        using var composite = OpenComposite();
        const string name = "matmul";
        Guard.Compatible(this, other, name);
        if (Rank == 0 || other.Rank == 0) throw new ArgumentException($"{name}: both operands need at least one dim, got {Shape} and {other.Shape}");
        if (Rank == 1 && other.Rank == 1)
        {
            if (_shape[0] != other._shape[0]) throw new ArgumentException($"{name}: dot product of shapes {Shape} and {other.Shape}");
            return composite.Keep(Reshape(1, 1, -1).Bmm(other.Reshape(1, -1, 1)).Reshape());
        }
        var a = Rank == 1 ? Unsqueeze(0) : this;
        var b = other.Rank == 1 ? other.Unsqueeze(1) : other;
        int m = a._shape[^2], k = a._shape[^1], k2 = b._shape[^2], n = b._shape[^1];
        if (k != k2) throw new ArgumentException($"{name}: shapes {Shape} and {other.Shape} cannot be multiplied ({k} ≠ {k2})");
        var batch = ShapeUtil.Broadcast(a._shape.AsSpan(0, a.Rank - 2), b._shape.AsSpan(0, b.Rank - 2), name);
        int batchCount = ShapeUtil.Numel(batch);
        var a3 = ToBatch(a, batch, batchCount, m, k);
        var b3 = ToBatch(b, batch, batchCount, k, n);
        var result = a3.Bmm(b3).Reshape([.. batch, m, n]);
        if (Rank == 1) result = result.Squeeze(-2);
        if (other.Rank == 1) result = result.Squeeze(-1);
        return composite.Keep(result);
    }

    /// <summary>
    /// Views an operand as [batchCount, rows, cols]. A single matrix (no batch of its own) is expanded with batch
    /// stride 0, which the GEMM reads without copying; only partially broadcast batches need a copy.
    /// </summary>
    private static Tensor ToBatch(Tensor t, int[] batch, int batchCount, int rows, int cols)
    {
        int ownBatch = 1;
        for (int d = 0; d < t.Rank - 2; d++) ownBatch *= t._shape[d];
        if (ownBatch == 1) return t.Reshape(1, rows, cols).Expand(batchCount, rows, cols);
        return t.Expand([.. batch, rows, cols]).Reshape(batchCount, rows, cols);
    }

    /// <summary>Affine map x·Wᵀ + b over the last dim (PyTorch's <c>F.linear</c>); W is [out, in].</summary>
    /// <remarks>
    /// One recorded op (PyTorch's addmm) rather than a matmul and a broadcast add: the bias is written into the
    /// output and the product accumulated onto it by one GEMM call. Inputs of other ranks are flattened to
    /// [rows, in] and back.
    /// </remarks>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        const string name = "linear";
        Guard.Compatible(input, weight, name);
        Guard.Float(input, name);
        if (weight.Rank != 2) throw new ArgumentException($"{name}: weight must be [out, in], got {weight.Shape}");
        if (input.Rank == 0 || input._shape[^1] != weight._shape[1])
            throw new ArgumentException($"{name}: input {input.Shape} does not end in {weight._shape[1]} features (weight {weight.Shape})");
        if (bias is not null)
        {
            Guard.Compatible(input, bias, name);
            if (bias.Rank != 1 || bias._shape[0] != weight._shape[0])
                throw new ArgumentException($"{name}: bias {bias.Shape} must be [{weight._shape[0]}] for weight {weight.Shape}");
        }
        if (input.Rank == 2) return Addmm(input, weight, bias);
        using var composite = OpenComposite();
        var rows = input.Reshape(-1, input._shape[^1]);
        int[] outShape = [.. input._shape.AsSpan(0, input.Rank - 1), weight._shape[0]];
        return composite.Keep(Addmm(rows, weight, bias).Reshape(outShape));
    }

    /// <summary>y = x·Wᵀ + b for x [N, in], W [out, in], b [out] or none: one GEMM onto the broadcast bias.</summary>
    private static Tensor Addmm(Tensor x, Tensor w, Tensor? b)
    {
        int n = x._shape[0], outFeatures = w._shape[0];
        var y = Alloc([n, outFeatures], x.DType, x.Device);
        using (GradMode.NoGrad())
        {
            if (b is not null) x.Device.Backend.Copy(b.BroadcastAlongDim1(y._shape), y);
            MatMulInto(x, w.MT2(), y, accumulate: b is not null);
        }
        var inputs = b is null ? new[] { x, w } : new[] { x, w, b };
        return Tape.Record(y, "LinearBackward", static (g, s, need) =>
        {
            Tensor x = s[0], w = s[1];
            if (GradMode.IsEnabled)
            {
                // create-graph backward: the same formulas, recorded.
                return [need[0] ? g.Matmul(w) : null, need[1] ? g.T.Matmul(x) : null, need[2] ? g.Sum([0]) : null];
            }
            Tensor? gx = null, gw = null;
            if (need[0])
            {
                gx = Alloc([g._shape[0], w._shape[1]], g.DType, g.Device);
                MatMulInto(g, w, gx, accumulate: false);
            }
            if (need[1])
            {
                gw = Alloc([w._shape[0], w._shape[1]], g.DType, g.Device);
                MatMulInto(g.MT2(), x, gw, accumulate: false);
            }
            return [gx, gw, need[2] ? g.Sum([0]) : null];
        }, inputs, [x, w]);
    }

    /// <summary>The transpose of a matrix as a borrowed view (no tape, no scope): GEMM plumbing only.</summary>
    private Tensor MT2() => Borrow([_shape[1], _shape[0]], [_strides[1], _strides[0]], Offset);

    /// <summary>c (+)= a·b for matrices through the backend's matrix product; an operand without a unit stride is
    /// copied first.</summary>
    private static void MatMulInto(Tensor a, Tensor b, Tensor c, bool accumulate)
    {
        using var da = a.DenseMatrix();
        using var db = b.DenseMatrix();
        c.Device.Backend.MatMul2D(da, db, c, accumulate);
    }

    /// <summary>A [1, rows, cols] borrowed view of a matrix.</summary>
    internal Tensor AsBatch() => Borrow([1, _shape[0], _shape[1]], [0, _strides[0], _strides[1]], Offset);

    /// <summary>This matrix when the GEMM can read it (unit stride in one dim, the other not 0), else a dense copy;
    /// disposing the result releases only the copy.</summary>
    private DenseHandle DenseMatrix()
    {
        int rs = _strides[0], cs = _strides[1];
        bool rowMajor = (cs == 1 || _shape[1] == 1) && (rs != 0 || _shape[0] == 1);
        bool colMajor = (rs == 1 || _shape[0] == 1) && (cs != 0 || _shape[1] == 1);
        return rowMajor || colMajor ? new DenseHandle(this, null) : DenseCopy();
    }
}
