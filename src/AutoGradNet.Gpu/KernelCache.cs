using System.Collections.Concurrent;
using System.Diagnostics;

namespace AutoGradNet.Gpu;

/// <summary>
/// Loaded kernels, one per (accelerator, kernel, type instantiation): ILGPU compiles a kernel when it is loaded,
/// so each instantiation is compiled once per accelerator and every later launch is a dictionary hit.
/// </summary>
internal static class KernelCache
{
    private static readonly ConcurrentDictionary<(Accelerator, Type, string), Lazy<Delegate>> s_loaded = new();
    private static readonly ConcurrentQueue<KernelCompileTime> s_compileTimes = new();

    /// <summary>The loaded kernel <paramref name="name"/> with delegate type <typeparamref name="TDelegate"/> (the type names the instantiation).</summary>
    public static TDelegate Get<TDelegate>(Accelerator accelerator, string name, Func<Accelerator, TDelegate> load) where TDelegate : Delegate
    {
        var key = (accelerator, typeof(TDelegate), name);
        if (!s_loaded.TryGetValue(key, out var lazy))
            lazy = s_loaded.GetOrAdd(key, static (k, load) => new Lazy<Delegate>(() => Load(k, load)), load);
        try
        {
            return (TDelegate)lazy.Value;
        }
        catch
        {
            s_loaded.TryRemove(new KeyValuePair<(Accelerator, Type, string), Lazy<Delegate>>(key, lazy)); // let a later call retry
            throw;
        }
    }

    private static Delegate Load<TDelegate>((Accelerator Accelerator, Type Type, string Name) key, Func<Accelerator, TDelegate> load) where TDelegate : Delegate
    {
        var watch = Stopwatch.StartNew();
        var kernel = load(key.Accelerator);
        watch.Stop();
        s_compileTimes.Enqueue(new KernelCompileTime(Describe(key.Name, key.Type), key.Accelerator.AcceleratorType.ToString(), watch.Elapsed));
        return kernel;
    }

    /// <summary>A readable kernel name: the name plus the element and operator types of the delegate.</summary>
    private static string Describe(string name, Type delegateType)
    {
        var parts = delegateType.GetGenericArguments()
            .Select(t => t.IsGenericType ? t.GetGenericArguments()[0].Name : t.Name)
            .Where(n => n is not ("AcceleratorStream" or "Index1D" or "KernelConfig" or "Extent8" or "Strides8"))
            .Distinct();
        return $"{name}<{string.Join(", ", parts)}>";
    }

    /// <summary>Number of loaded kernels over all accelerators.</summary>
    public static int Count => s_loaded.Count;

    /// <summary>How long each kernel took to compile and load, in load order.</summary>
    public static IReadOnlyList<KernelCompileTime> CompileTimes => s_compileTimes.ToArray();
}
