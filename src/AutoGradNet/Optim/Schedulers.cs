using System.Text.Json.Nodes;

namespace AutoGradNet.Optim;

/// <summary>
/// Decays the learning rate by <c>gamma</c> every <c>stepSize</c> epochs (PyTorch's <c>StepLR</c>).
/// Example: 6% decay every two epochs is <c>new StepLR(optimizer, stepSize: 2, gamma: 0.94)</c>.
/// </summary>
/// <remarks><c>lr(e) = base_lr · γ^⌊e / stepSize⌋</c> (chainable form: the lr is multiplied by γ when e is a positive multiple of stepSize).</remarks>
public sealed class StepLR : LRScheduler
{
    /// <summary>Schedules <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lr is set.</param>
    /// <param name="stepSize">Epochs between decays (≥ 1).</param>
    /// <param name="gamma">Multiplicative factor (&gt; 0).</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"StepLR: stepSize must be at least 1, got {stepSize}");
        Schedules.CheckGamma(gamma, "StepLR");
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>The decay factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr() =>
        LastEpoch == 0 || LastEpoch % StepSize != 0 ? Schedules.Current(Optimizer) : Schedules.Current(Optimizer, Gamma);

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr() => [.. BaseLrs.Select(b => b * Math.Pow(Gamma, LastEpoch / StepSize))];
}

/// <summary>Decays the learning rate by <c>gamma</c> at each milestone epoch (PyTorch's <c>MultiStepLR</c>).</summary>
/// <remarks><c>lr(e) = base_lr · γ^(number of milestones ≤ e)</c>; a milestone listed twice counts twice.</remarks>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>Schedules <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lr is set.</param>
    /// <param name="milestones">Epochs (≥ 1) at which the lr is multiplied by γ; any order.</param>
    /// <param name="gamma">Multiplicative factor (&gt; 0).</param>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = [.. milestones.Order()];
        if (_milestones.Length > 0 && _milestones[0] < 1)
            throw new ArgumentOutOfRangeException(nameof(milestones), _milestones[0], $"MultiStepLR: milestones must be positive epochs, got {_milestones[0]}");
        Schedules.CheckGamma(gamma, "MultiStepLR");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>The decay factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr()
    {
        int hits = _milestones.Count(m => m == LastEpoch);
        return hits == 0 ? Schedules.Current(Optimizer) : Schedules.Current(Optimizer, Math.Pow(Gamma, hits));
    }

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr()
    {
        int passed = _milestones.Count(m => m <= LastEpoch);
        return [.. BaseLrs.Select(b => b * Math.Pow(Gamma, passed))];
    }
}

/// <summary>Decays the learning rate by <c>gamma</c> every epoch (PyTorch's <c>ExponentialLR</c>).</summary>
/// <remarks><c>lr(e) = base_lr · γᵉ</c> (chainable form: lr ← lr·γ each step).</remarks>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Schedules <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lr is set.</param>
    /// <param name="gamma">Multiplicative factor per epoch (&gt; 0).</param>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        Schedules.CheckGamma(gamma, "ExponentialLR");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The decay factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => LastEpoch == 0 ? Schedules.Current(Optimizer) : Schedules.Current(Optimizer, Gamma);

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr() => [.. BaseLrs.Select(b => b * Math.Pow(Gamma, LastEpoch))];
}

/// <summary>Cosine annealing from the base lr down to <c>etaMin</c> over <c>tMax</c> epochs (PyTorch's <c>CosineAnnealingLR</c>).</summary>
/// <remarks>
/// <c>lr(e) = η_min + (base_lr − η_min)·(1 + cos(π·e / T_max)) / 2</c>, for every e (past T_max the cosine rises
/// again, as PyTorch's). NOTE: the closed form is used at every step (PyTorch's step uses an equivalent recursive
/// form); it sets the lr rather than scaling the current one, so in a <see cref="ChainedScheduler"/> it overrides
/// the schedulers before it.
/// </remarks>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Schedules <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lr is set.</param>
    /// <param name="tMax">Half period T_max in epochs (≥ 1).</param>
    /// <param name="etaMin">The minimum learning rate η_min (≥ 0).</param>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        if (tMax < 1) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, $"CosineAnnealingLR: tMax must be at least 1, got {tMax}");
        if (!(etaMin >= 0) || !double.IsFinite(etaMin)) throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, $"CosineAnnealingLR: etaMin must be finite and non-negative, got {etaMin}");
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>The half period T_max.</summary>
    public int TMax { get; }

    /// <summary>The minimum learning rate η_min.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => ClosedFormLr()!;

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr() =>
        [.. BaseLrs.Select(b => EtaMin + (b - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2)];
}

