using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace AutoGradNet.Testing;

/// <summary>
/// Property-based gradient checking: runs AutoGradNet's <see cref="GradCheck.Check(Func{Tensor[], Tensor}, Tensor[], GradCheckOptions?)"/>
/// (and optionally <see cref="GradCheck.GradGradCheck"/>) on a block over FsCheck-generated shapes and values,
/// and on failure shrinks to the smallest failing shape.
/// </summary>
/// <example>
/// <code>
/// GradCheckProperty.ForAll(s => [s, s], x => (x[0] * x[1].Sigmoid()).Sum()).Check();
/// </code>
/// <c>s</c> is a generated <see cref="ShapeSample"/> (rank 0–4, sizes 1–5); <c>[s, s]</c> says "two float64 inputs of
/// shape s that require grad"; <c>x</c> are those inputs. Use <see cref="InputSpec"/> for value ranges, constants
/// and index inputs, and <see cref="ForAll{TSample}(Arbitrary{TSample}, Func{TSample, InputSpec[]}, Func{Tensor[], Tensor})"/>
/// with <see cref="TensorGen.Shapes"/> or <see cref="TensorGen.BroadcastPairs"/> for other shape families.
/// </example>
public static class GradCheckProperty
{
    /// <summary>Number of generated cases <see cref="GradCheckProperty{TSample}.Check()"/> runs unless told otherwise.</summary>
    public const int DefaultMaxTest = 25;

    /// <summary>
    /// Gradchecks <paramref name="block"/> on inputs described by <paramref name="inputs"/> for shapes from
    /// <see cref="TensorGen.Shapes"/> with its defaults (rank 0–4, sizes 1–5).
    /// </summary>
    /// <param name="inputs">Maps the generated shape to the block's inputs, e.g. <c>s => [s, s]</c>.</param>
    /// <param name="block">The function under test; its single output is differentiated.</param>
    public static GradCheckProperty<ShapeSample> ForAll(Func<ShapeSample, InputSpec[]> inputs, Func<Tensor[], Tensor> block) =>
        ForAll(TensorGen.Shapes(), inputs, block);

    /// <summary>
    /// Gradchecks a multi-output <paramref name="block"/> (every output that requires grad is differentiated) for
    /// shapes from <see cref="TensorGen.Shapes"/> with its defaults.
    /// </summary>
    /// <param name="inputs">Maps the generated shape to the block's inputs, e.g. <c>s => [s, s]</c>.</param>
    /// <param name="block">The function under test.</param>
    public static GradCheckProperty<ShapeSample> ForAll(Func<ShapeSample, InputSpec[]> inputs, Func<Tensor[], Tensor[]> block) =>
        ForAll(TensorGen.Shapes(), inputs, block);

    /// <summary>
    /// Gradchecks <paramref name="block"/> for samples from <paramref name="samples"/> (e.g.
    /// <c>TensorGen.Shapes(minRank: 1, maxRank: 2)</c>, <c>TensorGen.ShapesOfRank(3)</c>, <c>TensorGen.BroadcastPairs()</c>);
    /// shrinking uses that arbitrary's shrinker.
    /// </summary>
    /// <param name="samples">Generates and shrinks the value the inputs are derived from.</param>
    /// <param name="inputs">Maps a sample to the block's inputs, e.g. <c>p => [p.Left, p.Right]</c>.</param>
    /// <param name="block">The function under test; its single output is differentiated.</param>
    public static GradCheckProperty<TSample> ForAll<TSample>(Arbitrary<TSample> samples, Func<TSample, InputSpec[]> inputs, Func<Tensor[], Tensor> block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return new(samples, inputs, block, null);
    }

    /// <summary>Gradchecks a multi-output <paramref name="block"/> for samples from <paramref name="samples"/>.</summary>
    /// <param name="samples">Generates and shrinks the value the inputs are derived from.</param>
    /// <param name="inputs">Maps a sample to the block's inputs.</param>
    /// <param name="block">The function under test; every output that requires grad is differentiated.</param>
    public static GradCheckProperty<TSample> ForAll<TSample>(Arbitrary<TSample> samples, Func<TSample, InputSpec[]> inputs, Func<Tensor[], Tensor[]> block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return new(samples, inputs, null, block);
    }
}

