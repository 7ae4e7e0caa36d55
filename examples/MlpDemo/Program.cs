// Trains a small multilayer perceptron on three interleaved spirals: the "hello world" of AutoGradNet.
// It is written the way the same PyTorch script would be; the PyTorch line is in a comment where it helps.
//
//   dotnet run -c Release --project examples/MlpDemo [-- --epochs 100 --seed 0]
//
// Exit code: 0 when the final test accuracy reaches RequiredTestAccuracy, 1 when it does not, 2 for bad arguments.

using System.Diagnostics;
using AutoGradNet;

const double RequiredTestAccuracy = 0.90;
const int PointsPerClass = 500, Classes = 3, BatchSize = 32;
const double LearningRate = 0.1, Momentum = 0.9;

if (!TryParseArgs(args, out int epochs, out ulong seed)) return 2;

// torch.manual_seed(seed)
var rng = new Generator(seed);

// ---- data: 1,500 points on three interleaved spirals, 80/20 train/test split ----------------------------
var (x, y) = Spirals(PointsPerClass, Classes, noise: 0.2, rng);
int n = x.Size(0), nTrain = n * 8 / 10;
var perm = Tensor.Randperm(n, rng);                        // perm = torch.randperm(n)
var trainIdx = perm.Narrow(0, 0, nTrain);                   // perm[:n_train]
var testIdx = perm.Narrow(0, nTrain, n - nTrain);           // perm[n_train:]
var (xTrain, yTrain) = (x.IndexSelect(0, trainIdx), y.IndexSelect(0, trainIdx));
var (xTest, yTest) = (x.IndexSelect(0, testIdx), y.IndexSelect(0, testIdx));
Console.WriteLine($"data: {nTrain} train / {n - nTrain} test points, {Classes} classes; seed {seed}");

// ---- model: 2 → 32 → 32 → 3 with tanh ---------------------------------------------------------------------
var model = new Mlp([2, 32, 32, Classes], rng);
var parameters = model.Parameters();
// Momentum buffers, one per parameter (what torch.optim.SGD(momentum=0.9) keeps in its state).
var velocity = parameters.Select(p => Tensor.ZerosLike(p)).ToArray();

var clock = Stopwatch.StartNew();
for (int epoch = 1; epoch <= epochs; epoch++)
{
    double lossSum = 0;
    long correct = 0;
    using var order = Tensor.Randperm(nTrain, rng);         // shuffle=True
    for (int start = 0; start < nTrain; start += BatchSize)
    {
        using var scope = Tensor.NewDisposeScope();         // frees every tensor this step creates
        int size = Math.Min(BatchSize, nTrain - start);
        var batch = order.Narrow(0, start, size);
        var xb = xTrain.IndexSelect(0, batch);
        var yb = yTrain.IndexSelect(0, batch);

        foreach (var p in parameters) p.ZeroGrad();         // optimizer.zero_grad()
        var logits = model.Forward(xb);
        var loss = Loss.CrossEntropy(logits, yb);           // F.cross_entropy(logits, yb)
        loss.Backward();                                    // loss.backward()

        using (GradMode.NoGrad())                           // with torch.no_grad():  (optimizer.step())
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                velocity[i].MulInPlace(Momentum).AddInPlace(parameters[i].Grad!);   // v = μ·v + g
                parameters[i].SubInPlace(velocity[i], LearningRate);                 // p = p − lr·v
            }
            lossSum += loss.Item() * size;
            correct += CountCorrect(logits, yb);
        }
    }
    double testAccuracy = Evaluate(model, xTest, yTest);
    Console.WriteLine($"epoch {epoch,3}  loss {lossSum / nTrain:F4}  train acc {100.0 * correct / nTrain,6:F2}%  test acc {100 * testAccuracy,6:F2}%");
}

double finalAccuracy = Evaluate(model, xTest, yTest);
Console.WriteLine($"final test accuracy: {100 * finalAccuracy:F2}% (required ≥ {100 * RequiredTestAccuracy:F0}%), {clock.Elapsed.TotalSeconds:F1} s");
if (finalAccuracy < RequiredTestAccuracy)
{
    Console.Error.WriteLine("FAILED: test accuracy below the threshold");
    return 1;
}
return 0;

