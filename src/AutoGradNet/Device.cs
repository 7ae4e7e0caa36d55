using AutoGradNet.Backends;
using AutoGradNet.Backends.Cpu;
using AutoGradNet.Backends.Meta;

namespace AutoGradNet;

/// <summary>What kind of hardware a <see cref="Device"/> is.</summary>
public enum DeviceKind
{
    /// <summary>The host CPU with managed SIMD kernels.</summary>
    Cpu,
    /// <summary>An accelerator reached through a GPU backend assembly (CUDA, or ILGPU's CPU simulator for tests).</summary>
    Accelerator,
    /// <summary>Shapes only (PyTorch's meta device): no elements are stored and kernels do nothing.</summary>
    Meta,
}

/// <summary>
/// Where a tensor's storage lives and which backend runs its kernels. Ops never switch on the device:
/// they ask the tensor's device for its backend, so a new backend plugs in without touching op files.
/// </summary>
public sealed class Device : IEquatable<Device>
{
    internal Device(string name, DeviceKind kind, IBackend backend)
    {
        Name = name;
        Kind = kind;
        Backend = backend;
    }

    /// <summary>The CPU device (managed SIMD kernels, multi-threaded for large work).</summary>
    public static Device Cpu { get; } = new("cpu", DeviceKind.Cpu, CpuBackend.Instance);

    /// <summary>
    /// The meta device (PyTorch's <c>torch.device("meta")</c>): tensors carry shape, dtype and autograd graph but no
    /// elements, and kernels do nothing. Build a full-size model under <c>using (Device.Meta.AsDefault())</c> to count
    /// its parameters, list its state-dict keys or infer its output shapes without memory or compute. Values read
    /// back are zeros.
    /// </summary>
    public static Device Meta { get; } = new("meta", DeviceKind.Meta, MetaBackend.Instance);

    [ThreadStatic] private static Device? t_default;

    /// <summary>
    /// Where creation functions (<see cref="Tensor.Zeros(int[])"/>, <see cref="Tensor.Randn(int[])"/>, … and hence
    /// layer constructors) put tensors when no device is given: the CPU unless an <see cref="AsDefault"/> scope is
    /// active on this thread.
    /// </summary>
    public static Device Default => t_default ?? Cpu;

    /// <summary>Makes this device the default for tensor creation on this thread until the returned scope is disposed (PyTorch's <c>with torch.device(...)</c>).</summary>
    public DefaultScope AsDefault()
    {
        var scope = new DefaultScope(t_default);
        t_default = this;
        return scope;
    }

    /// <summary>Restores the previous default device when disposed.</summary>
    public readonly struct DefaultScope : IDisposable
    {
        private readonly Device? _previous;
        internal DefaultScope(Device? previous) => _previous = previous;

        /// <summary>Restores the default device that was in force when the scope was made.</summary>
        public void Dispose() => t_default = _previous;
    }

    /// <summary>Short name such as <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string Name { get; }

    /// <summary>The kind of hardware.</summary>
    public DeviceKind Kind { get; }

    internal IBackend Backend { get; }

    /// <summary>Bytes and buffers currently held by tensors on this device, cached, and the peak.</summary>
    public MemoryStats MemoryStats() => Backend.MemoryStats();

    /// <inheritdoc/>
    public bool Equals(Device? other) => ReferenceEquals(this, other);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => ReferenceEquals(this, obj);
    /// <inheritdoc/>
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>A snapshot of a device's memory counters.</summary>
/// <param name="AllocatedBytes">Bytes held by live storages.</param>
/// <param name="LiveStorages">Number of live storages (one storage may back several tensor views).</param>
/// <param name="PeakAllocatedBytes">The highest <paramref name="AllocatedBytes"/> seen since start or the last reset.</param>
public readonly record struct MemoryStats(long AllocatedBytes, long LiveStorages, long PeakAllocatedBytes);
