namespace AutoGradNet.Tests.OpTable;

// Rows for Ops/Functional.Norm.cs (the fused training-mode batch norm node).
public static partial class OpTable
{
    private static IEnumerable<OpInfo> FusedNormRows()
    {
        const string fam = "norm";
        // Args: with weight, with bias (the node's input list depends on which are present).
        // Functional.BatchNorm is not a Tensor/Loss member, so the row names no Api member (the public-op census covers those two types).
        yield return Row("batch_norm_train", fam, [],
            [
                S("[N,C] affine", [In(4, 3), In(3), In(3)], true, true),
                S("[N,C,L] affine", [In(3, 2, 4), In(2), In(2)], true, true),
                S("[N,C,H,W] affine", [In(2, 3, 2, 3), In(3), In(3)], true, true),
                S("[N,C,H,W] weight only", [In(2, 3, 2, 2), In(3)], true, false),
                S("[N,C,H,W] bias only", [In(2, 3, 2, 2), In(3)], false, true),
                S("[N,C,H,W] no affine", [In(3, 2, 2, 2)], false, false),
            ],
            (x, s) => Functional.BatchNorm(x[0], null, null, s.Get<bool>(0) ? x[1] : null, s.Get<bool>(1) ? x[s.Get<bool>(0) ? 2 : 1] : null, training: true),
            (r, s) => BatchNormReference(r[0], s.Get<bool>(0) ? r[1] : null, s.Get<bool>(1) ? r[s.Get<bool>(0) ? 2 : 1] : null, 1e-5),
            (shape, v) =>
            {
                if (shape.Length < 2 || shape[1] == 0 || Reference.Numel(shape) / shape[1] <= 1) return null;
                bool hasWeight = (v & 1) != 0, hasBias = (v & 2) != 0;
                var inputs = new List<InputSpec> { In(shape) };
                if (hasWeight) inputs.Add(In(shape[1]));
                if (hasBias) inputs.Add(In(shape[1]));
                return S("prop", inputs.ToArray(), hasWeight, hasBias);
            })
            with { F32ScaleFloor = 10 };
    }

    /// <summary>(x − μ_c)/√(σ²_c + ε)·γ_c + β_c with the biased batch statistics of each channel (dim 1).</summary>
    private static RT BatchNormReference(RT x, RT? weight, RT? bias, double eps)
    {
        int channels = x.Shape[1];
        var sum = new double[channels];
        var count = new int[channels];
        for (int i = 0; i < x.Data.Length; i++)
        {
            int c = Reference.Unravel(i, x.Shape)[1];
            sum[c] += x.Data[i];
            count[c]++;
        }
        var mean = sum.Select((v, c) => v / count[c]).ToArray();
        var sq = new double[channels];
        for (int i = 0; i < x.Data.Length; i++)
        {
            int c = Reference.Unravel(i, x.Shape)[1];
            sq[c] += (x.Data[i] - mean[c]) * (x.Data[i] - mean[c]);
        }
        var y = new double[x.Data.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int c = Reference.Unravel(i, x.Shape)[1];
            y[i] = (x.Data[i] - mean[c]) / Math.Sqrt(sq[c] / count[c] + eps) * (weight?.Data[c] ?? 1) + (bias?.Data[c] ?? 0);
        }
        return new RT(y, x.Shape);
    }
}
