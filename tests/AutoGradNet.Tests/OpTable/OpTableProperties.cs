using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AutoGradNet.Tests.OpTable;

/// <summary>
/// A generated test case for a family: which row, a base shape (1–4 dims of sizes 1–5, at most 24 elements), a
/// variant number the row turns into dims/broadcast partners/args, and raw values in [−100, 100] (÷100 → [−1, 1])
/// the row maps into its input domains.
/// </summary>
public sealed record PropCase(string Op, int[] Shape, int Variant, int[] Raw)
{
    public override string ToString()
    {
        var sample = OpTable.Get(Op).FromShape!(Shape, Variant);
        return $"{Op} shape [{string.Join(",", Shape)}] variant {Variant} → {sample}; raw [{string.Join(",", Raw.Take(12))}…]";
    }
}

public static class PropCases
{
    public const int RawLength = 96;
    public const int MaxElements = 24;

    private static readonly Gen<int[]> Shapes =
        from rank in Gen.Choose(1, 4)
        from sizes in Gen.ArrayOf(Gen.Choose(1, 5), rank)
        where Reference.Numel(sizes) <= MaxElements
        select sizes;

    /// <summary>Generated cases for the rows of one family, with a shrinker towards smaller shapes, variant 0 and raw values 0.</summary>
    public static Arbitrary<PropCase> For(string family)
    {
        var names = OpTable.All.Where(r => r.Family == family && r.FromShape is not null).Select(r => r.Name).ToArray();
        if (names.Length == 0) throw new ArgumentException($"no op-table rows in family {family}");
        var gen =
            from op in Gen.Elements(names)
            from shape in Shapes
            from variant in Gen.Choose(0, 1023)
            from raw in Gen.ArrayOf(Gen.Choose(-100, 100), RawLength)
            select new PropCase(op, shape, variant, raw);
        return Arb.From(gen.Where(Valid), c => Shrink(c).Where(Valid));
    }

    private static bool Valid(PropCase c) => OpTable.Get(c.Op).FromShape!(c.Shape, c.Variant) is not null;

    private static IEnumerable<PropCase> Shrink(PropCase c)
    {
        // Fewer dims, then smaller dims.
        if (c.Shape.Length > 1)
            for (int d = 0; d < c.Shape.Length; d++)
                yield return c with { Shape = c.Shape.Where((_, k) => k != d).ToArray() };
        for (int d = 0; d < c.Shape.Length; d++)
            if (c.Shape[d] > 1)
            {
                var smaller = (int[])c.Shape.Clone();
                smaller[d]--;
                yield return c with { Shape = smaller };
            }
        // Simpler variants (fewer bits set).
        if (c.Variant != 0) yield return c with { Variant = 0 };
        for (int bit = 0; bit < 10; bit++)
            if ((c.Variant & (1 << bit)) != 0) yield return c with { Variant = c.Variant & ~(1 << bit) };
        // Simpler values: all zero, then one at a time towards zero.
        if (c.Raw.Any(v => v != 0)) yield return c with { Raw = new int[c.Raw.Length] };
        for (int i = 0; i < c.Raw.Length; i++)
            if (c.Raw[i] != 0)
            {
                var raw = (int[])c.Raw.Clone();
                raw[i] /= 2;
                yield return c with { Raw = raw };
            }
    }

    /// <summary>Forward vs reference in float64 and float32, and gradcheck in float64. Throws on failure.</summary>
    public static void Check(PropCase c)
    {
        var row = OpTable.Get(c.Op);
        var sample = row.FromShape!(c.Shape, c.Variant)!;
        var values = Harness.MakeValues(row, sample, i => c.Raw[i % RawLength] / 100.0);
        Harness.CheckForward(row, sample, values, DType.Float64);
        Harness.CheckForward(row, sample, values, DType.Float32);
        if (row.Differentiable) Harness.CheckGradient(row, sample, values, secondOrder: false);
    }
}

/// <summary>
/// One FsCheck property per op family: generated shapes and values, forward vs reference and gradcheck. Convolution and
/// pooling rows are generated from window hyper-parameters instead (<see cref="OpTableCnnProperties"/>).
/// </summary>
public class OpTableProperties
{
    private const int Tests = 30;

    private static Property Family(string family) => Prop.ForAll(PropCases.For(family), PropCases.Check);

    [Property(MaxTest = Tests)] public Property Elementwise() => Family("elementwise");
    [Property(MaxTest = Tests)] public Property Binary() => Family("binary");
    [Property(MaxTest = Tests)] public Property Activation() => Family("activation");
    [Property(MaxTest = Tests)] public Property Softmax() => Family("softmax");
    [Property(MaxTest = Tests)] public Property Reduce() => Family("reduce");
    [Property(MaxTest = Tests)] public Property Shape() => Family("shape");
    [Property(MaxTest = Tests)] public Property Index() => Family("index");
    [Property(MaxTest = Tests)] public Property Linalg() => Family("linalg");
    [Property(MaxTest = Tests)] public Property Loss() => Family("loss");
    [Property(MaxTest = Tests)] public Property Compare() => Family("compare");
    [Property(MaxTest = Tests)] public Property Norm() => Family("norm");
    /// <summary>The pooling rows without window hyper-parameters (adaptive and global pooling); the others are in <see cref="OpTableCnnProperties"/>.</summary>
    [Property(MaxTest = Tests)] public Property Pool() => Family("pool");

    /// <summary>A failing property must shrink: a case that fails for shapes with more than one element ends at a single-element shape.</summary>
    [Fact]
    public void FailuresShrink()
    {
        var arb = PropCases.For("elementwise");
        var failing = new PropCase("exp", [3, 4, 2], 517, Enumerable.Range(0, PropCases.RawLength).Select(i => i % 200 - 100).ToArray());
        Func<PropCase, bool> fails = c => Reference.Numel(c.Shape) > 1;
        var current = failing;
        for (int step = 0; step < 100; step++)
        {
            var next = arb.Shrinker(current).FirstOrDefault(fails);
            if (next is null) break;
            current = next;
        }
        Assert.Equal(2, Reference.Numel(current.Shape));
        Assert.True(current.Shape.Length == 1, $"shrunk to [{string.Join(",", current.Shape)}]");
    }
}