/// <summary>
/// Scales the learning rate linearly from <c>startFactor</c> to <c>endFactor</c> over <c>totalIters</c> epochs, then
/// keeps it (PyTorch's <c>LinearLR</c>); with the defaults' endFactor = 1 this is a linear warm-up.
/// </summary>
/// <remarks>
/// <c>lr(e) = base_lr · (s + (f − s)·min(e, N)/N)</c> with s = startFactor, f = endFactor, N = totalIters.
/// Chainable form (PyTorch's): lr(0) = lr·s; for 0 &lt; e ≤ N, lr ← lr·(1 + (f − s)/(N·s + (e − 1)(f − s))).
/// </remarks>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Schedules <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lr is set.</param>
    /// <param name="startFactor">Factor at epoch 0, in (0, 1].</param>
    /// <param name="endFactor">Factor from epoch <paramref name="totalIters"/> on, in [0, 1].</param>
    /// <param name="totalIters">Epochs of the ramp (≥ 1).</param>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        if (!(startFactor > 0 && startFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, $"LinearLR: startFactor must lie in (0, 1], got {startFactor}");
        if (!(endFactor >= 0 && endFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, $"LinearLR: endFactor must lie in [0, 1], got {endFactor}");
        if (totalIters < 1) throw new ArgumentOutOfRangeException(nameof(totalIters), totalIters, $"LinearLR: totalIters must be at least 1, got {totalIters}");
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>Factor at epoch 0.</summary>
    public double StartFactor { get; }

    /// <summary>Factor at and after <see cref="TotalIters"/>.</summary>
    public double EndFactor { get; }

    /// <summary>Length of the ramp in epochs.</summary>
    public int TotalIters { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr()
    {
        if (LastEpoch == 0) return Schedules.Current(Optimizer, StartFactor);
        if (LastEpoch > TotalIters) return Schedules.Current(Optimizer);
        double delta = EndFactor - StartFactor;
        // NOTE: with endFactor 0 the last factor is 1 − 1 up to rounding; clamp it so the lr cannot turn negative.
        return Schedules.Current(Optimizer, Math.Max(0, 1 + delta / (TotalIters * StartFactor + (LastEpoch - 1) * delta)));
    }

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr() =>
        [.. BaseLrs.Select(b => b * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters))];
}

/// <summary>
/// Runs schedulers one after another, switching at the milestone epochs (PyTorch's <c>SequentialLR</c>); e.g. a
/// linear warm-up for 5 epochs then cosine annealing: <c>new SequentialLR(opt, [warmup, cosine], [5])</c>.
/// </summary>
/// <remarks>
/// At epoch e the scheduler i = (number of milestones ≤ e) is stepped; at its milestone it restarts from epoch 0
/// (closed form, from its base lr). On construction the groups' lr is reset to their initial lr and only the first
/// scheduler's epoch-0 step is kept.
/// </remarks>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Sequences <paramref name="schedulers"/> (all on <paramref name="optimizer"/>).</summary>
    /// <param name="optimizer">The optimizer all schedulers act on.</param>
    /// <param name="schedulers">The schedulers, in order (at least one).</param>
    /// <param name="milestones">Strictly increasing epochs (≥ 1) at which the next scheduler takes over; one fewer than the schedulers.</param>
    public SequentialLR(Optimizer optimizer, IEnumerable<LRScheduler> schedulers, IEnumerable<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        _schedulers = [.. schedulers];
        _milestones = [.. milestones];
        Schedules.CheckChildren(_schedulers, optimizer, "SequentialLR");
        if (_milestones.Length != _schedulers.Length - 1)
            throw new ArgumentException($"SequentialLR: expected {_schedulers.Length - 1} milestones for {_schedulers.Length} schedulers, got {_milestones.Length}");
        for (int i = 0; i < _milestones.Length; i++)
            if (_milestones[i] < 1 || (i > 0 && _milestones[i] <= _milestones[i - 1]))
                throw new ArgumentException($"SequentialLR: milestones must be positive and strictly increasing, got [{string.Join(", ", _milestones)}]");
        foreach (var g in optimizer.ParamGroups) g.Lr = g.InitialLr!.Value;
        foreach (var s in _schedulers) s.ShiftEpoch(-1);
        _schedulers[0].InitialStep();
        LastEpoch = 0;
        RecordCurrentLr();
    }

    /// <summary>The sequenced schedulers.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <summary>The switching epochs.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc/>
    public override void Step()
    {
        CheckGroups();
        LastEpoch++;
        int index = _milestones.Count(m => m <= LastEpoch);
        var scheduler = _schedulers[index];
        if (index > 0 && _milestones[index - 1] == LastEpoch) scheduler.StepTo(0);
        else scheduler.Step();
        RecordCurrentLr();
    }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => Schedules.Current(Optimizer);

    private protected override void SaveState(JsonObject state) =>
        state["schedulers"] = new JsonArray([.. _schedulers.Select(s => (JsonNode)s.Save())]);

    private protected override void LoadState(JsonObject state) => Schedules.LoadChildren(_schedulers, state, "SequentialLR");
}

