using System.Text.Json;
using AutoGradNet.Examples.FashionMnist;
using AutoGradNet.Nn;
using AutoGradNet.Serialization;

namespace AutoGradNet.Gpu.Tests;

/// <summary>A fact for machines without a CUDA GPU: skipped, with the reason shown, when ILGPU finds one.</summary>
public sealed class NoCudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when a CUDA device is present.</summary>
    public NoCudaFactAttribute()
    {
        if (GpuDevices.IsCudaAvailable)
            Skip = $"checks the error for a missing CUDA GPU, but ILGPU found one ({GpuDevices.CudaDescription})";
    }
}

/// <summary>
/// The Fashion-MNIST trainer (examples/FashionMnist) on GPU devices: <c>--device gpu-sim</c> end to end on the simulator,
/// <c>--device cuda</c>'s error without a GPU, and a short real run when a CUDA GPU is present.
/// </summary>
public sealed class FashionMnistDeviceTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "agn-fashion-device-" + Guid.NewGuid().ToString("N"));

    public FashionMnistDeviceTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>The learnable Fashion-MNIST-layout files of the core end-to-end test, in a fresh folder.</summary>
    private string WriteDataset(int train, int test)
    {
        string dir = Path.Combine(_root, "data");
        AutoGradNet.Tests.Shared.FashionMnistFiles.WriteLearnable(dir, train, test);
        return dir;
    }

    /// <summary>
    /// conv 1→4 3×3, ReLU, max-pool 4, linear 196→10: the trainer's whole pipeline at a size the simulator runs in a
    /// second or two (LeNet's 1.26 M parameters take about a minute per step there).
    /// </summary>
    private static Module<Tensor, Tensor> TinyCnn(string _) =>
        new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new MaxPool2d(4), new Flatten(), new Linear(4 * 7 * 7, 10));

    private static string[] Args(string device, string data, string output, int epochs) =>
        ["--device", device, "--data", data, "--out", output, "--limit", "4", "--test-limit", "4",
         "--batch-size", "2", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--lr", "0.01", "--plain"];

    [Fact]
    public void TrainsOnTheSimulatorLikeOnTheCpuThenSavesAndResumes()
    {
        string data = WriteDataset(train: 8, test: 4);
        string simOut = Path.Combine(_root, "sim"), cpuOut = Path.Combine(_root, "cpu");
        var sim = GpuDevices.CpuSimulator();
        var before = GpuDevices.MemoryInfo(sim);
        GpuDevices.ResetPeakMemory(sim);

        var log = new StringWriter();
        var options = Options.Parse(Args("gpu-sim", data, simOut, epochs: 1));
        var result = new Trainer(options, log) { ModelFactory = TinyCnn }.Run();

        string text = log.ToString();
        Assert.Contains("device ilgpu-cpu", text);
        Assert.Single(result.History);
        var epoch = result.History[0];
        Assert.True(double.IsFinite(epoch.TrainLoss) && epoch.TrainLoss > 0, text);
        Assert.True(double.IsFinite(epoch.TestLoss) && epoch.TestLoss > 0, text);
        Assert.InRange(epoch.TrainAccuracy, 0, 1);
        foreach (var file in new[] { "model.safetensors", "checkpoint.safetensors", "metrics.json", "curves.png" })
            Assert.True(File.Exists(Path.Combine(simOut, file)), $"{file} missing\n{text}");
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(simOut, "metrics.json"))))
        {
            Assert.Equal("gpu-sim", metrics.RootElement.GetProperty("Device").GetString());
            Assert.Equal(epoch.TrainLoss, metrics.RootElement.GetProperty("History")[0].GetProperty("TrainLoss").GetDouble(), 12);
        }

        // The work ran on the simulator, and the trainer gave all its device memory back.
        var after = GpuDevices.MemoryInfo(sim);
        Assert.True(after.PeakAllocatedBytes > before.AllocatedBytes, $"nothing was allocated on {sim}");
        Assert.Equal(before.LiveStorages, after.LiveStorages);
        Assert.Equal(before.AllocatedBytes, after.AllocatedBytes);

        // The same run on the CPU gives the same figures and weights: the model and the batches really moved, and
        // model.safetensors holds the trained device weights.
        var cpu = new Trainer(options with { Device = "cpu", OutputDirectory = cpuOut }, new StringWriter()) { ModelFactory = TinyCnn }.Run();
        Assert.Equal(cpu.History[0].TrainLoss, epoch.TrainLoss, 5);
        Assert.Equal(cpu.History[0].TestLoss, epoch.TestLoss, 5);
        Assert.Equal(cpu.History[0].TestAccuracy, epoch.TestAccuracy);
        using (var simModel = TinyCnn(""))
        using (var cpuModel = TinyCnn(""))
        {
            Assert.True(simModel.Load(Path.Combine(simOut, "model.safetensors")).IsClean);
            Assert.True(cpuModel.Load(Path.Combine(cpuOut, "model.safetensors")).IsClean);
            var simState = simModel.StateDict();
            foreach (var (name, w) in cpuModel.StateDict())
                Sim.AssertClose(w, simState[name], $"saved {name}", 1e-4);
        }

        // --resume loads the checkpoint (weights, Adam moments, scheduler) onto the simulator and trains a second
        // epoch, as the CPU resumes its own.
        var resumeLog = new StringWriter();
        var resumed = new Trainer(Options.Parse([.. Args("gpu-sim", data, simOut, epochs: 2), "--resume", Path.Combine(simOut, "checkpoint.safetensors")]), resumeLog)
            { ModelFactory = TinyCnn }.Run();
        Assert.Contains("resumed from", resumeLog.ToString());
        Assert.Equal(2, resumed.History.Count);
        Assert.Equal(epoch, resumed.History[0]);
        Assert.True(double.IsFinite(resumed.History[1].TrainLoss), resumeLog.ToString());
        var cpuResumed = new Trainer(Options.Parse([.. Args("cpu", data, cpuOut, epochs: 2), "--resume", Path.Combine(cpuOut, "checkpoint.safetensors")]), new StringWriter())
            { ModelFactory = TinyCnn }.Run();
        Assert.Equal(cpuResumed.History[1].TrainLoss, resumed.History[1].TrainLoss, 5);
        Assert.Equal(cpuResumed.History[1].TestLoss, resumed.History[1].TestLoss, 5);
        using var reloaded = TinyCnn("");
        Assert.Equal("2", Checkpoint.Load(Path.Combine(simOut, "checkpoint.safetensors"), reloaded)["epoch"]);
    }

    /// <summary>Runs the example's Main with <paramref name="args"/>; returns its exit code and what it wrote to stderr.</summary>
    private static (int Code, string Error) RunProgram(params string[] args)
    {
        var entry = typeof(Trainer).Assembly.EntryPoint ?? throw new InvalidOperationException("the example has no entry point");
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            return ((int)entry.Invoke(null, [args])!, error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    [NoCudaFact]
    public void CudaWithoutAGpuFailsWithAClearMessage()
    {
        foreach (var device in new[] { "cuda", "cuda:1" })
        {
            // Before any data is read: the data folder does not even exist.
            var (code, error) = RunProgram("--device", device, "--data", Path.Combine(_root, "missing"));
            Assert.Equal(2, code);
            Assert.Contains($"--device {device}: no CUDA device found (ILGPU saw: ", error);
            Assert.Contains(GpuDevices.CudaDescription, error);
            Assert.Contains("use --device cpu", error);
            Assert.DoesNotContain("usage:", error); // a fact about the machine, not a misuse of the options
            Assert.DoesNotContain("   at ", error); // and no stack trace
        }
        // The trainer itself refuses too, before it creates anything.
        var options = new Options { Device = "cuda", DataDirectory = Path.Combine(_root, "missing"), OutputDirectory = Path.Combine(_root, "out") };
        var e = Assert.Throws<DeviceUnavailableException>(() => new Trainer(options, new StringWriter()).Run());
        Assert.Contains("no CUDA device found", e.Message);
        Assert.False(Directory.Exists(options.OutputDirectory));
    }

    [Fact]
    public void MisspelledDevicesAreUsageErrors()
    {
        var (code, error) = RunProgram("--device", "cuda:x");
        Assert.Equal(2, code);
        Assert.Contains("--device must be cpu, cuda, cuda:N or gpu-sim, got 'cuda:x'", error);
        Assert.Contains("usage:", error);
    }

    [CudaFact]
    public void TrainsLeNetOnTheGpu()
    {
        string data = WriteDataset(train: 256, test: 100);
        string output = Path.Combine(_root, "cuda");
        var options = Options.Parse(["--device", "cuda", "--data", data, "--out", output, "--batch-size", "32", "--epochs", "2", "--plain"]);
        var log = new StringWriter();
        var result = new Trainer(options, log).Run();
        Assert.Contains("device cuda:0", log.ToString());
        Assert.Equal(2, result.History.Count);
        Assert.True(result.History.All(h => double.IsFinite(h.TrainLoss) && double.IsFinite(h.TestLoss)), log.ToString());
        Assert.True(result.History[1].TrainLoss < result.History[0].TrainLoss, log.ToString());
        using var model = Trainer.CreateModel("lenet");
        Assert.True(model.Load(Path.Combine(output, "model.safetensors")).IsClean);
        var resumed = new Trainer(options with { Epochs = 3, Resume = Path.Combine(output, "checkpoint.safetensors") }, new StringWriter()).Run();
        Assert.Equal(3, resumed.History.Count);
    }
}
