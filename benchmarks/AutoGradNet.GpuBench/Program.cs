using System.Diagnostics;
using System.Globalization;
using AutoGradNet.Gpu;
using AutoGradNet.Nn;
using F = AutoGradNet.Functional;

namespace AutoGradNet.GpuBench;

/// <summary>
/// GPU benchmarks of the ILGPU backend, the same cases as <c>benchmarks/gpu_reference.py</c> (PyTorch):
/// GEMM GFLOP/s, conv2d forward/backward on ResNet-18's layer shapes at batch 64, a training step of a
/// ResNet-18-shaped conv stack, and the first-use compile time of every kernel the run loaded.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/AutoGradNet.GpuBench</c> on a CUDA machine. Options:
/// <c>--matmul tiled|cublas|both</c> (GEMM implementation; default both for the GEMM table, tiled elsewhere),
/// <c>--quick</c> (fewer repetitions, GEMM up to 4096), <c>--sim</c> (tiny shapes on ILGPU's CPU simulator: checks
/// that the program runs, measures nothing useful).
/// </remarks>
public static class Program
{
    private static bool s_quick, s_sim;
    private static Device s_device = Device.Cpu;

    public static int Main(string[] args)
    {
        s_quick = args.Contains("--quick");
        s_sim = args.Contains("--sim");
        string matmul = Option(args, "--matmul") ?? "both";
        if (!s_sim && !GpuDevices.IsCudaAvailable)
        {
            Console.Error.WriteLine("No CUDA device found (ILGPU sees no NVIDIA GPU and driver). Run on a GPU machine, or pass --sim for a tiny smoke run on the CPU simulator.");
            return 2;
        }
        s_device = s_sim ? GpuDevices.CpuSimulator() : GpuDevices.Cuda();
        Console.WriteLine($"# AutoGradNet GPU benchmarks on {s_device} ({(s_sim ? "ILGPU CPU simulator, tiny shapes" : "CUDA")})");
        Console.WriteLine($"date {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, .NET {Environment.Version}, {Environment.ProcessorCount} CPU cores");
        Console.WriteLine();

        var kinds = matmul switch
        {
            "tiled" => new[] { GpuMatMul.Tiled },
            "cublas" => [GpuMatMul.CuBlas],
            _ => [GpuMatMul.Tiled, GpuMatMul.CuBlas],
        };
        Gemm(kinds);
        // The other sections use the tiled kernel unless only cuBLAS was asked for (and could be loaded).
        GpuDevices.SetMatMul(s_device, GpuMatMul.Tiled);
        if (kinds is [GpuMatMul.CuBlas])
            try { GpuDevices.SetMatMul(s_device, GpuMatMul.CuBlas); } catch (InvalidOperationException) { }
        Console.WriteLine($"GEMM implementation for the sections below: {GpuDevices.GetMatMul(s_device)}");
        Console.WriteLine();
        Convolutions();
        TrainingStep();
        CompileTimes();
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Median milliseconds of <paramref name="body"/> after one warm-up call, synchronising the device around each run.</summary>
    private static double Time(Action body, int minRuns = 3, double budgetSeconds = 2)
    {
        body();
        GpuDevices.Synchronize(s_device);
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        int maxRuns = s_quick ? 5 : 20;
        while (times.Count < minRuns || (times.Count < maxRuns && total.Elapsed.TotalSeconds < budgetSeconds))
        {
            var watch = Stopwatch.StartNew();
            body();
            GpuDevices.Synchronize(s_device);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static string Ms(double ms) => ms.ToString(ms < 10 ? "F3" : "F1", CultureInfo.InvariantCulture);

    private static void Gemm(GpuMatMul[] kinds)
    {
        int[] sizes = s_sim ? [32, 64] : s_quick ? [1024, 2048, 4096] : [1024, 2048, 4096, 8192];
        Console.WriteLine("## GEMM (float32, C = A·B, square n × n)");
        Console.WriteLine();
        Console.WriteLine($"| n | {string.Join(" | ", kinds.Select(k => $"{k} ms | {k} GFLOP/s"))} |");
        Console.WriteLine($"|---:|{string.Concat(kinds.Select(_ => "---:|---:|"))}");
        foreach (int n in sizes)
        {
            using var scope = Tensor.NewDisposeScope();
            var a = Tensor.Randn([n, n], DType.Float32, new Generator(1), s_device);
            var b = Tensor.Randn([n, n], DType.Float32, new Generator(2), s_device);
            var cells = new List<string>();
            foreach (var kind in kinds)
            {
                try
                {
                    GpuDevices.SetMatMul(s_device, kind);
                }
                catch (InvalidOperationException e)
                {
                    if (n == sizes[0]) Console.Error.WriteLine(e.Message);
                    cells.Add("n/a | n/a");
                    continue;
                }
                double ms = Time(() => a.Matmul(b).Dispose());
                cells.Add($"{Ms(ms)} | {2.0 * n * n * n / (ms * 1e-3) / 1e9:F0}");
            }
            Console.WriteLine($"| {n} | {string.Join(" | ", cells)} |");
        }
        Console.WriteLine();
    }

    /// <summary>ResNet-18's distinct convolutions (ImageNet, 224 × 224): name, in, out, kernel, stride, padding, input size.</summary>
    internal static readonly (string Name, int Cin, int Cout, int K, int S, int P, int Hw)[] ResNet18Convs =
    [
        ("conv1 7x7/2", 3, 64, 7, 2, 3, 224),
        ("layer1 3x3", 64, 64, 3, 1, 1, 56),
        ("layer2 3x3/2", 64, 128, 3, 2, 1, 56),
        ("layer2 3x3", 128, 128, 3, 1, 1, 28),
        ("layer2 down 1x1/2", 64, 128, 1, 2, 0, 56),
        ("layer3 3x3/2", 128, 256, 3, 2, 1, 28),
        ("layer3 3x3", 256, 256, 3, 1, 1, 14),
        ("layer3 down 1x1/2", 128, 256, 1, 2, 0, 28),
        ("layer4 3x3/2", 256, 512, 3, 2, 1, 14),
        ("layer4 3x3", 512, 512, 3, 1, 1, 7),
        ("layer4 down 1x1/2", 256, 512, 1, 2, 0, 14),
    ];

    private static (int Batch, int Channels, int Spatial) Scale => s_sim ? (2, 8, 16) : (64, 1, 1);

    private static void Convolutions()
    {
        var (batch, cdiv, sdiv) = Scale;
        Console.WriteLine($"## conv2d, ResNet-18 layer shapes, batch {batch}, float32 (no bias)");
        Console.WriteLine();
        Console.WriteLine("| layer | input | weight | forward ms | backward ms (input + weight grads) |");
        Console.WriteLine("|---|---|---|---:|---:|");
        foreach (var (name, cin0, cout0, k, s, p, hw0) in ResNet18Convs)
        {
            int cin = Math.Max(1, cin0 / cdiv), cout = Math.Max(1, cout0 / cdiv), hw = Math.Max(k, hw0 / sdiv);
            using var scope = Tensor.NewDisposeScope();
            var x = Tensor.Randn([batch, cin, hw, hw], DType.Float32, new Generator(3), s_device).RequiresGrad_();
            var w = Tensor.Randn([cout, cin, k, k], DType.Float32, new Generator(4), s_device).Mul(0.05).Detach().RequiresGrad_();
            double forward;
            using (GradMode.NoGrad()) forward = Time(() => F.Conv2d(x, w, null, s, p).Dispose());
            Tensor? upstream = null;
            double both = Time(() =>
            {
                using var inner = Tensor.NewDisposeScope();
                var y = F.Conv2d(x, w, null, s, p);
                upstream ??= Tensor.OnesLike(y).MoveToOuterDisposeScope();
                y.Backward(upstream);
                x.ZeroGrad();
                w.ZeroGrad();
            });
            Console.WriteLine($"| {name} | {batch}×{cin}×{hw}×{hw} | {cout}×{cin}×{k}×{k} | {Ms(forward)} | {Ms(Math.Max(0, both - forward))} |");
        }
        Console.WriteLine();
    }

    /// <summary>
    /// A ResNet-18-shaped stack (no model zoo ResNet exists in the repository yet): conv1 7×7/2, max pool, then four
    /// stages of two basic blocks (conv-bn-relu-conv-bn plus the shortcut, 1×1/2 projections where the shape changes),
    /// global average pooling and a 1000-way linear layer. Its convolutions are exactly ResNet-18's.
    /// </summary>
    private sealed class ConvStack : Module<Tensor, Tensor>
    {
        private readonly List<(Sequential Main, Sequential? Shortcut)> _blocks = [];
        private readonly Sequential _stem;
        private readonly Linear _fc;

        public ConvStack(int channelDivisor, int classes)
        {
            int c(int n) => Math.Max(1, n / channelDivisor);
            _stem = RegisterModule("stem", new Sequential(new Conv2d(3, c(64), 7, 2, 3, bias: false), new BatchNorm2d(c(64)), new ReLU(), new MaxPool2d(3, 2, 1)));
            int cin = c(64), index = 0;
            foreach (var (width, stride) in new[] { (64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1) })
            {
                int cout = c(width);
                var main = RegisterModule($"block{index}", new Sequential(
                    new Conv2d(cin, cout, 3, stride, 1, bias: false), new BatchNorm2d(cout), new ReLU(),
                    new Conv2d(cout, cout, 3, 1, 1, bias: false), new BatchNorm2d(cout)));
                Sequential? shortcut = stride != 1 || cin != cout
                    ? RegisterModule($"shortcut{index}", new Sequential(new Conv2d(cin, cout, 1, stride, bias: false), new BatchNorm2d(cout)))
                    : null;
                _blocks.Add((main, shortcut));
                cin = cout;
                index++;
            }
            _fc = RegisterModule("fc", new Linear(cin, classes));
        }

        public override Tensor Forward(Tensor x)
        {
            var h = _stem.Call(x);
            foreach (var (main, shortcut) in _blocks) h = main.Call(h).Add(shortcut?.Call(h) ?? h).Relu();
            return _fc.Call(F.GlobalAvgPool(h).Flatten(1));
        }
    }

    private static void TrainingStep()
    {
        var (batch, cdiv, sdiv) = Scale;
        int hw = 224 / sdiv;
        Console.WriteLine($"## Training step: ResNet-18-shaped conv stack, batch {batch}, {hw}×{hw}, float32, SGD");
        Console.WriteLine();
        Tensor.ManualSeed(0);
        var model = new ConvStack(cdiv, 1000).To(s_device);
        var images = Tensor.Randn([batch, 3, hw, hw], DType.Float32, new Generator(5), s_device);
        var labels = Tensor.Randint(0, 1000, [batch], DType.Int64, new Generator(6), s_device);
        double loss = 0;
        var first = Stopwatch.StartNew();
        Step();
        GpuDevices.Synchronize(s_device);
        double firstMs = first.Elapsed.TotalMilliseconds;
        double ms = Time(Step, minRuns: s_quick ? 3 : 10, budgetSeconds: 10);
        var memory = GpuDevices.MemoryInfo(s_device);
        Console.WriteLine("| step ms (median) | images/s | first step ms (compiles kernels) | peak allocated MiB | reserved MiB | loss |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| {Ms(ms)} | {batch / (ms / 1000):F0} | {Ms(firstMs)} | {memory.PeakAllocatedBytes / 1048576.0:F0} | {memory.ReservedBytes / 1048576.0:F0} | {loss:F4} |");
        Console.WriteLine();

        void Step()
        {
            using var scope = Tensor.NewDisposeScope();
            var l = Loss.CrossEntropy(model.Call(images), labels);
            l.Backward();
            using (GradMode.NoGrad())
                foreach (var p in model.Parameters()) p.SubInPlace(p.Grad!, 0.01);
            model.ZeroGrad();
            loss = l.Item();
        }
    }

    private static void CompileTimes()
    {
        var times = GpuDevices.KernelCompileTimes();
        Console.WriteLine($"## First-use kernel compile + load times ({times.Count} kernel instantiations, {times.Sum(t => t.Elapsed.TotalMilliseconds) / 1000:F2} s in total)");
        Console.WriteLine();
        Console.WriteLine("| kernel | accelerator | ms |");
        Console.WriteLine("|---|---|---:|");
        foreach (var t in times.OrderByDescending(t => t.Elapsed))
            Console.WriteLine($"| {t.Kernel} | {t.Accelerator} | {t.Elapsed.TotalMilliseconds:F1} |");
        Console.WriteLine();
    }
}
