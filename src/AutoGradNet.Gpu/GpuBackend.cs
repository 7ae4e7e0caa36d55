using AutoGradNet.Backends;
using AutoGradNet.Gpu.Kernels;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace AutoGradNet.Gpu;

/// <summary>
/// The core's <see cref="IBackend"/> on an ILGPU accelerator (a CUDA GPU, or ILGPU's CPU simulator in tests).
/// Every kernel runs on the accelerator's default stream, so launches, copies and the caching allocator's block
/// reuse are ordered; the host waits only when it reads data back (download, index checks, non-finite checks).
/// </summary>
internal sealed partial class GpuBackend : IBackend, IDisposable
{
    private readonly object _launchLock = new();
    private readonly Context _context;
    private readonly bool _ownsContext;
    private Device? _device;
    private MemoryBuffer1D<long, Stride1D.Dense>? _status;

    public GpuBackend(Context context, Accelerator accelerator, bool ownsContext)
    {
        _context = context;
        _ownsContext = ownsContext;
        Accelerator = accelerator;
        Allocator = new CachingAllocator(accelerator);
        int maxGroup = accelerator.MaxNumThreadsPerGroup;
        ReduceGroup = LargestPowerOfTwoAtMost(Math.Min(ReduceKernels.MaxGroup, maxGroup));
        GemmGroup = 1;
        while (GemmGroup * 2 * GemmGroup * 2 <= Math.Min(256, maxGroup) && GemmGroup * 2 * 4 <= GemmKernels.MaxTile) GemmGroup *= 2;
        IsCuda = accelerator is CudaAccelerator;
    }

    public Accelerator Accelerator { get; }

    public CachingAllocator Allocator { get; }

    public bool IsCuda { get; }

    /// <summary>Threads per group of the group-per-row reductions (a power of two).</summary>
    public int ReduceGroup { get; }

    /// <summary>Edge of the GEMM thread group (the tile is 4 × this in each direction).</summary>
    public int GemmGroup { get; }

    /// <summary>Rows of at least this many elements are reduced by a group of threads, shorter ones by one thread.</summary>
    internal int GroupRowThreshold { get; set; } = 64;

    /// <summary>Rows of at least this many elements (with few rows) are summed in two passes over segments.</summary>
    internal int SplitRowThreshold { get; set; } = 1 << 16;

    /// <summary>Which GEMM implementation <see cref="MatMul"/> uses.</summary>
    public GpuMatMul MatMulKind { get; set; } = GpuMatMul.Tiled;

    public Device Device => _device ?? throw new InvalidOperationException("gpu backend: no device attached");

    internal void Attach(Device device) => _device = device;

    private AcceleratorStream Stream => Accelerator.DefaultStream;

    /// <summary>
    /// Makes the accelerator current on this thread (CUDA contexts are per thread). Asks ILGPU which accelerator is
    /// current rather than remembering the last one bound here: creating or binding any other accelerator on the
    /// thread (a user's own ILGPU code, a second device) makes that one current, and a remembered binding would then
    /// launch kernels into the wrong CUDA context ("invalid resource handle", first seen on an H200).
    /// </summary>
    internal void Bind()
    {
        if (!ReferenceEquals(Accelerator.Current, Accelerator)) Accelerator.Bind();
    }

    private static int LargestPowerOfTwoAtMost(int n)
    {
        int p = 1;
        while (p * 2 <= n) p *= 2;
        return p;
    }

    private static int NextPowerOfTwo(int n)
    {
        int p = 1;
        while (p < n) p *= 2;
        return p;
    }

    // ---- storage -------------------------------------------------------------------------------------------

