using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Nn;

// The README's custom blocks, verbatim, so the documentation cannot rot.
internal sealed class ReadmeBasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;

    public ReadmeBasicBlock(int c)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(c, c, 3, padding: 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(c));
        _conv2 = RegisterModule("conv2", new Conv2d(c, c, 3, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(c));
    }

    public override Tensor Forward(Tensor x) =>
        _bn2.Call(_conv2.Call(_bn1.Call(_conv1.Call(x)).Relu())).Add(x).Relu();     // ResNet: add
}

internal sealed class ReadmeDenseBlock : Module<Tensor, Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> _layers;

    public ReadmeDenseBlock(params Module<Tensor, Tensor>[] layers) =>
        _layers = RegisterModule("layers", new ModuleList<Module<Tensor, Tensor>>(layers));

    public override Tensor Forward(Tensor x)
    {
        var features = new List<Tensor> { x };
        foreach (var layer in _layers) features.Add(layer.Call(Tensor.Cat(features, 1)));  // DenseNet: concatenate
        return Tensor.Cat(features, 1);
    }
}

public class ReadmeExampleTests
{
    [Fact]
    public void ReadmeBlocksWorkAndRegisterTheirParameters()
    {
        var model = new Sequential(new ReadmeBasicBlock(2), new ReadmeDenseBlock(new Conv2d(2, 3, 3, padding: 1), new Conv2d(5, 3, 1)));
        var y = model.Call(Tensor.Randn(2, 2, 5, 5));
        Assert.Equal(new Shape(2, 8, 5, 5), y.Shape);
        Assert.Contains("1.layers.1.weight", model.StateDict().Keys);
        Assert.Contains("0.bn2.running_var", model.StateDict().Keys);
        y.Sum().Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
    }

    [Fact]
    public void ReadmeQuickStartRuns()
    {
        var x = Tensor.Randn(64, 3);
        var target = Tensor.Randint(0, 4, [64]);
        var w = (Tensor.Randn(3, 4) * 0.1).RequiresGrad_();
        var b = Tensor.Zeros(4).RequiresGrad_();
        var logits = x.Matmul(w) + b;
        var loss = Loss.CrossEntropy(logits, target);
        loss.Backward();
        Assert.Equal(w.Shape, w.Grad!.Shape);
        using (GradMode.NoGrad())
        {
            w.SubInPlace(w.Grad!, alpha: 0.1);
            b.SubInPlace(b.Grad!, alpha: 0.1);
        }
        w.ZeroGrad();
        Assert.Null(w.Grad);
        Assert.True(Loss.CrossEntropy(x.Matmul(w) + b, target).Item() < loss.Item());
    }
}
