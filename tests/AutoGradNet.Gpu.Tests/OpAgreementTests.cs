using F = AutoGradNet.Functional;

namespace AutoGradNet.Gpu.Tests;

/// <summary>
/// Representative ops, forward and backward through the tape, on the simulator against the CPU: the output and the
/// gradient of every floating input agree (float32 within 1e-5 relative, float64 within 1e-12).
/// </summary>
public class OpAgreementTests
{
    /// <summary>An input: its CPU values and whether it is differentiated.</summary>
    private sealed record Input(Tensor Value, bool Grad = true);

    private static Input R(int[] shape, DType dtype, ulong seed, double scale = 1, double shift = 0) =>
        new(Tensor.Randn(shape, dtype, new Generator(seed)).Mul(scale).Add(shift));

    private static Input Target(long classes, int[] shape, ulong seed) => new(Tensor.Randint(0, classes, shape, DType.Int64, new Generator(seed)), false);

    /// <summary>Runs <paramref name="f"/> on both devices, backpropagates the same upstream gradient, and compares.</summary>
    private static void Check(string what, Func<Tensor[], Tensor> f, params Input[] inputs)
    {
        var dtype = inputs.First(i => i.Grad).Value.DType;
        var cpu = inputs.Select(i => i.Grad ? i.Value.Detach().RequiresGrad_() : i.Value).ToArray();
        var gpu = inputs.Select(i => i.Grad ? Sim.G(i.Value).RequiresGrad_() : Sim.G(i.Value)).ToArray();
        var yc = f(cpu);
        var yg = f(gpu);
        Assert.Equal(Sim.Device, yg.Device);
        Sim.AssertClose(yc, yg, $"{what} {dtype} forward");
        var upstream = Tensor.Randn(yc.Shape.ToArray(), dtype, new Generator(99));
        yc.Backward(upstream);
        yg.Backward(Sim.G(upstream));
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].Grad) continue;
            Assert.NotNull(gpu[i].Grad);
            Assert.Equal(Sim.Device, gpu[i].Grad!.Device);
            Sim.AssertClose(cpu[i].Grad!, gpu[i].Grad!, $"{what} {dtype} gradient of input {i}");
        }
    }

    public static TheoryData<DType> Floats => new() { DType.Float32, DType.Float64 };

    [Theory]
    [MemberData(nameof(Floats))]
    public void ElementwiseWithBroadcasting(DType t)
    {
        Check("(a + b) · c", x => x[0].Add(x[1]).Mul(x[2]), R([2, 3, 4], t, 1), R([3, 1], t, 2), R([4], t, 3));
        Check("a / b − a", x => x[0].Div(x[1]).Sub(x[0]), R([3, 4], t, 4), R([4], t, 5, 0.2, 2));
        Check("exp, tanh, sigmoid", x => x[0].Exp().Add(x[0].Tanh()).Mul(x[0].Sigmoid()), R([5, 3], t, 6));
        Check("relu, clamp, pow", x => x[0].Relu().Add(x[0].Clamp(-0.5, 0.5)).Add(x[0].Pow(3)), R([4, 5], t, 7));
        Check("log, sqrt, abs", x => x[0].Abs().Add(0.1).Log().Add(x[0].Abs().Sqrt()), R([3, 3], t, 8));
        Check("where, maximum, gelu", x => Tensor.Where(x[0].Gt(x[1]), x[0], x[1].Mul(2)).Add(x[0].Maximum(x[1])).Add(x[0].Gelu()),
            R([3, 4], t, 9), R([4], t, 10));
        Check("transposed operands", x => x[0].T.Mul(x[1]).Add(x[1].Exp()), R([4, 3], t, 11), R([3, 4], t, 12));
    }

    [Theory]
    [MemberData(nameof(Floats))]
    public void Reductions(DType t)
    {
        Check("sum over dims", x => x[0].Sum([0, 2], keepDim: true).Mul(x[0]), R([3, 4, 5], t, 13));
        Check("mean and var", x => x[0].Mean([1]).Add(x[0].Var([1])), R([4, 6], t, 14));
        Check("max over a dim", x => x[0].Max(1).Values, R([5, 7], t, 15));
        Check("min of a transposed view", x => x[0].T.Min(1).Values, R([6, 4], t, 16));
        Check("softmax", x => x[0].Softmax(1), R([3, 5], t, 17));
        Check("log-softmax over a long row", x => x[0].LogSoftmax(-1), R([2, 80], t, 18)); // group-per-row reductions
        Check("sum of everything", x => x[0].Sum().Mul(x[0]), R([4, 5], t, 19));
    }

    [Theory]
    [MemberData(nameof(Floats))]
    public void MatrixProducts(DType t)
    {
        Check("matmul", x => x[0].Matmul(x[1]), R([5, 7], t, 20), R([7, 3], t, 21));
        Check("batched matmul with broadcast", x => x[0].Matmul(x[1]), R([2, 4, 6], t, 22), R([6, 5], t, 23));
        Check("linear", x => Tensor.Linear(x[0], x[1], x[2]), R([3, 6], t, 24), R([4, 6], t, 25), R([4], t, 26));
    }

    [Theory]
    [MemberData(nameof(Floats))]
    public void ConvolutionAndPooling(DType t)
    {
        Check("conv2d stride 2, padding 1, bias", x => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1),
            R([2, 3, 6, 5], t, 27), R([4, 3, 3, 3], t, 28), R([4], t, 29));
        Check("grouped conv2d with dilation", x => F.Conv2d(x[0], x[1], null, padding: 2, dilation: 2, groups: 2),
            R([1, 4, 5, 5], t, 30), R([2, 2, 3, 3], t, 31));
        Check("max pool 2d", x => F.MaxPool2d(x[0], 2), R([2, 2, 6, 6], t, 32));
        Check("max pool 3x3 stride 2 padding 1", x => F.MaxPool2d(x[0], 3, 2, 1), R([1, 2, 5, 6], t, 33));
        Check("avg pool 2d", x => F.AvgPool2d(x[0], 3, 2, 1, countIncludePad: false), R([2, 2, 5, 5], t, 34));
        Check("global avg pool", x => F.GlobalAvgPool(x[0]), R([2, 3, 4, 4], t, 35));
    }

    [Theory]
    [MemberData(nameof(Floats))]
    public void BatchNormTrainingAndEval(DType t)
    {
        var meanC = Tensor.Zeros([3], t);
        var varC = Tensor.Ones([3], t);
        var meanG = Sim.G(meanC);
        var varG = Sim.G(varC);
        // The running statistics differ per device, so each device's call picks its own buffers.
        Check("batch norm (training)", x =>
        {
            bool onGpu = x[0].Device == Sim.Device;
            return F.BatchNorm(x[0], onGpu ? meanG : meanC, onGpu ? varG : varC, x[1], x[2], training: true);
        }, R([4, 3, 3, 3], t, 36, 2, 1), R([3], t, 37), R([3], t, 38));
        Sim.AssertClose(meanC, meanG, $"running mean {t}");
        Sim.AssertClose(varC, varG, $"running var {t}");
        Check("batch norm (eval)", x =>
        {
            bool onGpu = x[0].Device == Sim.Device;
            return F.BatchNorm(x[0], onGpu ? meanG : meanC, onGpu ? varG : varC, x[1], x[2], training: false);
        }, R([2, 3, 2, 2], t, 39), R([3], t, 40), R([3], t, 41));
    }

    [Theory]
    [MemberData(nameof(Floats))]
    public void Losses(DType t)
    {
        Check("cross-entropy", x => Loss.CrossEntropy(x[0], x[1]), R([6, 4], t, 42), Target(4, [6], 43));
        Check("cross-entropy with label smoothing, summed", x => Loss.CrossEntropy(x[0], x[1], Reduction.Sum, labelSmoothing: 0.1),
            R([5, 3], t, 44), Target(3, [5], 45));
        Check("mse", x => Loss.MseLoss(x[0], x[1]), R([4, 3], t, 46), R([4, 3], t, 47));
    }

    [Fact]
    public void ShapeAndIndexOps()
    {
        var t = DType.Float64;
        Check("cat, slice, permute", x => Tensor.Cat([x[0], x[1].Permute(1, 0)], 0).Slice(1, 1, null, 2).Mul(2), R([2, 5], t, 48), R([5, 3], t, 49));
        Check("index_select", x => x[0].IndexSelect(1, x[1]), R([3, 4], t, 50), new Input(Tensor.From(new long[] { 3, 0, 3 }), false));
        Check("gather", x => x[0].Gather(1, x[1]), R([3, 4], t, 51), new Input(Tensor.From(new long[,] { { 0, 3 }, { 1, 1 }, { 2, 0 } }), false));
        Check("pad", x => x[0].Pad([1, 2, 0, 1], 0.5), R([2, 3], t, 52));
    }
}
