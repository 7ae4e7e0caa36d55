namespace AutoGradNet.Kernels;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
/// generator. Element i of a draw depends only on (key, counter + i/4), never on thread scheduling, so the CPU
/// and GPU backends produce the same numbers for the same seed on every machine.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The four 32-bit words of block <paramref name="counter"/> under <paramref name="key"/>.</summary>
    public static (uint, uint, uint, uint) Block(ulong key, ulong counter)
    {
        uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        for (int round = 0; round < 10; round++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n1 = (uint)p1;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            uint n3 = (uint)p0;
            c0 = n0; c1 = n1; c2 = n2; c3 = n3;
            k0 += W0; k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Word <paramref name="index"/> of the stream (4 words per block).</summary>
    public static uint Word(ulong key, ulong counter, long index)
    {
        var (a, b, c, d) = Block(key, counter + (ulong)(index >> 2));
        return (index & 3) switch { 0 => a, 1 => b, 2 => c, _ => d };
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits, from two words.</summary>
    public static double ToUnitDouble(uint hi, uint lo) => (((ulong)hi << 21) ^ (lo >> 11)) * (1.0 / (1UL << 53));

    /// <summary>
    /// The value of a random draw from one Philox block (w0..w3): element 2p (<paramref name="second"/> false) or 2p + 1
    /// of a fill whose block p this is. Written once for both backends, so a seed gives the same tensor on each: the GPU
    /// computes one element per thread with this, the CPU both elements of a block at once with <see cref="DrawPair"/>,
    /// from the same pieces. Uniform: a + (b − a)·u; integer: its floor; Bernoulli: u &lt; a; normal: a + b·z with z
    /// from Box–Muller over the block's two word pairs. The multiply-adds go through <typeparamref name="TMulAdd"/>,
    /// fused on both devices: a GPU compiler fuses a·b + c on its own, and the CPU's unfused rounding differed from it
    /// in the last bit (seen on an H200).
    /// </summary>
    internal static double Draw<TMulAdd>(uint w0, uint w1, uint w2, uint w3, bool second, Backends.RandomKind kind, double a, double b)
        where TMulAdd : struct, IMulAdd
    {
        if (kind != Backends.RandomKind.Normal) return FromUnit<TMulAdd>(second ? ToUnitDouble(w2, w3) : ToUnitDouble(w0, w1), kind, a, b);
        var (radius, angle) = BoxMuller(w0, w1, w2, w3);
        return Normal<TMulAdd>(radius, second ? Math.Sin(angle) : Math.Cos(angle), a, b);
    }

    /// <summary>Both elements of a block's draw (<see cref="Draw"/> with second = false and true), sharing the
    /// Box–Muller radius and angle of a normal draw.</summary>
    internal static (double First, double Second) DrawPair<TMulAdd>(uint w0, uint w1, uint w2, uint w3, Backends.RandomKind kind, double a, double b)
        where TMulAdd : struct, IMulAdd
    {
        if (kind != Backends.RandomKind.Normal)
            return (FromUnit<TMulAdd>(ToUnitDouble(w0, w1), kind, a, b), FromUnit<TMulAdd>(ToUnitDouble(w2, w3), kind, a, b));
        var (radius, angle) = BoxMuller(w0, w1, w2, w3);
        return (Normal<TMulAdd>(radius, Math.Cos(angle), a, b), Normal<TMulAdd>(radius, Math.Sin(angle), a, b));
    }

    /// <summary>The radius and angle of a Box–Muller pair from a block's two word pairs.</summary>
    private static (double Radius, double Angle) BoxMuller(uint w0, uint w1, uint w2, uint w3)
    {
        double u1 = 1.0 - ToUnitDouble(w0, w1); // (0, 1]: log stays finite
        return (Math.Sqrt(-2.0 * Math.Log(u1)), 2 * Math.PI * ToUnitDouble(w2, w3));
    }

    private static double Normal<TMulAdd>(double radius, double trig, double a, double b) where TMulAdd : struct, IMulAdd =>
        default(TMulAdd).Invoke(b, radius * trig, a);

    /// <summary>A uniform, integer or Bernoulli draw from u in [0, 1).</summary>
    private static double FromUnit<TMulAdd>(double u, Backends.RandomKind kind, double a, double b) where TMulAdd : struct, IMulAdd =>
        kind switch
        {
            Backends.RandomKind.Uniform => default(TMulAdd).Invoke(b - a, u, a),
            Backends.RandomKind.Integer => Math.Floor(default(TMulAdd).Invoke(b - a, u, a)),
            _ => u < a ? 1.0 : 0.0, // Bernoulli
        };

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public static float ToUnitFloat(uint word) => (word >> 8) * (1.0f / (1 << 24));
}

/// <summary>x·y + z rounded once: how a random draw's multiply-adds are computed on each device.</summary>
internal interface IMulAdd
{
    double Invoke(double x, double y, double z);
}

/// <summary>The CPU's fused multiply-add (one FMA instruction on x64 and Arm64).</summary>
internal readonly struct FusedMulAdd : IMulAdd
{
    public double Invoke(double x, double y, double z) => Math.FusedMultiplyAdd(x, y, z);
}
