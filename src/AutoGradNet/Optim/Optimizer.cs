using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AutoGradNet.Optim;

/// <summary>
/// Base of the optimizers (PyTorch's <c>torch.optim.Optimizer</c>): parameter groups with their own
/// hyper-parameters, lazily created per-parameter state, <see cref="Step"/>, <see cref="ZeroGrad"/> and a
/// serializable <see cref="StateDict"/>.
/// </summary>
/// <remarks>
/// <para>Parameters must be leaf tensors that require grad; a parameter may appear only once over all groups.
/// Its index in the state dict is its position over the groups in order (as in PyTorch).</para>
/// <para>State buffers are allocated on a parameter's first step and updated in place afterwards; the update
/// kernels write through at most two scratch buffers per (dtype, device) shared by all parameters, so a
/// steady-state <see cref="Step"/> allocates no tensor. The optimizer owns its state: dispose it to release it.</para>
/// </remarks>
public abstract class Optimizer : IDisposable
{
    private const string StepKey = "step";
    private readonly List<ParamGroup> _groups = [];
    private readonly Dictionary<string, object> _defaults;
    private readonly Dictionary<Tensor, ParamState> _state = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, ParamGroup> _owner = new(ReferenceEqualityComparer.Instance);
    private readonly List<ScratchPool> _pools = [];
    private bool _disposed;

