namespace AutoGradNet.Gpu;

/// <summary>
/// Device storage: a block from the device's <see cref="CachingAllocator"/> viewed as elements of
/// <typeparamref name="T"/> (float, double, long, or byte for bool). Reference counting comes from
/// <see cref="Storage"/>; the last release hands the block back to the allocator's free lists.
/// </summary>
internal sealed class GpuStorage<T> : Storage where T : unmanaged
{
    private readonly CachingAllocator _allocator;
    private GpuBlock? _block;
    private readonly ArrayView<T> _view;

    public GpuStorage(CachingAllocator allocator, Device device, DType dtype, int length)
        : base(dtype, device, length)
    {
        _allocator = allocator;
        _block = allocator.Allocate((long)length * Unsafe.SizeOf<T>());
        _view = _block.Buffer.View.AsContiguous().Cast<T>().SubView(0, length);
    }

    /// <summary>The elements (exactly <see cref="Storage.Length"/> of them).</summary>
    public ArrayView<T> View => _block is null
        ? throw new ObjectDisposedException("tensor storage", "the tensor's storage was freed (the tensor was disposed)")
        : _view;

    /// <summary>The whole block (for device-wide memsets).</summary>
    public GpuBlock Block => _block ?? throw new ObjectDisposedException("tensor storage");

    protected override void Free()
    {
        var block = _block;
        _block = null;
        if (block is not null) _allocator.Release(block);
    }
}
