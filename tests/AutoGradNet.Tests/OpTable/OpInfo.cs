namespace AutoGradNet.Tests.OpTable;

/// <summary>Where the values of a sample input come from.</summary>
public enum Domain
{
    /// <summary>Any real value, about [−2, 2].</summary>
    Real,
    /// <summary>[0.3, 2]: bases of log, sqrt, pow.</summary>
    Positive,
    /// <summary>|x| ≥ 0.2: away from the kink at 0 (abs, relu, sign, divisors).</summary>
    NonZero,
    /// <summary>[0.1, 0.9]: probabilities (BCE targets).</summary>
    Unit,
    /// <summary>±[1e-12, 1e-4]: where log1p must beat log(1 + x).</summary>
    Tiny,
    /// <summary>Multiples of 0.5 in [−1, 1]: ties on purpose (comparisons).</summary>
    Grid,
    /// <summary>Bool tensor (conditions, logical ops).</summary>
    Bool,
    /// <summary>Int64 indices in [0, IndexHigh) (or [−IndexHigh, IndexHigh) with negative indices allowed).</summary>
    Index,
}

/// <summary>One input of a sample: shape, value domain, and optionally fixed values.</summary>
public sealed record InputSpec(int[] Shape, Domain Domain = Domain.Real)
{
    /// <summary>Exclusive upper bound of <see cref="Domain.Index"/> values.</summary>
    public int IndexHigh { get; init; }
    /// <summary>Fixed values (row-major); generated when null.</summary>
    public double[]? Values { get; init; }
    /// <summary>False for float inputs that are constants (not differentiated).</summary>
    public bool Grad { get; init; } = true;
    /// <summary>Build the tensor as a transposed (non-contiguous) view.</summary>
    public bool NonContiguous { get; init; }

    public bool IsFloat => Domain is not (Domain.Bool or Domain.Index);
    public override string ToString() =>
        $"{Domain}[{string.Join(",", Shape)}]{(NonContiguous ? "ᵀ" : "")}{(Values is null ? "" : "=" + string.Join(",", Values))}";
}

/// <summary>One call of an op: inputs plus extra arguments (dims, keepDim, scalars…), which the row's functions read.</summary>
public sealed record SampleCase(string Name, InputSpec[] Inputs, params object?[] Args)
{
    /// <summary>False where the point is a legitimate first-order check but second derivatives do not exist there (e.g. a norm at 0).</summary>
    public bool SecondOrder { get; init; } = true;

    public int Int(int i) => (int)Args[i]!;
    public double Dbl(int i) => Convert.ToDouble(Args[i]);
    public bool Bool(int i) => (bool)Args[i]!;
    public int[]? Ints(int i) => (int[]?)Args[i];
    public T Get<T>(int i) => (T)Args[i]!;

    public override string ToString() =>
        $"{Name} ({string.Join(", ", Inputs.Select(s => s.ToString()))}{(Args.Length == 0 ? "" : "; " + string.Join(", ", Args.Select(FormatArg)))})";

    private static string FormatArg(object? a) => a switch
    {
        null => "null",
        int[] v => "[" + string.Join(",", v) + "]",
        double d => d.ToString("R"),
        _ => a.ToString()!,
    };
}

/// <summary>
/// A row of the op table: an op of the public API, how to sample it, and its independent float64 reference.
/// </summary>
public sealed record OpInfo
{
    public required string Name { get; init; }
    /// <summary>Op family (one FsCheck property per family).</summary>
    public required string Family { get; init; }
    /// <summary>Public API members this row exercises (checked against reflection so no op is forgotten).</summary>
    public required string[] Api { get; init; }
    public required Func<IEnumerable<SampleCase>> Samples { get; init; }
    /// <summary>The op under test, on the public API.</summary>
    public required Func<Tensor[], SampleCase, Tensor> Op { get; init; }
    /// <summary>Naive float64 reference of <see cref="Op"/>.</summary>
    public required Func<RT[], SampleCase, RT> Ref { get; init; }

    /// <summary>False for forward-only rows (comparisons, arg-max, index outputs).</summary>
    public bool Differentiable { get; init; } = true;
    /// <summary>Why second-order gradients are not checked (null: they are).</summary>
    public string? NoGradGrad { get; init; }
    /// <summary>Make all float input values pairwise distinct (ties break max/min/clamp finite differences).</summary>
    public bool Distinct { get; init; }
    /// <summary>Make all |values| pairwise distinct (ties of |x| break the ∞-norm).</summary>
    public bool DistinctAbs { get; init; }
    /// <summary>The dtype of the result when it does not follow the input's float type (bool, int64, or a cast).</summary>
    public DType? OutDType { get; init; }
    /// <summary>Points where the op is not differentiable; generated values keep away from them.</summary>
    public double[] Kinks { get; init; } = [];
    public double F32Rtol { get; init; } = 1e-5;
    public double F32Atol { get; init; } = 1e-6;
    /// <summary>
    /// Smallest value scale of the float32 absolute tolerance. Log-domain reductions (log-softmax, logsumexp, cross-entropy)
    /// cancel O(1) intermediates: the vectorised float32 exp is only ~1 ulp accurate (TensorPrimitives.Exp(0f) = 1 + 2⁻²³),
    /// so a result that cancels to ~0 carries an absolute error of about ulp(1) even when every input is 0, times the
    /// number of terms a loss sums. Those rows use 10, i.e. an absolute 1e-5: PyTorch's default float32 atol.
    /// </summary>
    public double F32ScaleFloor { get; init; }
    public GradCheckOptions? GradOptions { get; init; }
    /// <summary>The op needs contiguous inputs by contract (View): not run on transposed inputs.</summary>
    public bool ContiguousOnly { get; init; }
    /// <summary>Domains of the operands of a broadcasting op (2 or 3 operands); null for other ops.</summary>
    public Domain[]? Broadcast { get; init; }
    /// <summary>Args for the broadcasting cases.</summary>
    public object?[] BroadcastArgs { get; init; } = [];
    /// <summary>For the FsCheck properties: a sample built around a generated shape and variant number (null: not applicable).</summary>
    public Func<int[], int, SampleCase?>? FromShape { get; init; }
    /// <summary>For the window (convolution/pooling) FsCheck properties: a sample built around generated hyper-parameters.</summary>
    public WindowRow? FromWindow { get; init; }

    public override string ToString() => Name;
}
