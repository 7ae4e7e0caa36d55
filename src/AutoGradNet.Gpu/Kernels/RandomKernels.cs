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
        if (kind == (int)RandomKind.Normal)
        {
            double u1 = 1.0 - Philox.ToUnitDouble(w0, w1); // (0, 1]: log stays finite
            double u2 = Philox.ToUnitDouble(w2, w3);
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double z = (i & 1) == 0 ? radius * Math.Cos(2 * Math.PI * u2) : radius * Math.Sin(2 * Math.PI * u2);
            return a + b * z;
        }
        double u = (i & 1) == 0 ? Philox.ToUnitDouble(w0, w1) : Philox.ToUnitDouble(w2, w3);
        if (kind == (int)RandomKind.Uniform) return a + (b - a) * u;
        if (kind == (int)RandomKind.Integer) return Math.Floor(a + (b - a) * u);
        return u < a ? 1.0 : 0.0; // Bernoulli
    }
}

/// <summary>Arguments of a random fill.</summary>
internal struct RandomArgs
{
    public ulong Key, Counter;
    public double A, B;
    public int Kind, Offset;
}