    /// <summary>
    /// Sets up the groups. Options missing from a group are taken from <paramref name="defaults"/>, which also lists
    /// every option the optimizer knows (with its type: double or bool).
    /// </summary>
    protected Optimizer(string name, IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, object> defaults)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(defaults);
        Name = name;
        _defaults = new Dictionary<string, object>(defaults, StringComparer.Ordinal);
        var probe = new ParamGroup([]);
        foreach (var (key, value) in _defaults) probe.SetDefault(key, value);
        ValidateGroup(probe, "default");
        var list = groups.ToList();
        if (list.Count == 0 || list.All(g => g?.Params.Count == 0))
            throw new ArgumentException($"{Name}: got an empty parameter list");
        foreach (var g in list) AddParamGroup(g);
    }

    /// <summary>The optimizer's name (SGD, Adam, ...), used in messages and in the state dict.</summary>
    public string Name { get; }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The default options (PyTorch's <c>defaults</c>): what groups that leave an option unset get.</summary>
    public IReadOnlyDictionary<string, object> Defaults => _defaults;

    /// <summary>Names of the per-parameter state tensors besides <c>step</c> (as in PyTorch's state dict).</summary>
    protected abstract IReadOnlyCollection<string> StateNames { get; }

    /// <summary>Whether the per-parameter step count is part of the state (false for SGD, as in PyTorch).</summary>
    protected virtual bool HasStepState => true;

    /// <summary>
    /// Adds a group (PyTorch's <c>add_param_group</c>): fills its unset options from <see cref="Defaults"/>,
    /// validates them, and checks its parameters (leaves that require grad, not already optimized).
    /// </summary>
    public void AddParamGroup(ParamGroup group)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(group);
        if (group.Owner is not null)
            throw new ArgumentException($"{Name}: the parameter group already belongs to {(ReferenceEquals(group.Owner, this) ? "this" : "another")} optimizer ({group.Owner.Name})");
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < group.Params.Count; i++)
        {
            var p = group.Params[i];
            string where = $"parameter {i} (shape {(p.IsDisposed ? "?" : p.Shape.ToString())}) of group {_groups.Count}";
            if (p.IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{Name}: {where} was disposed");
            if (!p.RequiresGrad)
                throw new ArgumentException($"{Name}: {where} does not require grad; only tensors with RequiresGrad = true can be optimized");
            if (!p.IsLeaf)
                throw new ArgumentException($"{Name}: {where} is not a leaf (it was produced by {p.GradFn!.Name}); optimize the leaf tensor instead");
            if (!seen.Add(p))
                throw new ArgumentException($"{Name}: {where} appears more than once in the group");
            if (_owner.ContainsKey(p))
                throw new ArgumentException($"{Name}: {where} already appears in another parameter group; a parameter may belong to one group only");
        }
        foreach (var (key, value) in _defaults) group.SetDefault(key, value);
        ValidateGroup(group, $"group {_groups.Count}");
        foreach (var p in group.Params) _owner[p] = group;
        group.Owner = this;
        _groups.Add(group);
    }

    /// <summary>
    /// One optimization step over every parameter that has a gradient (parameters whose <see cref="Tensor.Grad"/>
    /// is null are skipped and get no state). Runs with gradient recording off; updates parameters in place.
    /// </summary>
    public void Step()
    {
        ThrowIfDisposed();
        using var mode = GradMode.NoGrad();
        for (int i = 0; i < _groups.Count; i++)
        {
            ValidateGroup(_groups[i], $"group {i}");
            StepGroup(_groups[i]);
        }
    }

    /// <summary>
    /// Clears the gradients of every parameter: sets them to null (<paramref name="setToNone"/>, PyTorch's default)
    /// or fills them with zeros.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        ThrowIfDisposed();
        using var mode = GradMode.NoGrad();
        foreach (var g in _groups)
            foreach (var p in g.Params) p.ZeroGrad(setToNone);
    }

    /// <summary>The state of <paramref name="parameter"/>, or null before its first step.</summary>
    public ParamState? GetState(Tensor parameter) => _state.GetValueOrDefault(parameter);

    /// <summary>Updates the parameters of one group. Called under <see cref="GradMode.NoGrad"/> after validation.</summary>
    protected abstract void StepGroup(ParamGroup group);

    /// <summary>Checks the optimizer-specific options of a group (types and the common options are checked already).</summary>
    protected virtual void ValidateOptions(ParamGroup group, string where) { }

    /// <summary>The gradient of <paramref name="parameter"/>, or null when it has none (the parameter is then skipped).</summary>
    protected Tensor? Gradient(Tensor parameter)
    {
        if (parameter.IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{Name}.Step: a parameter of the optimizer was disposed");
        var grad = parameter.Grad;
        if (grad is { IsDisposed: true })
            throw new ObjectDisposedException(nameof(Tensor), $"{Name}.Step: the gradient of the parameter of shape {parameter.Shape} was disposed; clear it with ZeroGrad() instead");
        return grad;
    }

    /// <summary>The state of <paramref name="parameter"/>, created empty on first use.</summary>
    protected ParamState State(Tensor parameter)
    {
        if (!_state.TryGetValue(parameter, out var s)) _state[parameter] = s = new ParamState();
        return s;
    }

    /// <summary>
    /// The state tensor <paramref name="name"/> of a parameter; created on first use (shape, dtype and device of the
    /// parameter, filled with <paramref name="fill"/>, owned by the optimizer).
    /// </summary>
    protected static Tensor Buffer(Tensor parameter, ParamState state, string name, double fill = 0)
    {
        if (state.Buffers.TryGetValue(name, out var t)) return t;
        t = Owned(Tensor.Full(parameter.Shape.ToArray(), fill, parameter.DType, parameter.Device));
        state.Buffers[name] = t;
        return t;
    }

    /// <summary>The state tensor <paramref name="name"/>, or null when it does not exist yet.</summary>
    protected static Tensor? TryBuffer(ParamState state, string name) => state.Buffers.GetValueOrDefault(name);

    /// <summary>Creates the state tensor <paramref name="name"/> as a copy of <paramref name="source"/> (PyTorch's <c>clone(grad)</c>).</summary>
    protected static Tensor BufferFrom(Tensor parameter, ParamState state, string name, Tensor source)
    {
        if (state.Buffers.Remove(name, out var old)) old.Dispose();
        var t = Owned(Tensor.Empty(parameter.Shape.ToArray(), parameter.DType, parameter.Device));
        Fused.Copy(source, t);
        state.Buffers[name] = t;
        return t;
    }

    /// <summary>
    /// A scratch tensor with the shape, dtype and device of <paramref name="parameter"/>, valid until the next
    /// scratch request for the same slot (slots 0 and 1). It is a view of a buffer shared by all parameters, allocated
    /// once (sized for the largest parameter); its contents are garbage on entry.
    /// </summary>
    protected Tensor Scratch(Tensor parameter, ParamState state, int slot)
    {
        if ((uint)slot >= (uint)state.Scratch.Length) throw new ArgumentOutOfRangeException(nameof(slot), slot, "scratch slot must be 0 or 1");
        var view = state.Scratch[slot];
        if (view is { IsDisposed: false }) return view;
        var pool = _pools.Find(p => p.Slot == slot && p.DType == parameter.DType && p.Device == parameter.Device);
        if (pool is null || pool.Flat.Numel < parameter.Numel)
        {
            if (pool is not null)
            {
                pool.Dispose();
                _pools.Remove(pool);
            }
            int need = _groups.SelectMany(g => g.Params)
                .Where(p => p.DType == parameter.DType && p.Device == parameter.Device)
                .Select(p => p.Numel).DefaultIfEmpty(0).Max();
            pool = new ScratchPool(slot, parameter.DType, parameter.Device, Owned(Tensor.Empty([Math.Max(need, parameter.Numel)], parameter.DType, parameter.Device)));
            _pools.Add(pool);
        }
        var shape = parameter.Shape.ToArray();
        view = Owned(pool.Flat.View(shape, ShapeUtil.ContiguousStrides(shape), 0));
        pool.Views.Add(view);
        state.Scratch[slot] = view;
        return view;
    }

    // ---- state dict ------------------------------------------------------------------------------------------

    /// <summary>
    /// A copy of the optimizer's state as plain data: the state tensors named <c>state.{index}.{name}</c> (index = the
    /// parameter's position over all groups; names as PyTorch's: <c>momentum_buffer</c>, <c>exp_avg</c>,
    /// <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>, <c>sum</c>, <c>square_avg</c>, <c>grad_avg</c>, and <c>step</c> as a
    /// float64 scalar) and the groups' hyper-parameters as JSON. The tensors are copies that the caller owns.
    /// </summary>
    /// <remarks>
    /// JSON layout: <c>{"optimizer": "Adam", "param_groups": [{"amsgrad": false, "beta1": 0.9, ..., "lr": 0.001,
    /// "params": [0, 1]}, ...]}</c>. Loading it into a fresh optimizer over the same parameters with
    /// <see cref="LoadStateDict(OptimizerStateDict)"/> makes the following steps bit-identical to an uninterrupted run.
    /// </remarks>
    public OptimizerStateDict StateDict()
    {
        ThrowIfDisposed();
        using var mode = GradMode.NoGrad();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        int index = 0;
        foreach (var g in _groups)
            foreach (var p in g.Params)
            {
                if (_state.TryGetValue(p, out var s))
                {
                    string prefix = $"state.{index.ToString(CultureInfo.InvariantCulture)}.";
                    if (HasStepState) tensors[prefix + StepKey] = Tensor.Scalar(s.Step, DType.Float64);
                    foreach (var (name, buffer) in s.Buffers) tensors[prefix + name] = buffer.Clone();
                }
                index++;
            }
        return new OptimizerStateDict(tensors, WriteGroupsJson());
    }

    /// <summary>Restores a state produced by <see cref="StateDict"/> (see <see cref="LoadStateDict(IReadOnlyDictionary{string, Tensor}, string)"/>).</summary>
    public void LoadStateDict(OptimizerStateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        LoadStateDict(stateDict.State, stateDict.ParamGroupsJson);
    }

    /// <summary>
    /// Restores hyper-parameters and per-parameter state. The optimizer must have as many groups with as many
    /// parameters (of the same shapes) as the one that was saved; state tensors are copied (and converted to the
    /// parameter's dtype and device), so the caller may dispose them afterwards. Everything is checked before
    /// anything changes; existing state is replaced.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, string paramGroupsJson)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(paramGroupsJson);
        var groupOptions = ReadGroupsJson(paramGroupsJson);
        var parameters = _groups.SelectMany(g => g.Params).ToList();

        // Parse and check every state entry first.
        var entries = new List<(int Index, string Name, Tensor Value)>();
        foreach (var (key, value) in state)
        {
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new ArgumentException($"{Name}.LoadStateDict: malformed state key '{key}'; expected 'state.{{index}}.{{name}}'");
            if (index >= parameters.Count)
                throw new ArgumentException($"{Name}.LoadStateDict: state key '{key}' refers to parameter {index}, but the optimizer has {parameters.Count} parameters");
            string name = parts[2];
            bool isStep = name == StepKey && HasStepState;
            if (!isStep && !StateNames.Contains(name))
                throw new ArgumentException($"{Name}.LoadStateDict: unknown state '{name}' in '{key}'; {Name} keeps {string.Join(", ", (HasStepState ? [StepKey] : Array.Empty<string>()).Concat(StateNames))}");
            ArgumentNullException.ThrowIfNull(value, key);
            if (value.IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{Name}.LoadStateDict: state tensor '{key}' was disposed");
            var p = parameters[index];
            if (isStep)
            {
                if (value.Numel != 1) throw new ArgumentException($"{Name}.LoadStateDict: '{key}' must hold one number, got shape {value.Shape}");
                double step = value.Item();
                if (!(step >= 0) || step != Math.Floor(step) || step > long.MaxValue)
                    throw new ArgumentException($"{Name}.LoadStateDict: '{key}' must be a non-negative integer, got {step}");
            }
            else
            {
                if (value.Shape != p.Shape)
                    throw new ArgumentException($"{Name}.LoadStateDict: '{key}' has shape {value.Shape} but parameter {index} has shape {p.Shape}");
                if (!value.DType.IsFloatingPoint())
                    throw new ArgumentException($"{Name}.LoadStateDict: '{key}' must be a floating-point tensor, got {value.DType.Name()}");
            }
            entries.Add((index, name, value));
        }

        // Commit: hyper-parameters, then state.
        for (int i = 0; i < _groups.Count; i++)
        {
            foreach (var (key, value) in groupOptions[i]) _groups[i][key] = value;
            if (!groupOptions[i].ContainsKey(ParamGroup.InitialLrKey)) _groups[i].InitialLr = null; // as PyTorch: the saved group replaces the current one
        }
        foreach (var s in _state.Values) s.Dispose();
        _state.Clear();
        using var mode = GradMode.NoGrad();
        foreach (var (index, name, value) in entries)
        {
            var p = parameters[index];
            var s = State(p);
            if (name == StepKey && HasStepState) { s.Step = (long)value.Item(); continue; }
            var buffer = Owned(Tensor.Empty(p.Shape.ToArray(), p.DType, p.Device));
            Tensor source = value;
            Tensor? converted = null, moved = null;
            if (source.DType != p.DType) source = converted = source.To(p.DType);
            if (source.Device != p.Device) source = moved = source.To(p.Device);
            Fused.Copy(source, buffer);
            converted?.Dispose();
            moved?.Dispose();
            s.Buffers[name] = buffer;
        }
    }

    private string WriteGroupsJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("optimizer", Name);
            w.WriteStartArray("param_groups");
            int index = 0;
            foreach (var g in _groups)
            {
                w.WriteStartObject();
                foreach (var (key, value) in g.Options.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (value is bool b) w.WriteBoolean(key, b);
                    else w.WriteNumber(key, (double)value);
                }
                w.WriteStartArray("params");
                foreach (var _ in g.Params) w.WriteNumberValue(index++);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private List<Dictionary<string, object>> ReadGroupsJson(string json)
    {
        string where = $"{Name}.LoadStateDict";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"{where}: the param-groups JSON is malformed: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("param_groups", out var groups) || groups.ValueKind != JsonValueKind.Array)
                throw new ArgumentException($"{where}: expected a JSON object with a 'param_groups' array");
            if (root.TryGetProperty("optimizer", out var saved) && saved.GetString() != Name)
                throw new ArgumentException($"{where}: the state was saved by {saved.GetString()}, not {Name}");
            if (groups.GetArrayLength() != _groups.Count)
                throw new ArgumentException($"{where}: the state has {groups.GetArrayLength()} parameter groups, the optimizer has {_groups.Count}");
            var result = new List<Dictionary<string, object>>();
            int i = 0;
            foreach (var g in groups.EnumerateArray())
            {
                if (g.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{where}: parameter group {i} is not a JSON object");
                var options = new Dictionary<string, object>(StringComparer.Ordinal);
                int count = -1;
                foreach (var prop in g.EnumerateObject())
                {
                    if (prop.Name == "params")
                    {
                        if (prop.Value.ValueKind != JsonValueKind.Array) throw new ArgumentException($"{where}: 'params' of group {i} is not an array");
                        count = prop.Value.GetArrayLength();
                        continue;
                    }
                    options[prop.Name] = prop.Value.ValueKind switch
                    {
                        JsonValueKind.Number => prop.Value.GetDouble(),
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        _ => throw new ArgumentException($"{where}: option '{prop.Name}' of group {i} must be a number or a boolean, got {prop.Value.ValueKind}"),
                    };
                }
                if (count != _groups[i].Params.Count)
                    throw new ArgumentException($"{where}: saved group {i} has {(count < 0 ? "no 'params'" : count + " parameters")}, the optimizer's group {i} has {_groups[i].Params.Count}");
                var probe = new ParamGroup([]);
                foreach (var (key, value) in _groups[i].Options) probe.SetDefault(key, value);
                foreach (var (key, value) in options) probe[key] = value;
                ValidateGroup(probe, $"saved group {i}");
                result.Add(options);
                i++;
            }
            return result;
        }
    }

    // ---- validation ------------------------------------------------------------------------------------------

    private void ValidateGroup(ParamGroup group, string where)
    {
        foreach (var (key, value) in group.Options)
        {
            if (key == ParamGroup.InitialLrKey)
            {
                if (value is not double) throw new ArgumentException($"{Name}: {where}: '{key}' must be a number");
                continue;
            }
            if (!_defaults.TryGetValue(key, out var def))
                throw new ArgumentException($"{Name}: {where}: unknown option '{key}'; {Name} options are {string.Join(", ", _defaults.Keys)}");
            if (def.GetType() != value.GetType())
                throw new ArgumentException($"{Name}: {where}: option '{key}' must be a {(def is bool ? "boolean" : "number")}, got {ParamGroup.Format(value)}");
            if (value is double d && !double.IsFinite(d))
                throw new ArgumentOutOfRangeException(key, d, $"{Name}: {where}: option '{key}' must be finite, got {d}");
        }
        NonNegative(group, ParamGroup.LrKey, where, "learning rate");
        NonNegative(group, ParamGroup.WeightDecayKey, where, "weight decay");
        ValidateOptions(group, where);
    }

    /// <summary>Throws unless the numeric option is ≥ 0 (naming the optimizer, the group and the value).</summary>
    protected void NonNegative(ParamGroup group, string key, string where, string description)
    {
        double v = group.GetDouble(key);
        if (!(v >= 0)) throw new ArgumentOutOfRangeException(key, v, $"{Name}: {where}: invalid {description} '{key}' = {v}; it must be non-negative");
    }

    /// <summary>Throws unless the numeric option lies in [0, 1) (naming the optimizer, the group and the value).</summary>
    protected void UnitInterval(ParamGroup group, string key, string where, string description)
    {
        double v = group.GetDouble(key);
        if (!(v >= 0 && v < 1)) throw new ArgumentOutOfRangeException(key, v, $"{Name}: {where}: invalid {description} '{key}' = {v}; it must lie in [0, 1)");
    }

    /// <summary>Removes a tensor from dispose scopes: the optimizer owns it.</summary>
    private protected static Tensor Owned(Tensor t) => DisposeScope.Detach(t);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Releases the state tensors and scratch buffers. Parameters and gradients are untouched.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _state.Values) s.Dispose();
        _state.Clear();
        foreach (var p in _pools) p.Dispose();
        _pools.Clear();
        GC.SuppressFinalize(this);
    }

    private sealed class ScratchPool(int slot, DType dtype, Device device, Tensor flat)
    {
        public int Slot { get; } = slot;
        public DType DType { get; } = dtype;
        public Device Device { get; } = device;
        public Tensor Flat { get; } = flat;
        public List<Tensor> Views { get; } = [];

        public void Dispose()
        {
            foreach (var v in Views) v.Dispose();
            Views.Clear();
            Flat.Dispose();
        }
    }
}

