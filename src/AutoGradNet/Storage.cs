namespace AutoGradNet;

/// <summary>
/// A reference-counted block of elements on one device. Several tensor views share one storage; each view
/// holds one reference, and the block goes back to the device's pool when the last reference is released.
/// The version counter is bumped by every in-place write, so the tape can tell when a saved tensor changed.
/// </summary>
internal abstract class Storage
{
    private int _refs = 1;

    protected Storage(DType dtype, Device device, int length)
    {
        DType = dtype;
        Device = device;
        Length = length;
    }

    public DType DType { get; }
    public Device Device { get; }
    public int Length { get; }
    public int Version;
    public int RefCount => Volatile.Read(ref _refs);
    public bool IsFreed => Volatile.Read(ref _refs) <= 0;

    public void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException("Storage", "a storage was revived after it was freed");
    }

    public void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left == 0) Free();
        else if (left < 0) throw new InvalidOperationException("a storage was released more often than it was referenced");
    }

    protected abstract void Free();
}
