namespace AutoGradNet.Nn;

/// <summary>How Kaiming initialisation measures fan: by inputs (preserves forward variance) or outputs (backward).</summary>
public enum FanMode
{
    /// <summary>fan_in (PyTorch's default).</summary>
    FanIn,
    /// <summary>fan_out.</summary>
    FanOut,
}

/// <summary>Weight initialisation in place (PyTorch's <c>torch.nn.init</c>); every function takes an optional seeded generator.</summary>
public static class Init
{
    /// <summary>The recommended gain for a nonlinearity: linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+slope²)), selu 3/4.</summary>
    public static double CalculateGain(string nonlinearity, double? param = null) => nonlinearity switch
    {
        "linear" or "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" or "sigmoid" => 1,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2),
        "leaky_relu" => Math.Sqrt(2 / (1 + Math.Pow(param ?? 0.01, 2))),
        "selu" => 0.75,
        _ => throw new ArgumentException($"CalculateGain: unsupported nonlinearity '{nonlinearity}'"),
    };

    /// <summary>(fan_in, fan_out) of a weight: dims 1 and 0 times the receptive field (the product of dims 2…).</summary>
    public static (int FanIn, int FanOut) CalculateFans(Tensor weight)
    {
        if (weight.Rank < 2) throw new ArgumentException($"fan in and fan out need a tensor of rank ≥ 2, got {weight.Shape}");
        int receptive = 1;
        for (int d = 2; d < weight.Rank; d++) receptive *= weight.Size(d);
        return (weight.Size(1) * receptive, weight.Size(0) * receptive);
    }

    private static Tensor Fill(Tensor t, Func<Tensor> values)
    {
        using var noGrad = GradMode.NoGrad();
        using var v = values();
        t.CopyInPlace(v);
        return t;
    }

    /// <summary>U(low, high).</summary>
    public static Tensor Uniform(Tensor t, double low = 0, double high = 1, Generator? generator = null) =>
        Fill(t, () => Tensor.Uniform(t.Shape.ToArray(), low, high, t.DType, generator, t.Device));

    /// <summary>N(mean, std²).</summary>
    public static Tensor Normal(Tensor t, double mean = 0, double std = 1, Generator? generator = null) =>
        Fill(t, () => Tensor.Normal(t.Shape.ToArray(), mean, std, t.DType, generator, t.Device));

    /// <summary>All elements = value.</summary>
    public static Tensor Constant(Tensor t, double value)
    {
        using var noGrad = GradMode.NoGrad();
        return t.FillInPlace(value);
    }

    /// <summary>All zeros.</summary>
    public static Tensor Zeros(Tensor t) => Constant(t, 0);

    /// <summary>All ones.</summary>
    public static Tensor Ones(Tensor t) => Constant(t, 1);

    /// <summary>Xavier/Glorot uniform: U(−b, b), b = gain·√(6/(fan_in + fan_out)).</summary>
    public static Tensor XavierUniform(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFans(t);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform(t, -bound, bound, generator);
    }

    /// <summary>Xavier/Glorot normal: N(0, std²), std = gain·√(2/(fan_in + fan_out)).</summary>
    public static Tensor XavierNormal(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFans(t);
        return Normal(t, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    private static double KaimingStd(Tensor t, double a, FanMode mode, string nonlinearity)
    {
        var (fanIn, fanOut) = CalculateFans(t);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>He/Kaiming uniform: U(−b, b), b = gain·√(3/fan), gain from <paramref name="nonlinearity"/> (slope <paramref name="a"/> for leaky_relu).</summary>
    public static Tensor KaimingUniform(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        double bound = Math.Sqrt(3) * KaimingStd(t, a, mode, nonlinearity);
        return Uniform(t, -bound, bound, generator);
    }

    /// <summary>He/Kaiming normal: N(0, std²), std = gain/√fan.</summary>
    public static Tensor KaimingNormal(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null) =>
        Normal(t, 0, KaimingStd(t, a, mode, nonlinearity), generator);

    /// <summary>
    /// PyTorch's default for linear and convolution layers: weight Kaiming-uniform with a = √5 (so U(±1/√fan_in)),
    /// bias U(±1/√fan_in).
    /// </summary>
    internal static void DefaultLayer(Tensor weight, Tensor? bias, Generator? generator)
    {
        KaimingUniform(weight, Math.Sqrt(5), generator: generator);
        if (bias is null) return;
        var (fanIn, _) = CalculateFans(weight);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Uniform(bias, -bound, bound, generator);
    }
}
