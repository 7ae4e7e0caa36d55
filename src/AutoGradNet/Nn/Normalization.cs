namespace AutoGradNet.Nn;

/// <summary>
/// Batch normalization layer (PyTorch's <c>nn.BatchNorm1d/2d</c>): γ = 1, β = 0, running mean 0 and variance 1,
/// <c>num_batches_tracked</c> counted in training. Momentum null means a cumulative average (1/num_batches_tracked).
/// </summary>
public abstract class BatchNormBase : Module<Tensor, Tensor>
{
    private readonly int[] _ranks;

    private protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats, DType dtype, int[] ranks)
    {
        if (numFeatures <= 0) throw new ArgumentException($"{GetType().Name}: num_features must be positive, got {numFeatures}");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        _ranks = ranks;
        RegisterParameter("weight", affine ? Tensor.Ones([numFeatures], dtype) : null);
        RegisterParameter("bias", affine ? Tensor.Zeros([numFeatures], dtype) : null);
        RegisterBuffer("running_mean", trackRunningStats ? Tensor.Zeros([numFeatures], dtype) : null);
        RegisterBuffer("running_var", trackRunningStats ? Tensor.Ones([numFeatures], dtype) : null);
        RegisterBuffer("num_batches_tracked", trackRunningStats ? Tensor.Zeros([], DType.Int64) : null);
    }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }
    /// <summary>ε added to the variance.</summary>
    public double Eps { get; }
    /// <summary>Running-statistics momentum (null: cumulative average).</summary>
    public double? Momentum { get; }
    /// <summary>γ, or null.</summary>
    public Tensor? Weight => Parameter("weight");
    /// <summary>β, or null.</summary>
    public Tensor? Bias => Parameter("bias");
    /// <summary>Running mean, or null when not tracked.</summary>
    public Tensor? RunningMean => Buffer("running_mean");
    /// <summary>Running (unbiased) variance, or null when not tracked.</summary>
    public Tensor? RunningVar => Buffer("running_var");
    /// <summary>Number of training batches seen.</summary>
    public Tensor? NumBatchesTracked => Buffer("num_batches_tracked");

    /// <summary>The counter as this module last wrote it: where, at which storage version, and the value.</summary>
    private (Storage Storage, int Offset, int Version, long Value)? _tracked;

    /// <summary>
    /// The batch counter's value: remembered from this module's last write while nothing else has written the counter
    /// (same storage, offset and version), else read from the tensor (a loaded checkpoint, a user's fill). Reading it
    /// every step cost a device read (a synchronisation on a GPU) and several temporaries.
    /// </summary>
    private long TrackedBatches(Tensor counter) =>
        _tracked is { } t && ReferenceEquals(t.Storage, counter.StorageRef) && t.Offset == counter.Offset && t.Version == counter.StorageRef.Version
            ? t.Value
            : (long)counter.Item();

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (!_ranks.Contains(input.Rank))
            throw new ArgumentException($"{GetType().Name}: expected input of rank {string.Join(" or ", _ranks)}, got {input.Shape}");
        if (input.Size(1) != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: expected {NumFeatures} channels, got input {input.Shape}");
        double factor = Momentum ?? 0;
        bool useBatchStats = Training || RunningMean is null;
        if (Training && NumBatchesTracked is { } counter)
        {
            long batches = TrackedBatches(counter) + 1;
            counter.FillInPlace(batches);
            _tracked = (counter.StorageRef, counter.Offset, counter.StorageRef.Version, batches);
            if (Momentum is null) factor = 1.0 / batches;
        }
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, training: useBatchStats, momentum: factor, eps: Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{NumFeatures}, eps={Eps}, momentum={Momentum?.ToString() ?? "None"}, affine={Weight is not null}, track_running_stats={RunningMean is not null}";
}

/// <summary>Batch norm over [N, C] or [N, C, L].</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype, [2, 3]);

/// <summary>Batch norm over [N, C, H, W].</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype, [4]);

/// <summary>Layer normalization over the trailing dims (PyTorch's <c>nn.LayerNorm</c>).</summary>
public sealed class LayerNorm : Module<Tensor, Tensor>
{
    /// <summary>Normalises over <paramref name="normalizedShape"/>, with elementwise γ and β when affine.</summary>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, DType dtype = DType.Float32)
    {
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        RegisterParameter("weight", elementwiseAffine ? Tensor.Ones(normalizedShape, dtype) : null);
        RegisterParameter("bias", elementwiseAffine ? Tensor.Zeros(normalizedShape, dtype) : null);
    }

    /// <summary>The normalised trailing shape.</summary>
    public int[] NormalizedShape { get; }
    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LayerNorm(input, NormalizedShape, Parameter("weight"), Parameter("bias"), Eps);
}

/// <summary>Group normalization (PyTorch's <c>nn.GroupNorm</c>).</summary>
public sealed class GroupNorm : Module<Tensor, Tensor>
{
    /// <summary>Normalises <paramref name="numChannels"/> channels in <paramref name="numGroups"/> groups.</summary>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32)
    {
        if (numGroups <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: {numChannels} channels are not divisible into {numGroups} groups");
        NumGroups = numGroups;
        Eps = eps;
        RegisterParameter("weight", affine ? Tensor.Ones([numChannels], dtype) : null);
        RegisterParameter("bias", affine ? Tensor.Zeros([numChannels], dtype) : null);
    }

    /// <summary>Groups.</summary>
    public int NumGroups { get; }
    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.GroupNorm(input, NumGroups, Parameter("weight"), Parameter("bias"), Eps);
}

/// <summary>Instance normalization for [N, C, H, W] (PyTorch's <c>nn.InstanceNorm2d</c>; no affine by default, as PyTorch).</summary>
public sealed class InstanceNorm2d : Module<Tensor, Tensor>
{
    /// <summary>Normalises each (sample, channel) plane.</summary>
    public InstanceNorm2d(int numFeatures, double eps = 1e-5, bool affine = false, DType dtype = DType.Float32)
    {
        Eps = eps;
        RegisterParameter("weight", affine ? Tensor.Ones([numFeatures], dtype) : null);
        RegisterParameter("bias", affine ? Tensor.Zeros([numFeatures], dtype) : null);
    }

    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4) throw new ArgumentException($"InstanceNorm2d: expected [N, C, H, W], got {input.Shape}");
        return Functional.InstanceNorm(input, Parameter("weight"), Parameter("bias"), Eps);
    }
}

/// <summary>Local response normalization across channels (PyTorch's <c>nn.LocalResponseNorm</c>; AlexNet: size 5, α 1e-4, β 0.75, k 2).</summary>
public sealed class LocalResponseNorm(int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0, bool alphaPerSize = true) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LocalResponseNorm(input, size, alpha, beta, k, alphaPerSize);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{size}, alpha={alpha}, beta={beta}, k={k}";
}
