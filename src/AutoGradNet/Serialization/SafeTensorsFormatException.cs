namespace AutoGradNet.Serialization;

/// <summary>
/// Thrown by <see cref="SafeTensors"/> when bytes are not a valid safetensors file (or use a dtype AutoGradNet
/// cannot load). The message names the file (when known), the tensor (when the problem is in one tensor's
/// entry or data) and what exactly was wrong.
/// </summary>
public sealed class SafeTensorsFormatException : FormatException
{
    /// <summary>An exception with a plain message and no file or tensor.</summary>
    public SafeTensorsFormatException() : base("Invalid safetensors data.") { }

    /// <summary>An exception with the given message and no file or tensor.</summary>
    public SafeTensorsFormatException(string message) : base(message) { }

    /// <summary>An exception with the given message wrapping <paramref name="innerException"/>.</summary>
    public SafeTensorsFormatException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>
    /// An exception for <paramref name="problem"/> found in <paramref name="filePath"/> (null for streams and
    /// byte arrays without a name) in the entry or data of <paramref name="tensorName"/> (null for file-level problems).
    /// </summary>
    public SafeTensorsFormatException(string problem, string? filePath, string? tensorName, Exception? innerException = null)
        : base(Compose(problem, filePath, tensorName), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file being read, or null when reading a stream or byte array without a known name.</summary>
    public string? FilePath { get; }

    /// <summary>The tensor whose header entry or data is wrong, or null when the problem concerns the whole file.</summary>
    public string? TensorName { get; }

    /// <summary>What was wrong, without the file and tensor prefix (the whole message for the plain constructors).</summary>
    public string? Problem { get; }

    private static string Compose(string problem, string? filePath, string? tensorName)
    {
        string where = filePath is null ? "safetensors data" : $"safetensors file '{filePath}'";
        if (tensorName is not null) where += $", tensor '{tensorName}'";
        return $"Invalid {where}: {problem}";
    }
}
