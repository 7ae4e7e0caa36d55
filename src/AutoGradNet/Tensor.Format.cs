using System.Globalization;
using System.Text;

namespace AutoGradNet;

public sealed partial class Tensor
{
    /// <summary>Tensors with more elements than this print abbreviated (PyTorch's threshold).</summary>
    public const int PrintThreshold = 1000;
    private const int EdgeItems = 3;

    /// <summary>
    /// Prints like PyTorch: <c>tensor([[1., 2.], [3., 4.]])</c> with 4 decimals (or scientific notation when the
    /// magnitudes call for it), "..." for large tensors, then the shape, non-default dtype and grad information.
    /// </summary>
    public override string ToString()
    {
        if (IsDisposed) return $"tensor(<disposed>, size={Shape})";
        if (Device.Kind == DeviceKind.Meta) return $"tensor(..., device='meta', size={Shape}" + (DType != DType.Float32 ? $", dtype={DType.Name()})" : ")");
        var values = ToDoubleArray();
        bool summarize = values.Length > PrintThreshold;
        var format = ChooseFormat(values, DType);
        var sb = new StringBuilder("tensor(");
        if (Rank == 0) sb.Append(format(values[0]));
        else
        {
            int width = 0;
            foreach (var v in SampleForWidth(values, summarize)) width = Math.Max(width, format(v).Length);
            AppendDim(sb, values, 0, 0, width, format, summarize, indent: 8);
        }
        if (Rank > 0) sb.Append(", size=(").Append(string.Join(", ", _shape)).Append(Rank == 1 ? ",)" : ")");
        if (DType != DType.Float32) sb.Append(", dtype=").Append(DType.Name());
        if (Device != Device.Cpu) sb.Append(", device='").Append(Device.Name).Append('\'');
        if (GradFn is { } fn) sb.Append(", grad_fn=<").Append(fn.Name).Append('>');
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private IEnumerable<double> SampleForWidth(double[] values, bool summarize) =>
        summarize ? values.Take(EdgeItems * 4).Concat(values.TakeLast(EdgeItems * 4)) : values;

    private void AppendDim(StringBuilder sb, double[] values, int dim, int offset, int width, Func<double, string> format, bool summarize, int indent)
    {
        int size = _shape[dim];
        int stride = 1;
        for (int d = dim + 1; d < Rank; d++) stride *= _shape[d];
        sb.Append('[');
        bool cut = summarize && size > 2 * EdgeItems;
        for (int i = 0; i < size; i++)
        {
            if (cut && i == EdgeItems)
            {
                sb.Append(dim == Rank - 1 ? "..., " : "...,\n" + new string(' ', indent + dim));
                i = size - EdgeItems;
            }
            if (dim == Rank - 1) sb.Append(format(values[offset + i]).PadLeft(width));
            else AppendDim(sb, values, dim + 1, offset + i * stride, width, format, summarize, indent);
            if (i < size - 1)
            {
                sb.Append(',');
                if (dim == Rank - 1) sb.Append(' ');
                else sb.Append('\n', Rank - 1 - dim).Append(' ', indent + dim);
            }
        }
        sb.Append(']');
    }

    private static Func<double, string> ChooseFormat(double[] values, DType dtype)
    {
        if (dtype == DType.Bool) return v => v != 0 ? "True" : "False";
        if (dtype == DType.Int64) return v => ((long)v).ToString(CultureInfo.InvariantCulture);
        var finite = values.Where(double.IsFinite).Select(Math.Abs).ToArray();
        static string Special(double v) => double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
        if (finite.Length == 0) return v => double.IsFinite(v) ? v.ToString("0.", CultureInfo.InvariantCulture) : Special(v);
        bool integral = finite.All(v => v == Math.Floor(v));
        double max = finite.Max(), minNonZero = finite.Where(v => v > 0).DefaultIfEmpty(0).Min();
        // NOTE: PyTorch switches to scientific notation when the range spans > 1000× or leaves [1e-4, 1e8].
        bool scientific = max > 1e8 || (minNonZero > 0 && (minNonZero < 1e-4 || max / minNonZero > 1000));
        if (integral && max <= 1e8)
            return v => double.IsFinite(v) ? v.ToString("0", CultureInfo.InvariantCulture) + "." : Special(v);
        if (scientific)
            return v => double.IsFinite(v) ? v.ToString("0.0000e+00", CultureInfo.InvariantCulture) : Special(v);
        return v => double.IsFinite(v) ? v.ToString("0.0000", CultureInfo.InvariantCulture) : Special(v);
    }
}