/// <summary>The state an optimizer keeps for one parameter: its step count and named buffers.</summary>
public sealed class ParamState
{
    internal ParamState() { }

    /// <summary>How many updates the parameter received (restored by <see cref="Optimizer.LoadStateDict(OptimizerStateDict)"/>).</summary>
    public long Step { get; set; }

    /// <summary>The state tensors by PyTorch name (<c>exp_avg</c>, <c>momentum_buffer</c>, ...). Live: do not dispose.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => Buffers;

    internal Dictionary<string, Tensor> Buffers { get; } = new(StringComparer.Ordinal);

    internal Tensor?[] Scratch { get; } = new Tensor?[2];

    internal void Dispose()
    {
        foreach (var t in Buffers.Values) t.Dispose();
        Buffers.Clear();
    }
}

/// <summary>
/// An optimizer's state as plain data (see <see cref="Optimizer.StateDict"/>): state tensors by name and the
/// parameter groups' hyper-parameters as a JSON string. Disposing it disposes the tensors.
/// </summary>
public sealed class OptimizerStateDict(Dictionary<string, Tensor> state, string paramGroupsJson) : IDisposable
{
    /// <summary>State tensors named <c>state.{parameterIndex}.{name}</c>.</summary>
    public Dictionary<string, Tensor> State { get; } = state;

    /// <summary>The optimizer name and the parameter groups' hyper-parameters (System.Text.Json).</summary>
    public string ParamGroupsJson { get; } = paramGroupsJson;

    /// <summary>Disposes the state tensors.</summary>
    public void Dispose()
    {
        foreach (var t in State.Values) t.Dispose();
    }
}