/// <summary>
/// A gradcheck property over generated <typeparamref name="TSample"/>s (made by <see cref="GradCheckProperty.ForAll{TSample}(Arbitrary{TSample}, Func{TSample, InputSpec[]}, Func{Tensor[], Tensor})"/>).
/// Immutable: the <c>With*</c> methods return configured copies. Run it with <see cref="Check()"/>, or return it
/// (it converts to <see cref="Property"/>) from an FsCheck.Xunit <c>[Property]</c> test.
/// </summary>
/// <typeparam name="TSample">The generated value the inputs are derived from (usually <see cref="ShapeSample"/>).</typeparam>
public sealed class GradCheckProperty<TSample>
{
    private readonly Arbitrary<TSample> _samples;
    private readonly Func<TSample, InputSpec[]> _inputs;
    private readonly Func<Tensor[], Tensor>? _block;
    private readonly Func<Tensor[], Tensor[]>? _multiBlock;
    private readonly Replay? _replay;

    internal GradCheckProperty(Arbitrary<TSample> samples, Func<TSample, InputSpec[]> inputs, Func<Tensor[], Tensor>? block, Func<Tensor[], Tensor[]>? multiBlock)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(inputs);
        (_samples, _inputs, _block, _multiBlock) = (samples, inputs, block, multiBlock);
    }

    private GradCheckProperty(GradCheckProperty<TSample> from, GradCheckOptions options, bool gradGrad, int maxTest, Replay? replay)
        : this(from._samples, from._inputs, from._block, from._multiBlock)
    {
        _replay = replay;
        Options = options;
        GradGrad = gradGrad;
        MaxTest = maxTest;
    }

    /// <summary>Tolerances and settings passed to <see cref="GradCheck"/> (PyTorch's defaults unless set).</summary>
    public GradCheckOptions Options { get; } = new();

    /// <summary>Whether each case also runs <see cref="GradCheck.GradGradCheck"/> (second derivatives).</summary>
    public bool GradGrad { get; }

    /// <summary>Number of generated cases <see cref="Check()"/> runs (default <see cref="GradCheckProperty.DefaultMaxTest"/>).</summary>
    public int MaxTest { get; } = GradCheckProperty.DefaultMaxTest;

    /// <summary>A copy that passes <paramref name="options"/> (tolerances, eps, fast mode) to <see cref="GradCheck"/>.</summary>
    public GradCheckProperty<TSample> WithOptions(GradCheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(this, options, GradGrad, MaxTest, _replay);
    }

    /// <summary>A copy that also checks second derivatives with <see cref="GradCheck.GradGradCheck"/> (single-output blocks only).</summary>
    public GradCheckProperty<TSample> WithGradGrad(bool enabled = true)
    {
        if (enabled && _block is null)
            throw new InvalidOperationException("GradCheckProperty.WithGradGrad: GradGradCheck needs a single-output block");
        return new(this, Options, enabled, MaxTest, _replay);
    }

    /// <summary>A copy that runs <paramref name="maxTest"/> generated cases in <see cref="Check()"/>.</summary>
    public GradCheckProperty<TSample> WithMaxTest(int maxTest)
    {
        if (maxTest <= 0) throw new ArgumentOutOfRangeException(nameof(maxTest), $"GradCheckProperty.WithMaxTest: need a positive count, got {maxTest}");
        return new(this, Options, GradGrad, maxTest, _replay);
    }

    /// <summary>
    /// A copy whose <see cref="Check()"/> replays FsCheck's random state (the <c>(seed, gamma, size)</c> that a
    /// <see cref="GradCheckPropertyException"/> reports), regenerating the same failing case and shrinking it again.
    /// </summary>
    public GradCheckProperty<TSample> WithReplay(ulong seed, ulong gamma, int size) =>
        new(this, Options, GradGrad, MaxTest, new Replay(new Rnd(seed, gamma), FSharpOption<int>.Some(size)));

    /// <summary>
    /// The generated cases: a sample, its inputs and a value seed. Shrinking shrinks the sample and keeps the
    /// seed, so the input values stay the same random stream while the shapes get smaller.
    /// </summary>
    public Arbitrary<GradCheckCase<TSample>> Cases()
    {
        var gen =
            from sample in _samples.Generator
            from seed in TensorGen.Seeds()
            select MakeCase(sample, seed);
        return Arb.From(gen, c => _samples.Shrinker(c.Sample).Select(s => MakeCase(s, c.Seed)));
    }

    /// <summary>
    /// Runs the checks on one case: materializes its inputs, runs <see cref="GradCheck.Check(Func{Tensor[], Tensor}, Tensor[], GradCheckOptions?)"/>
    /// (and <see cref="GradCheck.GradGradCheck"/> when enabled) and disposes everything.
    /// Throws <see cref="GradCheckException"/> (or whatever the block throws) on failure.
    /// </summary>
    public void Verify(GradCheckCase<TSample> testCase)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        using var scope = Tensor.NewDisposeScope();
        var inputs = testCase.CreateInputs();
        if (_block is not null)
        {
            GradCheck.Check(_block, inputs, Options);
            if (GradGrad) GradCheck.GradGradCheck(_block, inputs, Options);
        }
        else GradCheck.Check(_multiBlock!, inputs, Options);
    }

    /// <summary>
    /// Re-runs one case, e.g. the smallest failing one a <see cref="GradCheckPropertyException"/> reports
    /// (<c>property.Verify(new ShapeSample(2), seed)</c>), to debug it without FsCheck.
    /// </summary>
    public void Verify(TSample sample, ulong seed) => Verify(MakeCase(sample, seed));

    /// <summary>The FsCheck property: for all cases, <see cref="Verify(GradCheckCase{TSample})"/> succeeds. Failures shrink to the smallest sample.</summary>
    public Property ToProperty() => Prop.ForAll(Cases(), (Action<GradCheckCase<TSample>>)Verify);

    /// <summary>The FsCheck property (see <see cref="ToProperty"/>), so a <c>[Property]</c> test can return the builder.</summary>
    public static implicit operator Property(GradCheckProperty<TSample> property)
    {
        ArgumentNullException.ThrowIfNull(property);
        return property.ToProperty();
    }

    /// <summary>
    /// Runs <see cref="MaxTest"/> generated cases quietly; on failure, shrinks and throws
    /// <see cref="GradCheckPropertyException"/> naming the smallest failing sample and input shapes, with the
    /// <see cref="GradCheckException"/> message (the exception itself is the inner exception).
    /// </summary>
    public void Check()
    {
        var config = Config.Quick.WithMaxTest(MaxTest).WithQuietOnSuccess(true);
        if (_replay is { } replay) config = config.WithReplay(FSharpOption<Replay>.Some(replay));
        Check(config);
    }

    /// <summary>
    /// Like <see cref="Check()"/> with an FsCheck configuration (test count, replay seed, verbosity); its runner is
    /// replaced by one that throws <see cref="GradCheckPropertyException"/> on failure.
    /// </summary>
    public void Check(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        FsCheck.Check.One(config.WithRunner(new ThrowingRunner(config.QuietOnSuccess)), ToProperty());
    }

    private GradCheckCase<TSample> MakeCase(TSample sample, ulong seed)
    {
        var specs = _inputs(sample) ?? throw new InvalidOperationException($"GradCheckProperty: the input function returned null for sample {sample}");
        if (specs.Length == 0) throw new InvalidOperationException($"GradCheckProperty: the input function returned no inputs for sample {sample}");
        if (specs.Any(s => s is null)) throw new InvalidOperationException($"GradCheckProperty: the input function returned a null input for sample {sample}");
        return new GradCheckCase<TSample>(sample, seed, specs);
    }

    /// <summary>Captures FsCheck's result and turns a failure into a <see cref="GradCheckPropertyException"/>.</summary>
    private sealed class ThrowingRunner(bool quietOnSuccess) : IRunner
    {
        public void OnStartFixture(Type testType) { }

        public void OnArguments(int testNumber, FSharpList<object> args, FSharpFunc<int, FSharpFunc<FSharpList<object>, string>> every) =>
            Console.Write(every.Invoke(testNumber).Invoke(args));

        public void OnShrink(FSharpList<object> args, FSharpFunc<FSharpList<object>, string> everyShrink) =>
            Console.Write(everyShrink.Invoke(args));

        public void OnFinished(string name, TestResult result)
        {
            switch (result)
            {
                case TestResult.Passed:
                    if (!quietOnSuccess) Console.Write(Runner.onFinishedToString(name, result));
                    return;
                case TestResult.Failed failed:
                    var original = failed.Item2.OfType<GradCheckCase<TSample>>().FirstOrDefault();
                    var shrunk = failed.Item3.OfType<GradCheckCase<TSample>>().FirstOrDefault();
                    if (original is null || shrunk is null) break;
                    var cause = failed.Item4 is Outcome.Failed f ? Unwrap(f.Item) : null;
                    throw new GradCheckPropertyException(
                        shrunk.Sample, original.Sample, shrunk.Inputs, shrunk.Seed,
                        failed.Item1.NumberOfTests, failed.Item1.NumberOfShrinks,
                        (failed.Item6.Seed, failed.Item6.Gamma, failed.Item7), cause);
            }
            throw new InvalidOperationException(Runner.onFinishedToString(name, result));
        }

        private static Exception Unwrap(Exception e) =>
            e is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : e;
    }
}

