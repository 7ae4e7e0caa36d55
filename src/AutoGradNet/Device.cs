using AutoGradNet.Backends;
using AutoGradNet.Backends.Cpu;

namespace AutoGradNet;

/// <summary>What kind of hardware a <see cref="Device"/> is.</summary>
public enum DeviceKind
{
    /// <summary>The host CPU with managed SIMD kernels.</summary>
    Cpu,
    /// <summary>An accelerator reached through a GPU backend assembly (CUDA, or ILGPU's CPU simulator for tests).</summary>
    Accelerator,
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
