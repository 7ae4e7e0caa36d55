using AutoGradNet.Nn;

namespace AutoGradNet.Serialization;

/// <summary>Saving and loading a module's state dict as safetensors (PyTorch-compatible names: <c>layer1.0.conv1.weight</c>).</summary>
public static class ModuleSerialization
{
    /// <summary>Writes the module's parameters and persistent buffers to <paramref name="path"/> (crash-safe: temp file, flush, rename).</summary>
    public static void Save(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Save(path, module.StateDict(), metadata);

    /// <summary>
    /// Loads a safetensors file into the module. Strict loading throws one error listing every missing, unexpected and
    /// shape-mismatched key; non-strict loading copies what matches and returns the rest.
    /// </summary>
    public static LoadResult Load(this Module module, string path, bool strict = true)
    {
        var tensors = SafeTensors.Load(path);
        try { return module.LoadStateDict(tensors, strict); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
