using System.Numerics;
using System.Runtime.InteropServices;

namespace AutoGradNet.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public void SumRows(Tensor x, Tensor y, int outer, int inner)
    {
        if (x.DType == DType.Float32) SumRowsT<float>(x, y, outer, inner);
        else SumRowsT<double>(x, y, outer, inner);
    }

    private static void SumRowsT<T>(Tensor x, Tensor y, int outer, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] xs = Data<T>(x), ys = Data<T>(y);
        int xo = x.Offset, yo = y.Offset;
        if (inner == 0)
        {
            ys.AsSpan(yo, outer).Clear();
            return;
        }
        ParallelRows(outer, inner, (xs, ys, xo, yo, inner), static (s, start, end) =>
        {
            for (int r = start; r < end; r++) s.ys[s.yo + r] = RowSum<T>(s.xs.AsSpan(s.xo + r * s.inner, s.inner));
        });
    }

    public void SumColumns(Tensor x, Tensor y, int rows, int cols)
    {
        if (x.DType == DType.Float32) SumColumnsT<float>(x, y, rows, cols);
        else SumColumnsT<double>(x, y, rows, cols);
    }

    /// <summary>y[c] = Σ_r x[r, c]: each block of columns starts from row 0 and adds the rest in order (the same order
    /// whatever the split across cores).</summary>
    private static void SumColumnsT<T>(Tensor x, Tensor y, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Block = 1024;
        T[] xs = Data<T>(x), ys = Data<T>(y);
        int blocks = (cols + Block - 1) / Block;
        ParallelRows(blocks, rows * Math.Min(cols, Block), (xs, ys, xo: x.Offset, yo: y.Offset, rows, cols), static (s, b0, b1) =>
        {
            for (int b = b0; b < b1; b++)
            {
                int c0 = b * Block, n = Math.Min(Block, s.cols - c0);
                var acc = s.ys.AsSpan(s.yo + c0, n);
                if (s.rows == 0)
                {
                    acc.Clear();
                    continue;
                }
                s.xs.AsSpan(s.xo + c0, n).CopyTo(acc);
                for (int r = 1; r < s.rows; r++)
                    System.Numerics.Tensors.TensorPrimitives.Add(acc, s.xs.AsSpan(s.xo + r * s.cols + c0, n), acc);
            }
        });
    }

    /// <summary>
    /// Sum of one row with four vector accumulators (the generic <c>TensorPrimitives.Sum&lt;T&gt;</c> measured
    /// several times slower on rows of ~1,000 elements).
    /// </summary>
    private static T RowSum<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector<T>.Count;
        T total = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && x.Length >= 4 * w)
        {
            ref T p = ref MemoryMarshal.GetReference(x);
            Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero, a2 = Vector<T>.Zero, a3 = Vector<T>.Zero;
            for (; i <= x.Length - 4 * w; i += 4 * w)
            {
                a0 += Vector.LoadUnsafe(ref p, (nuint)i);
                a1 += Vector.LoadUnsafe(ref p, (nuint)(i + w));
                a2 += Vector.LoadUnsafe(ref p, (nuint)(i + 2 * w));
                a3 += Vector.LoadUnsafe(ref p, (nuint)(i + 3 * w));
            }
            for (; i <= x.Length - w; i += w) a0 += Vector.LoadUnsafe(ref p, (nuint)i);
            total = Vector.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < x.Length; i++) total += x[i];
        return total;
    }

    public void ArgReduceRows(Tensor x, Tensor values, Tensor indices, int outer, int inner, bool max)
    {
        switch (x.DType)
        {
            case DType.Float32: ArgReduceT<float>(x, values, indices, outer, inner, max); break;
            case DType.Float64: ArgReduceT<double>(x, values, indices, outer, inner, max); break;
            case DType.Int64: ArgReduceT<long>(x, values, indices, outer, inner, max); break;
            default: throw new NotSupportedException($"max/min over {x.DType.Name()}");
        }
    }

    private static void ArgReduceT<T>(Tensor x, Tensor values, Tensor indices, int outer, int inner, bool max) where T : unmanaged, INumber<T>
    {
        T[] xs = Data<T>(x), vs = Data<T>(values);
        long[] idx = Data<long>(indices);
        int xo = x.Offset, vo = values.Offset, io = indices.Offset;
        ParallelRows(outer, inner, (xs, vs, idx, xo, vo, io, inner, max), static (s, start, end) =>
        {
            var (xs, vs, idx, xo, vo, io, inner, max) = s;
            for (int r = start; r < end; r++)
            {
                int baseIndex = xo + r * inner;
                T best = xs[baseIndex];
                int bestAt = 0;
                // NOTE: ties keep the first index; a NaN wins and stays (max/min propagate NaN, like PyTorch).
                if (!T.IsNaN(best))
                {
                    for (int i = 1; i < inner; i++)
                    {
                        T v = xs[baseIndex + i];
                        if (T.IsNaN(v)) { best = v; bestAt = i; break; }
                        if (max ? v > best : v < best) { best = v; bestAt = i; }
                    }
                }
                vs[vo + r] = best;
                idx[io + r] = bestAt;
            }
        });
    }

    /// <summary>
    /// Runs body(state, start, end) over [0, rows), split across cores (one range each) when rows·cost is large.
    /// With a <c>static</c> lambda and a struct state it allocates nothing (see <see cref="CpuParallel.For{TState}"/>).
    /// </summary>
    internal static void ParallelRows<TState>(int rows, int costPerRow, TState state, Action<TState, int, int> body)
    {
        long work = (long)rows * Math.Max(costPerRow, 1);
        int chunks = work >= Strided.ParallelThreshold ? Math.Min(rows, Environment.ProcessorCount) : 1;
        if (chunks <= 1)
        {
            body(state, 0, rows);
            return;
        }
        int per = (rows + chunks - 1) / chunks;
        CpuParallel.For(chunks, (state, body, per, rows), static (s, c) =>
        {
            int start = c * s.per, end = Math.Min(s.rows, start + s.per);
            if (start < end) s.body(s.state, start, end);
        });
    }
}
