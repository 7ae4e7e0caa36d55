using AutoGradNet.Nn;

namespace AutoGradNet.Models;

/// <summary>
/// The modern LeNet-5 of the seed deck (seed 003) for 28×28 inputs: conv 20@5×5 pad 2, ReLU, max-pool 2,
/// conv 50@5×5 pad 2, ReLU, max-pool 2, flatten (2450), fc 2450→500, ReLU, fc 500→10.
/// Submodules in order: <c>conv1, relu1, pool1, conv2, relu2, pool2, flatten, fc1, relu3, fc2</c> (1,256,080 parameters).
/// </summary>
public sealed class LeNet : Module<Tensor, Tensor>
{
    private readonly List<Module<Tensor, Tensor>> _layers = [];

    /// <summary>The network for square inputs of side <paramref name="inputSize"/> (divisible by 4).</summary>
    public LeNet(int numClasses = 10, int inChannels = 1, int inputSize = 28)
    {
        if (inputSize <= 0 || inputSize % 4 != 0) throw new ArgumentException($"LeNet: the input side must be a positive multiple of 4, got {inputSize}");
        int side = inputSize / 4;
        Add("conv1", new Conv2d(inChannels, 20, 5, padding: 2));
        Add("relu1", new ReLU());
        Add("pool1", new MaxPool2d(2));
        Add("conv2", new Conv2d(20, 50, 5, padding: 2));
        Add("relu2", new ReLU());
        Add("pool2", new MaxPool2d(2));
        Add("flatten", new Flatten());
        Add("fc1", new Linear(50 * side * side, 500));
        Add("relu3", new ReLU());
        Add("fc2", new Linear(500, numClasses));
    }

    private void Add(string name, Module<Tensor, Tensor> layer) => _layers.Add(RegisterModule(name, layer));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Call(x);
        return x;
    }
}

/// <summary>The squashing function of the LeNet-5 paper and its common substitutes.</summary>
public enum LeNet5Activation
{
    /// <summary>The paper's f(a) = A·tanh(S·a) with A = 1.7159, S = 2/3 (so f(±1) = ±1).</summary>
    ScaledTanh,
    /// <summary>Plain tanh.</summary>
    Tanh,
    /// <summary>Logistic sigmoid.</summary>
    Sigmoid,
}

/// <summary>
/// LeNet-5 as in LeCun, Bottou, Bengio and Haffner (1998) for 32×32 inputs: C1 6@5×5, S2 subsampling, C3 16@5×5 with the
/// paper's partial connection table (Table I), S4 subsampling, C5 120@5×5, F6 84, and an output layer.
/// Submodules: <c>c1, a1, s2, a2, c3, a3, s4, a4, c5, a5, flatten, f6, a6, output</c>.
/// </summary>
/// <remarks>
/// With the paper's options (partial C3, trainable subsampling) the trainable parameters are exactly the paper's 60,000:
/// C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164. The output layer is a linear layer (850 parameters) unless
/// <c>rbfOutput</c> selects the paper's Euclidean RBF units, whose 84-dimensional centres are fixed (non-trainable)
/// ±1 codes — the paper drew them from 7×12 character bitmaps, which are not reproduced here; they are seeded random ±1 codes.
/// Without trainable subsampling, S2/S4 are plain 2×2 average pools with no activation after them (the common modern
/// reading); without the connection table C3 is a full 6→16 convolution (2,416 parameters).
/// </remarks>
public sealed class LeNet5 : Module<Tensor, Tensor>
{
    private readonly List<Module<Tensor, Tensor>> _layers = [];

    /// <summary>The network with the given options (defaults: the paper's).</summary>
    public LeNet5(int numClasses = 10, int inChannels = 1, LeNet5Activation activation = LeNet5Activation.ScaledTanh,
        bool paperConnections = true, bool trainableSubsampling = true, bool rbfOutput = false)
    {
        Add("c1", new Conv2d(inChannels, 6, 5));
        Add("a1", MakeActivation(activation));
        Add("s2", trainableSubsampling ? new Subsampling(6) : new AvgPool2d(2));
        if (trainableSubsampling) Add("a2", MakeActivation(activation));
        Add("c3", paperConnections ? new LeNet5C3() : new Conv2d(6, 16, 5));
        Add("a3", MakeActivation(activation));
        Add("s4", trainableSubsampling ? new Subsampling(16) : new AvgPool2d(2));
        if (trainableSubsampling) Add("a4", MakeActivation(activation));
        Add("c5", new Conv2d(16, 120, 5));
        Add("a5", MakeActivation(activation));
        Add("flatten", new Flatten());
        Add("f6", new Linear(120, 84));
        Add("a6", MakeActivation(activation));
        Add("output", rbfOutput ? new EuclideanRbf(84, numClasses) : new Linear(84, numClasses));
    }

    private void Add(string name, Module<Tensor, Tensor> layer) => _layers.Add(RegisterModule(name, layer));

    private static Module<Tensor, Tensor> MakeActivation(LeNet5Activation activation) => activation switch
    {
        LeNet5Activation.ScaledTanh => new ScaledTanh(),
        LeNet5Activation.Tanh => new Tanh(),
        LeNet5Activation.Sigmoid => new Sigmoid(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Call(x);
        return x;
    }
}

/// <summary>LeNet-5's squashing function 1.7159·tanh(2a/3).</summary>
public sealed class ScaledTanh : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Mul(2.0 / 3).Tanh().Mul(1.7159);
}

