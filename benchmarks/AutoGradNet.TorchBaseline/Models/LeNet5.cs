using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace AutoGradNet.TorchBaseline.Models;

/// <summary>
/// The LeNet-5 variant of seed 003 (28×28 grey input): conv 20@5×5 pad 2, ReLU, max-pool 2, conv 50@5×5 pad 2,
/// ReLU, max-pool 2, flatten (50·7·7 = 2450), fc 2450→500, ReLU, fc 500→10. 1,256,080 parameters.
/// </summary>
public sealed class LeNet5 : Module<Tensor, Tensor>
{
    private readonly Conv2d _conv1 = Conv2d(1, 20, 5, padding: 2);
    private readonly Conv2d _conv2 = Conv2d(20, 50, 5, padding: 2);
    private readonly Linear _fc1 = Linear(2450, 500);
    private readonly Linear _fc2 = Linear(500, 10);

    public LeNet5() : base(nameof(LeNet5)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        x = functional.max_pool2d(functional.relu(_conv1.forward(x)), [2]);
        x = functional.max_pool2d(functional.relu(_conv2.forward(x)), [2]);
        x = functional.relu(_fc1.forward(x.flatten(1)));
        return _fc2.forward(x);
    }
}
