using AutoGradNet.Nn;

namespace AutoGradNet.Gpu.Tests;

/// <summary>Devices, moves between devices, mixed-device errors, and the allocator's memory counters.</summary>
public class DeviceTests
{
    [Fact]
    public void SimulatorIsOneAcceleratorDevice()
    {
        var device = GpuDevices.CpuSimulator();
        Assert.Same(device, GpuDevices.CpuSimulator());
        Assert.Equal(DeviceKind.Accelerator, device.Kind);
        Assert.Equal("ilgpu-cpu", device.Name);
        Assert.True(GpuDevices.IsGpuDevice(device));
        Assert.False(GpuDevices.IsGpuDevice(Device.Cpu));
        Assert.NotEqual(Device.Cpu, device);
        Assert.Throws<ArgumentException>(() => GpuDevices.MemoryInfo(Device.Cpu));
    }

    [Fact]
    public void CudaWithoutAGpuThrowsAndSaysSo()
    {
        if (GpuDevices.IsCudaAvailable)
        {
            Assert.Equal(DeviceKind.Accelerator, GpuDevices.Cuda().Kind);
            Assert.Equal("cuda:0", GpuDevices.Cuda().Name);
            Assert.Throws<InvalidOperationException>(() => GpuDevices.Cuda(GpuDevices.CudaDeviceCount));
            return;
        }
        Assert.Equal(0, GpuDevices.CudaDeviceCount);
        var e = Assert.Throws<InvalidOperationException>(() => GpuDevices.Cuda());
        Assert.Contains("no CUDA device", e.Message);
    }

    [Fact]
    public void TensorsMoveBetweenDevicesAndTheGradientFlowsBack()
    {
        var x = Tensor.Randn([3, 4], DType.Float64, new Generator(1)).RequiresGrad_();
        var onDevice = x.To(Sim.Device);
        Assert.Equal(Sim.Device, onDevice.Device);
        Assert.Contains($"device='{Sim.Device.Name}'", onDevice.ToString());
        Assert.Same(onDevice, onDevice.To(Sim.Device));
        var y = onDevice.Tanh().Sum();
        y.Backward();
        Assert.Equal(Device.Cpu, x.Grad!.Device); // ToCopyBackward brings the gradient home
        Sim.AssertClose(x.Detach().Tanh().Pow(2).Neg().Add(1), x.Grad, "d tanh");
        Assert.Equal(x.ToArray<double>(), onDevice.To(Device.Cpu).ToArray<double>());
    }

    [Fact]
    public void OpsOnMixedDevicesNameBothDevices()
    {
        var a = Tensor.Ones(2, 3);
        var b = Tensor.Ones(2, 3).To(Sim.Device);
        var e = Assert.Throws<InvalidOperationException>(() => a.Add(b));
        Assert.Contains("different devices", e.Message);
        Assert.Contains("cpu", e.Message);
        Assert.Contains(Sim.Device.Name, e.Message);
        var m = Assert.Throws<InvalidOperationException>(() => b.Matmul(a.T));
        Assert.Contains(Sim.Device.Name, m.Message);
        Assert.Contains("cpu (shape", m.Message);
    }

