using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AutoGradNet.Backends.Cpu;

/// <summary>Per-thread scratch of the CPU kernels: pinned arrays, addressed by pointer, that only grow, so steady-state
/// calls allocate nothing.</summary>
internal static unsafe class ScratchBuffer
{
    /// <summary>Alignment of what <see cref="Aligned{T}"/> returns: a cache line, so vector loads of whole vectors
    /// from the start never split lines.</summary>
    public const int Alignment = 64;

    /// <summary>The array in <paramref name="slot"/>, grown to hold at least <paramref name="elements"/> from a
    /// <see cref="Alignment"/>-byte boundary, and a pointer to that boundary.</summary>
    public static T* Aligned<T>(ref T[]? slot, int elements) where T : unmanaged
    {
        int slack = Alignment / sizeof(T);
        T[]? buffer = slot;
        if (buffer is null || buffer.Length < elements + slack)
            slot = buffer = GC.AllocateUninitializedArray<T>(elements + slack, pinned: true);
        T* p = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (T*)(((nuint)p + (Alignment - 1)) & ~(nuint)(Alignment - 1));
    }
}
