using System.Text.Json;
using AutoGradNet.Examples.FashionMnist;
using AutoGradNet.Nn;
using AutoGradNet.Serialization;
using AutoGradNet.Tests.Data;

namespace AutoGradNet.Tests.MainJob;

/// <summary>The main job's code path end to end on a small subset: real Fashion-MNIST when installed, generated IDX files otherwise.</summary>
[Collection(nameof(MemoryCollection))]
public class FashionMnistEndToEndTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrainsSavesReloadsAndReports(bool generated)
    {
        using var data = new TempDir();
        using var output = new TempDir();
        bool real = !generated && AutoGradNet.Data.FashionMnist.IsInstalled();
        if (!real) Shared.FashionMnistFiles.WriteLearnable(data.Path, train: 640, test: 200);
        var options = new Options
        {
            DataDirectory = real ? AutoGradNet.Data.FashionMnist.DefaultDirectory : data.Path,
            OutputDirectory = output.Path,
            Epochs = 2,
            Limit = 640,
            TestLimit = 200,
            BatchSize = 32,
            LearningRate = 2e-3,
            Plain = true,
        };
        var log = new StringWriter();
        var result = new Trainer(options, log).Run();

        Assert.Equal(2, result.History.Count);
        Assert.True(result.History[1].TrainLoss < result.History[0].TrainLoss, log.ToString());
        Assert.True(result.TestAccuracy > 0.3, $"test accuracy {result.TestAccuracy}\n{log}");
        Assert.Contains("confusion matrix", log.ToString());

        // The saved model reloads to identical predictions.
        var reloaded = Trainer.CreateModel("lenet");
        Assert.True(reloaded.Load(Path.Combine(output.Path, "model.safetensors")).IsClean);
        var original = Trainer.CreateModel("lenet");
        Checkpoint.Load(Path.Combine(output.Path, "checkpoint.safetensors"), original);
        using (var scope = Tensor.NewDisposeScope())
        {
            var x = Tensor.Randn([8, 1, 28, 28], generator: new Generator(3));
            Assert.Equal(original.Eval().Call(x).ToArray<float>(), reloaded.Eval().Call(x).ToArray<float>());
        }

        // metrics.json is well-formed and agrees with the run.
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output.Path, "metrics.json")));
        Assert.Equal(result.TestAccuracy, metrics.RootElement.GetProperty("TestAccuracy").GetDouble(), 12);
        Assert.Equal(2, metrics.RootElement.GetProperty("History").GetArrayLength());
        Assert.Equal(10, metrics.RootElement.GetProperty("Confusion").GetArrayLength());
        long total = metrics.RootElement.GetProperty("Confusion").EnumerateArray().Sum(row => row.EnumerateArray().Sum(v => v.GetInt64()));
        Assert.Equal(200, total);

        // curves.png is a real PNG of the requested size.
        var png = File.ReadAllBytes(Path.Combine(output.Path, "curves.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(900, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(520, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.True(png.Length > 10_000);

        // --resume continues from the checkpoint to a further epoch.
        var resumed = new Trainer(options with { Epochs = 3, Resume = Path.Combine(output.Path, "checkpoint.safetensors") }, new StringWriter()).Run();
        Assert.Equal(3, resumed.History.Count);
        Assert.Equal(result.History[0], resumed.History[0]);
        // The cosine schedule is stretched to the new 3 epochs: epoch 3 runs at lr₀·(1 + cos(2π/3))/2 = lr₀/4, not
        // at the 2-epoch schedule's final lr of 0.
        Assert.Equal(options.LearningRate / 4, resumed.History[2].LearningRate, 12);
    }

    [Fact]
    public void OptionsRejectBadValues()
    {
        Assert.Equal(3, Options.Parse(["--epochs", "3", "--model", "resnet"]).Epochs);
        Assert.Throws<ArgumentException>(() => Options.Parse(["--model", "vgg"]));
        Assert.Throws<ArgumentException>(() => Options.Parse(["--epochs"]));
        Assert.Throws<ArgumentException>(() => Options.Parse(["--bogus"]));
        Assert.Throws<ArgumentException>(() => Options.Parse(["--device", "tpu"]));
        // Device spellings only: whether a CUDA GPU exists is checked when the device is resolved (tests in AutoGradNet.Gpu.Tests).
        foreach (var device in new[] { "cpu", "cuda", "cuda:0", "cuda:3", "gpu-sim" })
            Assert.Equal(device, Options.Parse(["--device", device]).Device);
        foreach (var device in new[] { "cuda:", "cuda:-1", "cuda:x", "cuda0", "gpu", "CPU", "" })
            Assert.Contains("--device must be cpu, cuda, cuda:N or gpu-sim", Assert.Throws<ArgumentException>(() => Options.Parse(["--device", device])).Message);
        Assert.Equal("cpu", Options.Parse([]).Device);
    }
}
