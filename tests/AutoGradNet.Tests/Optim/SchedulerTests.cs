using AutoGradNet.Optim;
using static AutoGradNet.Tests.Optim.Problem;

namespace AutoGradNet.Tests.Optim;

public class SchedulerTests
{
    private const int Epochs = 20;
    private static readonly double[] Bases = [0.1, 0.05];

    /// <summary>An SGD with two groups of base lr 0.1 and 0.05.</summary>
    private static SGD NewOptimizer()
    {
        ParamGroup[] groups = [new ParamGroup([NewParam()]) { Lr = Bases[0] }, new ParamGroup([NewParam()]) { Lr = Bases[1] }];
        return new SGD(groups, momentum: 0.9);
    }

    /// <summary>lr of each group after construction (epoch 0) and after each of <paramref name="epochs"/> steps.</summary>
    private static List<double[]> Lrs(LRScheduler scheduler, int epochs = Epochs)
    {
        var result = new List<double[]>();
        result.Add([.. scheduler.Optimizer.ParamGroups.Select(g => g.Lr)]);
        int epoch0 = scheduler.LastEpoch;
        Assert.Equal(result[0], scheduler.GetLastLr());
        for (int e = 1; e <= epochs; e++)
        {
            scheduler.Step();
            result.Add([.. scheduler.Optimizer.ParamGroups.Select(g => g.Lr)]);
            Assert.Equal(result[^1], scheduler.GetLastLr());
            Assert.Equal(epoch0 + e, scheduler.LastEpoch);
        }
        return result;
    }

    private static List<double[]> Formula(Func<int, double, double> lr, int epochs = Epochs) =>
        [.. Enumerable.Range(0, epochs + 1).Select(e => Bases.Select(b => lr(e, b)).ToArray())];

    [Fact]
    public void StepLRSixPercentEveryTwoEpochs()
    {
        var opt = NewOptimizer();
        AssertClose(Formula((e, b) => b * Math.Pow(0.94, e / 2)), Lrs(new StepLR(opt, stepSize: 2, gamma: 0.94)));
        Assert.Equal(0.1, opt.ParamGroups[0].InitialLr);
    }

    [Fact]
    public void StepLR() =>
        AssertClose(Formula((e, b) => b * Math.Pow(0.5, e / 3)), Lrs(new StepLR(NewOptimizer(), 3, 0.5)));

    [Fact]
    public void MultiStepLRCountsRepeatedMilestones() =>
        AssertClose(Formula((e, b) => b * Math.Pow(0.1, new[] { 3, 7, 7, 12 }.Count(m => m <= e))),
            Lrs(new MultiStepLR(NewOptimizer(), [12, 7, 3, 7], 0.1)));

    [Fact]
    public void ExponentialLR() =>
        AssertClose(Formula((e, b) => b * Math.Pow(0.9, e)), Lrs(new ExponentialLR(NewOptimizer(), 0.9)));

    [Fact]
    public void CosineAnnealingLRClosedForm() =>
        AssertClose(Formula((e, b) => 0.001 + (b - 0.001) * (1 + Math.Cos(Math.PI * e / 10)) / 2),
            Lrs(new CosineAnnealingLR(NewOptimizer(), tMax: 10, etaMin: 0.001)));

    [Theory]
    [InlineData(0.25, 1.0, 4)]
    [InlineData(1.0, 0.5, 6)]
    [InlineData(1.0 / 3, 1.0, 5)]
    [InlineData(0.9, 0.0, 7)]
    public void LinearLR(double start, double end, int total) =>
        AssertClose(Formula((e, b) => b * (start + (end - start) * Math.Min(e, total) / total)),
            Lrs(new LinearLR(NewOptimizer(), start, end, total)));

    [Fact]
    public void SequentialLRWarmupThenCosine()
    {
        var opt = NewOptimizer();
        var warmup = new LinearLR(opt, startFactor: 0.1, endFactor: 1, totalIters: 5);
        var cosine = new CosineAnnealingLR(opt, tMax: 15);
        AssertClose(Formula((e, b) => e < 5 ? b * (0.1 + 0.9 * e / 5) : b * (1 + Math.Cos(Math.PI * (e - 5) / 15)) / 2),
            Lrs(new SequentialLR(opt, [warmup, cosine], [5])));
    }

