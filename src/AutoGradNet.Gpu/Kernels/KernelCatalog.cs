using System.Reflection;
using AutoGradNet.Kernels;

namespace AutoGradNet.Gpu.Kernels;

/// <summary>One kernel instantiation the backend can launch.</summary>
/// <param name="Name">Kernel and type arguments, for messages.</param>
/// <param name="Method">The closed generic kernel method.</param>
/// <param name="ExplicitlyGrouped">True for kernels launched with a <c>KernelConfig</c> (shared memory, barriers).</param>
internal sealed record KernelInstance(string Name, MethodInfo Method, bool ExplicitlyGrouped);

/// <summary>
/// Every kernel instantiation the backend can launch: each kernel for each element type it serves, and the
/// elementwise kernels for every operator struct of the core (found by reflection, so new operators are included).
/// Used to compile them all to PTX in tests, where no GPU is needed.
/// </summary>
internal static class KernelCatalog
{
    private static readonly Type[] Floats = [typeof(float), typeof(double)];
    private static readonly Type[] Storages = [typeof(float), typeof(double), typeof(long), typeof(byte)];
    private static readonly Type[] Numbers = [typeof(float), typeof(double), typeof(long)];

    private static readonly Dictionary<Type, Type> Elements = new()
    {
        [typeof(float)] = typeof(F32Element),
        [typeof(double)] = typeof(F64Element),
        [typeof(long)] = typeof(I64Element),
        [typeof(byte)] = typeof(BoolElement),
    };

    private static readonly Dictionary<Type, Type> Atomics = new()
    {
        [typeof(float)] = typeof(AtomicAddF32),
        [typeof(double)] = typeof(AtomicAddF64),
    };

    /// <summary>The public operator structs of the core implementing <typeparamref name="TInterface"/>.</summary>
    public static Type[] Operators<TInterface>() =>
        typeof(IUnaryOperator).Assembly.GetTypes()
            .Where(t => t is { IsValueType: true, IsPublic: true, IsGenericTypeDefinition: false } && typeof(TInterface).IsAssignableFrom(t))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToArray();

    public static IEnumerable<KernelInstance> All()
    {
        foreach (var t in Storages)
        {
            yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Fill), false, t);
            yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Copy), false, t);
            yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Where), false, t);
            yield return Make(typeof(IndexKernels), nameof(IndexKernels.IndexSelect), false, t);
            yield return Make(typeof(IndexKernels), nameof(IndexKernels.Gather), false, t);
            yield return Make(typeof(RandomKernels), nameof(RandomKernels.Random), false, t, Elements[t]);
            foreach (var d in Storages)
                if (d != t) yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Cast), false, t, d, Elements[t], Elements[d]);
        }
        foreach (var t in Floats)
        {
            foreach (var op in Operators<IUnaryOperator>()) yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Map), false, t, op);
            foreach (var op in Operators<IBinaryOperator>()) yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Zip), false, t, op);
            yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.NonFinite), false, t);
            yield return Make(typeof(ReduceKernels), nameof(ReduceKernels.SumRowsThread), false, t);
            yield return Make(typeof(ReduceKernels), nameof(ReduceKernels.SumRowsGroup), true, t);
            yield return Make(typeof(GemmKernels), nameof(GemmKernels.Gemm), true, t);
            yield return Make(typeof(IndexKernels), nameof(IndexKernels.IndexAdd), false, t, Atomics[t]);
            yield return Make(typeof(IndexKernels), nameof(IndexKernels.ScatterAdd), false, t, Atomics[t]);
            yield return Make(typeof(WindowKernels), nameof(WindowKernels.Unfold), false, t);
            yield return Make(typeof(WindowKernels), nameof(WindowKernels.Fold), false, t);
            yield return Make(typeof(WindowKernels), nameof(WindowKernels.MaxPool), false, t);
            yield return Make(typeof(ConvKernels), nameof(ConvKernels.Forward), true, t);
            yield return Make(typeof(ConvKernels), nameof(ConvKernels.Input), true, t);
            yield return Make(typeof(ConvKernels), nameof(ConvKernels.Weight), true, t);
            yield return Make(typeof(ConvKernels), nameof(ConvKernels.SumSplits), false, t);
        }
        foreach (var t in Numbers)
        {
            foreach (var op in Operators<ICompareOperator>()) yield return Make(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Compare), false, t, op);
            yield return Make(typeof(ReduceKernels), nameof(ReduceKernels.ArgReduceRowsThread), false, t);
            yield return Make(typeof(ReduceKernels), nameof(ReduceKernels.ArgReduceRowsGroup), true, t);
        }
    }

    private static KernelInstance Make(Type host, string name, bool explicitlyGrouped, params Type[] typeArguments)
    {
        var method = host.GetMethod(name, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(typeArguments);
        return new KernelInstance($"{name}<{string.Join(", ", typeArguments.Select(t => t.Name))}>", method, explicitlyGrouped);
    }
}
