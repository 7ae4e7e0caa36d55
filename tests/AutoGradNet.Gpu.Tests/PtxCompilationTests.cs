using System.Diagnostics;
using AutoGradNet.Gpu.Kernels;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit.Abstractions;

namespace AutoGradNet.Gpu.Tests;

/// <summary>
/// Compiles every kernel instantiation to PTX for sm_80 with ILGPU's PTX backend, which needs no GPU: a kernel that
/// calls something the backend cannot lower (a BCL method with no intrinsic) leaves an <c>.extern .func</c> behind.
/// </summary>
public class PtxCompilationTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryKernelInstantiationCompilesToSelfContainedPtx()
    {
        var kernels = KernelCatalog.All().ToList();
        Assert.Contains(kernels, k => k.Name.StartsWith("Map<Single, ExpOperator", StringComparison.Ordinal));
        Assert.Contains(kernels, k => k.Name.StartsWith("Gemm<Double", StringComparison.Ordinal));
        foreach (var conv in new[] { "Forward", "Input", "Weight", "SumSplits" })
            foreach (var type in new[] { "Single", "Double" })
                Assert.Contains(kernels, k => k.Name == $"{conv}<{type}>");
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        Context? context = null;
        PTXBackend? backend = null;
        try
        {
            foreach (var kernel in kernels)
            {
                if (context is null)
                {
                    context = Context.Create(b => b.Default().EnableAlgorithms());
                    backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
                }
                try
                {
                    var entry = kernel.ExplicitlyGrouped
                        ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method)
                        : EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method);
                    var compiled = (PTXCompiledKernel)backend!.Compile(entry, new KernelSpecialization());
                    Assert.Contains(".entry", compiled.PTXAssembly, StringComparison.Ordinal);
                    if (compiled.PTXAssembly.Contains(".extern .func", StringComparison.Ordinal))
                        failures.Add($"{kernel.Name}: unresolved call ({ExternLines(compiled.PTXAssembly)})");
                }
                catch (Exception e)
                {
                    failures.Add($"{kernel.Name}: {e.GetType().Name}: {e.Message}");
                    // NOTE: a failed compile leaves the context unusable; the next kernel gets a fresh one.
                    backend?.Dispose();
                    context.Dispose();
                    context = null;
                }
            }
        }
        finally
        {
            backend?.Dispose();
            context?.Dispose();
        }
        output.WriteLine($"{kernels.Count} kernel instantiations compiled to PTX in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string ExternLines(string ptx) =>
        string.Join("; ", ptx.Split('\n').Where(l => l.Contains(".extern .func", StringComparison.Ordinal)).Select(l => l.Trim()).Take(3));
}
