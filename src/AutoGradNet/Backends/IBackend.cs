using AutoGradNet.Kernels;

namespace AutoGradNet.Backends;

/// <summary>
/// The kernels a device provides. Ops validate arguments, allocate outputs and record the tape; a backend only
/// computes. Tensors passed in are already checked to be on this backend's device with matching dtypes and
/// shapes. Outputs (<c>y</c>, <c>dst</c>) are contiguous unless stated otherwise.
/// </summary>
internal interface IBackend
{
    Storage Allocate(DType dtype, int length, bool zero);

    MemoryStats MemoryStats();

    /// <summary>Sets every element of the view <paramref name="dst"/> (any strides) to <paramref name="value"/>.</summary>
    void Fill(Tensor dst, double value);

    /// <summary>Copies <paramref name="src"/> into the view <paramref name="dst"/>; same shape and dtype, any strides.</summary>
    void Copy(Tensor src, Tensor dst);

    /// <summary>Converts <paramref name="src"/> (any strides) into <paramref name="dst"/> of another dtype.</summary>
    void Cast(Tensor src, Tensor dst);

    /// <summary>y = op(x) elementwise; x any strides.</summary>
    void Map<TOp>(Tensor x, Tensor y, TOp op) where TOp : struct, IUnaryOperator;

    /// <summary>y = op(a, b) elementwise; a and b are views of y's shape (broadcast dimensions have stride 0).</summary>
    void Zip<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, IBinaryOperator;

    /// <summary>y = op(a, b) into a bool tensor; a and b as in <see cref="Zip{TOp}"/>, any numeric dtype.</summary>
    void Compare<TOp>(Tensor a, Tensor b, Tensor y, TOp op) where TOp : struct, ICompareOperator;

    /// <summary>y = cond ? a : b; all three are views of y's shape.</summary>
    void Where(Tensor cond, Tensor a, Tensor b, Tensor y);

    /// <summary>Sums the rows of contiguous x viewed as [outer, inner] into y[outer].</summary>
    void SumRows(Tensor x, Tensor y, int outer, int inner);

    /// <summary>
    /// Sums the columns of contiguous x viewed as [rows, cols] into y[cols] (a reduction over leading dims: a bias
    /// gradient). By default a transposed copy and <see cref="SumRows"/>; a backend that adds rows in place saves the
    /// copy.
    /// </summary>
    void SumColumns(Tensor x, Tensor y, int rows, int cols)
    {
        using var transposed = Tensor.Alloc([cols, rows], x.DType, x.Device);
        Copy(x.Borrow([cols, rows], [1, cols], x.Offset), transposed);
        SumRows(transposed, y, cols, rows);
    }

    /// <summary>Max (or min) of each row of contiguous x as [outer, inner]: values and the first index attaining it.</summary>
    void ArgReduceRows(Tensor x, Tensor values, Tensor indices, int outer, int inner, bool max);

    /// <summary>
    /// c[b] = a[b] · b[b] (or c[b] += … with <paramref name="accumulate"/>) for 3-D views a [B,M,K], b [B,K,N]
    /// (batch stride may be 0; one of the last two strides of each is 1) into c [B,M,N] with unit column stride.
    /// With a batch stride of 0 in c the batch applies to one matrix in batch order, so with accumulate it sums the products.
    /// </summary>
    void MatMul(Tensor a, Tensor b, Tensor c, bool accumulate = false);

    /// <summary>
    /// c = a · b (or c += … with <paramref name="accumulate"/>) for matrices a [M,K], b [K,N] (one of the two strides
    /// of each is 1, the other not 0) into c [M,N] with unit column stride. By default <see cref="MatMul"/> on
    /// [1, ·, ·] views; a backend that takes the matrices as they are saves those three view objects per product.
    /// </summary>
    void MatMul2D(Tensor a, Tensor b, Tensor c, bool accumulate = false) => MatMul(a.AsBatch(), b.AsBatch(), c.AsBatch(), accumulate);

    /// <summary>y = x.index_select(dim, index); x contiguous, index 1-D int64.</summary>
    void IndexSelect(Tensor x, int dim, Tensor index, Tensor y);

    /// <summary>dst.index_add_(dim, index, src) in place; dst and src contiguous.</summary>
    void IndexAdd(Tensor dst, int dim, Tensor index, Tensor src);

