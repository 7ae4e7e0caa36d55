using System.Globalization;
using AutoGradNet.Nn;
using AutoGradNet.Optim;

namespace AutoGradNet.Serialization;

/// <summary>
/// A training checkpoint in one safetensors file: the model's state dict (<c>model.*</c>), the optimizer's state
/// (<c>optimizer.*</c>, hyper-parameters in the metadata), the LR scheduler's state and a generator's position, so a
/// run resumed from step k continues bit-identically to an uninterrupted run. Written crash-safely.
/// </summary>
public static class Checkpoint
{
    private const string Format = "autogradnet-checkpoint/1";
    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.";

    /// <summary>Saves the given training state to <paramref name="path"/>; <paramref name="metadata"/> adds user entries (epoch, metrics…).</summary>
    public static void Save(string path, Module model, Optimizer? optimizer = null, LRScheduler? scheduler = null, Generator? generator = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (key, value) in model.StateDict()) tensors[ModelPrefix + key] = value;
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = Format };
        using var optimizerState = optimizer?.StateDict();
        if (optimizerState is not null)
        {
            foreach (var (key, value) in optimizerState.State) tensors[OptimizerPrefix + key] = value;
            meta["optimizer"] = optimizerState.ParamGroupsJson;
        }
        if (scheduler is not null) meta["scheduler"] = scheduler.StateDict();
        if (generator is not null)
        {
            var (seed, offset) = generator.GetState();
            meta["generator"] = string.Create(CultureInfo.InvariantCulture, $"{seed}:{offset}");
        }
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Restores what <see cref="Save"/> wrote into the given objects (pass the same kinds that were saved) and returns the
    /// file's metadata. The model is loaded strictly unless <paramref name="strict"/> is false.
    /// </summary>
    public static Dictionary<string, string> Load(string path, Module model, Optimizer? optimizer = null, LRScheduler? scheduler = null,
        Generator? generator = null, bool strict = true)
    {
        var (tensors, meta) = SafeTensors.LoadWithMetadata(path);
        try
        {
            if (!meta.TryGetValue("format", out var format) || format != Format)
                throw new FormatException($"Checkpoint.Load: '{path}' is not an AutoGradNet checkpoint (format '{format ?? "missing"}'); use Module.Load for a plain state dict");
            var modelState = tensors.Where(kv => kv.Key.StartsWith(ModelPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[ModelPrefix.Length..], kv => kv.Value);
            model.LoadStateDict(modelState, strict);
            if (optimizer is not null)
            {
                if (!meta.TryGetValue("optimizer", out var json))
                    throw new FormatException($"Checkpoint.Load: '{path}' holds no optimizer state");
                var optimizerState = tensors.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                    .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value);
                optimizer.LoadStateDict(optimizerState, json);
            }
            if (scheduler is not null)
            {
                if (!meta.TryGetValue("scheduler", out var json))
                    throw new FormatException($"Checkpoint.Load: '{path}' holds no scheduler state");
                scheduler.LoadStateDict(json);
            }
            if (generator is not null)
            {
                if (!meta.TryGetValue("generator", out var state) || state.Split(':') is not [var seed, var offset])
                    throw new FormatException($"Checkpoint.Load: '{path}' holds no generator state");
                generator.SetState((ulong.Parse(seed, CultureInfo.InvariantCulture), ulong.Parse(offset, CultureInfo.InvariantCulture)));
            }
            return meta;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
