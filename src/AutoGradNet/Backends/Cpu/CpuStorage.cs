using System.Buffers;

namespace AutoGradNet.Backends.Cpu;

/// <summary>CPU storage: a pooled managed array (possibly longer than <see cref="Storage.Length"/>).</summary>
internal sealed class CpuStorage<T> : Storage where T : unmanaged
{
    private T[]? _data;
    private readonly bool _pooled = true;

    public CpuStorage(Device device, int length, bool zero)
        : base(DTypeInfo.Of<T>(), device, length)
    {
        _data = length == 0 ? [] : ArrayPool<T>.Shared.Rent(length);
        if (zero) Array.Clear(_data, 0, length);
        CpuMemory.OnAllocate((long)length * Unsafe.SizeOf<T>());
    }

    /// <summary>Wraps a caller-owned array (not pooled, not counted) for internal staging views.</summary>
    public CpuStorage(T[] borrowed, int length) : base(DTypeInfo.Of<T>(), Device.Cpu, length)
    {
        _data = borrowed;
        _pooled = false;
    }

    public T[] Data => _data ?? throw new ObjectDisposedException("tensor storage", "the tensor's storage was freed (the tensor was disposed)");

    public Span<T> Span => Data.AsSpan(0, Length);

    protected override void Free()
    {
        var data = _data;
        _data = null;
        if (!_pooled) return;
        if (data is { Length: > 0 }) ArrayPool<T>.Shared.Return(data);
        CpuMemory.OnFree((long)Length * Unsafe.SizeOf<T>());
    }
}

/// <summary>Process-wide counters for CPU storages (what <see cref="Device.MemoryStats"/> reports for the CPU).</summary>
internal static class CpuMemory
{
    private static long s_bytes, s_count, s_peak;

    public static void OnAllocate(long bytes)
    {
        Interlocked.Increment(ref s_count);
        long now = Interlocked.Add(ref s_bytes, bytes);
        long peak;
        while (now > (peak = Volatile.Read(ref s_peak)) && Interlocked.CompareExchange(ref s_peak, now, peak) != peak) { }
    }

    public static void OnFree(long bytes)
    {
        Interlocked.Decrement(ref s_count);
        Interlocked.Add(ref s_bytes, -bytes);
    }

    public static MemoryStats Stats => new(Volatile.Read(ref s_bytes), Volatile.Read(ref s_count), Volatile.Read(ref s_peak));
}
