using System.Diagnostics;
using AutoGradNet.Models;
using AutoGradNet.Nn;
using AutoGradNet.Optim;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Benchmarks;

/// <summary>
/// A fast Stopwatch harness for iterating on performance (not a replacement for BenchmarkDotNet):
/// <c>dotnet run -c Release --project benchmarks/AutoGradNet.Benchmarks -- --quick [reps]</c>.
/// Prints the median and minimum of several repetitions of each case, with managed bytes allocated per call.
/// </summary>
public static class QuickHarness
{
    public static void Run(string[] args)
    {
        int reps = args.Length > 1 ? int.Parse(args[1]) : 15;
        string filter = args.Length > 2 ? args[2] : "";
        var g = new Generator(5);

        if ("lenet".Contains(filter) || filter == "")
        {
            var lenet = new LeNet();
            var sgd = new SGD(lenet.Parameters(), lr: 0.01, momentum: 0.9);
            var x = Tensor.Randn([64, 1, 28, 28], generator: g);
            var y = Tensor.Randint(0, 10, [64], generator: g);
            Time("LeNet step b64", reps, () => Step(lenet, sgd, x, y));
        }
        if (filter.StartsWith("profile-", StringComparison.Ordinal))
        {
            Module<Tensor, Tensor> model = filter switch
            {
                "profile-lenet" => new LeNet(),
                "profile-resnet20" => new CifarResNet(20, inChannels: 1),
                _ => ResNet.CifarResNet18(),
            };
            model.Train();
            var sgd = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
            bool small = filter != "profile-resnet18";
            var x = Tensor.Randn(filter == "profile-lenet" ? [64, 1, 28, 28] : small ? [32, 1, 28, 28] : [32, 3, 32, 32], generator: g);
            var y = Tensor.Randint(0, 10, [x.Size(0)], generator: g);
            for (int i = 0; i < 3; i++) Step(model, sgd, x, y);
            var sw = Stopwatch.StartNew();
            using (var prof = Profiler.Start())
            {
                for (int i = 0; i < reps; i++) Step(model, sgd, x, y);
                sw.Stop();
                Console.WriteLine($"{filter}: {sw.Elapsed.TotalMilliseconds / reps:F2} ms per step; per-op totals over {reps} steps:");
                Console.WriteLine(prof.Table(25));
            }
            return;
        }
        if (filter.StartsWith("allocs-", StringComparison.Ordinal))
        {
            // Which types a training step allocates: the runtime's allocation-tick events (one per ~100 KB allocated),
            // counted by type name over many steps. Sampled, so only the proportions mean anything.
            Module<Tensor, Tensor> model = filter == "allocs-lenet" ? new LeNet() : ResNet.CifarResNet18();
            model.Train();
            var sgd = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
            var x = Tensor.Randn(filter == "allocs-lenet" ? [64, 1, 28, 28] : [32, 3, 32, 32], generator: g);
            var y = Tensor.Randint(0, 10, [x.Size(0)], generator: g);
            for (int i = 0; i < 3; i++) Step(model, sgd, x, y);
            using var listener = new AllocationListener();
            long before = GC.GetTotalAllocatedBytes(true);
            for (int i = 0; i < reps; i++) Step(model, sgd, x, y);
            long perStep = (GC.GetTotalAllocatedBytes(true) - before) / reps;
            Console.WriteLine($"{filter}: {perStep / 1024.0:F1} KB per step; sampled types:");
            foreach (var (type, n) in listener.Counts.OrderByDescending(kv => kv.Value).Take(40))
                Console.WriteLine($"  {n,6}  {type}");
            return;
        }
        if (filter == "poolloop")
        {
            var a = Tensor.Randn([64, 20, 28, 28], generator: g);
            for (int i = 0; i < reps; i++) { using var s = Tensor.NewDisposeScope(); using var ng = GradMode.NoGrad(); F.MaxPool2d(a, 2); }
            return;
        }
        if (filter == "lenetparts")
        {
            var x1 = Tensor.Randn([64, 1, 28, 28], generator: g).RequiresGrad_();
            var w1 = (Tensor.Randn([20, 1, 5, 5], generator: g) * 0.1).RequiresGrad_();
            var b1 = Tensor.Zeros([20]).RequiresGrad_();
            var a1 = Tensor.Randn([64, 20, 28, 28], generator: g).RequiresGrad_();
            var x2 = Tensor.Randn([64, 20, 14, 14], generator: g).RequiresGrad_();
            var w2 = (Tensor.Randn([50, 20, 5, 5], generator: g) * 0.1).RequiresGrad_();
            var b2 = Tensor.Zeros([50]).RequiresGrad_();
            var a2 = Tensor.Randn([64, 50, 14, 14], generator: g).RequiresGrad_();
            var f1 = Tensor.Randn([64, 2450], generator: g).RequiresGrad_();
            var l1 = new Linear(2450, 500);
            var l2 = new Linear(500, 10);
            var h = Tensor.Randn([64, 500], generator: g).RequiresGrad_();
            var yl = Tensor.Randint(0, 10, [64], generator: g);
            void Fb(Func<Tensor> f, params Tensor[] leaves) { using var s = Tensor.NewDisposeScope(); foreach (var t in leaves) t.ZeroGrad(); f().Sum().Backward(); }
            Time("conv1 fwd+bwd (w,b grads)", reps, () => Fb(() => F.Conv2d(x1.Detach(), w1, b1, 1, 2), w1, b1));
            Time("relu1 fwd+bwd 64x20x28x28", reps, () => Fb(() => a1.Relu(), a1));
            Time("pool1 fwd+bwd 64x20x28x28", reps, () => Fb(() => F.MaxPool2d(a1, 2), a1));
            Time("pool1 fwd no-grad", reps, () => { using var s = Tensor.NewDisposeScope(); using var ng = GradMode.NoGrad(); F.MaxPool2d(a1, 2); });
            Time("pool1 fwd", reps, () => { using var s = Tensor.NewDisposeScope(); F.MaxPool2d(a1, 2); });
            {
                var geo = new ConvGeometry([28, 28], [2, 2], [1, 1], [1, 1], [0, 0], [14, 14]);
                int[] st = Enumerable.Range(0, 14).Select(o => 2 * o).ToArray(), en = st.Select(v => v + 2).ToArray();
                int[][] starts = [[0], st, st], ends = [[1], en, en];
                var vals = Tensor.Alloc([64, 20, 14, 14], a1.DType, a1.Device);
                var inds = Tensor.Alloc([64, 20, 14, 14], DType.Int64, a1.Device);
                var ad = a1.Detach();
                Time("pool1 backend kernel only", reps, () => a1.Device.Backend.MaxPool(ad, vals, inds, geo, starts, ends));
            }
            Time("relu1 fwd", reps, () => { using var s = Tensor.NewDisposeScope(); a1.Relu(); });
            Time("conv2 fwd+bwd", reps, () => Fb(() => F.Conv2d(x2, w2, b2, 1, 2), x2, w2, b2));
            Time("relu2 fwd+bwd 64x50x14x14", reps, () => Fb(() => a2.Relu(), a2));
            Time("pool2 fwd+bwd 64x50x14x14", reps, () => Fb(() => F.MaxPool2d(a2, 2), a2));
            Time("fc1 fwd+bwd", reps, () => Fb(() => l1.Call(f1), f1));
            Time("fc2+CE fwd+bwd", reps, () => { using var s = Tensor.NewDisposeScope(); h.ZeroGrad(); Loss.CrossEntropy(l2.Call(h), yl).Backward(); });
            var lenet = new LeNet();
            var sgd = new SGD(lenet.Parameters(), lr: 0.01, momentum: 0.9);
            foreach (var prm in lenet.Parameters()) prm.Grad = Tensor.ZerosLike(prm);
            Time("sgd step (momentum)", reps, () => sgd.Step());
        }
        if ("resnet".Contains(filter) || filter == "")
        {
            var resnet = new CifarResNet(20);
            resnet.Train();
            var sgd = new SGD(resnet.Parameters(), lr: 0.01, momentum: 0.9);
            var x = Tensor.Randn([32, 3, 32, 32], generator: g);
            var y = Tensor.Randint(0, 10, [32], generator: g);
            Time("ResNet-20 step b32", reps, () => Step(resnet, sgd, x, y));
        }
        if ("ops".Contains(filter) || filter == "")
        {
            var a = Tensor.Randn([32, 16, 32, 32], generator: g).RequiresGrad_();
            var w = Tensor.Ones([16]).RequiresGrad_();
            var b = Tensor.Zeros([16]).RequiresGrad_();
            var rm = Tensor.Zeros([16]);
            var rv = Tensor.Ones([16]);
            Time("sum dims(0,2,3) 32x16x32x32", reps * 10, () => { using var s = Tensor.NewDisposeScope(); using var ng = GradMode.NoGrad(); a.Sum([0, 2, 3], true); });
            Time("batchnorm fwd 32x16x32x32", reps * 4, () => { using var s = Tensor.NewDisposeScope(); using var ng = GradMode.NoGrad(); F.BatchNorm(a, rm, rv, w, b, training: true); });
            Time("batchnorm fwd+bwd 32x16x32x32", reps * 4, () =>
            {
                using var s = Tensor.NewDisposeScope();
                a.ZeroGrad(); w.ZeroGrad(); b.ZeroGrad();
                F.BatchNorm(a, rm, rv, w, b, training: true).Sum().Backward();
            });
            Time("relu fwd+bwd 32x16x32x32", reps * 4, () => { using var s = Tensor.NewDisposeScope(); a.ZeroGrad(); a.Relu().Sum().Backward(); });
            var k = Tensor.Randn([16, 16, 3, 3], generator: g).Mul(0.1).DetachFromDisposeScope().RequiresGrad_();
            Time("conv 32x16x32x32 3x3 fwd+bwd", reps * 2, () => { using var s = Tensor.NewDisposeScope(); a.ZeroGrad(); k.ZeroGrad(); F.Conv2d(a, k, null, 1, 1).Sum().Backward(); });
            var mp = Tensor.Randn([64, 6, 28, 28], generator: g).RequiresGrad_();
            Time("maxpool2 fwd+bwd 64x6x28x28", reps * 4, () => { using var s = Tensor.NewDisposeScope(); mp.ZeroGrad(); F.MaxPool2d(mp, 2).Sum().Backward(); });
            var p = Tensor.From(new[] { 1.5f }, 1).RequiresGrad_();
            var q = Tensor.From(new[] { 2.5f }, 1).RequiresGrad_();
            Time("add 1-elem recorded (x1000)", reps, () => { for (int i = 0; i < 1000; i++) { using var r = p.Add(q); } });
        }
    }

