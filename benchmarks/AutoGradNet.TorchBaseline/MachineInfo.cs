using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace AutoGradNet.TorchBaseline;

/// <summary>What the results header records about the machine and the software (read from /proc and the runtime).</summary>
public static class MachineInfo
{
    /// <summary>"model name", family/model and the SIMD flags that matter, from /proc/cpuinfo.</summary>
    public static string Cpu()
    {
        var fields = new Dictionary<string, string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.Length == 0) break; // first processor only
                int colon = line.IndexOf(':');
                if (colon > 0) fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }
        catch (IOException) { return RuntimeInformation.OSArchitecture.ToString(); }

        string Get(string key) => fields.TryGetValue(key, out var v) ? v : "?";
        var flags = Get("flags").Split(' ');
        string simd = string.Join(", ", new[] { "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16" }.Where(flags.Contains));
        string microarch = (Get("vendor_id"), Get("cpu family"), Get("model")) switch
        {
            ("AuthenticAMD", "25", "17") => " (Zen 4 / Genoa)",
            ("AuthenticAMD", "25", _) => " (Zen 3 or Zen 4)",
            _ => "",
        };
        return $"\"{Get("model name")}\", {Get("vendor_id")} family {Get("cpu family")} model {Get("model")}{microarch}, " +
               $"{Environment.ProcessorCount} logical cores, cache size {Get("cache size")} (as /proc/cpuinfo reports it); flags: {simd}";
    }

    public static string Memory()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            long kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return $"{kb / 1024.0 / 1024.0:F1} GiB";
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or FormatException) { return "?"; }
    }

    public static string Os()
    {
        try
        {
            var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            if (line is not null) return line["PRETTY_NAME=".Length..].Trim('"') + ", " + RuntimeInformation.OSArchitecture;
        }
        catch (IOException) { }
        return RuntimeInformation.OSDescription;
    }

    /// <summary>The 1/5/15-minute load averages and runnable/total tasks, as in /proc/loadavg.</summary>
    public static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "?"; }
    }


    public static string TorchSharp()
    {
        var asm = typeof(torch).Assembly;
        var info = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? asm.GetName().Version?.ToString() ?? "?";
        int plus = info.IndexOf('+');
        return $"TorchSharp {(plus > 0 ? info[..plus] : info)} (TorchSharp-cpu package), libtorch {torch.__version__}";
    }
}
