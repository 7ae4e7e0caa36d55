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
}