// ---- helpers ---------------------------------------------------------------------------------------------

// model.eval(); with torch.no_grad(): accuracy on a whole set
static double Evaluate(Mlp model, Tensor x, Tensor y)
{
    using var scope = Tensor.NewDisposeScope();
    using var noGrad = GradMode.NoGrad();
    return (double)CountCorrect(model.Forward(x), y) / x.Size(0);
}

// (logits.argmax(1) == y).sum().item()
static long CountCorrect(Tensor logits, Tensor y)
{
    using var scope = Tensor.NewDisposeScope();
    return (long)logits.Argmax(1).Eq(y).Sum().Item();
}

// The classic spiral data set (CS231n): class k winds from the origin, angle 4k..4k+4 plus Gaussian noise.
static (Tensor X, Tensor Y) Spirals(int perClass, int classes, double noise, Generator rng)
{
    int n = perClass * classes;
    using var jitter = Tensor.Randn([n], generator: rng);
    var eps = jitter.ToArray<float>();
    var points = new float[n, 2];
    var labels = new long[n];
    for (int k = 0; k < classes; k++)
        for (int i = 0; i < perClass; i++)
        {
            int j = k * perClass + i;
            double r = (double)i / (perClass - 1);
            double t = 4.0 * k + 4.0 * i / (perClass - 1) + noise * eps[j];
            points[j, 0] = (float)(r * Math.Sin(t));
            points[j, 1] = (float)(r * Math.Cos(t));
            labels[j] = k;
        }
    return (Tensor.From(points), Tensor.From(labels));
}

static bool TryParseArgs(string[] args, out int epochs, out ulong seed)
{
    epochs = 100;
    seed = 0;
    for (int i = 0; i < args.Length; i++)
    {
        string? value = i + 1 < args.Length ? args[i + 1] : null;
        bool ok = args[i] switch
        {
            "--epochs" => int.TryParse(value, out epochs) && epochs > 0,
            "--seed" => ulong.TryParse(value, out seed),
            _ => false,
        };
        if (!ok)
        {
            Console.Error.WriteLine($"usage: MlpDemo [--epochs N (default 100)] [--seed S (default 0)]; could not read '{args[i]}'{(value is null ? "" : $" {value}")}");
            return false;
        }
        i++;
    }
    return true;
}

/// <summary>A fully connected layer y = x·Wᵀ + b, initialised like PyTorch's <c>nn.Linear</c>.</summary>
sealed class Linear
{
    public Tensor Weight { get; }
    public Tensor Bias { get; }

    public Linear(int inFeatures, int outFeatures, Generator rng)
    {
        double bound = 1 / Math.Sqrt(inFeatures);   // U(−1/√fan_in, 1/√fan_in)
        Weight = Tensor.Uniform([outFeatures, inFeatures], -bound, bound, generator: rng).RequiresGrad_();
        Bias = Tensor.Uniform([outFeatures], -bound, bound, generator: rng).RequiresGrad_();
    }

    public Tensor Forward(Tensor x) => Tensor.Linear(x, Weight, Bias);   // F.linear(x, W, b)
}

/// <summary>Linear layers with tanh between them (nn.Sequential(Linear, Tanh, Linear, Tanh, Linear)).</summary>
sealed class Mlp
{
    private readonly Linear[] _layers;

    public Mlp(int[] sizes, Generator rng) =>
        _layers = [.. Enumerable.Range(0, sizes.Length - 1).Select(i => new Linear(sizes[i], sizes[i + 1], rng))];

    public Tensor Forward(Tensor x)
    {
        for (int i = 0; i < _layers.Length; i++)
        {
            x = _layers[i].Forward(x);
            if (i < _layers.Length - 1) x = x.Tanh();
        }
        return x;
    }

    public Tensor[] Parameters() => [.. _layers.SelectMany(l => new[] { l.Weight, l.Bias })];
}