    [Fact]
    public void ModulesMoveWithParametersAndBuffers()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, padding: 1), new BatchNorm2d(2), new ReLU(), new Flatten(), new Linear(2 * 4 * 4, 3));
        var conv = (Conv2d)model.First();
        var weight = conv.Weight;
        model.To(Sim.Device);
        Assert.Same(weight, conv.Weight); // the same parameter object, now on the device
        Assert.All(model.Parameters(), p => Assert.Equal(Sim.Device, p.Device));
        Assert.All(model.NamedBuffers(), b => Assert.Equal(Sim.Device, b.Buffer.Device));
        var x = Tensor.Randn([2, 1, 4, 4], DType.Float32, new Generator(2)).To(Sim.Device);
        var loss = model.Call(x).Sum();
        loss.Backward();
        Assert.All(model.Parameters(), p => Assert.Equal(Sim.Device, p.Grad!.Device));
        model.To(Device.Cpu);
        Assert.All(model.Parameters(), p => Assert.Equal(Device.Cpu, p.Device));
    }

    [Fact]
    public void FreedBlocksAreCachedAndReused()
    {
        var device = Sim.Device;
        var before = GpuDevices.MemoryInfo(device);
        var t = Tensor.Zeros([1000], DType.Float32, device);
        var during = GpuDevices.MemoryInfo(device);
        Assert.Equal(before.AllocatedBytes + 4096, during.AllocatedBytes); // 4000 bytes round up to 8 × 512
        Assert.Equal(before.LiveStorages + 1, during.LiveStorages);
        t.Dispose();
        var after = GpuDevices.MemoryInfo(device);
        Assert.Equal(before.AllocatedBytes, after.AllocatedBytes);
        Assert.True(after.CachedBytes >= 4096);
        long allocations = after.DeviceAllocations;
        using (var again = Tensor.Zeros([1024], DType.Float32, device)) // same bucket: served from the cache
            Assert.Equal(allocations, GpuDevices.MemoryInfo(device).DeviceAllocations);
        GpuDevices.EmptyCache(device);
        var emptied = GpuDevices.MemoryInfo(device);
        Assert.Equal(0, emptied.CachedBytes);
        Assert.Equal(emptied.AllocatedBytes, emptied.ReservedBytes);
        Assert.Equal(CachingAllocator.MinBlock, CachingAllocator.RoundSize(1));
        Assert.Equal(4L << 20, CachingAllocator.RoundSize((2L << 20) + 1)); // large requests round up to 2 MiB multiples
    }

    [Fact]
    public void AThousandStepsOfSmallOpsInDisposeScopesDoNotGrowDeviceMemory()
    {
        var device = Sim.Device;
        var w = Tensor.Randn([5], DType.Float32, new Generator(3)).To(device).RequiresGrad_();
        var x = Tensor.Randn([2, 5], DType.Float32, new Generator(4)).To(device);
        GpuMemoryStats start = default;
        for (int step = 0; step < 1000; step++)
        {
            if (step == 10) start = GpuDevices.MemoryInfo(device); // after the cache has warmed up
            using (var scope = Tensor.NewDisposeScope())
            {
                var loss = x.Mul(w).Tanh().Sum();
                loss.Backward();
                using (GradMode.NoGrad()) w.SubInPlace(w.Grad!, 0.01);
                w.ZeroGrad();
            }
        }
        var end = GpuDevices.MemoryInfo(device);
        Assert.Equal(start.AllocatedBytes, end.AllocatedBytes);
        Assert.Equal(start.LiveStorages, end.LiveStorages);
        Assert.Equal(start.DeviceAllocations, end.DeviceAllocations); // every block came from the cache
        Assert.Equal(start.PeakAllocatedBytes, end.PeakAllocatedBytes);
    }

    [Fact]
    public void KernelsCompileOncePerInstantiationAndAreReportedWithTheirTimes()
    {
        var x = Tensor.Randn([3, 3], DType.Float64, new Generator(5)).To(Sim.Device);
        x.Sigmoid().Dispose();
        int loaded = KernelCache.Count;
        for (int i = 0; i < 3; i++) x.Sigmoid().Dispose();
        Assert.Equal(loaded, KernelCache.Count);
        Assert.Contains(GpuDevices.KernelCompileTimes(), t => t.Kernel.Contains("SigmoidOperator", StringComparison.Ordinal) && t.Kernel.Contains("Double", StringComparison.Ordinal));
        Assert.All(GpuDevices.KernelCompileTimes(), t => Assert.True(t.Elapsed > TimeSpan.Zero));
    }

    [Fact]
    public async Task OtherThreadsCanUseTheDevice()
    {
        var x = Tensor.Randn([4, 3], DType.Float32, new Generator(6));
        var onDevice = x.To(Sim.Device);
        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Task.Run(() => onDevice.Mul(i).Exp().Sum().Item())));
        for (int i = 0; i < 3; i++) Assert.Equal(x.Mul(i).Exp().Sum().Item(), results[i], 4);
    }
}
