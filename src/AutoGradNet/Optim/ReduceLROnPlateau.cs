using System.Globalization;
using System.Text.Json.Nodes;

namespace AutoGradNet.Optim;

/// <summary>Whether <see cref="ReduceLROnPlateau"/> watches a metric to minimize (a loss) or maximize (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> decides that a metric improved.</summary>
public enum ThresholdMode
{
    /// <summary>Relative: better than best·(1 ∓ threshold).</summary>
    Rel,
    /// <summary>Absolute: better than best ∓ threshold.</summary>
    Abs,
}

/// <summary>
/// Multiplies the learning rate by <c>factor</c> when a validation metric stops improving (PyTorch's
/// <c>ReduceLROnPlateau</c>); the default factor 0.1 "divides the learning rate by 10 when the validation metric
/// stalls". Call <see cref="Step(double)"/> with the metric once per epoch.
/// </summary>
/// <remarks>
/// <para>Improvement (min mode): rel: m &lt; best·(1 − threshold); abs: m &lt; best − threshold (max mode: m &gt;
/// best·(1 + threshold), m &gt; best + threshold). NaN never improves.</para>
/// <para>Each step: an improvement sets best = m and resets the bad-epoch count, otherwise the count grows; during
/// cooldown the count is held at 0 and the cooldown counter decreases; when the count exceeds <c>patience</c> every
/// group's lr becomes max(lr·factor, min_lr) (changes smaller than eps are skipped), the cooldown starts and the
/// count resets.</para>
/// </remarks>
public sealed class ReduceLROnPlateau : LRScheduler
{
    private double _best;
    private int _numBadEpochs, _cooldownCounter;

    /// <summary>Watches a metric for <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lr is reduced.</param>
    /// <param name="mode">Minimize or maximize the metric.</param>
    /// <param name="factor">The lr multiplier on a plateau, in [0, 1).</param>
    /// <param name="patience">Epochs without improvement tolerated before reducing (≥ 0).</param>
    /// <param name="threshold">Minimal change that counts as an improvement (≥ 0).</param>
    /// <param name="thresholdMode">Relative or absolute threshold.</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting bad epochs again (≥ 0).</param>
    /// <param name="minLr">Lower bound of every group's lr (≥ 0).</param>
    /// <param name="eps">Reductions smaller than this are skipped (≥ 0).</param>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8)
        : base(optimizer)
    {
        if (!(factor >= 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, $"ReduceLROnPlateau: factor must lie in [0, 1), got {factor}");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, $"ReduceLROnPlateau: patience must be non-negative, got {patience}");
        if (!(threshold >= 0) || !double.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"ReduceLROnPlateau: threshold must be finite and non-negative, got {threshold}");
        if (cooldown < 0) throw new ArgumentOutOfRangeException(nameof(cooldown), cooldown, $"ReduceLROnPlateau: cooldown must be non-negative, got {cooldown}");
        if (!(minLr >= 0) || !double.IsFinite(minLr)) throw new ArgumentOutOfRangeException(nameof(minLr), minLr, $"ReduceLROnPlateau: minLr must be finite and non-negative, got {minLr}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"ReduceLROnPlateau: eps must be non-negative, got {eps}");
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "ReduceLROnPlateau: unknown mode");
        if (!Enum.IsDefined(thresholdMode)) throw new ArgumentOutOfRangeException(nameof(thresholdMode), thresholdMode, "ReduceLROnPlateau: unknown threshold mode");
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        MinLr = minLr;
        Eps = eps;
        _best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        LastEpoch = 0;
        RecordCurrentLr();
    }

    /// <summary>Minimize or maximize.</summary>
    public PlateauMode Mode { get; }
    /// <summary>The lr multiplier on a plateau.</summary>
    public double Factor { get; }
    /// <summary>Bad epochs tolerated.</summary>
    public int Patience { get; }
    /// <summary>The improvement threshold.</summary>
    public double Threshold { get; }
    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; }
    /// <summary>Epochs of cooldown after a reduction.</summary>
    public int Cooldown { get; }
    /// <summary>Lower bound of the lr.</summary>
    public double MinLr { get; }
    /// <summary>Smallest reduction applied.</summary>
    public double Eps { get; }
    /// <summary>The best metric seen (±∞ before the first step).</summary>
    public double Best => _best;
    /// <summary>Consecutive epochs without improvement.</summary>
    public int NumBadEpochs => _numBadEpochs;
    /// <summary>Epochs of cooldown left.</summary>
    public int CooldownCounter => _cooldownCounter;

    /// <summary>Not available: this scheduler needs the metric; call <see cref="Step(double)"/>.</summary>
    public override void Step() =>
        throw new InvalidOperationException("ReduceLROnPlateau: Step() needs the validation metric; call Step(metric)");

    /// <summary>Records the epoch's <paramref name="metric"/> and reduces the lr when it has stalled.</summary>
    public void Step(double metric)
    {
        CheckGroups();
        LastEpoch++;
        if (IsBetter(metric))
        {
            _best = metric;
            _numBadEpochs = 0;
        }
        else _numBadEpochs++;
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _numBadEpochs = 0;
        }
        if (_numBadEpochs > Patience)
        {
            foreach (var g in Optimizer.ParamGroups)
            {
                double old = g.Lr, reduced = Math.Max(old * Factor, MinLr);
                if (old - reduced > Eps) g.Lr = reduced;
            }
            _cooldownCounter = Cooldown;
            _numBadEpochs = 0;
        }
        RecordCurrentLr();
    }

    private bool IsBetter(double m) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => m < _best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => m < _best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => m > _best * (Threshold + 1),
        _ => m > _best + Threshold,
    };

    /// <inheritdoc/>
    protected override double[] ComputeLr() => Schedules.Current(Optimizer);

    private protected override void SaveState(JsonObject state)
    {
        // JSON has no infinities: the best value is written as a string ("Infinity" before the first step).
        state["best"] = double.IsFinite(_best) ? JsonValue.Create(_best) : JsonValue.Create(_best.ToString(CultureInfo.InvariantCulture));
        state["num_bad_epochs"] = _numBadEpochs;
        state["cooldown_counter"] = _cooldownCounter;
    }

    private protected override void LoadState(JsonObject state)
    {
        const string where = "ReduceLROnPlateau.LoadStateDict";
        double best = state["best"] is JsonValue v && v.TryGetValue<string>(out var text)
            ? double.Parse(text, CultureInfo.InvariantCulture)
            : Read<double>(state, "best", where);
        int bad = Read<int>(state, "num_bad_epochs", where), cooldown = Read<int>(state, "cooldown_counter", where);
        Require(bad >= 0 && cooldown >= 0, $"{where}: counters must be non-negative");
        _best = best;
        _numBadEpochs = bad;
        _cooldownCounter = cooldown;
    }
}
