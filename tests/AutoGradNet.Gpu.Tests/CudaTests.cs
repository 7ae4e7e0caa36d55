using ILGPU;
using ILGPU.Runtime.Cuda;
using AutoGradNet.Gpu.Kernels;
using F = AutoGradNet.Functional;

namespace AutoGradNet.Gpu.Tests;

/// <summary>A fact that needs a CUDA GPU: skipped, with the reason shown, when ILGPU finds none.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no CUDA device is present.</summary>
    public CudaFactAttribute()
    {
        if (!GpuDevices.IsCudaAvailable)
            Skip = "needs a CUDA GPU: ILGPU found no NVIDIA device and driver on this machine (the simulator tests cover the kernels)";
    }
}

/// <summary>The backend on a real GPU, at sizes the simulator cannot afford.</summary>
public class CudaTests
{
    private static Device Cuda => GpuDevices.Cuda();

    private static void AssertClose(Tensor expected, Tensor actual, double tol, string what)
    {
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        Assert.Equal(e.Length, a.Length);
        double scale = Math.Max(1, e.Max(Math.Abs));
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * scale, $"{what}: element {i}: expected {e[i]}, got {a[i]}");
    }

    [CudaFact]
    public void EveryKernelLoadsOnTheGpu()
    {
        // Loading compiles for the device's own architecture and links the module in the driver. A private
        // accelerator: ILGPU hands out the same loaded kernel for the same method, so disposing kernels loaded on the
        // device's own accelerator would pull them from under the backend's kernel cache.
        using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms());
        using var accelerator = context.GetCudaDevice(0).CreateCudaAccelerator(context);
        foreach (var kernel in KernelCatalog.All())
        {
            if (kernel.ExplicitlyGrouped) accelerator.LoadKernel(kernel.Method).Dispose();
            else accelerator.LoadAutoGroupedKernel(kernel.Method).Dispose();
        }
        // The device still works after another accelerator was current on this thread.
        var x = Tensor.Randn([64, 33], DType.Float32, new Generator(10));
        AssertClose(x.Relu().Sum(0), x.To(Cuda).Relu().Sum(0), 1e-5, "device after a private accelerator");
    }

    [CudaFact]
    public void GemmMatchesTheCpuAtEveryLayoutAndBothImplementations()
    {
        var a = Tensor.Randn([3, 300, 200], DType.Float32, new Generator(1));
        var b = Tensor.Randn([3, 200, 170], DType.Float32, new Generator(2));
        var expected = a.Matmul(b);
        foreach (var kind in new[] { GpuMatMul.Tiled, GpuMatMul.CuBlas })
        {
            GpuDevices.SetMatMul(Cuda, kind);
            try
            {
                AssertClose(expected, a.To(Cuda).Matmul(b.To(Cuda)), 1e-4, $"{kind} NN");
                AssertClose(expected, a.MT.Contiguous().To(Cuda).MT.Matmul(b.MT.Contiguous().To(Cuda).MT), 1e-4, $"{kind} TT");
                var a64 = a.To(DType.Float64);
                AssertClose(a64.Matmul(b.To(DType.Float64)), a64.To(Cuda).Matmul(b.To(DType.Float64).To(Cuda)), 1e-12, $"{kind} float64");
            }
            finally
            {
                GpuDevices.SetMatMul(Cuda, GpuMatMul.Tiled);
            }
        }
    }

    [CudaFact]
    public void ConvolutionForwardAndBackwardMatchTheCpu()
    {
        var x = Tensor.Randn([8, 16, 20, 20], DType.Float32, new Generator(3));
        var w = Tensor.Randn([32, 16, 3, 3], DType.Float32, new Generator(4)).Mul(0.1);
        var xc = x.Detach().RequiresGrad_();
        var wc = w.Detach().RequiresGrad_();
        var yc = F.Conv2d(xc, wc, null, 2, 1);
        yc.Sum().Backward();
        var xg = x.To(Cuda).RequiresGrad_();
        var wg = w.To(Cuda).RequiresGrad_();
        var yg = F.Conv2d(xg, wg, null, 2, 1);
        yg.Sum().Backward();
        AssertClose(yc, yg, 1e-4, "conv2d forward");
        AssertClose(xc.Grad!, xg.Grad!, 1e-4, "conv2d input gradient");
        AssertClose(wc.Grad!, wg.Grad!, 1e-4, "conv2d weight gradient");
    }

    [CudaFact]
    public void ImplicitGemmConvolutionsMatchTheCpuAtRealSizes()
    {
        var backend = (GpuBackend)Cuda.Backend;
        // A 7×7 stride-2 stem (few output channels, a long depth: the weight gradient splits it), a depthwise
        // dilated 3×3, a grouped 3×3 stride 2, a 1×1 stride 2 and a "same" even kernel.
        var cases = new (int[] X, int[] W, int Stride, Padding Padding, int Dilation, int Groups)[]
        {
            ([16, 3, 64, 64], [8, 3, 7, 7], 2, 3, 1, 1),
            ([4, 32, 28, 28], [32, 1, 3, 3], 1, 2, 2, 32),
            ([4, 32, 27, 27], [64, 8, 3, 3], 2, 1, 1, 4),
            ([8, 64, 14, 14], [128, 64, 1, 1], 2, 0, 1, 1),
            ([2, 16, 17, 15], [24, 16, 4, 2], 1, Padding.Same, 1, 1),
        };
        Assert.True(backend.WeightSplits(new ConvGeometry([64, 64], [7, 7], [2, 2], [1, 1], [3, 3], [32, 32]), 16, 3, 8, 1) > 1);
        foreach (var (xs, ws, stride, padding, dilation, groups) in cases)
        {
            var x = Tensor.Randn(xs, DType.Float32, new Generator(8));
            var w = Tensor.Randn(ws, DType.Float32, new Generator(9)).Mul(0.1);
            var xc = x.Detach().RequiresGrad_();
            var wc = w.Detach().RequiresGrad_();
            var yc = F.Conv2d(xc, wc, null, stride, padding, dilation, groups);
            yc.Square().Sum().Backward();
            var xg = x.To(Cuda).RequiresGrad_();
            var wg = w.To(Cuda).RequiresGrad_();
            var yg = F.Conv2d(xg, wg, null, stride, padding, dilation, groups);
            yg.Square().Sum().Backward();
            string what = $"conv2d {string.Join("x", xs)} * {string.Join("x", ws)}, stride {stride}, groups {groups}";
            AssertClose(yc, yg, 1e-4, $"{what}: forward");
            AssertClose(xc.Grad!, xg.Grad!, 1e-4, $"{what}: input gradient");
            AssertClose(wc.Grad!, wg.Grad!, 1e-4, $"{what}: weight gradient");
        }
    }

    [CudaFact]
    public void ReductionsAndRandomMatchTheCpu()
    {
        var x = Tensor.Randn([7, 100_003], DType.Float64, new Generator(5));
        AssertClose(x.Sum(1), x.To(Cuda).Sum(1), 1e-12, "long rows");
        AssertClose(x.Sum(0), x.To(Cuda).Sum(0), 1e-12, "short rows");
        AssertClose(x.Max(1).Indices, x.To(Cuda).Max(1).Indices, 0, "arg-max");
        // Uniform draws are exact; normal draws go through the device's log, cos and sin (last-bit differences).
        AssertClose(Tensor.Rand([10_001], DType.Float64, new Generator(6)), Tensor.Rand([10_001], DType.Float64, new Generator(6), Cuda), 0, "uniform");
        AssertClose(Tensor.Randn([10_001], DType.Float64, new Generator(7)), Tensor.Randn([10_001], DType.Float64, new Generator(7), Cuda), 1e-12, "normal");
    }
}
