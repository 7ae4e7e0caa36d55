using AutoGradNet.Examples.FashionMnist;

Options options;
try
{
    if (args.Contains("--help") || args.Contains("-h"))
    {
        Console.WriteLine(Options.Usage);
        return 0;
    }
    options = Options.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"fashion-mnist: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

// Fail fast on a device this machine does not have, before any data is read.
try
{
    DeviceOption.Resolve(options.Device);
}
catch (DeviceUnavailableException e)
{
    Console.Error.WriteLine($"fashion-mnist: {e.Message}");
    return 2;
}

if (!AutoGradNet.Data.FashionMnist.IsInstalled(options.DataDirectory))
{
    Console.Error.WriteLine($"""
        fashion-mnist: no Fashion-MNIST files in {options.DataDirectory}.
        Install them with:   sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist
        or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
        t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist into a folder and pass --data FOLDER.
        (bash build/train.sh does the apt-get step for you.)
        """);
    return 3;
}

var result = new Trainer(options, Console.Out).Run();
return result.TestAccuracy > 0 ? 0 : 1;
