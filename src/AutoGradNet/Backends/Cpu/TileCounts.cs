namespace AutoGradNet.Backends.Cpu;

/// <summary>A register tile's row, vector or tap count as a JIT-time constant: a kernel written once over struct type
/// parameters of this interface compiles, per instantiation, only its own loads and FMAs (the GEMM's micro-kernel,
/// the direct convolution's tile).</summary>
internal interface ICount
{
    static abstract int Count { get; }
}

internal readonly struct One : ICount { public static int Count => 1; }

internal readonly struct Two : ICount { public static int Count => 2; }

internal readonly struct Three : ICount { public static int Count => 3; }

internal readonly struct Four : ICount { public static int Count => 4; }

internal readonly struct Five : ICount { public static int Count => 5; }

internal readonly struct Six : ICount { public static int Count => 6; }

internal readonly struct Eight : ICount { public static int Count => 8; }