/// <summary>
/// One generated gradcheck case: the sample (e.g. a <see cref="ShapeSample"/>), the input specs derived from it and
/// the seed of the input values. What FsCheck prints as the (shrunk) counterexample.
/// </summary>
/// <typeparam name="TSample">The generated value the inputs are derived from.</typeparam>
public sealed class GradCheckCase<TSample>
{
    internal GradCheckCase(TSample sample, ulong seed, InputSpec[] inputs) => (Sample, Seed, Inputs) = (sample, seed, inputs);

    /// <summary>The generated sample.</summary>
    public TSample Sample { get; }

    /// <summary>The seed of the input values (input k uses a seed derived from it and k).</summary>
    public ulong Seed { get; }

    /// <summary>The inputs derived from <see cref="Sample"/>.</summary>
    public IReadOnlyList<InputSpec> Inputs { get; }

    /// <summary>The input shapes.</summary>
    public IReadOnlyList<Shape> InputShapes => Inputs.Select(i => i.Shape).ToArray();

    /// <summary>Materializes the inputs (deterministic in <see cref="Seed"/>); the caller disposes them.</summary>
    public Tensor[] CreateInputs() => Inputs.Select((spec, k) => spec.Create(TensorGen.Mix(Seed + (ulong)k))).ToArray();

