using System.Runtime.InteropServices;

namespace AutoGradNet.TorchBaseline;

/// <summary>
/// glibc malloc tuning for libtorch. libtorch's CPU allocator takes every tensor from <c>malloc</c>
/// (<c>posix_memalign</c>). With glibc's defaults, blocks above the (dynamic) mmap threshold are mmap'ed and
/// munmap'ed on every free, and the top of the heap is trimmed back to the OS, so each convolution pays page
/// faults and zeroing for its im2col/output buffers again — up to 10× slower convolutions on this machine.
/// PyTorch users get the same effect from jemalloc/tcmalloc or <c>MALLOC_MMAP_THRESHOLD_</c>; here it is set
/// explicitly and the result is printed with the numbers.
/// </summary>
public static partial class NativeAllocator
{
    // glibc <malloc.h>
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;

    /// <summary>32 MiB: glibc's largest allowed mmap threshold on 64-bit (HEAP_MAX_SIZE / 2).</summary>
    public const int MmapThreshold = 32 * 1024 * 1024;

    /// <summary>-1 disables trimming completely (mallopt(3)).</summary>
    public const int TrimThreshold = -1;

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    [LibraryImport("libc.so.6", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();

    /// <summary>What <see cref="Configure"/> did, in one line for the results header.</summary>
    public static string Summary { get; private set; } = "glibc malloc defaults (mallopt not called)";

    /// <summary>Sets M_MMAP_THRESHOLD = 32 MiB and M_TRIM_THRESHOLD = -1 (no trimming); mallopt returns 1 on success.</summary>
    public static void Configure()
    {
        int mmap = Mallopt(M_MMAP_THRESHOLD, MmapThreshold);
        int trim = Mallopt(M_TRIM_THRESHOLD, TrimThreshold);
        if (mmap != 1 || trim != 1)
            throw new InvalidOperationException(
                $"mallopt failed: M_MMAP_THRESHOLD={MmapThreshold} returned {mmap}, M_TRIM_THRESHOLD={TrimThreshold} returned {trim}; expected 1 for both.");
        Summary = $"mallopt(M_MMAP_THRESHOLD, 32 MiB) = {mmap}, mallopt(M_TRIM_THRESHOLD, -1 = never trim) = {trim} (glibc {LibcVersion})";
    }

    public static string LibcVersion
    {
        get
        {
            try { return Marshal.PtrToStringUTF8(GnuGetLibcVersion()) ?? "?"; }
            catch (EntryPointNotFoundException) { return "not glibc"; }
            catch (DllNotFoundException) { return "not glibc"; }
        }
    }
}
