using System.Text.Json;
using System.Text.Json.Nodes;

namespace AutoGradNet.Optim;

/// <summary>
/// Base of the learning-rate schedulers (PyTorch's <c>torch.optim.lr_scheduler.LRScheduler</c>): sets the
/// <see cref="ParamGroup.Lr"/> of every group of an optimizer as a function of the epoch. Call <see cref="Step()"/>
/// once per epoch, after the epoch's optimizer steps.
/// </summary>
/// <remarks>
/// <para>On construction a scheduler records each group's <c>initial_lr</c> (if no scheduler did yet) as its base lr
/// and performs the epoch-0 step, as PyTorch does. <see cref="LastEpoch"/> counts the steps.</para>
/// <para>Schedulers are chainable like PyTorch's: each step multiplies the group's current lr by the scheduler's
/// factor for that epoch (StepLR, MultiStepLR, ExponentialLR, LinearLR), so several schedulers on one optimizer
/// compose (see <see cref="ChainedScheduler"/>). <see cref="CosineAnnealingLR"/> uses its closed form and overrides
/// the lr instead.</para>
/// </remarks>
public abstract class LRScheduler
{
    private double[] _lastLr;

    /// <summary>Attaches to <paramref name="optimizer"/>; subclasses finish with <see cref="InitialStep"/>.</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        foreach (var g in optimizer.ParamGroups) g.InitialLr ??= g.Lr;
        BaseLrs = [.. optimizer.ParamGroups.Select(g => g.InitialLr!.Value)];
        LastEpoch = -1;
        _lastLr = [.. optimizer.ParamGroups.Select(g => g.Lr)];
    }

    /// <summary>The optimizer whose learning rates are scheduled.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The number of the last epoch stepped (0 after construction).</summary>
    public int LastEpoch { get; protected set; }

    /// <summary>The learning rate of each group when scheduling started (<see cref="ParamGroup.InitialLr"/>).</summary>
    public IReadOnlyList<double> BaseLrs { get; private set; }

    /// <summary>The learning rates this scheduler set last, one per group (PyTorch's <c>get_last_lr()</c>).</summary>
    public IReadOnlyList<double> GetLastLr() => _lastLr;

    /// <summary>Advances one epoch and sets the groups' learning rates.</summary>
    public virtual void Step()
    {
        CheckGroups();
        LastEpoch++;
        Apply(ComputeLr());
    }

    /// <summary>
    /// The learning rates at <see cref="LastEpoch"/> (already advanced), chainable form: computed from each group's
    /// current lr where the schedule is multiplicative.
    /// </summary>
    protected abstract double[] ComputeLr();

    /// <summary>The learning rates at <see cref="LastEpoch"/> from the base lrs alone, or null when there is no closed form.</summary>
    protected virtual double[]? ClosedFormLr() => null;

    /// <summary>The epoch-0 step that every scheduler performs at the end of its constructor.</summary>
    protected internal void InitialStep()
    {
        LastEpoch = 0;
        Apply(ComputeLr());
    }

    /// <summary>Jumps to <paramref name="epoch"/> using the closed form (SequentialLR restarts a scheduler at 0 this way).</summary>
    internal void StepTo(int epoch)
    {
        CheckGroups();
        LastEpoch = epoch;
        Apply(ClosedFormLr() ?? ComputeLr());
    }

    internal void ShiftEpoch(int delta) => LastEpoch += delta;

    /// <summary>Sets every group's lr and remembers the values for <see cref="GetLastLr"/>.</summary>
    protected void Apply(double[] lrs)
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++) groups[i].Lr = lrs[i];
        _lastLr = lrs;
    }

    /// <summary>Records the groups' current learning rates as the last ones (for schedulers that set no lr).</summary>
    private protected void RecordCurrentLr() => _lastLr = [.. Optimizer.ParamGroups.Select(g => g.Lr)];

    private protected void CheckGroups()
    {
        if (Optimizer.ParamGroups.Count != BaseLrs.Count)
            throw new InvalidOperationException($"{GetType().Name}: the optimizer has {Optimizer.ParamGroups.Count} parameter groups, but the scheduler was made for {BaseLrs.Count}; create the scheduler after adding all groups");
    }

    // ---- state -------------------------------------------------------------------------------------------------

    /// <summary>
    /// The scheduler's progress as JSON (System.Text.Json): <c>{"type", "last_epoch", "base_lrs", "last_lr", ...}</c>
    /// plus scheduler-specific counters. Hyper-parameters are saved for reference and not restored.
    /// </summary>
    public string StateDict() => Save().ToJsonString();

    /// <summary>
    /// Restores the progress saved by <see cref="StateDict"/> into a scheduler of the same type built the same way.
    /// Restore the optimizer's state too (it holds the current learning rates).
    /// </summary>
    public void LoadStateDict(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try { node = JsonNode.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"{GetType().Name}.LoadStateDict: malformed JSON: {e.Message}", e); }
        if (node is not JsonObject obj) throw new ArgumentException($"{GetType().Name}.LoadStateDict: expected a JSON object");
        Load(obj);
    }

    internal JsonObject Save()
    {
        var o = new JsonObject
        {
            ["type"] = GetType().Name,
            ["last_epoch"] = LastEpoch,
            ["base_lrs"] = ToJson(BaseLrs),
            ["last_lr"] = ToJson(_lastLr),
        };
        SaveState(o);
        return o;
    }

    internal void Load(JsonObject o)
    {
        string where = $"{GetType().Name}.LoadStateDict";
        string? type = (string?)o["type"];
        if (type != GetType().Name) throw new ArgumentException($"{where}: the state was saved by a {type ?? "(missing type)"}");
        var baseLrs = ReadDoubles(o, "base_lrs", where);
        var lastLr = ReadDoubles(o, "last_lr", where);
        if (baseLrs.Length != BaseLrs.Count || lastLr.Length != BaseLrs.Count)
            throw new ArgumentException($"{where}: the state is for {baseLrs.Length} parameter groups, the optimizer has {BaseLrs.Count}");
        int lastEpoch = Read<int>(o, "last_epoch", where);
        LoadState(o);
        LastEpoch = lastEpoch;
        BaseLrs = baseLrs;
        _lastLr = lastLr;
    }

    /// <summary>Adds scheduler-specific progress to the saved state.</summary>
    private protected virtual void SaveState(JsonObject state) { }

    /// <summary>Reads scheduler-specific progress (validate everything before changing anything).</summary>
    private protected virtual void LoadState(JsonObject state) { }

    private protected static JsonArray ToJson(IEnumerable<double> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private protected static T Read<T>(JsonObject o, string key, string where)
    {
        try
        {
            if (o[key] is JsonValue v) return v.GetValue<T>();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new ArgumentException($"{where}: '{key}' has the wrong type: {e.Message}", e);
        }
        throw new ArgumentException($"{where}: missing '{key}'");
    }

    private protected static double[] ReadDoubles(JsonObject o, string key, string where) =>
        o[key] is JsonArray a ? [.. a.Select(n => n is JsonValue v ? v.GetValue<double>() : throw new ArgumentException($"{where}: '{key}' must hold numbers"))]
            : throw new ArgumentException($"{where}: missing '{key}'");

    private protected static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
