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
    /// Opens the scope of a composite op (one written from other ops): its intermediate tensors are freed when the
    /// returned handle is disposed, whether or not the caller uses a scope; <see cref="CompositeScope.Keep(Tensor)"/>
    /// moves the result to the caller's scope. Written as <c>using var composite = OpenComposite(); … return
    /// composite.Keep(y);</c>, so the op body needs no closure.
    /// </summary>
    internal static CompositeScope OpenComposite() => new(DisposeScope.Rent());

    /// <summary>Runs <paramref name="body"/> as a composite op (see <see cref="OpenComposite"/>).</summary>
    internal static Tensor Composite(Func<Tensor> body)
    {
        using var composite = OpenComposite();
        return composite.Keep(body());
    }

    /// <summary>The open scope of a composite op.</summary>
    internal readonly struct CompositeScope(DisposeScope scope) : IDisposable
    {
        /// <summary>Moves the op's result out to the caller's scope.</summary>
        public Tensor Keep(Tensor result)
        {
            if (ReferenceEquals(result.OwnerScope, scope)) scope.MoveToOuter(result);
            return result;
        }

        /// <summary>Moves both results of a two-result op out to the caller's scope.</summary>
        public (Tensor, Tensor) Keep((Tensor, Tensor) results)
        {
            Keep(results.Item1);
            Keep(results.Item2);
            return results;
        }

        public void Dispose() => scope.DisposeAndReturn();
    }
}
