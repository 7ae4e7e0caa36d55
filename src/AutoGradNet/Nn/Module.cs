namespace AutoGradNet.Nn;

/// <summary>
/// Base class of layers and models (PyTorch's <c>nn.Module</c>): named parameters, buffers and submodules registered
/// in order, with PyTorch-style dotted names (<c>layer1.0.conv1.weight</c>, <c>bn1.running_mean</c>), train/eval
/// mode, state dicts, forward hooks and device moves. Subclasses register what they own in their constructor.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Tensor?> _parameters = [];
    private readonly Dictionary<string, Tensor?> _buffers = [];
    private readonly HashSet<string> _nonPersistent = [];
    private readonly Dictionary<string, Module> _modules = [];
    private bool _disposed;

    /// <summary>True in training mode (the default), false after <see cref="ModuleExtensions.Eval{T}"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a parameter (a leaf that requires grad; null for an absent optional one such as a bias).</summary>
    protected Tensor? RegisterParameter(string name, Tensor? parameter)
    {
        CheckName(name);
        if (parameter is not null)
        {
            if (!parameter.IsLeaf) throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be a leaf tensor, not the result of {parameter.GradFn!.Name}");
            parameter.RequiresGrad = true;
            parameter.DetachFromDisposeScope();
        }
        _parameters[name] = parameter;
        _order.Add(name);
        return parameter;
    }

    /// <summary>Registers a buffer: state that is saved but not trained (running statistics). Non-persistent buffers are left out of state dicts.</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? buffer, bool persistent = true)
    {
        CheckName(name);
        buffer?.DetachFromDisposeScope();
        _buffers[name] = buffer;
        if (!persistent) _nonPersistent.Add(name);
        _order.Add(name);
        return buffer;
    }

    /// <summary>Registers a submodule under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _modules[name] = module;
        _order.Add(name);
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: invalid member name '{name}' (must be non-empty and contain no '.')");
        if (_parameters.ContainsKey(name) || _buffers.ContainsKey(name) || _modules.ContainsKey(name))
            throw new ArgumentException($"{GetType().Name}: a member named '{name}' is already registered");
    }

    /// <summary>A registered parameter by local name.</summary>
    protected Tensor? Parameter(string name) => _parameters[name];

    /// <summary>A registered buffer by local name.</summary>
    protected Tensor? Buffer(string name) => _buffers[name];

    /// <summary>Replaces a registered buffer's tensor (e.g. a counter recreated as a new tensor).</summary>
    protected void SetBuffer(string name, Tensor? value)
    {
        if (!_buffers.ContainsKey(name)) throw new KeyNotFoundException($"{GetType().Name}: no buffer named '{name}'");
        value?.DetachFromDisposeScope();
        _buffers[name] = value;
    }

    /// <summary>Direct children with their names, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var name in _order)
            if (_modules.TryGetValue(name, out var m)) yield return (name, m);
    }

    /// <summary>Direct children.</summary>
    public IEnumerable<Module> Children() => NamedChildren().Select(c => c.Module);

    /// <summary>This module and all descendants with dotted names ("" for this one), depth first.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in NamedChildren())
            foreach (var item in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name))
                yield return item;
    }

    /// <summary>All parameters with dotted names (each tensor once, even if shared).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, module) in recurse ? NamedModules() : [("", this)])
            foreach (var name in module._order)
                if (module._parameters.TryGetValue(name, out var p) && p is not null && seen.Add(p))
                    yield return (Join(prefix, name), p);
    }

    /// <summary>All parameters.</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    /// <summary>All buffers with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true)
    {
        foreach (var (prefix, module) in recurse ? NamedModules() : [("", this)])
            foreach (var name in module._order)
                if (module._buffers.TryGetValue(name, out var b) && b is not null)
                    yield return (Join(prefix, name), b);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Number of parameter elements (only those that require grad when <paramref name="trainableOnly"/>).</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Numel);

    /// <summary>Sets training mode on this module and all descendants (see <see cref="ModuleExtensions.Train{T}"/>).</summary>
    internal void SetTraining(bool mode)
    {
        foreach (var (_, m) in NamedModules()) m.Training = mode;
    }

    /// <summary>Clears (or zeroes) the gradients of all parameters.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters()) p.ZeroGrad(setToNone);
    }

    /// <summary>Calls <paramref name="fn"/> on every descendant and then on this module (PyTorch's order), e.g. for initialisation.</summary>
    public Module Apply(Action<Module> fn)
    {
        foreach (var child in Children()) child.Apply(fn);
        fn(this);
        return this;
    }

    internal void MoveTo(Device device)
    {
        using var noGrad = GradMode.NoGrad();
        foreach (var t in Parameters().Concat(NamedBuffers().Select(b => b.Buffer)))
        {
            if (t.Device == device) continue;
            using var moved = t.To(device);
            t.ReplaceData(moved);
        }
    }

    internal void ConvertTo(DType dtype)
    {
        using var noGrad = GradMode.NoGrad();
        foreach (var t in Parameters().Concat(NamedBuffers().Select(b => b.Buffer)))
        {
            if (t.DType == dtype || !t.DType.IsFloatingPoint()) continue;
            using var converted = t.To(dtype);
            t.ReplaceData(converted);
        }
    }

    /// <summary>Parameters and persistent buffers by dotted name (the tensors themselves, not copies).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var (prefix, module) in NamedModules())
            foreach (var name in module._order)
            {
                if (module._parameters.TryGetValue(name, out var p) && p is not null) state.TryAdd(Join(prefix, name), p);
                else if (module._buffers.TryGetValue(name, out var b) && b is not null && !module._nonPersistent.Contains(name)) state[Join(prefix, name)] = b;
            }
        return state;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers. With <paramref name="strict"/>,
    /// any missing, unexpected or shape-mismatched key throws one error listing all of them; otherwise they are returned.
    /// </summary>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = own.Where(kv => state.TryGetValue(kv.Key, out var v) && v.Shape != kv.Value.Shape)
            .Select(kv => $"{kv.Key}: checkpoint {state[kv.Key].Shape}, model {kv.Value.Shape}").ToList();
        var result = new LoadResult(missing, unexpected, mismatched);
        if (strict && !result.IsClean)
            throw new InvalidOperationException($"LoadStateDict ({GetType().Name}): the state does not match the model.{result}");
        using var noGrad = GradMode.NoGrad();
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var source) || source.Shape != target.Shape) continue;
            using var converted = source.DType == target.DType ? source.Alias(false) : source.To(target.DType);
            using var placed = converted.Device == target.Device ? converted.Alias(false) : converted.To(target.Device);
            target.CopyInPlace(placed);
        }
        return result;
    }

    /// <summary>Disposes all parameters and buffers (and those of submodules).</summary>
    public virtual void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _parameters.Values.Concat(_buffers.Values)) t?.Dispose();
        foreach (var m in _modules.Values) m.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A one-line description of the layer's configuration (PyTorch's <c>extra_repr</c>).</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>A nested description like PyTorch's module printout.</summary>
    public override string ToString()
    {
        var children = NamedChildren().ToList();
        var head = GetType().Name + "(" + ExtraRepr();
        if (children.Count == 0) return head + ")";
        var sb = new System.Text.StringBuilder(head).Append('\n');
        foreach (var (name, child) in children)
            sb.Append("  (").Append(name).Append("): ").Append(child.ToString().Replace("\n", "\n  ")).Append('\n');
        return sb.Append(')').ToString();
    }
}

