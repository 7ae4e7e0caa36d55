namespace AutoGradNet;

/// <summary>
/// Whether operations are recorded on the tape. Per thread: two threads can train and evaluate at once.
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static bool t_disabled;
    [ThreadStatic] private static bool t_anomaly;

    /// <summary>True when new operations record their backward (the default).</summary>
    public static bool IsEnabled => !t_disabled;

    /// <summary>True when anomaly detection is on for this thread (see <see cref="DetectAnomaly"/>).</summary>
    public static bool IsAnomalyEnabled => t_anomaly;

    /// <summary>Turns recording off until the returned scope is disposed (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static Scope NoGrad() => Set(enabled: false);

    /// <summary>Turns recording on until the returned scope is disposed (PyTorch's <c>torch.enable_grad()</c>).</summary>
    public static Scope EnableGrad() => Set(enabled: true);

    /// <summary>Sets recording on or off until the returned scope is disposed.</summary>
    public static Scope Set(bool enabled)
    {
        var scope = new Scope(!t_disabled, t_anomaly);
        t_disabled = !enabled;
        return scope;
    }

    /// <summary>
    /// Anomaly detection until the returned scope is disposed: a backward that produces NaN or infinity throws
    /// an <see cref="AnomalyException"/> naming the op (and where the op was called in the forward pass).
    /// </summary>
    public static Scope DetectAnomaly(bool enabled = true)
    {
        var scope = new Scope(!t_disabled, t_anomaly);
        t_anomaly = enabled;
        return scope;
    }

    /// <summary>Restores the previous modes when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _grad, _anomaly;
        internal Scope(bool grad, bool anomaly)
        {
            _grad = grad;
            _anomaly = anomaly;
        }

        /// <summary>Restores the modes that were in force when the scope was made.</summary>
        public void Dispose()
        {
            t_disabled = !_grad;
            t_anomaly = _anomaly;
        }
    }
}

/// <summary>Thrown in anomaly mode when a backward function produced NaN or infinity.</summary>
public sealed class AnomalyException(string message) : Exception(message);