    [Fact]
    public void SequentialLRRestartsTheNextSchedulerFromItsBase()
    {
        var opt = NewOptimizer();
        var constant = new StepLR(opt, stepSize: 100, gamma: 0.5);
        var decay = new ExponentialLR(opt, 0.8);
        var step = new StepLR(opt, stepSize: 2, gamma: 0.5);
        AssertClose(Formula((e, b) => e < 4 ? b : e < 10 ? b * Math.Pow(0.8, e - 4) : b * Math.Pow(0.5, (e - 10) / 2)),
            Lrs(new SequentialLR(opt, [constant, decay, step], [4, 10])));
    }

    [Fact]
    public void ChainedSchedulerMultipliesTheFactors()
    {
        var opt = NewOptimizer();
        var warmup = new LinearLR(opt, startFactor: 0.5, endFactor: 1, totalIters: 4);
        var decay = new ExponentialLR(opt, 0.9);
        var step = new StepLR(opt, 3, 0.5);
        AssertClose(Formula((e, b) => b * (0.5 + 0.5 * Math.Min(e, 4) / 4) * Math.Pow(0.9, e) * Math.Pow(0.5, e / 3)),
            Lrs(new ChainedScheduler([warmup, decay, step])));
    }

    [Fact]
    public void ReduceLROnPlateauDividesByTenWhenTheMetricStalls()
    {
        var opt = NewOptimizer();
        var plateau = new ReduceLROnPlateau(opt, patience: 2, cooldown: 1, minLr: 0.0002);
        double[] losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85];
        // Worked by hand: three bad epochs (> patience 2) reduce; the epoch after a reduction is cooldown.
        double[] factor = [1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001, 0.001];
        for (int e = 0; e < losses.Length; e++)
        {
            plateau.Step(losses[e]);
            var expected = Bases.Select(b => Math.Max(b * factor[e], 0.0002)).ToArray();
            AssertClose(expected, [.. opt.ParamGroups.Select(g => g.Lr)]);
            AssertClose(expected, plateau.GetLastLr());
        }
        Assert.Equal(0.8, plateau.Best);
    }

    [Fact]
    public void ReduceLROnPlateauMaxModeAbsoluteThreshold()
    {
        var opt = NewOptimizer();
        var plateau = new ReduceLROnPlateau(opt, PlateauMode.Max, factor: 0.5, patience: 1, threshold: 0.02, thresholdMode: ThresholdMode.Abs);
        double[] accuracy = [0.5, 0.6, 0.605, 0.61, 0.7, 0.71, 0.715];
        double[] factor = [1, 1, 1, 0.5, 0.5, 0.5, 0.25];
        for (int e = 0; e < accuracy.Length; e++)
        {
            plateau.Step(accuracy[e]);
            AssertClose(Bases.Select(b => b * factor[e]).ToArray(), plateau.GetLastLr());
        }
    }

    [Fact]
    public void ReduceLROnPlateauRelativeThreshold()
    {
        var opt = NewOptimizer();
        var plateau = new ReduceLROnPlateau(opt, patience: 0, threshold: 0.1);
        plateau.Step(1.0);  // best 1
        plateau.Step(0.95); // not below 1·(1 − 0.1): bad → reduce (patience 0)
        AssertClose(Bases.Select(b => b * 0.1).ToArray(), plateau.GetLastLr());
        plateau.Step(0.85); // below 0.9: improvement
        AssertClose(Bases.Select(b => b * 0.1).ToArray(), plateau.GetLastLr());
        Assert.Equal(0.85, plateau.Best);
    }

    [Fact]
    public void SchedulerStateRestoresTheContinuation()
    {
        static (SGD Opt, SequentialLR Scheduler) Build()
        {
            var opt = NewOptimizer();
            return (opt, new SequentialLR(opt, [new LinearLR(opt, 0.2, 1, 3), new ExponentialLR(opt, 0.9)], [3]));
        }
        var (_, full) = Build();
        var uninterrupted = Lrs(full, 16);

        var (opt1, first) = Build();
        for (int e = 0; e < 6; e++) first.Step();
        using var optimizerState = opt1.StateDict();
        string schedulerState = first.StateDict();

        var (opt2, resumed) = Build();
        opt2.LoadStateDict(optimizerState);
        resumed.LoadStateDict(schedulerState);
        Assert.Equal(6, resumed.LastEpoch);
        var rest = Lrs(resumed, 10);
        for (int e = 0; e <= 10; e++) Assert.Equal(uninterrupted[6 + e], rest[e]);
    }

    [Fact]
    public void ReduceLROnPlateauStateRestores()
    {
        var opt1 = NewOptimizer();
        var first = new ReduceLROnPlateau(opt1, patience: 1, cooldown: 2);
        var fresh = first.StateDict(); // best = +∞ before any step
        Assert.Contains("Infinity", fresh);
        foreach (var m in new[] { 1.0, 1.0, 1.0, 1.0 }) first.Step(m);

        var opt2 = NewOptimizer();
        var second = new ReduceLROnPlateau(opt2, patience: 1, cooldown: 2);
        second.LoadStateDict(fresh);
        Assert.Equal(double.PositiveInfinity, second.Best);
        opt2.LoadStateDict(opt1.StateDict());
        second.LoadStateDict(first.StateDict());
        Assert.Equal((first.Best, first.NumBadEpochs, first.CooldownCounter, first.LastEpoch), (second.Best, second.NumBadEpochs, second.CooldownCounter, second.LastEpoch));
        foreach (var m in new[] { 1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0 })
        {
            first.Step(m);
            second.Step(m);
            Assert.Equal(first.GetLastLr(), second.GetLastLr());
        }
        Assert.Contains("saved by a ReduceLROnPlateau", Assert.Throws<ArgumentException>(() => new StepLR(NewOptimizer(), 2).LoadStateDict(fresh)).Message);
    }

    [Fact]
    public void SchedulerSetsTheLrTheOptimizerUses()
    {
        var p = NewParam();
        var sgd = new SGD([p], lr: 1.0);
        var scheduler = new StepLR(sgd, 1, 0.5);
        scheduler.Step(); // lr 0.5
        var before = p.ToDoubleArray();
        Run(sgd, 1, p);
        var g = Grad(before);
        AssertClose([before.Select((x, i) => x - 0.5 * g[i]).ToArray()], [p.ToDoubleArray()]);
    }

    [Fact]
    public void MisuseThrows()
    {
        var opt = NewOptimizer();
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(opt, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialLR(opt, -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiStepLR(opt, [0, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLR(opt, startFactor: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLR(opt, endFactor: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(opt, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, patience: -1));
        Assert.Contains("Step(metric)", Assert.Throws<InvalidOperationException>(() => new ReduceLROnPlateau(opt).Step()).Message);

        var a = new ExponentialLR(opt, 0.9);
        var b = new ExponentialLR(opt, 0.8);
        Assert.Contains("1 milestones", Assert.Throws<ArgumentException>(() => new SequentialLR(opt, [a, b], [])).Message);
        Assert.Contains("strictly increasing", Assert.Throws<ArgumentException>(() => new SequentialLR(opt, [a, b, a], [4, 4])).Message);
        var other = new ExponentialLR(NewOptimizer(), 0.9);
        Assert.Contains("different optimizer", Assert.Throws<ArgumentException>(() => new ChainedScheduler([a, other])).Message);
        Assert.Contains("ReduceLROnPlateau", Assert.Throws<ArgumentException>(() => new ChainedScheduler([a, new ReduceLROnPlateau(opt)])).Message);

        var s = new StepLR(opt, 2);
        opt.AddParamGroup(new ParamGroup([NewParam()]));
        Assert.Contains("parameter groups", Assert.Throws<InvalidOperationException>(s.Step).Message);
    }
}
