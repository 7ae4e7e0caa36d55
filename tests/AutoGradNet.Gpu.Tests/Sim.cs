using AutoGradNet.Backends;
using AutoGradNet.Backends.Cpu;

// One simulated accelerator serves every test; its memory counters must not see other tests' tensors.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AutoGradNet.Gpu.Tests;

/// <summary>The CPU-simulator device, and comparisons of its results with the CPU backend's.</summary>
internal static class Sim
{
    public static Device Device => GpuDevices.CpuSimulator();

    internal static GpuBackend Backend => (GpuBackend)Device.Backend;

    internal static IBackend Cpu => CpuBackend.Instance;

    /// <summary>A copy of a CPU tensor on the simulator.</summary>
    public static Tensor G(Tensor cpu) => cpu.To(Device);

    /// <summary>Random values of the given dtype (normal floats, small integers, or random bools), on the CPU.</summary>
    public static Tensor Random(int[] shape, DType dtype, ulong seed)
    {
        var generator = new Generator(seed);
        return dtype switch
        {
            DType.Int64 => Tensor.Randint(-5, 6, shape, DType.Int64, generator),
            DType.Bool => Tensor.Bernoulli(shape, 0.5, DType.Bool, generator),
            _ => Tensor.Randn(shape, dtype, generator),
        };
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> (any device) equals <paramref name="expected"/>: float32 within 1e-5
    /// relative (absolute below 1), float64 within 1e-12, integers and bools exactly; NaNs must coincide.
    /// </summary>
    public static void AssertClose(Tensor expected, Tensor actual, string what, double? tolerance = null)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.DType, actual.DType);
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        double tol = tolerance ?? expected.DType switch { DType.Float32 => 1e-5, DType.Float64 => 1e-12, _ => 0 };
        for (int i = 0; i < e.Length; i++)
        {
            if (double.IsNaN(e[i]) || double.IsNaN(a[i]))
            {
                Assert.True(double.IsNaN(e[i]) && double.IsNaN(a[i]), $"{what}: element {i}: expected {e[i]}, got {a[i]}");
                continue;
            }
            if (e[i] == a[i]) continue; // also equal infinities
            double err = Math.Abs(e[i] - a[i]) / Math.Max(1.0, Math.Abs(e[i]));
            Assert.True(err <= tol, $"{what}: element {i} of {e.Length}: expected {e[i]:R}, got {a[i]:R} (error {err:E2} > {tol:E1})");
        }
    }

    /// <summary>A fresh uninitialised contiguous tensor on <paramref name="device"/>.</summary>
    public static Tensor Empty(int[] shape, DType dtype, Device device) => Tensor.Alloc(shape, dtype, device);
}
