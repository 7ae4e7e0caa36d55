namespace AutoGradNet.Data;

/// <summary>The records of one CIFAR binary batch file.</summary>
/// <param name="Pixels">Count × 3 × 32 × 32 bytes: per image the R plane, then G, then B, rows top to bottom.</param>
/// <param name="Labels">The label per image (CIFAR-10: class 0–9; CIFAR-100: fine label 0–99).</param>
/// <param name="CoarseLabels">CIFAR-100's superclass label per image (0–19); null for CIFAR-10.</param>
public readonly record struct CifarBatch(byte[] Pixels, long[] Labels, long[]? CoarseLabels)
{
    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;
}

/// <summary>
/// Reader for the CIFAR-10/100 "binary version" batches. A CIFAR-10 record is 1 label byte then 3072 pixel bytes
/// (R, G and B planes of 32×32); a CIFAR-100 record is 1 coarse-label byte, 1 fine-label byte, then the 3072 pixels.
/// Files may be raw or gzip-compressed (detected by magic bytes).
/// </summary>
public static class Cifar
{
    /// <summary>Pixel bytes per image (3 × 32 × 32).</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>Reads a CIFAR-10 (<paramref name="cifar100"/> false) or CIFAR-100 binary batch file.</summary>
    /// <param name="path">The .bin file.</param>
    /// <param name="cifar100">True for CIFAR-100 records (2 label bytes).</param>
    /// <param name="limit">Read only the first <paramref name="limit"/> records (the rest of the file is then not checked).</param>
    /// <exception cref="DataFormatException">The file is empty, ends in a truncated record, or holds a label out of range.</exception>
    public static CifarBatch ReadBatch(string path, bool cifar100 = false, int? limit = null)
    {
        if (limit is < 0) throw new ArgumentOutOfRangeException(nameof(limit), $"Cifar: limit must be non-negative, got {limit}");
        int labelBytes = cifar100 ? 2 : 1;
        int record = labelBytes + ImageBytes;
        string kind = cifar100 ? "CIFAR-100" : "CIFAR-10";
        string layout = cifar100 ? $"{record} bytes: coarse label, fine label, {ImageBytes} pixels" : $"{record} bytes: 1 label + {ImageBytes} pixels";

        byte[] data;
        int length;
        using (var stream = DataFile.OpenRead(path))
        {
            long maxRecords = Math.Min(limit ?? int.MaxValue, (Array.MaxLength - 1) / record);
            if (stream is FileStream fs)
            {
                long records = Math.Min(maxRecords, fs.Length / record + 1);
                data = GC.AllocateUninitializedArray<byte>((int)Math.Min(fs.Length, records * record));
                length = DataFile.ReadFully(stream, data, path);
            }
            else
            {
                // Compressed: grow as the data comes, up to the limit.
                long cap = maxRecords * record;
                var ms = new MemoryStream();
                var chunk = new byte[1 << 16];
                int got;
                while (ms.Length < cap && (got = DataFile.ReadFully(stream, chunk.AsSpan(0, (int)Math.Min(chunk.Length, cap - ms.Length)), path)) > 0)
                    ms.Write(chunk, 0, got);
                data = ms.GetBuffer();
                length = (int)ms.Length;
            }
        }

        if (length == 0)
            throw new DataFormatException(path, $"no records ({kind} batch)", $"whole records of {layout}", "an empty file");
        int count = length / record;
        if (limit is { } l && count >= l) count = l;
        else if (length % record != 0)
            throw new DataFormatException(path, $"truncated record ({kind} batch)", $"whole records of {layout}",
                $"{length} bytes = {count} whole records and a truncated one of {length % record} bytes");

        var pixels = GC.AllocateUninitializedArray<byte>(count * ImageBytes);
        var labels = new long[count];
        var coarse = cifar100 ? new long[count] : null;
        int fineMax = cifar100 ? 100 : 10;
        for (int i = 0; i < count; i++)
        {
            int at = i * record;
            if (cifar100)
            {
                coarse![i] = data[at];
                if (data[at] >= 20)
                    throw new DataFormatException(path, $"coarse label out of range in record {i} ({kind} batch)", "a superclass index in 0..19", data[at].ToString());
            }
            labels[i] = data[at + labelBytes - 1];
            if (labels[i] >= fineMax)
                throw new DataFormatException(path, $"label out of range in record {i} ({kind} batch; a {(cifar100 ? "CIFAR-10" : "CIFAR-100")} file?)",
                    $"a class index in 0..{fineMax - 1}", labels[i].ToString());
            Buffer.BlockCopy(data, at + labelBytes, pixels, i * ImageBytes, ImageBytes);
        }
        return new CifarBatch(pixels, labels, coarse);
    }

    /// <summary>Reads several batch files as one (in order).</summary>
    public static CifarBatch ReadBatches(IReadOnlyList<string> paths, bool cifar100 = false, int? limit = null)
    {
        var parts = new List<CifarBatch>();
        int total = 0;
        foreach (var path in paths)
        {
            if (limit is { } l && total >= l) break;
            var part = ReadBatch(path, cifar100, limit is { } m ? m - total : null);
            parts.Add(part);
            total += part.Count;
        }
        if (parts.Count == 1) return parts[0];
        var pixels = GC.AllocateUninitializedArray<byte>(total * ImageBytes);
        var labels = new long[total];
        var coarse = cifar100 ? new long[total] : null;
        int at = 0;
        foreach (var part in parts)
        {
            part.Pixels.AsSpan(0, part.Count * ImageBytes).CopyTo(pixels.AsSpan(at * ImageBytes));
            part.Labels.CopyTo(labels, at);
            part.CoarseLabels?.CopyTo(coarse!, at);
            at += part.Count;
        }
        return new CifarBatch(pixels, labels, coarse);
    }

