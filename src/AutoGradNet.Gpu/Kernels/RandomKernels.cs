using AutoGradNet.Backends;
using AutoGradNet.Kernels;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>
/// Random fills: element i is a pure function of (key, counter, i) through the core's Philox4x32-10, computed
/// exactly as the CPU backend's draw (in double, then converted to the element type), so a seed gives the same
/// tensor on both backends.
/// </summary>
internal static class RandomKernels
{
    public static void Random<TD, CD>(Index1D i, ArrayView<TD> y, RandomArgs p) where TD : unmanaged where CD : struct, IElement<TD>
    {
        y[p.Offset + i] = default(CD).FromDouble(Draw(p.Key, p.Counter, i, p.Kind, p.A, p.B));
    }

    /// <summary>Value i of a draw (the CPU backend's <c>Draw</c>, without its argument check).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Draw(ulong key, ulong counter, long i, int kind, double a, double b)
    {
        var (w0, w1, w2, w3) = Philox.Block(key, counter + (ulong)(i >> 1));
        return Philox.Draw<ContractedMulAdd>(w0, w1, w2, w3, (i & 1) != 0, (RandomKind)kind, a, b);
    }
}

/// <summary>
/// x·y + z written plainly: ILGPU has no fused multiply-add intrinsic (Math.FusedMultiplyAdd becomes an unresolved
/// call), but the PTX assembler contracts a multiply feeding an add into one fma.rn — the CPU's
/// <see cref="FusedMulAdd"/> rounding, checked against it on an H200 by the CUDA agreement tests. (On ILGPU's CPU
/// simulator this rounds twice; the simulator tests compare random draws with a one-ulp allowance.)
/// </summary>
internal readonly struct ContractedMulAdd : IMulAdd
{
    public double Invoke(double x, double y, double z) => x * y + z;
}

/// <summary>Arguments of a random fill.</summary>
internal struct RandomArgs
{
    public ulong Key, Counter;
    public double A, B;
    public int Kind, Offset;
}