/// <summary>Fluent module operations that return the module's own type (<c>new Net().To(DType.Float64).Eval()</c>).</summary>
public static class ModuleExtensions
{
    /// <summary>Sets training mode on the module and all descendants.</summary>
    public static T Train<T>(this T module, bool mode = true) where T : Module
    {
        module.SetTraining(mode);
        return module;
    }

    /// <summary>Evaluation mode (batch norm uses running statistics, dropout is off).</summary>
    public static T Eval<T>(this T module) where T : Module => module.Train(false);

    /// <summary>Moves parameters and buffers to <paramref name="device"/>; the tensor objects stay the same, so optimizers keep working.</summary>
    public static T To<T>(this T module, Device device) where T : Module
    {
        module.MoveTo(device);
        return module;
    }

    /// <summary>Converts floating-point parameters and buffers to <paramref name="dtype"/> (integer buffers such as counters are kept).</summary>
    public static T To<T>(this T module, DType dtype) where T : Module
    {
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"Module.To: only floating-point dtypes, got {dtype.Name()}");
        module.ConvertTo(dtype);
        return module;
    }
}

/// <summary>A module mapping <typeparamref name="TIn"/> to <typeparamref name="TOut"/>.</summary>
public abstract class Module<TIn, TOut> : Module
{
    private readonly List<Func<Module, TIn, TOut, TOut?>> _forwardHooks = [];
    private readonly List<Action<Module, TIn>> _preHooks = [];

    /// <summary>The computation. Call the module through <see cref="Call"/> so that hooks run (as PyTorch's <c>module(x)</c>).</summary>
    public abstract TOut Forward(TIn input);

    /// <summary>Runs forward pre-hooks, <see cref="Forward"/>, then forward hooks (which may replace the output).</summary>
    public TOut Call(TIn input)
    {
        foreach (var hook in _preHooks.ToArray()) hook(this, input);
        var output = Forward(input);
        foreach (var hook in _forwardHooks.ToArray())
            if (hook(this, input, output) is { } replaced) output = replaced;
        return output;
    }

    /// <summary>Registers a hook called after forward with (module, input, output); a non-null return replaces the output.</summary>
    public IDisposable RegisterForwardHook(Func<Module, TIn, TOut, TOut?> hook)
    {
        _forwardHooks.Add(hook);
        return new Removal(() => _forwardHooks.Remove(hook));
    }

    /// <summary>Registers a hook called before forward with (module, input).</summary>
    public IDisposable RegisterForwardPreHook(Action<Module, TIn> hook)
    {
        _preHooks.Add(hook);
        return new Removal(() => _preHooks.Remove(hook));
    }

    private sealed class Removal(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }
}

/// <summary>Keys that did not line up when loading a state dict.</summary>
/// <param name="MissingKeys">Keys the model has but the state lacks.</param>
/// <param name="UnexpectedKeys">Keys the state has but the model lacks.</param>
/// <param name="ShapeMismatches">Keys present in both with different shapes, described.</param>
public sealed record LoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys, IReadOnlyList<string> ShapeMismatches)
{
    /// <summary>True when every key matched.</summary>
    public bool IsClean => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>Lists the problems, one per line.</summary>
    public override string ToString() =>
        (MissingKeys.Count > 0 ? $"\n  missing keys: {string.Join(", ", MissingKeys)}" : "") +
        (UnexpectedKeys.Count > 0 ? $"\n  unexpected keys: {string.Join(", ", UnexpectedKeys)}" : "") +
        (ShapeMismatches.Count > 0 ? $"\n  shape mismatches: {string.Join("; ", ShapeMismatches)}" : "");
}
