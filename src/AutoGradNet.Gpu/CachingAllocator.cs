using ILGPU.Runtime;

namespace AutoGradNet.Gpu;

/// <summary>One device allocation: a byte buffer of a bucket size.</summary>
internal sealed class GpuBlock(MemoryBuffer1D<byte, Stride1D.Dense> buffer, long size)
{
    public MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; } = buffer;
    public long Size { get; } = size;
}

/// <summary>
/// A per-device caching allocator in the manner of PyTorch's CUDA allocator: freed blocks go to size-bucketed free
/// lists instead of back to the driver, and the next request of that bucket reuses them without a device call.
/// Small requests round up to 512 bytes, large ones (from 1 MiB) to 2 MiB, which bounds the waste per block.
/// All kernels run on one stream, so a block freed by the host and reused by a later kernel is ordered after every
/// kernel that used it before. When the device runs out of memory the cache is emptied and the request retried.
/// </summary>
internal sealed class CachingAllocator(Accelerator accelerator) : IDisposable
{
    public const long MinBlock = 512;
    public const long LargeThreshold = 1L << 20;
    public const long LargeRound = 2L << 20;

    private readonly Dictionary<long, Stack<GpuBlock>> _free = [];
    private readonly object _lock = new();
    private long _allocated, _live, _peak, _cached, _reserved, _deviceAllocations;

    /// <summary>The bucket a request of <paramref name="bytes"/> is served from.</summary>
    public static long RoundSize(long bytes)
    {
        if (bytes <= MinBlock) return MinBlock;
        long round = bytes < LargeThreshold ? MinBlock : LargeRound;
        return (bytes + round - 1) / round * round;
    }

    public GpuBlock Allocate(long bytes)
    {
        long size = RoundSize(bytes);
        GpuBlock? block = null;
        lock (_lock)
        {
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                block = stack.Pop();
                _cached -= size;
            }
        }
        block ??= AllocateFromDevice(size);
        lock (_lock)
        {
            _allocated += size;
            _live++;
            if (_allocated > _peak) _peak = _allocated;
        }
        return block;
    }

    private GpuBlock AllocateFromDevice(long size)
    {
        MemoryBuffer1D<byte, Stride1D.Dense> buffer;
        try
        {
            buffer = accelerator.Allocate1D<byte>(size);
        }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException)
        {
            // NOTE: PyTorch's rule: on a failed allocation, free every cached block and try once more.
            EmptyCache();
            buffer = accelerator.Allocate1D<byte>(size);
        }
        lock (_lock)
        {
            _reserved += size;
            _deviceAllocations++;
        }
        return new GpuBlock(buffer, size);
    }

    public void Release(GpuBlock block)
    {
        lock (_lock)
        {
            if (!_free.TryGetValue(block.Size, out var stack)) _free[block.Size] = stack = new Stack<GpuBlock>();
            stack.Push(block);
            _allocated -= block.Size;
            _live--;
            _cached += block.Size;
        }
    }

    /// <summary>Returns every cached (free) block to the device.</summary>
    public void EmptyCache()
    {
        List<GpuBlock> blocks = [];
        lock (_lock)
        {
            foreach (var stack in _free.Values) blocks.AddRange(stack);
            _free.Clear();
            _cached = 0;
            foreach (var b in blocks) _reserved -= b.Size;
        }
        if (blocks.Count == 0) return;
        accelerator.Synchronize(); // kernels still queued may read these blocks
        foreach (var b in blocks) b.Buffer.Dispose();
    }

    public void ResetPeak()
    {
        lock (_lock) _peak = _allocated;
    }

    public GpuMemoryStats Stats
    {
        get
        {
            lock (_lock) return new GpuMemoryStats(_allocated, _live, _peak, _cached, _reserved, _deviceAllocations);
        }
    }

    public void Dispose() => EmptyCache();
}
