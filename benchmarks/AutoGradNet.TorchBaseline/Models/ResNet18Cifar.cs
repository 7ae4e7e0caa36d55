using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace AutoGradNet.TorchBaseline.Models;

/// <summary>
/// The common CIFAR-10 ResNet-18 (3×32×32 input): 3×3 stem conv 64 + BN + ReLU, no max-pool, BasicBlocks
/// [2, 2, 2, 2] with widths 64/128/256/512 (stride 2 in the first block of the last three stages, 1×1 conv + BN
/// projection shortcut where the shape changes), global average pool, fc 512→10. Convolutions have no bias.
/// 11,173,962 parameters.
/// </summary>
public sealed class ResNet18Cifar : Module<Tensor, Tensor>
{
    private readonly Conv2d _stem = Conv2d(3, 64, 3, padding: 1, bias: false);
    private readonly BatchNorm2d _bn = BatchNorm2d(64);
    private readonly ModuleList<Module<Tensor, Tensor>> _blocks = new();
    private readonly Linear _fc = Linear(512, 10);

    public ResNet18Cifar() : base(nameof(ResNet18Cifar))
    {
        long inCh = 64;
        foreach (var (width, stride) in new[] { (64L, 1L), (128L, 2L), (256L, 2L), (512L, 2L) })
        {
            _blocks.Add(new BasicBlock(inCh, width, stride));
            _blocks.Add(new BasicBlock(width, width, 1));
            inCh = width;
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = functional.relu(_bn.forward(_stem.forward(x)));
        foreach (var block in _blocks) x = block.forward(x);
        x = functional.adaptive_avg_pool2d(x, [1, 1]).flatten(1);
        return _fc.forward(x);
    }

    /// <summary>conv3×3 (stride s) → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.</summary>
    private sealed class BasicBlock : Module<Tensor, Tensor>
    {
        private readonly Conv2d _conv1;
        private readonly BatchNorm2d _bn1;
        private readonly Conv2d _conv2;
        private readonly BatchNorm2d _bn2;
        private readonly Sequential? _shortcut;

        public BasicBlock(long inCh, long outCh, long stride) : base(nameof(BasicBlock))
        {
            _conv1 = Conv2d(inCh, outCh, 3, stride: stride, padding: 1, bias: false);
            _bn1 = BatchNorm2d(outCh);
            _conv2 = Conv2d(outCh, outCh, 3, padding: 1, bias: false);
            _bn2 = BatchNorm2d(outCh);
            if (stride != 1 || inCh != outCh)
                _shortcut = Sequential(Conv2d(inCh, outCh, 1, stride: stride, bias: false), BatchNorm2d(outCh));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var y = functional.relu(_bn1.forward(_conv1.forward(x)));
            y = _bn2.forward(_conv2.forward(y));
            return functional.relu(y.add_(_shortcut is null ? x : _shortcut.forward(x)));
        }
    }
}