    /// <summary>Like <c>sample [2, 3]: inputs float64[2, 3] in [-2, 2] requires_grad, …; seed 42</c>.</summary>
    public override string ToString() => $"sample {Sample}: inputs {string.Join(", ", Inputs)}; seed {Seed}";
}

/// <summary>
/// Thrown by <see cref="GradCheckProperty{TSample}.Check()"/> when a generated case fails: reports the smallest
/// failing case found by shrinking; the <see cref="Exception.InnerException"/> is the failure itself (usually a
/// <see cref="GradCheckException"/>).
/// </summary>
public sealed class GradCheckPropertyException : Exception
{
    internal GradCheckPropertyException(object? sample, object? originalSample, IReadOnlyList<InputSpec> inputs, ulong seed,
        int numberOfTests, int numberOfShrinks, (ulong Seed, ulong Gamma, int Size) replay, Exception? cause)
        : base(Format(sample, originalSample, inputs, seed, numberOfTests, numberOfShrinks, replay, cause), cause)
    {
        Sample = sample;
        OriginalSample = originalSample;
        Inputs = inputs;
        InputShapes = inputs.Select(i => i.Shape).ToArray();
        Seed = seed;
        NumberOfTests = numberOfTests;
        NumberOfShrinks = numberOfShrinks;
        Replay = replay;
    }

    /// <summary>The smallest failing sample after shrinking (e.g. a <see cref="ShapeSample"/>).</summary>
    public object? Sample { get; }

    /// <summary>The first failing sample, before shrinking.</summary>
    public object? OriginalSample { get; }

    /// <summary>The inputs of the smallest failing case.</summary>
    public IReadOnlyList<InputSpec> Inputs { get; }

    /// <summary>The input shapes of the smallest failing case.</summary>
    public IReadOnlyList<Shape> InputShapes { get; }

    /// <summary>The value seed of the failing case (see <see cref="GradCheckCase{TSample}.Seed"/>).</summary>
    public ulong Seed { get; }

    /// <summary>How many cases ran, the failing one included.</summary>
    public int NumberOfTests { get; }

    /// <summary>How many successful shrink steps led to <see cref="Sample"/>.</summary>
    public int NumberOfShrinks { get; }

    /// <summary>FsCheck's random state at the failing test, for <see cref="GradCheckProperty{TSample}.WithReplay"/>.</summary>
    public (ulong Seed, ulong Gamma, int Size) Replay { get; }

    private static string Format(object? sample, object? originalSample, IReadOnlyList<InputSpec> inputs, ulong seed,
        int numberOfTests, int numberOfShrinks, (ulong Seed, ulong Gamma, int Size) replay, Exception? cause)
    {
        var nl = Environment.NewLine;
        var text = $"GradCheck property falsified after {numberOfTests} test{(numberOfTests == 1 ? "" : "s")} " +
                   $"({numberOfShrinks} shrink{(numberOfShrinks == 1 ? "" : "s")}).{nl}" +
                   $"Smallest failing sample: {sample}{nl}" +
                   $"  inputs: {string.Join(", ", inputs)}; value seed {seed}{nl}";
        if (numberOfShrinks > 0) text += $"Original sample: {originalSample}{nl}";
        text += cause is null ? "The property returned false." : $"{cause.GetType().Name}: {cause.Message}";
        return text + $"{nl}Re-run the smallest case with .Verify(sample, {seed}UL); replay the run with .WithReplay({replay.Seed}UL, {replay.Gamma}UL, {replay.Size}).Check().";
    }
}