/// <summary>
/// LeNet-5's subsampling layer: each output is the sum of a 2×2 window times a trainable per-map coefficient, plus a
/// trainable per-map bias (2 parameters per map). Initialised to coefficient ¼, bias 0, i.e. average pooling.
/// </summary>
public sealed class Subsampling : Module<Tensor, Tensor>, ICountsMultAdds
{
    /// <summary>A layer over <paramref name="maps"/> feature maps.</summary>
    public Subsampling(int maps)
    {
        RegisterParameter("weight", Tensor.Full([maps], 0.25));
        RegisterParameter("bias", Tensor.Zeros([maps], DType.Float32));
    }

    /// <summary>Per-map coefficients.</summary>
    public Tensor Weight => Parameter("weight")!;
    /// <summary>Per-map biases.</summary>
    public Tensor Bias => Parameter("bias")!;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        int maps = Weight.Size(0);
        var sums = Functional.AvgPool2d(input, 2).Mul(4.0);
        return sums.Mul(Weight.Reshape(1, maps, 1, 1)).Add(Bias.Reshape(1, maps, 1, 1));
    }

    /// <inheritdoc/>
    public long CountMultAdds(int[] inputShape, int[] outputShape) => ModelSummary.ShapeProduct(outputShape) * 4;
}

/// <summary>
/// LeNet-5's C3: 16 maps of 5×5 kernels, each connected to a subset of the 6 S2 maps (the paper's Table I: maps 0–5 see
/// 3 contiguous inputs, 6–11 four contiguous, 12–14 four non-contiguous, 15 all six), 60 connections, 1,516 parameters.
/// </summary>
/// <remarks>
/// <c>weight</c> is [60, 1, 5, 5], one kernel per connection in the order of <see cref="Connections"/>; <c>bias</c> is [16].
/// Computed as a channel gather, a depthwise convolution (one kernel per connection) and a fixed 0/1 1×1 convolution that
/// sums each map's connections.
/// </remarks>
public sealed class LeNet5C3 : Module<Tensor, Tensor>, ICountsMultAdds
{
    /// <summary>For each of the 16 output maps, the S2 maps it reads (LeCun et al. 1998, Table I).</summary>
    public static readonly IReadOnlyList<int[]> Connections =
    [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
        [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
        [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
        [0, 1, 2, 3, 4, 5],
    ];

    private static readonly int ConnectionCount = Connections.Sum(c => c.Length);

    /// <summary>The layer, initialised like a convolution with the true fan-in of each map.</summary>
    public LeNet5C3()
    {
        var w = RegisterParameter("weight", Tensor.Zeros([ConnectionCount, 1, 5, 5], DType.Float32))!;
        var b = RegisterParameter("bias", Tensor.Zeros([16], DType.Float32))!;
        // NOTE: PyTorch's default conv init is U(±1/√fan_in); with 3–6 inputs of 25 taps, fan_in 75–150 ≈ 100.
        double bound = 1 / Math.Sqrt(100);
        Init.Uniform(w, -bound, bound);
        Init.Uniform(b, -bound, bound);
        var index = Connections.SelectMany(c => c).Select(i => (long)i).ToArray();
        var sum = new float[16 * ConnectionCount];
        int k = 0;
        for (int o = 0; o < 16; o++)
            foreach (var _ in Connections[o]) sum[o * ConnectionCount + k++] = 1;
        RegisterBuffer("index", Tensor.From(index).To(w.Device), persistent: false);
        RegisterBuffer("sum", Tensor.From(sum).Reshape(16, ConnectionCount, 1, 1).To(w.Device), persistent: false);
    }

    /// <summary>Per-connection kernels [60, 1, 5, 5].</summary>
    public Tensor Weight => Parameter("weight")!;
    /// <summary>Per-map biases [16].</summary>
    public Tensor Bias => Parameter("bias")!;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || input.Size(1) != 6) throw new ArgumentException($"LeNet5C3: expected [N, 6, H, W], got {input.Shape}");
        var gathered = input.IndexSelect(1, Buffer("index")!);
        var perConnection = Functional.Conv2d(gathered, Weight, groups: ConnectionCount);
        return Functional.Conv2d(perConnection, Buffer("sum")!.To(input.DType), Bias);
    }

    /// <inheritdoc/>
    public long CountMultAdds(int[] inputShape, int[] outputShape) => ModelSummary.ShapeProduct(outputShape) / 16 * ConnectionCount * 25;
}

/// <summary>
/// Euclidean radial-basis output units (LeNet-5's output layer): y_i = Σ_j (x_j − w_ij)², a penalty that is small for the
/// predicted class (use −y as logits). The centres <c>weight</c> [classes, features] are a parameter that does not require
/// grad (fixed, as in the paper), initialised to seeded random ±1 codes.
/// </summary>
public sealed class EuclideanRbf : Module<Tensor, Tensor>, ICountsMultAdds
{
    /// <summary>Units for <paramref name="classes"/> classes over <paramref name="features"/> inputs.</summary>
    public EuclideanRbf(int features, int classes, ulong seed = 1998)
    {
        var codes = Tensor.Bernoulli([classes, features], 0.5, generator: new Generator(seed)).Mul(2.0).Sub(1.0);
        var w = RegisterParameter("weight", codes)!;
        w.RequiresGrad = false;
    }

    /// <summary>The centres [classes, features].</summary>
    public Tensor Weight => Parameter("weight")!;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var diff = input.Unsqueeze(1).Sub(Weight.Unsqueeze(0));
        return diff.Mul(diff).Sum([2]);
    }

    /// <inheritdoc/>
    public long CountMultAdds(int[] inputShape, int[] outputShape) => ModelSummary.ShapeProduct(outputShape) * Weight.Size(1);
}
