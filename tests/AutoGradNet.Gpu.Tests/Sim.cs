using AutoGradNet.Backends;
using AutoGradNet.Backends.Cpu;

// One simulated accelerator serves every test; its memory counters must not see other tests' tensors.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AutoGradNet.Gpu.Tests;

/// <summary>
/// The GPU device under test (ILGPU's CPU simulator unless <see cref="DeviceVariable"/> names a CUDA GPU), and
/// comparisons of its results with the CPU backend's.
/// </summary>
internal static class Sim
{
    /// <summary>
    /// The environment variable that moves every test written against <see cref="Device"/> (the backend, op,
    /// convolution and training agreement tests among them) from the simulator to a real GPU: <c>cuda</c> (GPU 0) or
    /// <c>cuda:N</c>. Unset, empty or <c>sim</c>: the simulator. Tests that name the simulator itself stay on it.
    /// </summary>
    public const string DeviceVariable = "AUTOGRADNET_TEST_DEVICE";

    private static readonly string s_requested = (Environment.GetEnvironmentVariable(DeviceVariable) ?? "").Trim().ToLowerInvariant();

    private static readonly Lazy<Device> s_requestedDevice = new(ResolveRequested);

    /// <summary>True when the tests run on the simulator (the default), false when <see cref="DeviceVariable"/> names a GPU.</summary>
    public static bool OnSimulator => s_requested is "" or "sim";

    /// <summary>The device under test.</summary>
    /// <exception cref="InvalidOperationException"><see cref="DeviceVariable"/> names a device that is not present, or is malformed.</exception>
    public static Device Device => OnSimulator ? GpuDevices.CpuSimulator() : s_requestedDevice.Value;

    private static Device ResolveRequested()
    {
        int index = s_requested == "cuda" ? 0
            : s_requested.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s_requested.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n
            : throw new InvalidOperationException($"{DeviceVariable}='{s_requested}': expected cuda, cuda:N or sim");
        if (index >= GpuDevices.CudaDeviceCount)
            throw new InvalidOperationException($"{DeviceVariable}={s_requested}: no such CUDA device (ILGPU saw: {GpuDevices.CudaDescription}); unset it to test on the simulator");
        return GpuDevices.Cuda(index);
    }

    internal static GpuBackend Backend => (GpuBackend)Device.Backend;

    internal static IBackend Cpu => CpuBackend.Instance;

    /// <summary>A copy of a CPU tensor on the device under test.</summary>
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