    private static double Step(Module<Tensor, Tensor> model, SGD sgd, Tensor x, Tensor y)
    {
        using var scope = Tensor.NewDisposeScope();
        sgd.ZeroGrad();
        var loss = Loss.CrossEntropy(model.Call(x), y);
        loss.Backward();
        sgd.Step();
        return loss.Item();
    }

    private static void Time(string name, int reps, Action body)
    {
        for (int i = 0; i < 3; i++) body();
        var times = new double[reps];
        long bytes = 0, total0 = GC.GetTotalAllocatedBytes(), gen2 = GC.CollectionCount(2);
        for (int i = 0; i < reps; i++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            body();
            times[i] = sw.Elapsed.TotalMilliseconds;
            bytes += GC.GetAllocatedBytesForCurrentThread() - b0;
        }
        // TRACE=1 prints every repetition's time in order (phases of the host show up as runs of slow steps).
        if (Environment.GetEnvironmentVariable("TRACE") == "1")
            Console.WriteLine(string.Join(" ", times.Select(t => t.ToString("F1"))));
        Array.Sort(times);
        double allThreads = (GC.GetTotalAllocatedBytes() - total0) / (double)reps / 1024;
        Console.WriteLine($"{name,-36} median {times[reps / 2],9:F3} ms  min {times[0],9:F3} ms  alloc {bytes / reps / 1024.0,9:F1} KB" +
            $" (all threads {allThreads:F1} KB)  gen2 GCs {GC.CollectionCount(2) - gen2}");
    }

