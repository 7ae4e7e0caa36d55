namespace AutoGradNet;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost scope, and disposes them when the
/// scope is disposed, except those moved out (<see cref="MoveToOuter"/>) or detached. Scopes nest and are per
/// thread. Typical use: <c>using var scope = Tensor.NewDisposeScope();</c> around one training step.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? t_current;

    /// <summary>Emptied tensor lists of disposed scopes, reused by the next scopes on this thread: a training step
    /// opens a scope per step and the backward pass one per node, and each list would otherwise regrow from empty.</summary>
    [ThreadStatic] private static List<Tensor>[]? t_spareLists;
    [ThreadStatic] private static int t_spareCount;
    private const int MaxSpareLists = 8, MaxSpareCapacity = 1 << 16;

    private DisposeScope? _outer;
    private List<Tensor>? _tensors;
    private bool _disposed;

    internal DisposeScope()
    {
        Open();
    }

    private void Open()
    {
        _outer = t_current;
        t_current = this;
        _tensors = t_spareCount > 0 ? t_spareLists![--t_spareCount] : [];
    }

    /// <summary>Opens a disposed scope again as the innermost one (the backward pass reuses one scope object for
    /// every node it runs).</summary>
    internal void Reopen()
    {
        if (!_disposed) throw new InvalidOperationException("DisposeScope: only a disposed scope can be reopened");
        _disposed = false;
        Open();
    }

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static DisposeScope? Current => t_current;

    /// <summary>The scope this one is nested in.</summary>
    public DisposeScope? Outer => _outer;

    /// <summary>How many tensors this scope will dispose.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            if (_tensors is null) return 0;
            foreach (var t in _tensors)
                if (ReferenceEquals(t.OwnerScope, this) && !t.IsDisposed) n++;
            return n;
        }
    }

    internal static void Register(Tensor t)
    {
        var scope = t_current;
        if (scope is null) return;
        scope._tensors!.Add(t);
        t.OwnerScope = scope;
    }

    internal void Adopt(Tensor t)
    {
        if (_tensors is null) throw new InvalidOperationException($"DisposeScope: a tensor of shape {t.Shape} was moved into a scope that was already disposed");
        _tensors.Add(t);
        t.OwnerScope = this;
    }

    /// <summary>Hands <paramref name="tensor"/> to the enclosing scope (or to nobody when this is the outermost).</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (!ReferenceEquals(tensor.OwnerScope, this))
            throw new InvalidOperationException($"MoveToOuter: the tensor of shape {tensor.Shape} does not belong to this dispose scope");
        tensor.OwnerScope = null;
        _outer?.Adopt(tensor);
        return tensor;
    }

    /// <summary>Removes <paramref name="tensor"/> from whatever scope holds it; the caller now owns it.</summary>
    public static Tensor Detach(Tensor tensor)
    {
        tensor.OwnerScope = null;
        return tensor;
    }

    [ThreadStatic] private static DisposeScope[]? t_spareScopes;
    [ThreadStatic] private static int t_spareScopeCount;
    private const int MaxSpareScopes = 8;

    /// <summary>A disposed scope of this thread opened again, or a new one: composite ops open a scope per call.</summary>
    internal static DisposeScope Rent()
    {
        if (t_spareScopeCount == 0) return new DisposeScope();
        var scope = t_spareScopes![--t_spareScopeCount];
        scope.Reopen();
        return scope;
    }

    /// <summary>Disposes this scope (see <see cref="Dispose"/>) and keeps the object for <see cref="Rent"/>. Every tensor it
    /// owned was released from it, so no tensor still names it as its owner.</summary>
    internal void DisposeAndReturn()
    {
        Dispose();
        if (t_spareScopeCount < MaxSpareScopes) (t_spareScopes ??= new DisposeScope[MaxSpareScopes])[t_spareScopeCount++] = this;
    }

    /// <summary>Disposes every tensor still owned by this scope and makes the outer scope current again.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (!ReferenceEquals(t_current, this))
            throw new InvalidOperationException("DisposeScope: scopes must be disposed innermost first, on the thread that created them");
        _disposed = true;
        t_current = _outer;
        var tensors = _tensors!;
        _tensors = null;
        foreach (var t in tensors)
        {
            if (!ReferenceEquals(t.OwnerScope, this)) continue;
            t.OwnerScope = null;
            t.Dispose();
        }
        tensors.Clear();
        if (tensors.Capacity <= MaxSpareCapacity && t_spareCount < MaxSpareLists)
            (t_spareLists ??= new List<Tensor>[MaxSpareLists])[t_spareCount++] = tensors;
    }
}
