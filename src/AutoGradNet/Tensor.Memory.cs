namespace AutoGradNet;

public sealed partial class Tensor
{
    /// <summary>
    /// Opens a dispose scope on this thread: every tensor created until it is disposed is freed with it, except
    /// those moved out with <see cref="MoveToOuterDisposeScope"/> (TorchSharp's <c>NewDisposeScope</c>).
    /// </summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Moves this tensor from its dispose scope to the enclosing one (or out of all scopes).</summary>
    public Tensor MoveToOuterDisposeScope() => OwnerScope is { } scope ? scope.MoveToOuter(this) : this;

    /// <summary>Removes this tensor from its dispose scope; the caller disposes it.</summary>
    public Tensor DetachFromDisposeScope() => DisposeScope.Detach(this);

    /// <summary>
    /// Runs a composite op (one written from other ops) in its own scope, so its intermediate tensors are freed
    /// when it returns, whether or not the caller uses a scope; the result moves to the caller's scope.
    /// </summary>
    internal static Tensor Composite(Func<Tensor> body)
    {
        using var scope = new DisposeScope();
        var result = body();
        if (ReferenceEquals(result.OwnerScope, scope)) scope.MoveToOuter(result);
        return result;
    }

    /// <summary><see cref="Composite(Func{Tensor})"/> for ops with two results.</summary>
    internal static (Tensor, Tensor) Composite(Func<(Tensor, Tensor)> body)
    {
        using var scope = new DisposeScope();
        var (a, b) = body();
        if (ReferenceEquals(a.OwnerScope, scope)) scope.MoveToOuter(a);
        if (ReferenceEquals(b.OwnerScope, scope)) scope.MoveToOuter(b);
        return (a, b);
    }
}
