namespace AutoGradNet.Tests.Cnn;

/// <summary>Naive float64 references written from the formulas (nested loops), independent of the library's kernels.</summary>
internal static class CnnReference
{
    /// <summary>out[n,o,y,x] = b[o] + Σ_{c,i,j} w[o,c,i,j]·in[n, g·Cg + c, y·s − p + i·d, x·s − p + j·d] (zero outside).</summary>
    public static double[] Conv2d(double[] x, int[] xs, double[] w, int[] ws, double[]? b, int[] stride, int[] padBefore, int[] dilation, int groups, int[] outSpatial)
    {
        int n = xs[0], cin = xs[1], h = xs[2], wd = xs[3], cout = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
        int oh = outSpatial[0], ow = outSpatial[1], coutG = cout / groups;
        var y = new double[n * cout * oh * ow];
        for (int b0 = 0; b0 < n; b0++)
            for (int o = 0; o < cout; o++)
            {
                int g = o / coutG;
                for (int yy = 0; yy < oh; yy++)
                    for (int xx = 0; xx < ow; xx++)
                    {
                        double s = b?[o] ?? 0;
                        for (int c = 0; c < cg; c++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int iy = yy * stride[0] - padBefore[0] + i * dilation[0];
                                    int ix = xx * stride[1] - padBefore[1] + j * dilation[1];
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    s += w[((o * cg + c) * kh + i) * kw + j] * x[((b0 * cin + g * cg + c) * h + iy) * wd + ix];
                                }
                        y[((b0 * cout + o) * oh + yy) * ow + xx] = s;
                    }
            }
        return y;
    }

    /// <summary>Max or mean over 2-D windows; padding excluded from max, included in the mean when countIncludePad.</summary>
    public static double[] Pool2d(double[] x, int[] xs, int[] k, int[] s, int[] p, int[] outSpatial, bool max, bool countIncludePad)
    {
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3], oh = outSpatial[0], ow = outSpatial[1];
        var y = new double[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double best = double.NegativeInfinity, sum = 0;
                    int inside = 0;
                    int y0 = i * s[0] - p[0], x0 = j * s[1] - p[1];
                    int y1 = Math.Min(y0 + k[0], h + p[0]), x1 = Math.Min(x0 + k[1], w + p[1]);
                    int padded = (y1 - y0) * (x1 - x0);
                    for (int a = y0; a < y1; a++)
                        for (int c = x0; c < x1; c++)
                        {
                            if (a < 0 || a >= h || c < 0 || c >= w) continue;
                            double v = x[(pl * h + a) * w + c];
                            best = Math.Max(best, v);
                            sum += v;
                            inside++;
                        }
                    y[(pl * oh + i) * ow + j] = max ? best : sum / (countIncludePad ? padded : inside);
                }
        return y;
    }

    public static void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])),
                $"{what}: element {i} is {actual[i]}, expected {expected[i]}");
    }
}
