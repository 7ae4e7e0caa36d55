using System.Globalization;

namespace AutoGradNet.Examples.FashionMnist;

/// <summary>Command-line options of the trainer; <see cref="Parse"/> reads <c>--name value</c> pairs.</summary>
public sealed record Options
{
    public string Model { get; init; } = "lenet";
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public string Optimizer { get; init; } = "adam";
    public double WeightDecay { get; init; }
    public ulong Seed { get; init; }
    public string DataDirectory { get; init; } = Data.FashionMnist.DefaultDirectory;
    public string OutputDirectory { get; init; } = Path.Combine("runs", "fashion-mnist");
    public string Device { get; init; } = "cpu";
    public int? Limit { get; init; }
    public int? TestLimit { get; init; }
    public string? Resume { get; init; }
    public bool Augment { get; init; }
    public bool Plain { get; init; }

    public const string Usage = """
        Trains a CNN on Fashion-MNIST with AutoGradNet.

        usage: fashion-mnist [options]
          --model lenet|resnet     network (default lenet: the seed-003 LeNet-5; resnet: CIFAR-style ResNet-20)
          --epochs N               passes over the training set (default 5)
          --batch-size N           minibatch size (default 64)
          --lr X                   learning rate (default 1e-3 for adam, use ~0.05 for sgd)
          --optimizer adam|sgd     Adam, or SGD with Nesterov momentum 0.9 (default adam)
          --weight-decay X         L2 weight decay (default 0)
          --seed N                 seed for initialisation, shuffling and augmentation (default 0)
          --data DIR               folder with the IDX files (default /usr/share/datasets/fashion-mnist)
          --out DIR                where checkpoint, metrics.json, curves.png go (default runs/fashion-mnist)
          --device DEV             where to train (default cpu): cpu; cuda or cuda:N, a CUDA GPU through the
                                   ILGPU backend; gpu-sim, ILGPU's CPU simulator of a GPU (very slow: only for
                                   checking the GPU code path on tiny runs such as --limit 8 --test-limit 8)
          --limit N                train on the first N images only (quick runs)
          --test-limit N           evaluate on the first N test images only
          --augment                random crop (pad 2) and horizontal flip
          --resume FILE            continue from a checkpoint written by an earlier run
          --plain                  plain progress lines even on a terminal
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {name} needs a value");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
            double Double() => double.Parse(Value(), CultureInfo.InvariantCulture);
            o = name switch
            {
                "--model" => o with { Model = Value() },
                "--epochs" => o with { Epochs = Int() },
                "--batch-size" => o with { BatchSize = Int() },
                "--lr" => o with { LearningRate = Double() },
                "--optimizer" => o with { Optimizer = Value() },
                "--weight-decay" => o with { WeightDecay = Double() },
                "--seed" => o with { Seed = ulong.Parse(Value(), CultureInfo.InvariantCulture) },
                "--data" => o with { DataDirectory = Value() },
                "--out" => o with { OutputDirectory = Value() },
                "--device" => o with { Device = Value() },
                "--limit" => o with { Limit = Int() },
                "--test-limit" => o with { TestLimit = Int() },
                "--resume" => o with { Resume = Value() },
                "--augment" => o with { Augment = true },
                "--plain" => o with { Plain = true },
                _ => throw new ArgumentException($"unknown option '{name}'"),
            };
        }
        if (o.Model is not ("lenet" or "resnet")) throw new ArgumentException($"--model must be lenet or resnet, got '{o.Model}'");
        if (o.Optimizer is not ("adam" or "sgd")) throw new ArgumentException($"--optimizer must be adam or sgd, got '{o.Optimizer}'");
        if (o.Epochs <= 0 || o.BatchSize <= 0 || o.LearningRate <= 0) throw new ArgumentException("--epochs, --batch-size and --lr must be positive");
        if (!DeviceOption.IsValid(o.Device)) throw new ArgumentException($"--device must be {DeviceOption.Spellings}, got '{o.Device}'");
        return o;
    }
}