    /// <summary>y = x.gather(dim, index); x and index contiguous.</summary>
    void Gather(Tensor x, int dim, Tensor index, Tensor y);

    /// <summary>dst.scatter_add_(dim, index, src) in place; all contiguous.</summary>
    void ScatterAdd(Tensor dst, int dim, Tensor index, Tensor src);

    /// <summary>The elements of contiguous <paramref name="src"/> as a host array of its element type.</summary>
    Array Download(Tensor src);

    /// <summary>Writes a host array (from <see cref="Download"/> of another device) into contiguous <paramref name="dst"/>.</summary>
    void Upload(Array src, Tensor dst);

    /// <summary>im2col: contiguous x [N, C, spatial] into cols [N, C·prod(kernel), prod(output)] (zeros where the window leaves the input).</summary>
    void Unfold(Tensor x, Tensor cols, ConvGeometry geometry);

    /// <summary>col2im, the adjoint of <see cref="Unfold"/>: sums cols back into x [N, C, spatial] (x is overwritten).</summary>
    void Fold(Tensor cols, Tensor x, ConvGeometry geometry);

    /// <summary>
    /// A direct convolution kernel, when the backend has one for this geometry: y [N, Cout, output] = conv(x, w) for
    /// contiguous x [N, Cin, input] and w [Cout, Cin/G·kernel]. Returns false (touching nothing) otherwise, and the
    /// caller falls back to <see cref="Unfold"/> + <see cref="MatMul"/>.
    /// </summary>
    bool TryConvolution(Tensor x, Tensor w, Tensor y, ConvGeometry geometry, int groups) => false;

    /// <summary>Like <see cref="TryConvolution"/> for the input gradient: gx [N, Cin, input] = conv_transpose(gy, w).</summary>
    bool TryConvolutionInput(Tensor gy, Tensor w, Tensor gx, ConvGeometry geometry, int groups) => false;

    /// <summary>Like <see cref="TryConvolution"/> for the weight gradient: gw [Cout, Cin/G·kernel] += Σₙ gyₙ · im2col(xₙ)ᵀ (gw arrives zeroed).</summary>
    bool TryConvolutionWeight(Tensor x, Tensor gy, Tensor gw, ConvGeometry geometry, int groups) => false;

    /// <summary>
    /// Training-mode batch norm in one kernel, when the backend has one for this input: over contiguous x [N, C, …],
    /// writes per channel the batch mean, the biased variance and 1/√(variance + eps) (each [C]) and
    /// y = (x − mean)·invStd·weight + bias (weight and bias [C] or null). Returns false (touching nothing) otherwise,
    /// and the caller composes it from tensor ops.
    /// </summary>
    bool TryBatchNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor invStd, Tensor variance) => false;

    /// <summary>
    /// The closed-form batch-norm backward for the statistics of <see cref="TryBatchNormForward"/>, when the backend
    /// has it: gb = Σ g, gw = Σ g·x̂ and gx = (weight·invStd)·(g − mean(g) − x̂·mean(g·x̂)) with x̂ = (x − mean)·invStd,
    /// each written when not null. Returns false (touching nothing) otherwise.
    /// </summary>
    bool TryBatchNormBackward(Tensor g, Tensor x, Tensor mean, Tensor invStd, Tensor? weight, Tensor? gx, Tensor? gw, Tensor? gb) => false;

    /// <summary>
    /// Max over windows of contiguous x [N, C, spatial] into y [N, C, output] with the flat spatial index of each
    /// maximum (int64). Window of output position o along dim d: start[d][o], start + dilation, … below end[d][o]; a
    /// window with no position (start ≥ end in some dim) gives −∞ and index −1.
    /// </summary>
    void MaxPool(Tensor x, Tensor y, Tensor indices, ConvGeometry geometry, int[][] windowStarts, int[][] windowEnds);

    /// <summary>True when any element of x is NaN or infinite.</summary>
    bool HasNonFinite(Tensor x);

    /// <summary>Fills contiguous dst from the generator: uniform on [low, high) or normal(mean, std).</summary>
    void Random(Tensor dst, Generator generator, RandomKind kind, double a, double b);
}

/// <summary>Distributions <see cref="IBackend.Random"/> draws from.</summary>
internal enum RandomKind
{
    Uniform,
    Normal,
    Integer,
    Bernoulli,
}
