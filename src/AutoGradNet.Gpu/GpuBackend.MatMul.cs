using System.Numerics;
using AutoGradNet.Gpu.Kernels;
using ILGPU.Runtime.Cuda;

namespace AutoGradNet.Gpu;

internal sealed partial class GpuBackend
{
    private const int MaxGridZ = 65535;
    private CuBlas? _cuBlas;

    public void MatMul(Tensor a, Tensor b, Tensor c, bool accumulate = false)
    {
        int batch = c.ShapeArray[0], m = c.ShapeArray[1], n = c.ShapeArray[2], k = a.ShapeArray[2];
        if (batch == 0 || m == 0 || n == 0) return;
        var p = new GemmArgs
        {
            M = m, N = n, K = k,
            AOffset = a.Offset, ABatch = a.Strides[0], ARow = a.Strides[1], ACol = a.Strides[2],
            BOffset = b.Offset, BBatch = b.Strides[0], BRow = b.Strides[1], BCol = b.Strides[2],
            COffset = c.Offset, CBatch = c.Strides[0], CRow = m <= 1 ? Math.Max(n, 1) : c.Strides[1],
            Accumulate = accumulate ? 1 : 0,
        };
        if (MatMulKind == GpuMatMul.CuBlas && IsCuda && k > 0 && TryCuBlas(a.DType, p, batch, a, b, c)) return;
        if (a.DType == DType.Float32) GemmT(V<float>(a), V<float>(b), V<float>(c), p, batch);
        else GemmT(V<double>(a), V<double>(b), V<double>(c), p, batch);
    }

    private void GemmT<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs p, int batch) where T : unmanaged, INumber<T>
    {
        var kernel = Kernel("Gemm", static acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>(GemmKernels.Gemm));
        int g = GemmGroup, tile = 4 * g;
        var groupDim = new Index3D(g, g, 1);
        // NOTE: with a batch stride of 0 in c, batches apply to one matrix in order (summing with accumulate, as the CPU
        // backend); they then run one launch at a time so no two groups update the same element concurrently.
        int perLaunch = p.CBatch == 0 ? 1 : MaxGridZ;
        for (int first = 0; first < batch; first += perLaunch)
        {
            int count = Math.Min(perLaunch, batch - first);
            var chunk = p;
            chunk.AOffset += first * p.ABatch;
            chunk.BOffset += first * p.BBatch;
            chunk.COffset += first * p.CBatch;
            var gridDim = new Index3D((p.N + tile - 1) / tile, (p.M + tile - 1) / tile, count);
            Run(stream => kernel(stream, new KernelConfig(gridDim, groupDim), a, b, c, chunk));
        }
    }

    /// <summary>
    /// cuBLAS (column-major) computes the row-major product as cᵀ = bᵀ·aᵀ: a row-major [R, C] operand with unit
    /// column stride is a column-major [C, R] matrix, used as is; with unit row stride it is used transposed.
    /// </summary>
    private bool TryCuBlas(DType dtype, GemmArgs p, int batch, Tensor a, Tensor b, Tensor c)
    {
        if (!Ld(p.ARow, p.ACol, p.M, p.K, out var opA, out int lda) || !Ld(p.BRow, p.BCol, p.K, p.N, out var opB, out int ldb)) return false;
        Bind();
        lock (_launchLock)
        {
            EnsureCuBlas();
            var blas = _cuBlas!;
            for (int i = 0; i < batch; i++)
            {
                int ao = p.AOffset + i * p.ABatch, bo = p.BOffset + i * p.BBatch, co = p.COffset + i * p.CBatch;
                bool add = p.Accumulate != 0;
                if (dtype == DType.Float32)
                    blas.Gemm(opB, opA, p.N, p.M, p.K, 1f, V<float>(b).SubView(bo), ldb, V<float>(a).SubView(ao), lda, add ? 1f : 0f, V<float>(c).SubView(co), p.CRow);
                else
                    blas.Gemm(opB, opA, p.N, p.M, p.K, 1.0, V<double>(b).SubView(bo), ldb, V<double>(a).SubView(ao), lda, add ? 1.0 : 0.0, V<double>(c).SubView(co), p.CRow);
            }
        }
        return true;
    }

    /// <summary>Creates the cuBLAS handle (bound to the default stream) on first use.</summary>
    /// <exception cref="InvalidOperationException">cuBLAS cannot be loaded on this machine.</exception>
    internal void EnsureCuBlas()
    {
        if (_cuBlas is not null || !IsCuda) return;
        Bind();
        lock (_launchLock)
        {
            if (_cuBlas is not null) return;
            try
            {
                _cuBlas = new CuBlas((CudaAccelerator)Accelerator) { PointerMode = CuBlasPointerMode.Host };
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or CuBlasException)
            {
                throw new InvalidOperationException($"cuBLAS is not available on {Device} ({e.GetType().Name}: {e.Message}); the tiled GEMM kernel stays in use", e);
            }
        }
    }

    /// <summary>The cuBLAS operation and leading dimension of a row-major [rows, cols] view, if it has a unit stride.</summary>
    private static bool Ld(int rowStride, int colStride, int rows, int cols, out CuBlasOperation op, out int ld)
    {
        if ((colStride == 1 || cols == 1) && (rows == 1 || rowStride >= Math.Max(cols, 1)))
        {
            op = CuBlasOperation.NonTranspose;
            ld = rows == 1 ? Math.Max(cols, 1) : rowStride;
            return true;
        }
        if ((rowStride == 1 || rows == 1) && (cols == 1 || colStride >= Math.Max(rows, 1)))
        {
            op = CuBlasOperation.Transpose;
            ld = cols == 1 ? Math.Max(rows, 1) : colStride;
            return true;
        }
        op = default;
        ld = 0;
        return false; // e.g. an expanded (stride 0) operand: the tiled kernel handles it
    }
}
