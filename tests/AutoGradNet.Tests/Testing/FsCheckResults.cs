using FsCheck;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace AutoGradNet.Tests.Testing;

/// <summary>Runs an FsCheck property quietly and hands back its result (to assert on shrunk counterexamples).</summary>
internal static class FsCheckResults
{
    public sealed record Outcome(bool Passed, object[] Original, object[] Shrunk, int NumberOfShrinks);

    public static Outcome Run(Property property, int maxTest)
    {
        var runner = new CapturingRunner();
        FsCheck.Check.One(Config.Quick.WithMaxTest(maxTest).WithRunner(runner), property);
        return runner.Result switch
        {
            TestResult.Failed f => new Outcome(false, f.Item2.ToArray(), f.Item3.ToArray(), f.Item1.NumberOfShrinks),
            TestResult.Passed => new Outcome(true, [], [], 0),
            var other => throw new InvalidOperationException($"unexpected FsCheck result {other}"),
        };
    }

    private sealed class CapturingRunner : IRunner
    {
        public TestResult? Result { get; private set; }
        public void OnStartFixture(Type testType) { }
        public void OnArguments(int testNumber, FSharpList<object> args, FSharpFunc<int, FSharpFunc<FSharpList<object>, string>> every) { }
        public void OnShrink(FSharpList<object> args, FSharpFunc<FSharpList<object>, string> everyShrink) { }
        public void OnFinished(string name, TestResult result) => Result = result;
    }
}
