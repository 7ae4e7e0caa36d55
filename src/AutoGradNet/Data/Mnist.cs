namespace AutoGradNet.Data;

/// <summary>
/// MNIST handwritten digits (torchvision's <c>MNIST</c>): 28×28 grey images, labels 0–9, read from a directory
/// holding the standard IDX files (<c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
/// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>), each raw or gzipped (<c>.gz</c>).
/// </summary>
public class Mnist : ImageDataset
{
    /// <summary>The digit names "0" … "9".</summary>
    public static IReadOnlyList<string> DigitClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Loads the training (60,000) or test (10,000) split of MNIST from <paramref name="root"/>.</summary>
    /// <param name="root">The directory with the IDX files.</param>
    /// <param name="train">The training split (<c>train-*</c>) when true, the test split (<c>t10k-*</c>) when false.</param>
    /// <param name="limit">Keep only the first <paramref name="limit"/> samples (reads only those).</param>
    /// <exception cref="FileNotFoundException">A file is missing (the message lists the names tried).</exception>
    /// <exception cref="DataFormatException">A file is malformed, or the image and label counts differ.</exception>
    public Mnist(string root, bool train = true, int? limit = null)
        : this(IdxPair.Load(root, train, limit, "MNIST", null), DigitClassNames, Normalization.Mnist)
    {
    }

    /// <summary>Loads an MNIST-format data set whose files were read into <paramref name="pair"/>.</summary>
    private protected Mnist(IdxPair pair, IReadOnlyList<string> classNames, Normalization normalization)
        : base(pair.Images.Pixels, pair.Images.Count, pair.Labels, 1, pair.Images.Rows, pair.Images.Cols,
            classNames, normalization, pair.ImagesPath, pair.LabelsPath)
    {
        Train = pair.Train;
        ImagesPath = pair.ImagesPath;
        LabelsPath = pair.LabelsPath;
    }

    /// <summary>True for the training split.</summary>
    public bool Train { get; }

    /// <summary>The image file read.</summary>
    public string ImagesPath { get; }

    /// <summary>The label file read.</summary>
    public string LabelsPath { get; }

    /// <summary>The file-name stem for a split and kind ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", ...).</summary>
    public static string FileStem(bool train, bool images) =>
        (train ? "train" : "t10k") + (images ? "-images-idx3-ubyte" : "-labels-idx1-ubyte");

    /// <summary>
    /// Finds the file for a split and kind in <paramref name="directory"/>: the standard stem, then the stem with
    /// <c>.gz</c>, then the variants with a dot before <c>idx</c> (<c>train-images.idx3-ubyte</c>) that some mirrors use.
    /// </summary>
    /// <exception cref="FileNotFoundException">None exists (the message lists the names tried).</exception>
    public static string FindFile(string directory, bool train, bool images, string? installHint = null)
    {
        string stem = FileStem(train, images);
        string dotted = stem.Replace("-idx", ".idx", StringComparison.Ordinal);
        string[] names = [stem, stem + ".gz", dotted, dotted + ".gz"];
        foreach (var name in names)
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path)) return path;
        }
        string where = Directory.Exists(directory) ? $"directory {directory}" : $"directory {directory} (which does not exist)";
        throw new FileNotFoundException(
            $"No {(train ? "training" : "test")} {(images ? "image" : "label")} file in {where}: tried {string.Join(", ", names)}{installHint}",
            Path.Combine(directory, stem));
    }

    /// <summary>The two IDX files of one split, read and converted.</summary>
    private protected sealed record IdxPair(IdxImages Images, long[] Labels, string ImagesPath, string LabelsPath, bool Train)
    {
        public static IdxPair Load(string root, bool train, int? limit, string name, string? installHint)
        {
            ArgumentNullException.ThrowIfNull(root);
            string imagesPath = FindFile(root, train, images: true, installHint);
            string labelsPath = FindFile(root, train, images: false, installHint);
            var images = Idx.ReadImages(imagesPath, limit);
            var raw = Idx.ReadLabels(labelsPath, limit);
            var labels = new long[raw.Length];
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] > 9)
                    throw new DataFormatException(labelsPath, $"label out of range for {name} at index {i}", "a class index in 0..9", raw[i].ToString());
                labels[i] = raw[i];
            }
            return new IdxPair(images, labels, imagesPath, labelsPath, train);
        }
    }
}

/// <summary>
/// Fashion-MNIST (torchvision's <c>FashionMNIST</c>): 28×28 grey images of clothing in 10 classes, the MNIST file
/// layout. By default read from <see cref="DefaultDirectory"/>, where the Debian package <c>dataset-fashion-mnist</c>
/// installs <c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>, <c>t10k-images-idx3-ubyte.gz</c>
/// and <c>t10k-labels-idx1-ubyte.gz</c>.
/// </summary>
/// <remarks>Horizontal flips are label-preserving for these classes (a mirrored shoe is still a shoe), unlike for digits.</remarks>
public sealed class FashionMnist : Mnist
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist/";

    private const string InstallHint = " (on Debian/Ubuntu: apt-get install dataset-fashion-mnist)";

    /// <summary>The ten class names, index = label.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Loads the training (60,000) or test (10,000) split of Fashion-MNIST.</summary>
    /// <param name="root">The directory with the IDX files; null for <see cref="DefaultDirectory"/>.</param>
    /// <param name="train">The training split when true, the test split when false.</param>
    /// <param name="limit">Keep only the first <paramref name="limit"/> samples (reads only those).</param>
    /// <exception cref="FileNotFoundException">A file is missing (the message lists the names tried).</exception>
    /// <exception cref="DataFormatException">A file is malformed, or the image and label counts differ.</exception>
    public FashionMnist(string? root = null, bool train = true, int? limit = null)
        : base(IdxPair.Load(root ?? DefaultDirectory, train, limit, "Fashion-MNIST", InstallHint), Classes, Normalization.FashionMnist)
    {
    }

    /// <summary>True when the default directory holds the four Fashion-MNIST files.</summary>
    public static bool IsInstalled(string? root = null)
    {
        root ??= DefaultDirectory;
        foreach (bool train in new[] { true, false })
            foreach (bool images in new[] { true, false })
            {
                try { FindFile(root, train, images); }
                catch (FileNotFoundException) { return false; }
            }
        return true;
    }
}