    public Storage Allocate(DType dtype, int length, bool zero)
    {
        Bind();
        Storage storage = dtype switch
        {
            DType.Float32 => new GpuStorage<float>(Allocator, Device, dtype, length),
            DType.Float64 => new GpuStorage<double>(Allocator, Device, dtype, length),
            DType.Int64 => new GpuStorage<long>(Allocator, Device, dtype, length),
            DType.Bool => new GpuStorage<byte>(Allocator, Device, dtype, length),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
        if (zero && length > 0)
        {
            lock (_launchLock)
            {
                switch (storage)
                {
                    case GpuStorage<float> f: f.View.MemSetToZero(Stream); break;
                    case GpuStorage<double> d: d.View.MemSetToZero(Stream); break;
                    case GpuStorage<long> l: l.View.MemSetToZero(Stream); break;
                    case GpuStorage<byte> b: b.View.MemSetToZero(Stream); break;
                }
            }
        }
        return storage;
    }

    public MemoryStats MemoryStats()
    {
        var s = Allocator.Stats;
        return new MemoryStats(s.AllocatedBytes, s.LiveStorages, s.PeakAllocatedBytes);
    }

    /// <summary>The elements of a tensor's storage (float, double, long, or byte for bool).</summary>
    internal static ArrayView<T> V<T>(Tensor t) where T : unmanaged => ((GpuStorage<T>)t.StorageRef).View;

    // ---- launching -----------------------------------------------------------------------------------------

    /// <summary>Runs <paramref name="launch"/> with the accelerator bound and launches serialized.</summary>
    private void Run(Action<AcceleratorStream> launch)
    {
        Bind();
        lock (_launchLock) launch(Stream);
    }

    private TDelegate Kernel<TDelegate>(string name, Func<Accelerator, TDelegate> load) where TDelegate : Delegate =>
        KernelCache.Get(Accelerator, name, load);

    /// <summary>Waits for every queued kernel and copy.</summary>
    public void Synchronize()
    {
        Bind();
        lock (_launchLock) Stream.Synchronize();
    }

    /// <summary>
    /// Runs a kernel that reports into a two-element device buffer ([flag, value], zeroed first) and returns the
    /// report; the launch and the read-back hold the launch lock together, so concurrent callers cannot mix reports.
    /// </summary>
    private (long Flag, long Value) RunWithStatus(Action<AcceleratorStream, ArrayView<long>> launch)
    {
        Bind();
        var host = new long[2];
        lock (_launchLock)
        {
            _status ??= Accelerator.Allocate1D<long>(2);
            var status = _status.View.AsContiguous();
            status.MemSetToZero(Stream);
            launch(Stream, status);
            status.CopyToCPU(Stream, host);
            Stream.Synchronize();
        }
        return (host[0], host[1]);
    }

    // ---- host transfers ------------------------------------------------------------------------------------

    public Array Download(Tensor src)
    {
        Bind();
        int n = src.Numel;
        return src.DType switch
        {
            DType.Float32 => DownloadT<float>(src, n),
            DType.Float64 => DownloadT<double>(src, n),
            DType.Int64 => DownloadT<long>(src, n),
            _ => Array.ConvertAll(DownloadT<byte>(src, n), b => b != 0),
        };
    }

    private T[] DownloadT<T>(Tensor src, int n) where T : unmanaged
    {
        var host = new T[n];
        if (n == 0) return host;
        lock (_launchLock)
        {
            V<T>(src).SubView(src.Offset, n).CopyToCPU(Stream, host);
            Stream.Synchronize();
        }
        return host;
    }

    public void Upload(Array src, Tensor dst)
    {
        Bind();
        int n = dst.Numel;
        if (n == 0) return;
        switch (src)
        {
            case float[] f: UploadT(f, dst, n); break;
            case double[] d: UploadT(d, dst, n); break;
            case long[] l: UploadT(l, dst, n); break;
            case bool[] b: UploadT(Array.ConvertAll(b, v => v ? (byte)1 : (byte)0), dst, n); break;
            default: throw new ArgumentException($"upload: unsupported host array {src.GetType().Name}");
        }
    }

    private void UploadT<T>(T[] host, Tensor dst, int n) where T : unmanaged
    {
        lock (_launchLock)
        {
            // NOTE: a copy from pageable host memory is staged before the call returns, so the array may be reused.
            V<T>(dst).SubView(dst.Offset, n).CopyFromCPU(Stream, new ReadOnlySpan<T>(host, 0, n));
        }
    }

    public void Dispose()
    {
        Synchronize();
        Allocator.Dispose();
        _status?.Dispose();
        Accelerator.Dispose();
        if (_ownsContext) _context.Dispose();
    }
}
