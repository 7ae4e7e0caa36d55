using AutoGradNet.Nn;

namespace AutoGradNet.Tests.Models;

public class MetaDeviceTests
{
    [Fact]
    public void DefaultScopeBuildsLayersOnMetaWithoutStorage()
    {
        Sequential net;
        using (Device.Meta.AsDefault())
        {
            Assert.Same(Device.Meta, Device.Default);
            net = new Sequential(new Conv2d(3, 8, 3, padding: 1), new BatchNorm2d(8), new ReLU(), new Flatten(), new Linear(8 * 4 * 4, 5));
        }
        Assert.Same(Device.Cpu, Device.Default);
        Assert.All(net.StateDict().Values, t => Assert.Same(Device.Meta, t.Device));
        Assert.Equal(3 * 8 * 9 + 8 + 16 + 128 * 5 + 5, net.ParameterCount());
        Assert.Equal(DType.Int64, net.StateDict()["1.num_batches_tracked"].DType);
        Assert.Contains("device='meta'", net.Parameters().First().ToString());
    }

    [Fact]
    public void ForwardAndBackwardPropagateShapesAndGradients()
    {
        Sequential net;
        using (Device.Meta.AsDefault())
            net = new Sequential(new Conv2d(3, 8, 3, padding: 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2), new AdaptiveAvgPool2d(2), new Flatten(), new Linear(32, 5));
        var x = Tensor.Zeros([2, 3, 8, 8], DType.Float32, Device.Meta);
        var y = net.Call(x);
        Assert.Equal(new Shape(2, 5), y.Shape);
        Assert.Same(Device.Meta, y.Device);
        var loss = Loss.CrossEntropy(y, Tensor.Zeros([2], DType.Int64, Device.Meta));
        loss.Backward();
        Assert.All(net.Parameters(), p => Assert.Equal(p.Shape, p.Grad!.Shape));
        Assert.Equal(0.0, loss.Item());
    }

    [Fact]
    public void ShapeErrorsStillThrowOnMeta()
    {
        var conv = new Conv2d(3, 4, 3);
        using (Device.Meta.AsDefault())
        {
            var metaConv = new Conv2d(3, 4, 3);
            Assert.ThrowsAny<ArgumentException>(() => metaConv.Call(Tensor.Zeros([1, 5, 8, 8])));
        }
        Assert.Same(Device.Cpu, conv.Weight.Device);
    }
}
