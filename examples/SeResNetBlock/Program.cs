// A squeeze-and-excitation residual block (Hu et al. 2018) in a few lines: define it, property-check its gradients,
// drop it into a CIFAR ResNet stage and print the model summary.
//
//   dotnet run -c Release --project examples/SeResNetBlock
//
// Exit code: 0 when the gradient checks pass and the network trains a step, 1 otherwise.

using AutoGradNet;
using AutoGradNet.Models;
using AutoGradNet.Nn;
using AutoGradNet.Testing;

// ---- 1. Gradients of the squeeze-and-excitation op, with respect to the input and the weights -------------------
// Generated shapes s = [n, c, h] give x [n, c, h, h] and the two bottleneck layers c → r → c (r = ⌈c/2⌉).
GradCheckProperty.ForAll(TensorGen.ShapesOfRank(3, maxSize: 4), s =>
    {
        int n = s[0], c = s[1], h = s[2], r = (c + 1) / 2;
        return [InputSpec.Of(n, c, h, h), InputSpec.Of(r, c), InputSpec.Of(r), InputSpec.Of(c, r), InputSpec.Of(c)];
    },
    x => Se.Excite(x[0], z => Tensor.Linear(z, x[1], x[2]), z => Tensor.Linear(z, x[3], x[4])))
    .WithMaxTest(20)
    .Check();
Console.WriteLine("squeeze-and-excitation: gradcheck passed on 20 generated shapes (input and weights)");

// ---- 2. The whole block (convolutions, batch norm, SE, shortcut) with respect to its input ------------------------
var block = new SeBasicBlock(4, 8, stride: 2, downsample: new Sequential(new Conv2d(4, 8, 1, stride: 2, bias: false), new BatchNorm2d(8)))
    .To(DType.Float64).Eval();
GradCheckProperty.ForAll(TensorGen.ShapesOfRank(2, minSize: 2, maxSize: 4), s => [InputSpec.Of(s[0], 4, s[1], s[1])],
        x => block.Call(x[0]).Sum())
    .WithMaxTest(10)
    .Check();
Console.WriteLine("SE basic block: gradcheck passed on 10 generated shapes");

// ---- 3. An SE-ResNet-20 for CIFAR: SE blocks in the last stage (64 channels), plain blocks elsewhere ---------------
var model = new CifarResNet(20, block: (inPlanes, planes, stride, downsample) => planes == 64
    ? new SeBasicBlock(inPlanes, planes, stride, downsample)
    : new BasicBlock(inPlanes, planes, stride, downsample));

// One training step on a random batch, to show it learns end to end.
var generator = new Generator(0);
var images = Tensor.Randn([8, 3, 32, 32], DType.Float32, generator);
var labels = Tensor.Randint(0, 10, [8], generator: generator);
var loss = Loss.CrossEntropy(model.Call(images), labels);
loss.Backward();
bool allGradients = model.Parameters().All(p => p.Grad is not null);
Console.WriteLine($"SE-ResNet-20: loss {loss.Item():F4}, every parameter has a gradient: {allGradients}");

Console.WriteLine(model.Summary([1, 3, 32, 32]));
return allGradients ? 0 : 1;

/// <summary>The squeeze-and-excitation op, written with differentiable tensor ops.</summary>
internal static class Se
{
    /// <summary>x · σ(expand(ReLU(reduce(avgpool(x))))), the gate broadcast over each channel's map.</summary>
    public static Tensor Excite(Tensor x, Func<Tensor, Tensor> reduce, Func<Tensor, Tensor> expand)
    {
        var squeezed = Functional.GlobalAvgPool(x).Flatten(1);        // [N, C]
        var gate = expand(reduce(squeezed).Relu()).Sigmoid();         // [N, C]
        return x.Mul(gate.Reshape(gate.Size(0), gate.Size(1), 1, 1));
    }
}

/// <summary>A squeeze-and-excitation gate: two linear layers C → C/reduction → C.</summary>
internal sealed class SqueezeExcitation : Module<Tensor, Tensor>
{
    private readonly Linear _fc1, _fc2;

    public SqueezeExcitation(int channels, int reduction = 4)
    {
        _fc1 = RegisterModule("fc1", new Linear(channels, Math.Max(1, channels / reduction)));
        _fc2 = RegisterModule("fc2", new Linear(Math.Max(1, channels / reduction), channels));
    }

    public override Tensor Forward(Tensor x) => Se.Excite(x, _fc1.Call, _fc2.Call);
}

/// <summary>ResNet's basic block with an SE gate on the residual branch before the addition.</summary>
internal sealed class SeBasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly SqueezeExcitation _se;
    private readonly Module<Tensor, Tensor>? _downsample;

    public SeBasicBlock(int inPlanes, int planes, int stride = 1, Module<Tensor, Tensor>? downsample = null)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _se = RegisterModule("se", new SqueezeExcitation(planes));
        if (downsample is not null) _downsample = RegisterModule("downsample", downsample);
    }

    public override Tensor Forward(Tensor x)
    {
        var residual = _se.Call(_bn2.Call(_conv2.Call(_bn1.Call(_conv1.Call(x)).Relu())));
        return residual.Add(_downsample?.Call(x) ?? x).Relu();
    }
}
