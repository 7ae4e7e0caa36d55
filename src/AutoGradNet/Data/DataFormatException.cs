namespace AutoGradNet.Data;

/// <summary>
/// A data file (IDX, CIFAR binary batch) is not what its reader expects: wrong magic number, truncated
/// header or payload, dimensions that do not match the data, or an image file and a label file that disagree.
/// The message names the file, what was expected and what was found.
/// </summary>
public sealed class DataFormatException : IOException
{
    /// <summary>A format error in <paramref name="path"/>: <paramref name="problem"/>, expected vs found.</summary>
    public DataFormatException(string path, string problem, string expected, string found)
        : base($"{path}: {problem}: expected {expected}, found {found}")
    {
        Path = path;
        Expected = expected;
        Found = found;
    }

    /// <summary>The file (or files, joined with " and ") that failed to read.</summary>
    public string Path { get; }

    /// <summary>What the reader expected.</summary>
    public string Expected { get; }

    /// <summary>What the file held instead.</summary>
    public string Found { get; }
}
