using System.Globalization;
using AutoGradNet.Gpu;

namespace AutoGradNet.Examples.FashionMnist;

/// <summary>
/// The <c>--device</c> option: <c>cpu</c>, <c>cuda</c> / <c>cuda:N</c> (a CUDA GPU through the ILGPU backend) or
/// <c>gpu-sim</c> (ILGPU's CPU accelerator, which simulates every GPU thread: only for checking the GPU code path).
/// </summary>
public static class DeviceOption
{
    /// <summary>The accepted spellings, for messages.</summary>
    public const string Spellings = "cpu, cuda, cuda:N or gpu-sim";

    /// <summary>True when <paramref name="name"/> is one of the accepted spellings (whether that device exists is <see cref="Resolve"/>'s business).</summary>
    public static bool IsValid(string name) => name is "cpu" or "gpu-sim" || TryCudaIndex(name, out _);

    private static bool TryCudaIndex(string name, out int index)
    {
        index = 0;
        if (name == "cuda") return true;
        return name.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    /// <summary>The device <paramref name="name"/> stands for (CUDA devices and the simulator are created on first use).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not an accepted spelling.</exception>
    /// <exception cref="DeviceUnavailableException">A CUDA device was asked for that ILGPU cannot find or open.</exception>
    public static Device Resolve(string name)
    {
        if (name == "cpu") return Device.Cpu;
        if (name == "gpu-sim") return GpuDevices.CpuSimulator();
        if (!TryCudaIndex(name, out int index))
            throw new ArgumentException($"--device must be {Spellings}, got '{name}'");
        int count = GpuDevices.CudaDeviceCount;
        if (count == 0)
            throw new DeviceUnavailableException(
                $"--device {name}: no CUDA device found (ILGPU saw: {GpuDevices.CudaDescription}); use --device cpu " +
                "(or --device gpu-sim to check the GPU code path on a tiny --limit run)");
        if (index >= count)
            throw new DeviceUnavailableException(
                $"--device {name}: there is no CUDA device {index} (ILGPU saw: {GpuDevices.CudaDescription}); use --device cuda:0" +
                (count > 1 ? $" … cuda:{count - 1}" : "") + " or --device cpu");
        try
        {
            return GpuDevices.Cuda(index);
        }
        catch (Exception e)
        {
            throw new DeviceUnavailableException($"--device {name}: ILGPU could not open CUDA device {index} ({e.GetType().Name}: {e.Message}); use --device cpu", e);
        }
    }

    /// <summary>A line for the log: the device, and what kind of machine it is.</summary>
    public static string Describe(Device device) =>
        device == Device.Cpu ? $"device cpu ({Environment.ProcessorCount} cores)"
        : device.Name.StartsWith("cuda:", StringComparison.Ordinal) ? $"device {device.Name} (ILGPU saw: {GpuDevices.CudaDescription})"
        : $"device {device.Name} (ILGPU's CPU simulator of a GPU: very slow, for checking the pipeline on tiny --limit runs)";
}

/// <summary>The requested device does not exist on this machine (e.g. <c>--device cuda</c> without an NVIDIA GPU).</summary>
public sealed class DeviceUnavailableException : Exception
{
    public DeviceUnavailableException(string message) : base(message) { }

    public DeviceUnavailableException(string message, Exception inner) : base(message, inner) { }
}