    private static void Time(string name, int reps, Func<double> body) => Time(name, reps, () => { body(); });
}

internal static class ConvParts
{
    public static void Gemm(int reps)
    {
        var g = new Generator(5);
        // SIZES=1000,1024 (comma-separated) replaces the default sizes.
        int[] sizes = Environment.GetEnvironmentVariable("SIZES")?.Split(',').Select(int.Parse).ToArray() ?? [256, 1024, 2048];
        // MNK=m,n,k times one rectangular product (e.g. a convolution's shape: MNK=128,8192,1152) and nothing else.
        if (Environment.GetEnvironmentVariable("MNK")?.Split(',').Select(int.Parse).ToArray() is [int m, int nn, int kk])
        {
            var a = Tensor.Randn([m, kk], generator: g);
            var b = Tensor.Randn([kk, nn], generator: g);
            var c = Tensor.Alloc([m, nn], a.DType, a.Device);
            var be = a.Device.Backend;
            Time($"matmul {m}x{nn}x{kk} (GFLOP/s = {2.0 * m * nn * kk / 1e6:F0} / ms)", reps, () => be.MatMul(a.Unsqueeze(0), b.Unsqueeze(0), c.Unsqueeze(0)));
            return;
        }
        foreach (int n in sizes)
        {
            var a = Tensor.Randn([n, n], generator: g);
            var b = Tensor.Randn([n, n], generator: g);
            var c = Tensor.Alloc([n, n], a.DType, a.Device);
            var be = a.Device.Backend;
            double flop = 2.0 * n * n * n;
            int r = n <= 256 ? reps * 20 : reps;
            Time($"matmul {n}^3 (GFLOP/s = {flop / 1e6:F0} / ms)", r, () => be.MatMul(a.Unsqueeze(0), b.Unsqueeze(0), c.Unsqueeze(0)));
            Time($"matmul {n}^3 A^T", r, () => be.MatMul(a.T.Unsqueeze(0), b.Unsqueeze(0), c.Unsqueeze(0)));
            Time($"matmul {n}^3 B^T", r, () => be.MatMul(a.Unsqueeze(0), b.T.Unsqueeze(0), c.Unsqueeze(0)));
        }
        // LeNet's fc1 (2450 → 500, batch 64): forward, input gradient, weight gradient, as the autograd formulas call them.
        {
            var x = Tensor.Randn([64, 2450], generator: g);
            var w = Tensor.Randn([500, 2450], generator: g);
            var gy = Tensor.Randn([64, 500], generator: g);
            var y = Tensor.Alloc([64, 500], x.DType, x.Device);
            var gx = Tensor.Alloc([64, 2450], x.DType, x.Device);
            var gw = Tensor.Alloc([500, 2450], x.DType, x.Device);
            var be = x.Device.Backend;
            Time("fc1 x·Wᵀ 64x2450x500 (157 MF)", reps * 4, () => be.MatMul(x.Unsqueeze(0), w.T.Unsqueeze(0), y.Unsqueeze(0)));
            Time("fc1 gy·W", reps * 4, () => be.MatMul(gy.Unsqueeze(0), w.Unsqueeze(0), gx.Unsqueeze(0)));
            Time("fc1 gyᵀ·x", reps * 4, () => be.MatMul(gy.T.Unsqueeze(0), x.Unsqueeze(0), gw.Unsqueeze(0)));
        }
        foreach (int n in new[] { 256, 1024 })
        {
            var a = Tensor.Randn([n, n], generator: g).To(DType.Float64);
            var b = Tensor.Randn([n, n], generator: g).To(DType.Float64);
            var c = Tensor.Alloc([n, n], a.DType, a.Device);
            Time($"dgemm {n}^3 ({2.0 * n * n * n / 1e6:F0} MF)", n <= 256 ? reps * 20 : reps, () => a.Device.Backend.MatMul(a.Unsqueeze(0), b.Unsqueeze(0), c.Unsqueeze(0)));
        }
    }

