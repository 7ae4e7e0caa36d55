using System.Globalization;
using ILGPU.Algorithms;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace AutoGradNet.Gpu;

/// <summary>
/// Entry point of the GPU backend: AutoGradNet <see cref="Device"/>s whose kernels run on ILGPU accelerators.
/// Move tensors and modules with <c>tensor.To(device)</c> and <c>module.To(device)</c>; ops then run there.
/// </summary>
/// <example>
/// <code>
/// var device = GpuDevices.IsCudaAvailable ? GpuDevices.Cuda() : Device.Cpu;
/// var x = Tensor.Randn(64, 3).To(device);
/// </code>
/// </example>
public static class GpuDevices
{
    private static readonly object s_lock = new();
    private static readonly Lazy<(Context? Context, int Count, string Description)> s_cuda = new(DetectCuda);
    private static readonly Dictionary<int, Device> s_cudaDevices = [];
    private static Device? s_simulator;

    private static (Context?, int, string) DetectCuda()
    {
        try
        {
            var context = Context.Create(builder => builder.Cuda().EnableAlgorithms());
            var devices = context.GetCudaDevices();
            if (devices.Count > 0)
            {
                var names = new List<string>();
                for (int i = 0; i < devices.Count; i++)
                {
                    CudaDevice d = devices[i];
                    names.Add(string.Create(CultureInfo.InvariantCulture, $"cuda:{i} = {d.Name}, {d.Architecture?.ToString() ?? "unknown architecture"}, {d.MemorySize / (double)(1L << 30):F1} GiB"));
                }
                return (context, devices.Count, $"{devices.Count} CUDA device(s): {string.Join("; ", names)}");
            }
            context.Dispose();
            return (null, 0, DescribeMissingCuda());
        }
        catch (Exception e)
        {
            // A missing or broken CUDA driver means no CUDA devices; detection itself must never fail.
            return (null, 0, $"no usable CUDA device: looking for one failed with {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Why ILGPU found no CUDA device: no driver library at all, or a driver without a GPU.</summary>
    private static string DescribeMissingCuda()
    {
        try
        {
            var error = CudaAPI.CurrentAPI.GetDriverVersion(out var version);
            return error == CudaError.CUDA_SUCCESS
                ? $"a CUDA driver, version {version}, but no CUDA GPU"
                : $"no CUDA GPU; the CUDA driver reports {error}";
        }
        catch (Exception)
        {
            // ILGPU's stand-in API throws NotSupportedException when the driver library cannot be loaded.
            return "no CUDA driver: the driver library (libcuda) could not be loaded";
        }
    }

    /// <summary>
    /// What ILGPU found when it looked for CUDA devices, in words for messages: each GPU's index, name, architecture
    /// and memory (<c>1 CUDA device(s): cuda:0 = NVIDIA H100 80GB HBM3, SM_90, 79.1 GiB</c>), or why there is none
    /// (<c>no CUDA driver: …</c>, or a driver without a GPU).
    /// </summary>
    public static string CudaDescription => s_cuda.Value.Description;

    /// <summary>Number of CUDA devices ILGPU can use (0 without an NVIDIA GPU and driver).</summary>
    public static int CudaDeviceCount => s_cuda.Value.Count;

    /// <summary>True when at least one CUDA device is present.</summary>
    public static bool IsCudaAvailable => CudaDeviceCount > 0;

    /// <summary>The CUDA device <paramref name="index"/> (named <c>cuda:index</c>); one <see cref="Device"/> per GPU per process.</summary>
    /// <exception cref="InvalidOperationException">No such CUDA device is present.</exception>
    public static Device Cuda(int index = 0)
    {
        var (context, count, description) = s_cuda.Value;
        if (context is null || index < 0 || index >= count)
            throw new InvalidOperationException(count == 0
                ? $"GpuDevices.Cuda: no CUDA device is present (ILGPU saw: {description}); use GpuDevices.CpuSimulator() to test GPU code paths"
                : $"GpuDevices.Cuda: device index {index} is out of range (ILGPU saw: {description})");
        lock (s_lock)
        {
            if (s_cudaDevices.TryGetValue(index, out var device)) return device;
            var accelerator = context.GetCudaDevice(index).CreateCudaAccelerator(context);
            device = Create($"cuda:{index}", new GpuBackend(context, accelerator, ownsContext: false));
            s_cudaDevices[index] = device;
            return device;
        }
    }

    /// <summary>
    /// ILGPU's CPU accelerator as a device (named <c>ilgpu-cpu</c>): it runs the GPU kernels by simulating every thread,
    /// group barriers and shared memory included, so GPU code paths can be tested without a GPU. It is slow
    /// (about a microsecond per simulated thread): use it for small tensors.
    /// </summary>
    public static Device CpuSimulator()
    {
        lock (s_lock)
        {
            if (s_simulator is not null) return s_simulator;
            var context = Context.Create(builder => builder.CPU(CPUDevice.Default).EnableAlgorithms());
            var accelerator = context.CreateCPUAccelerator(0);
            s_simulator = Create("ilgpu-cpu", new GpuBackend(context, accelerator, ownsContext: true));
            return s_simulator;
        }
    }

    private static Device Create(string name, GpuBackend backend)
    {
        var device = new Device(name, DeviceKind.Accelerator, backend);
        backend.Attach(device);
        return device;
    }

    /// <summary>True when <paramref name="device"/> is one of this backend's devices.</summary>
    public static bool IsGpuDevice(Device device) => device.Backend is GpuBackend;

    internal static GpuBackend Backend(Device device) =>
        device.Backend as GpuBackend ?? throw new ArgumentException($"{device} is not a GPU device (create one with GpuDevices.Cuda() or GpuDevices.CpuSimulator())", nameof(device));

    /// <summary>The caching allocator's counters for <paramref name="device"/> (allocated, cached, reserved, peak).</summary>
    public static GpuMemoryStats MemoryInfo(Device device) => Backend(device).Allocator.Stats;

    /// <summary>Returns the cached free blocks of <paramref name="device"/> to the driver (PyTorch's <c>torch.cuda.empty_cache()</c>).</summary>
    public static void EmptyCache(Device device)
    {
        var backend = Backend(device);
        backend.Bind();
        backend.Allocator.EmptyCache();
    }

    /// <summary>Restarts the peak counter of <paramref name="device"/> at the current allocation.</summary>
    public static void ResetPeakMemory(Device device) => Backend(device).Allocator.ResetPeak();

    /// <summary>Waits until every kernel queued on <paramref name="device"/> has finished (for timing).</summary>
    public static void Synchronize(Device device) => Backend(device).Synchronize();

    /// <summary>Which GEMM implementation matrix products on <paramref name="device"/> use.</summary>
    public static GpuMatMul GetMatMul(Device device) => Backend(device).MatMulKind;

    /// <summary>
    /// Selects the GEMM implementation of <paramref name="device"/>. <see cref="GpuMatMul.CuBlas"/> applies to CUDA
    /// devices only (it needs the cuBLAS library at run time); elsewhere the tiled kernel runs.
    /// </summary>
    /// <exception cref="InvalidOperationException">cuBLAS was requested on a CUDA device where it cannot be loaded.</exception>
    public static void SetMatMul(Device device, GpuMatMul kind)
    {
        var backend = Backend(device);
        if (kind == GpuMatMul.CuBlas) backend.EnsureCuBlas();
        backend.MatMulKind = kind;
    }

    /// <summary>How long each kernel instantiation took to compile and load on first use, in load order.</summary>
    public static IReadOnlyList<KernelCompileTime> KernelCompileTimes() => KernelCache.CompileTimes;
}

/// <summary>The GEMM implementation behind matrix products and convolutions on a GPU device.</summary>
public enum GpuMatMul
{
    /// <summary>The backend's own shared-memory tiled kernel (every device; the reference); convolutions run as implicit GEMMs in the same tiling.</summary>
    Tiled,
    /// <summary>NVIDIA cuBLAS through ILGPU.Algorithms (CUDA devices; the tiled kernel elsewhere); convolutions then run as im2col + cuBLAS.</summary>
    CuBlas,
}

/// <summary>Counters of a GPU device's caching allocator.</summary>
/// <param name="AllocatedBytes">Bytes in blocks held by live storages (block sizes are rounded up to buckets).</param>
/// <param name="LiveStorages">Blocks held by live storages (and kernel scratch in flight).</param>
/// <param name="PeakAllocatedBytes">The highest <paramref name="AllocatedBytes"/> since start or the last reset.</param>
/// <param name="CachedBytes">Bytes in freed blocks kept for reuse.</param>
/// <param name="ReservedBytes">Bytes obtained from the driver (allocated plus cached).</param>
/// <param name="DeviceAllocations">Number of allocations requested from the driver so far.</param>
public readonly record struct GpuMemoryStats(long AllocatedBytes, long LiveStorages, long PeakAllocatedBytes, long CachedBytes, long ReservedBytes, long DeviceAllocations);

/// <summary>The first-use compile and load time of one kernel instantiation.</summary>
/// <param name="Kernel">Kernel name and type arguments.</param>
/// <param name="Accelerator">The accelerator type it was compiled for.</param>
/// <param name="Elapsed">Compile plus load time.</param>
public readonly record struct KernelCompileTime(string Kernel, string Accelerator, TimeSpan Elapsed);
