using AutoGradNet.Kernels;

namespace AutoGradNet;

/// <summary>
/// A seedable source of random numbers (PyTorch's <c>torch.Generator</c>): a Philox4x32-10 key and a counter.
/// The same seed gives the same tensors on every machine and backend. Each thread has its own
/// <see cref="Default"/> generator, so concurrent training runs do not disturb each other.
/// </summary>
public sealed class Generator
{
    private const ulong DefaultSeed = 0x2545F4914F6CDD1DUL;
    [ThreadStatic] private static Generator? t_default;

    /// <summary>A generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed) => ManualSeed(seed);

    /// <summary>This thread's default generator, used when an op is given none.</summary>
    public static Generator Default => t_default ??= new Generator(DefaultSeed);

    /// <summary>The seed last set.</summary>
    public ulong Seed { get; private set; }

    /// <summary>Philox blocks consumed so far.</summary>
    public ulong Offset { get; private set; }

    /// <summary>Restarts the stream from <paramref name="seed"/>.</summary>
    public Generator ManualSeed(ulong seed)
    {
        Seed = seed;
        Offset = 0;
        return this;
    }

    /// <summary>The generator's position, to restore later with <see cref="SetState"/> (for exact resumption).</summary>
    public (ulong Seed, ulong Offset) GetState() => (Seed, Offset);

    /// <summary>Restores a position from <see cref="GetState"/>.</summary>
    public void SetState((ulong Seed, ulong Offset) state) => (Seed, Offset) = state;

    /// <summary>Reserves the blocks for <paramref name="words"/> random words and returns the first block's counter.</summary>
    internal ulong Advance(long words)
    {
        ulong start = Offset;
        Offset += (ulong)((words + 3) / 4);
        return start;
    }

    /// <summary>A uniform double in [0, 1) (for host-side decisions such as augmentation).</summary>
    public double NextDouble()
    {
        ulong counter = Advance(4);
        var (a, b, _, _) = Philox.Block(Seed, counter);
        return Philox.ToUnitDouble(a, b);
    }

    /// <summary>A uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), "NextInt: the bound must be positive");
        return (int)(NextDouble() * maxExclusive);
    }
}