    public static void Run(int reps)
    {
        var g = new Generator(5);
        // SHAPE="n,c,h,co[,kernel,pad,stride]" (e.g. LeNet's conv2: 64,20,14,50,5,2) replaces the four wide 3×3
        // layers; with a stride other than 1 only the op is timed (the implicit kernels are unit-stride).
        var shapes = Environment.GetEnvironmentVariable("SHAPE") is { } spec
            ? [spec.Split(',').Select(int.Parse).Concat(new[] { 3, 1, 1 }.Skip(spec.Split(',').Length - 4)).ToArray()]
            : new[] { new[] { 32, 64, 32, 64, 3, 1, 1 }, [32, 128, 16, 128, 3, 1, 1], [32, 256, 8, 256, 3, 1, 1], [32, 512, 4, 512, 3, 1, 1] };
        foreach (var shape in shapes)
        {
            int n = shape[0], c = shape[1], h = shape[2], co = shape[3], kk = shape[4], pad = shape[5], stride = shape[6];
            var x = Tensor.Randn([n, c, h, h], generator: g);
            var w = Tensor.Randn([co, c, kk, kk], generator: g);
            var geo = new ConvGeometry([h, h], [kk, kk], [1, 1], [pad, pad], [1, 1], [h, h]);
            var be = x.Device.Backend;
            int l = h * h, k = kk * kk;
            var cols = Tensor.Alloc([n, c * k, l], x.DType, x.Device);
            var y = Tensor.Alloc([n, co, l], x.DType, x.Device);
            double flop = 2.0 * n * co * c * k * l;
            string tag = $"{n}x{c}x{h}x{h}->{co}" + (kk != 3 ? $" {kk}x{kk}" : "") + (stride != 1 ? $" s{stride}" : "");
            var xr = x.Clone().RequiresGrad_();
            var wr = (w * 0.05).RequiresGrad_();
            // ONLY=fwd|wgrad|igrad times that one implicit kernel and nothing else (for a profiler).
            string? only = Environment.GetEnvironmentVariable("ONLY");
            bool Timed(string kernel) => only is null || only == kernel;
            if (only is null) Time($"conv fwd {tag}", reps, () => { using var s = Tensor.NewDisposeScope(); using var ng = GradMode.NoGrad(); F.Conv2d(xr, wr, null, stride, pad); });
            // As ConvBenchmarks.ForwardBackward: a dense upstream gradient (a Sum's expanded one would be copied).
            Tensor gradOut;
            using (GradMode.NoGrad()) gradOut = Tensor.Randn(F.Conv2d(xr, wr, null, stride, pad).Shape.ToArray(), generator: g);
            if (only is null) Time($"conv fwd+bwd {tag}", reps, () => { using var s = Tensor.NewDisposeScope(); xr.ZeroGrad(); wr.ZeroGrad(); F.Conv2d(xr, wr, null, stride, pad).Backward(gradOut); });
            if (stride != 1 || Environment.GetEnvironmentVariable("OPS_ONLY") != null) continue;
            var y4 = Tensor.Alloc([n, co, h, h], x.DType, x.Device);
            // Real values: a pooled array never written may still be untouched pages, which all read the kernel's one
            // zero page (always in cache): the stem's input gradient timed 0.46 ms that way against 0.70 ms on data.
            be.TryConvolution(x, w, y4, geo, 1);
            Console.WriteLine($"  ({flop / 1e6:F0} MFLOP per product)");
            if (Timed("fwd")) Time($"implicit fwd kernel {tag}", reps, () => be.TryConvolution(x, w, y4, geo, 1));
            var gw = Tensor.Alloc([co, c * k], x.DType, x.Device, zero: true);
            if (Timed("wgrad")) Time($"implicit wgrad kernel {tag}", reps, () => be.TryConvolutionWeight(x, y4, gw, geo, 1));
            var gx = Tensor.Alloc([n, c, h, h], x.DType, x.Device);
            if (Timed("igrad")) Time($"implicit igrad kernel {tag}", reps, () => be.TryConvolutionInput(y4, w, gx, geo, 1));
            if (Environment.GetEnvironmentVariable("PARTS") == null) continue;
            Time($"unfold {tag}", reps, () => be.Unfold(x.Borrow([n, c, l], [c * l, l, 1], 0), cols, geo));
            Time($"fold {tag}", reps, () => be.Fold(cols, x.Borrow([n, c, l], [c * l, l, 1], 0), geo));
            Time($"gemm fwd {tag} ({flop / 1e6:F0} MF)", reps, () => be.MatMul(w.Borrow([n, co, c * k], [0, c * k, 1], 0), cols, y));
            Time($"gemm wgrad {tag}", reps, () => be.MatMul(y, cols.Borrow([n, l, c * k], [c * k * l, 1, l], 0), w.Borrow([n, co, c * k], [0, c * k, 1], 0), true));
            Time($"gemm igrad {tag}", reps, () => be.MatMul(w.Borrow([n, c * k, co], [0, 1, c * k], 0), y, cols));
        }
    }

    private static void Time(string name, int reps, Action body)
    {
        body();
        var times = new double[reps];
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < reps; i++) { var sw = System.Diagnostics.Stopwatch.StartNew(); body(); times[i] = sw.Elapsed.TotalMilliseconds; }
        double kb = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)reps / 1024;
        Array.Sort(times);
        Console.WriteLine($"{name,-44} median {times[reps / 2],8:F3} ms  min {times[0],8:F3} ms  alloc {kb,7:F1} KB");
    }
}

/// <summary>Counts the runtime's GC allocation-tick events by the allocated type's name.</summary>
internal sealed class AllocationListener : System.Diagnostics.Tracing.EventListener
{
    public readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Counts = new();

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName != "GCAllocationTick_V4" || e.PayloadNames is null) return;
        int i = e.PayloadNames.IndexOf("TypeName");
        if (i >= 0) Counts.AddOrUpdate(e.Payload![i]?.ToString() ?? "?", 1, (_, n) => n + 1);
    }
}
