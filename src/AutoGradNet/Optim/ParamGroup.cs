namespace AutoGradNet.Optim;

/// <summary>
/// A set of parameters optimized with the same hyper-parameters (PyTorch's <c>param_group</c> dict): its own
/// <see cref="Lr"/>, <see cref="WeightDecay"/> and optimizer-specific options such as <c>"momentum"</c>,
/// <c>"beta1"</c> or <c>"amsgrad"</c>. Options left unset are filled from the optimizer's defaults when the group
/// is given to an optimizer.
/// </summary>
/// <remarks>
/// Options are named as in PyTorch (snake case): <c>lr</c>, <c>weight_decay</c>, <c>momentum</c>, <c>dampening</c>,
/// <c>nesterov</c>, <c>lr_decay</c>, <c>initial_accumulator_value</c>, <c>eps</c>, <c>alpha</c>, <c>centered</c>,
/// <c>amsgrad</c>, and <c>beta1</c>/<c>beta2</c> for PyTorch's <c>betas</c> tuple. Values are <see cref="double"/>
/// or <see cref="bool"/> (integers are stored as doubles). Schedulers add <c>initial_lr</c>.
/// Example: <c>new ParamGroup(head) { Lr = 0.1, ["momentum"] = 0.5 }</c>.
/// </remarks>
public sealed class ParamGroup
{
    /// <summary>Option name of the learning rate.</summary>
    public const string LrKey = "lr";
    /// <summary>Option name of the weight decay.</summary>
    public const string WeightDecayKey = "weight_decay";
    /// <summary>Option name of the learning rate a scheduler started from.</summary>
    public const string InitialLrKey = "initial_lr";

    private readonly List<Tensor> _params;
    private readonly Dictionary<string, object> _options = new(StringComparer.Ordinal);

    /// <summary>A group of <paramref name="parameters"/> with no option set yet.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _params = [.. parameters];
        foreach (var p in _params)
            if (p is null) throw new ArgumentNullException(nameof(parameters), "ParamGroup: the parameter list contains null");
    }

    /// <summary>The parameters of the group, in order (their position over all groups is their state index).</summary>
    public IReadOnlyList<Tensor> Params => _params;

    /// <summary>The optimizer that owns the group, once it was given to one.</summary>
    public Optimizer? Owner { get; internal set; }

    /// <summary>Every option set on the group (name → <see cref="double"/> or <see cref="bool"/>).</summary>
    public IReadOnlyDictionary<string, object> Options => _options;

    /// <summary>The learning rate α. Must be finite and non-negative.</summary>
    public double Lr
    {
        get => GetDouble(LrKey);
        set => this[LrKey] = value;
    }

    /// <summary>The weight decay λ (L2 penalty coefficient, or decoupled decay for AdamW). Finite, non-negative.</summary>
    public double WeightDecay
    {
        get => GetDouble(WeightDecayKey);
        set => this[WeightDecayKey] = value;
    }

    /// <summary>The learning rate when the first scheduler was attached (the schedulers' base lr); null before.</summary>
    public double? InitialLr
    {
        get => Contains(InitialLrKey) ? GetDouble(InitialLrKey) : null;
        set
        {
            if (value is { } v) this[InitialLrKey] = v;
            else _options.Remove(InitialLrKey);
        }
    }

    /// <summary>Gets or sets an option by its PyTorch name. Values are doubles or booleans (integers become doubles).</summary>
    /// <exception cref="KeyNotFoundException">Getting an option that is not set.</exception>
    public object this[string name]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(name);
            return _options.TryGetValue(name, out var v) ? v
                : throw new KeyNotFoundException($"ParamGroup: option '{name}' is not set (set: {Describe()}); options are filled from the optimizer's defaults when the group is given to an optimizer");
        }
        set
        {
            ArgumentNullException.ThrowIfNull(name);
            _options[name] = Normalize(name, value);
        }
    }

    /// <summary>True when the option is set.</summary>
    public bool Contains(string name) => _options.ContainsKey(name);

    /// <summary>A numeric option.</summary>
    public double GetDouble(string name) => this[name] is double d ? d
        : throw new InvalidOperationException($"ParamGroup: option '{name}' is {this[name]}, not a number");

    /// <summary>A boolean option.</summary>
    public bool GetBool(string name) => this[name] is bool b ? b
        : throw new InvalidOperationException($"ParamGroup: option '{name}' is {this[name]}, not a boolean");

    internal void SetDefault(string name, object value) => _options.TryAdd(name, value);

    internal string Describe() => string.Join(", ", _options.Select(kv => $"{kv.Key}={Format(kv.Value)}"));

    internal static string Format(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static object Normalize(string name, object? value)
    {
        object v = value switch
        {
            bool b => b,
            double d => d,
            float f => (double)f,
            int i => (double)i,
            long l => (double)l,
            null => throw new ArgumentNullException(nameof(value), $"ParamGroup: option '{name}' cannot be null"),
            _ => throw new ArgumentException($"ParamGroup: option '{name}' must be a number or a boolean, got {value.GetType().Name}"),
        };
        if (v is double x && (name is LrKey or WeightDecayKey or InitialLrKey) && !(x >= 0 && double.IsFinite(x)))
            throw new ArgumentOutOfRangeException(nameof(value), x, $"ParamGroup: {name} must be finite and non-negative, got {x}");
        return v;
    }
}
