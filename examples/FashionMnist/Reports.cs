using System.Globalization;
using System.Text.Json;

namespace AutoGradNet.Examples.FashionMnist;

/// <summary>What a run leaves behind: a confusion matrix on the console, metrics.json and curves.png.</summary>
public static class Reports
{
    public static void Write(TrainingResult result, Options options, IReadOnlyList<string> classNames, TextWriter log)
    {
        log.WriteLine();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {result.TestAccuracy:P2} after {result.History.Count} epochs, {result.WallSeconds:F0} s wall time"));
        log.WriteLine(ConfusionTable(result.Confusion, classNames));
        var metricsPath = Path.Combine(result.OutputDirectory, "metrics.json");
        File.WriteAllText(metricsPath, JsonSerializer.Serialize(new
        {
            options.Model,
            options.Optimizer,
            options.Epochs,
            options.BatchSize,
            options.LearningRate,
            options.Seed,
            options.Augment,
            options.Device,
            TestAccuracy = result.TestAccuracy,
            WallSeconds = result.WallSeconds,
            History = result.History,
            ClassNames = classNames,
            Confusion = Enumerable.Range(0, 10).Select(i => Enumerable.Range(0, 10).Select(j => result.Confusion[i, j]).ToArray()).ToArray(),
        }, new JsonSerializerOptions { WriteIndented = true }));
        var plotPath = Path.Combine(result.OutputDirectory, "curves.png");
        Plot(result.History, plotPath);
        log.WriteLine($"wrote {Path.Combine(result.OutputDirectory, "model.safetensors")}, checkpoint.safetensors, {metricsPath} and {plotPath}");
    }

    /// <summary>Rows are true classes, columns predictions; the diagonal holds the correct ones.</summary>
    public static string ConfusionTable(long[,] confusion, IReadOnlyList<string> classNames)
    {
        var sb = new System.Text.StringBuilder("confusion matrix (rows: true class, columns: predicted)\n");
        sb.Append(new string(' ', 12));
        for (int j = 0; j < 10; j++) sb.Append($"{j,6}");
        sb.Append('\n');
        for (int i = 0; i < 10; i++)
        {
            string name = classNames[i].Length > 11 ? classNames[i][..11] : classNames[i];
            sb.Append($"{i} {name,-10}");
            for (int j = 0; j < 10; j++) sb.Append($"{confusion[i, j],6}");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Loss (left axis) and accuracy (right axis) per epoch, train and test.</summary>
    public static void Plot(IReadOnlyList<EpochMetrics> history, string path)
    {
        var plot = new ScottPlot.Plot();
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        plot.Add.Scatter(epochs, history.Select(h => h.TrainLoss).ToArray()).LegendText = "train loss";
        plot.Add.Scatter(epochs, history.Select(h => h.TestLoss).ToArray()).LegendText = "test loss";
        var trainAccuracy = plot.Add.Scatter(epochs, history.Select(h => 100 * h.TrainAccuracy).ToArray());
        trainAccuracy.LegendText = "train accuracy (%)";
        trainAccuracy.Axes.YAxis = plot.Axes.Right;
        trainAccuracy.LinePattern = ScottPlot.LinePattern.Dashed;
        var testAccuracy = plot.Add.Scatter(epochs, history.Select(h => 100 * h.TestAccuracy).ToArray());
        testAccuracy.LegendText = "test accuracy (%)";
        testAccuracy.Axes.YAxis = plot.Axes.Right;
        testAccuracy.LinePattern = ScottPlot.LinePattern.Dashed;
        plot.Title("AutoGradNet on Fashion-MNIST");
        plot.XLabel("epoch");
        // Whole epochs on the x axis (at most about 15 labels), not the default half-epoch ticks.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(Math.Max(1, (int)Math.Ceiling(history.Count / 15.0)));
        plot.YLabel("cross-entropy loss");
        plot.Axes.Right.Label.Text = "accuracy (%)";
        plot.ShowLegend(ScottPlot.Alignment.UpperCenter);
        plot.SavePng(path, 900, 520);
    }
}