/// <summary>
/// Steps several schedulers together at every epoch (PyTorch's <c>ChainedScheduler</c>): their multiplicative
/// factors compose, e.g. a linear warm-up chained with an exponential decay gives lr(e) = base·warmup(e)·γᵉ.
/// </summary>
public sealed class ChainedScheduler : LRScheduler
{
    private readonly LRScheduler[] _schedulers;

    /// <summary>Chains <paramref name="schedulers"/> (all on the same optimizer, at least one).</summary>
    public ChainedScheduler(IEnumerable<LRScheduler> schedulers) : this([.. schedulers ?? throw new ArgumentNullException(nameof(schedulers))]) { }

    private ChainedScheduler(LRScheduler[] schedulers)
        : base(schedulers.Length > 0 ? schedulers[0].Optimizer : throw new ArgumentException("ChainedScheduler: needs at least one scheduler"))
    {
        _schedulers = schedulers;
        Schedules.CheckChildren(_schedulers, Optimizer, "ChainedScheduler");
        LastEpoch = 0;
        RecordCurrentLr();
    }

    /// <summary>The chained schedulers.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <inheritdoc/>
    public override void Step()
    {
        CheckGroups();
        foreach (var s in _schedulers) s.Step();
        LastEpoch++;
        RecordCurrentLr();
    }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => Schedules.Current(Optimizer);

    private protected override void SaveState(JsonObject state) =>
        state["schedulers"] = new JsonArray([.. _schedulers.Select(s => (JsonNode)s.Save())]);

    private protected override void LoadState(JsonObject state) => Schedules.LoadChildren(_schedulers, state, "ChainedScheduler");
}

internal static class Schedules
{
    public static double[] Current(Optimizer optimizer) => [.. optimizer.ParamGroups.Select(g => g.Lr)];

    public static double[] Current(Optimizer optimizer, double factor) => [.. optimizer.ParamGroups.Select(g => g.Lr * factor)];

    public static void CheckGamma(double gamma, string name)
    {
        if (!(gamma > 0) || !double.IsFinite(gamma))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"{name}: gamma must be finite and positive, got {gamma}");
    }

    public static void CheckChildren(LRScheduler[] schedulers, Optimizer optimizer, string name)
    {
        if (schedulers.Length == 0) throw new ArgumentException($"{name}: needs at least one scheduler");
        for (int i = 0; i < schedulers.Length; i++)
        {
            var s = schedulers[i] ?? throw new ArgumentNullException(nameof(schedulers), $"{name}: scheduler {i} is null");
            if (!ReferenceEquals(s.Optimizer, optimizer))
                throw new ArgumentException($"{name}: scheduler {i} ({s.GetType().Name}) acts on a different optimizer than the others");
            if (s is ReduceLROnPlateau)
                throw new ArgumentException($"{name}: scheduler {i} is a ReduceLROnPlateau, which needs a metric at each step and cannot be sequenced or chained");
        }
    }

    public static void LoadChildren(LRScheduler[] schedulers, JsonObject state, string name)
    {
        if (state["schedulers"] is not JsonArray children || children.Count != schedulers.Length)
            throw new ArgumentException($"{name}.LoadStateDict: expected the states of {schedulers.Length} schedulers");
        for (int i = 0; i < schedulers.Length; i++)
        {
            if (children[i] is not JsonObject child) throw new ArgumentException($"{name}.LoadStateDict: scheduler state {i} is not an object");
            schedulers[i].Load(child);
        }
    }
}
