
namespace AutoGradNet;

/// <summary>
/// An n-dimensional array on a <see cref="Device"/> that can record the operations applied to it, so that
/// <see cref="Backward()"/> computes gradients (define-by-run). A tensor is a view: a storage, an offset,
/// sizes and strides; reshapes, transposes, slices and expands share storage with their source.
/// </summary>
/// <remarks>
/// Tensors are <see cref="IDisposable"/>: disposing returns the storage to the device pool once no view
/// uses it. Wrap a training step in <see cref="NewDisposeScope"/> to free every temporary at once.
/// The class is split by concern: creation, elementwise math, reductions, shape ops, autograd, formatting.
/// </remarks>
public sealed partial class Tensor : IDisposable
{
    private int[] _shape;
    private int[] _strides;
    private bool _disposed;
    internal AutogradMeta? Meta;
    private bool _metaBorrowed; // an alias saved for backward shares the variable but owns none of it
    internal DisposeScope? OwnerScope;

    internal Tensor(Storage storage, int[] shape, int[] strides, int offset, bool register = true)
    {
        StorageRef = storage;
        _shape = shape;
        _strides = strides;
        Offset = offset;
        if (register) DisposeScope.Register(this);
    }

    internal Storage StorageRef { get; private set; }
    internal int Offset { get; private set; }
    internal int[] ShapeArray => _shape;
    internal int[] Strides => _strides;

    /// <summary>The sizes of the dimensions.</summary>
    public Shape Shape => Shape.Wrap(_shape);

    /// <summary>The element type.</summary>
    public DType DType => StorageRef.DType;

    /// <summary>The device holding the storage.</summary>
    public Device Device => StorageRef.Device;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel => ShapeUtil.Numel(_shape);

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public int Size(int dim) => _shape[ShapeUtil.NormalizeDim(dim, Rank, "Size")];

    /// <summary>Element strides of each dimension (0 in broadcast dimensions).</summary>
    public int Stride(int dim) => _strides[ShapeUtil.NormalizeDim(dim, Rank, "Stride")];

    /// <summary>True when the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous
    {
        get
        {
            int expected = 1;
            foreach (int size in _shape)
                if (size == 0) return true; // no elements: contiguous by definition (as PyTorch)
            for (int i = _shape.Length - 1; i >= 0; i--)
            {
                if (_shape[i] == 1) continue;
                if (_strides[i] != expected) return false;
                expected *= _shape[i];
            }
            return true;
        }
    }

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Releases this view's reference to the storage (and the gradient held in <see cref="Grad"/>).
    /// Idempotent. The storage returns to the pool when its last view is disposed.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        StorageRef.Release();
        if (!_metaBorrowed && Meta is { Grad: { } g })
        {
            Meta.Grad = null;
            g.Dispose();
        }
    }

    internal void ThrowIfDisposed(string op)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(Tensor), $"{op}: the tensor of shape {ShapeUtil.Format(_shape)} was disposed");
    }

    /// <summary>
    /// A second view of the same elements that owns its own storage reference and is in no dispose scope.
    /// With <paramref name="shareAutograd"/> it is the same variable for autograd (what saved tensors need).
    /// </summary>
    internal Tensor Alias(bool shareAutograd)
    {
        ThrowIfDisposed("alias");
        StorageRef.AddRef();
        var t = new Tensor(StorageRef, _shape, _strides, Offset, register: false);
        if (shareAutograd && Meta is not null)
        {
            t.Meta = Meta;
            t._metaBorrowed = true;
        }
        return t;
    }

    /// <summary>
    /// An alias of this disposed tensor's view, sharing its autograd identity, for a backward formula that saved it:
    /// the node that saved it still holds a reference to the storage, so the elements are alive.
    /// </summary>
    internal Tensor AliasOfDisposed()
    {
        StorageRef.AddRef();
        return new Tensor(StorageRef, _shape, _strides, Offset, register: false) { Meta = Meta, _metaBorrowed = Meta is not null };
    }

    /// <summary>A new view of this tensor's storage (one more storage reference), registered in the current scope.</summary>
    internal Tensor View(int[] shape, int[] strides, int offset)
    {
        ThrowIfDisposed("view");
        StorageRef.AddRef();
        return new Tensor(StorageRef, shape, strides, offset);
    }

    /// <summary>
    /// Points this tensor at <paramref name="source"/>'s elements (PyTorch's <c>param.data = …</c>): same object, so
    /// optimizers and modules holding it see the new values, device or dtype. Autograd identity is kept.
    /// </summary>
    internal void ReplaceData(Tensor source)
    {
        ThrowIfDisposed("replace data");
        source.ThrowIfDisposed("replace data");
        if (Meta?.GradFn is not null) throw new InvalidOperationException($"replace data: only leaves can have their data replaced (shape {Shape})");
        source.StorageRef.AddRef();
        StorageRef.Release();
        StorageRef = source.StorageRef;
        Offset = source.Offset;
        _shape = source._shape;
        _strides = source._strides;
        if (Meta?.Grad is { } g && (g.Device != Device || g.DType != DType || !ShapeUtil.SequenceEqual(g._shape, _shape)))
        {
            Meta.Grad = null;
            g.Dispose();
        }
    }

    /// <summary>
    /// This tensor when it is contiguous, else a dense copy made without the tape and owned by the handle: what kernels
    /// that need dense operands read. Disposing the handle frees only a copy (the common, contiguous case allocates
    /// nothing; an alias per operand used to).
    /// </summary>
    internal DenseHandle Dense() => IsContiguous ? new DenseHandle(this, null) : DenseCopy();

    /// <summary>A contiguous copy made without the tape and in no scope, owned by the handle.</summary>
    internal DenseHandle DenseCopy()
    {
        var copy = EmptyLike(this);
        DisposeScope.Detach(copy);
        Device.Backend.Copy(this, copy);
        return new DenseHandle(copy, copy);
    }

    /// <summary>This 1-D tensor broadcast along dim 1 of <paramref name="shape"/> (a bias over the channels or output
    /// features), as a borrowed view: kernel plumbing only.</summary>
    internal Tensor BroadcastAlongDim1(int[] shape)
    {
        var strides = new int[shape.Length];
        strides[1] = _strides[0];
        return Borrow(shape, strides, Offset);
    }

    /// <summary>A dense operand from <see cref="Dense"/>; converts to the tensor to read.</summary>
    internal readonly struct DenseHandle(Tensor tensor, Tensor? owned) : IDisposable
    {
        public Tensor Tensor => tensor;
        public static implicit operator Tensor(DenseHandle handle) => handle.Tensor;
        public void Dispose() => owned?.Dispose();
    }

    /// <summary>A borrowed view over this tensor's storage (no reference taken, in no scope): kernel plumbing only, never returned to users.</summary>
    internal Tensor Borrow(int[] shape, int[] strides, int offset) => new(StorageRef, shape, strides, offset, register: false);

    /// <summary>A fresh uninitialised contiguous tensor.</summary>
    internal static Tensor Alloc(int[] shape, DType dtype, Device device, bool zero = false)
    {
        var storage = device.Backend.Allocate(dtype, ShapeUtil.Numel(shape), zero);
        return new Tensor(storage, shape, ShapeUtil.ContiguousStrides(shape), 0);
    }

    /// <summary>A fresh contiguous tensor of <paramref name="t"/>'s shape, sharing its shape array (shape and stride
    /// arrays are never written once a tensor holds them).</summary>
    internal static Tensor EmptyLike(Tensor t, DType? dtype = null, bool zero = false) =>
        Alloc(t._shape, dtype ?? t.DType, t.Device, zero);
}
