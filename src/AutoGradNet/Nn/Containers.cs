using System.Collections;

namespace AutoGradNet.Nn;

/// <summary>Runs its modules in order, each on the previous output (PyTorch's <c>nn.Sequential</c>); children are named "0", "1", ….</summary>
public sealed class Sequential : Module<Tensor, Tensor>, IEnumerable<Module<Tensor, Tensor>>
{
    private readonly List<Module<Tensor, Tensor>> _layers = [];

    /// <summary>A sequence of layers.</summary>
    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>A sequence of named layers.</summary>
    public Sequential(params (string Name, Module<Tensor, Tensor> Module)[] layers)
    {
        foreach (var (name, layer) in layers) Add(name, layer);
    }

    /// <summary>Appends a layer named by its position.</summary>
    public void Add(Module<Tensor, Tensor> layer) => Add(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);

    /// <summary>Appends a named layer.</summary>
    public void Add(string name, Module<Tensor, Tensor> layer) => _layers.Add(RegisterModule(name, layer));

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module<Tensor, Tensor> this[int index] => _layers[index];

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Call(x);
        return x;
    }

    /// <inheritdoc/>
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => _layers.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A list of submodules registered as "0", "1", … (PyTorch's <c>nn.ModuleList</c>); it has no forward of its own.</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = [];

    /// <summary>A list holding <paramref name="modules"/>.</summary>
    public ModuleList(params T[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module.</summary>
    public void Add(T module) => _items.Add(RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));

    /// <inheritdoc/>
    public T this[int index] => _items[index];
    /// <inheritdoc/>
    public int Count => _items.Count;
    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Submodules by name, in insertion order (PyTorch's <c>nn.ModuleDict</c>).</summary>
public sealed class ModuleDict<T> : Module, IEnumerable<KeyValuePair<string, T>> where T : Module
{
    private readonly Dictionary<string, T> _items = [];
    private readonly List<string> _keys = [];

    /// <summary>Adds a module under <paramref name="name"/>.</summary>
    public void Add(string name, T module)
    {
        _items[name] = RegisterModule(name, module);
        _keys.Add(name);
    }

    /// <summary>The module named <paramref name="name"/>.</summary>
    public T this[string name] => _items.TryGetValue(name, out var m) ? m : throw new KeyNotFoundException($"ModuleDict: no module named '{name}' (have: {string.Join(", ", _keys)})");

    /// <summary>Names in insertion order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => _keys.Select(k => new KeyValuePair<string, T>(k, _items[k])).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