    /// <summary>Finds <paramref name="name"/> (or <paramref name="name"/>.gz) in <paramref name="root"/> or in its subdirectory <paramref name="subdirectory"/>.</summary>
    internal static string FindFile(string root, string subdirectory, string name)
    {
        string[] tried = [Path.Combine(root, name), Path.Combine(root, name + ".gz"),
            Path.Combine(root, subdirectory, name), Path.Combine(root, subdirectory, name + ".gz")];
        foreach (var path in tried)
            if (File.Exists(path)) return path;
        throw new FileNotFoundException($"{name} not found: tried {string.Join(", ", tried)}", tried[0]);
    }
}

/// <summary>
/// CIFAR-10 (torchvision's <c>CIFAR10</c>) from the binary version: <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>
/// (50,000 training images) and <c>test_batch.bin</c> (10,000), 3×32×32 RGB, 10 classes. <c>root</c> may be the
/// directory holding the files or its parent holding <c>cifar-10-batches-bin/</c>.
/// </summary>
/// <remarks>Horizontal flips are label-preserving for all ten classes.</remarks>
public sealed class Cifar10 : ImageDataset
{
    /// <summary>The ten class names, index = label.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Loads the training or test split from <paramref name="root"/>.</summary>
    /// <param name="root">The directory with the .bin files, or its parent.</param>
    /// <param name="train">The training split (data_batch_1..5) when true, test_batch when false.</param>
    /// <param name="limit">Keep only the first <paramref name="limit"/> samples.</param>
    public Cifar10(string root, bool train = true, int? limit = null)
        : this(Load(root, train, limit), Classes)
    {
        Train = train;
    }

    private Cifar10(CifarBatch batch, IReadOnlyList<string> classes)
        : base(batch.Pixels, batch.Labels, 3, 32, 32, classes, Normalization.Cifar10)
    {
    }

    /// <summary>True for the training split.</summary>
    public bool Train { get; }

    /// <summary>The standard file names of a split.</summary>
    public static IReadOnlyList<string> FileNames(bool train) =>
        train ? ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"] : ["test_batch.bin"];

    private static CifarBatch Load(string root, bool train, int? limit)
    {
        ArgumentNullException.ThrowIfNull(root);
        var paths = FileNames(train).Select(n => Cifar.FindFile(root, "cifar-10-batches-bin", n)).ToArray();
        return Cifar.ReadBatches(paths, cifar100: false, limit);
    }
}

/// <summary>
/// CIFAR-100 (torchvision's <c>CIFAR100</c>) from the binary version: <c>train.bin</c> (50,000) and <c>test.bin</c>
/// (10,000), 3×32×32 RGB, 100 fine classes in 20 superclasses. <c>root</c> may be the directory holding the files
/// or its parent holding <c>cifar-100-binary/</c>.
/// </summary>
public sealed class Cifar100 : ImageDataset
{
    /// <summary>The 100 fine class names, index = fine label.</summary>
    public static IReadOnlyList<string> FineClasses { get; } =
    [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ];

    /// <summary>The 20 superclass names, index = coarse label.</summary>
    public static IReadOnlyList<string> CoarseClasses { get; } =
    [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
        "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
        "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people", "reptiles",
        "small_mammals", "trees", "vehicles_1", "vehicles_2",
    ];

    /// <summary>Loads the training or test split from <paramref name="root"/>.</summary>
    /// <param name="root">The directory with train.bin/test.bin, or its parent.</param>
    /// <param name="train">train.bin when true, test.bin when false.</param>
    /// <param name="coarse">Use the 20 superclass labels instead of the 100 fine ones.</param>
    /// <param name="limit">Keep only the first <paramref name="limit"/> samples.</param>
    public Cifar100(string root, bool train = true, bool coarse = false, int? limit = null)
        : this(Cifar.ReadBatch(Cifar.FindFile(root ?? throw new ArgumentNullException(nameof(root)), "cifar-100-binary", FileName(train)), cifar100: true, limit), coarse)
    {
        Train = train;
    }

    private Cifar100(CifarBatch batch, bool coarse)
        : base(batch.Pixels, coarse ? batch.CoarseLabels! : batch.Labels, 3, 32, 32, coarse ? CoarseClasses : FineClasses, Normalization.Cifar100)
    {
        Coarse = coarse;
        CoarseLabels = batch.CoarseLabels!;
        FineLabels = batch.Labels;
    }

    /// <summary>True for the training split.</summary>
    public bool Train { get; }

    /// <summary>True when <see cref="ImageDataset.GetLabel"/> gives superclass labels.</summary>
    public bool Coarse { get; }

    /// <summary>The superclass label per image.</summary>
    public IReadOnlyList<long> CoarseLabels { get; }

    /// <summary>The fine label per image.</summary>
    public IReadOnlyList<long> FineLabels { get; }

    /// <summary>The standard file name of a split.</summary>
    public static string FileName(bool train) => train ? "train.bin" : "test.bin";
}
