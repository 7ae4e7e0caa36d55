namespace AutoGradNet;

public static partial class Functional
{
    private static int[] ChannelShape(Tensor x)
    {
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[1] = x.Size(1);
        return shape;
    }

    private static Tensor Affine(Tensor y, Tensor? weight, Tensor? bias, int[] shape)
    {
        if (weight is not null) y = y.Mul(weight.Reshape(shape));
        if (bias is not null) y = y.Add(bias.Reshape(shape));
        return y;
    }

    private static void CheckChannelParam(Tensor? p, int channels, string what, string op)
    {
        if (p is not null && (p.Rank != 1 || p.Size(0) != channels))
            throw new ArgumentException($"{op}: {what} must be [{channels}], got {p.Shape}");
    }

    /// <summary>
    /// Batch normalization over (N, C) or (N, C, spatial…) input. In training it normalises with the batch mean and
    /// biased variance over N and all spatial positions, and updates the running statistics in place:
    /// running ← (1 − momentum)·running + momentum·batch, with the unbiased variance (PyTorch's convention,
    /// momentum 0.1). In evaluation it uses the running statistics.
    /// </summary>
    /// <remarks>
    /// y = (x − μ) / √(σ² + ε) · γ + β. The seed decks' convention (running ← τ·running + (1 − τ)·batch with τ = 0.99,
    /// ε = 1e-3) is momentum 0.01, eps 1e-3.
    /// </remarks>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "batch_norm";
        Guard.Float(input, op);
        if (input.Rank < 2) throw new ArgumentException($"{op}: expected input [N, C] or [N, C, …], got {input.Shape}");
        int channels = input.Size(1);
        CheckChannelParam(runningMean, channels, "running mean", op);
        CheckChannelParam(runningVar, channels, "running variance", op);
        CheckChannelParam(weight, channels, "weight", op);
        CheckChannelParam(bias, channels, "bias", op);
        if (eps < 0 || !(momentum is >= 0 and <= 1)) throw new ArgumentException($"{op}: need eps ≥ 0 and momentum in [0, 1], got eps {eps}, momentum {momentum}");
        var shape = ChannelShape(input);
        var dims = new int[input.Rank - 1];
        for (int d = 0, at = 0; d < input.Rank; d++) if (d != 1) dims[at++] = d;
        Tensor normalized;
        if (training)
        {
            int count = input.Numel / Math.Max(channels, 1);
            if (count <= 1)
                throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input of shape {input.Shape}");
            var (output, mean, variance) = BatchNormTrain(input, weight, bias, dims, shape, count, eps);
            // running ← (1 − momentum)·running + momentum·batch statistic (unbiased variance), one pass each.
            if (runningMean is not null) UpdateRunning(runningMean, mean, 1 - momentum, momentum, op);
            if (runningVar is not null) UpdateRunning(runningVar, variance, 1 - momentum, momentum * count / (count - 1.0), op);
            return composite.Keep(output);
        }
        else
        {
            if (runningMean is null || runningVar is null)
                throw new ArgumentException($"{op}: evaluation mode needs running mean and variance");
            normalized = input.Sub(runningMean.Reshape(shape)).Div(runningVar.Reshape(shape).Add(eps).Sqrt());
        }
        return composite.Keep(Affine(normalized, weight, bias, shape));
    }

    /// <summary>running ← a·running + b·statistic in place (both [C]).</summary>
    private static void UpdateRunning(Tensor running, Tensor statistic, double a, double b, string op)
    {
        Guard.InPlace(running, op);
        Guard.Compatible(running, statistic, op);
        Optim.Fused.Zip(running, statistic, running, new Optim.LinearComboOperator(a, b));
    }

    /// <summary>
    /// Training-mode batch norm as one tape node: the forward computes the batch statistics and the output once (no
    /// graph) — in one backend kernel where the backend has it (<see cref="Backends.IBackend.TryBatchNormForward"/>),
    /// else with tensor ops — and the backward is the closed form gx = (γ/σ)·(g − mean(g) − x̂·mean(g·x̂)),
    /// gγ = Σ g·x̂, gβ = Σ g (again one kernel where available). With a graph being built (double backward) the
    /// backward recomputes μ, σ and x̂ from x with differentiable ops, so the same formula is differentiable in x, γ
    /// and g. The tape keeps x, μ and 1/σ (x̂ is recomputed, not stored). Returns the output and the batch mean and
    /// biased variance ([C], no graph).
    /// </summary>
    private static (Tensor Output, Tensor Mean, Tensor Variance) BatchNormTrain(Tensor x, Tensor? weight, Tensor? bias,
        int[] dims, int[] shape, int count, double eps)
    {
        Tensor mean, variance, invStd, y;
        using (GradMode.NoGrad())
        {
            int c = shape[1];
            var stats = Tensor.Alloc([3, c], x.DType, x.Device);
            y = Tensor.Alloc(x.ShapeArray, x.DType, x.Device);
            // The three rows of stats as [C] views (each holds the storage; stats itself is let go).
            int[] rowShape = [c], rowStrides = [1];
            mean = stats.View(rowShape, rowStrides, 0);
            invStd = stats.View(rowShape, rowStrides, c);
            variance = stats.View(rowShape, rowStrides, 2 * c);
            stats.Dispose();
            bool fused = (weight is null || weight.IsContiguous) && (bias is null || bias.IsContiguous)
                && x.Device.Backend.TryBatchNormForward(x, weight, bias, eps, y, mean, invStd, variance);
            if (!fused)
            {
                y.Dispose();
                var m = x.Sum(dims, keepDim: true).Div(count);
                using var centered = x.Sub(m);
                using var squares = centered.Mul(centered);
                var v = squares.Sum(dims, keepDim: true).Div(count);
                var inv = v.Add(eps).Sqrt().Reciprocal();
                var xHat = centered.Mul(inv);
                y = weight is null ? xHat : xHat.Mul(weight.Reshape(shape));
                if (bias is not null) y = y.Add(bias.Reshape(shape));
                mean.Dispose();
                invStd.Dispose();
                variance.Dispose();
                (mean, invStd, variance) = (m.Reshape(c), inv.Reshape(c), v.Reshape(c));
            }
        }
        Tensor[] inputs = weight is null && bias is null ? [x] : weight is null ? [x, bias!] : bias is null ? [x, weight] : [x, weight, bias];
        int weightAt = weight is null ? -1 : 1, biasAt = bias is null ? -1 : weight is null ? 1 : 2;
        int inputCount = inputs.Length;
        Tensor[] saved = weight is null ? [x, mean, invStd] : [x, mean, invStd, weight];
        y = Tape.Record(y, "NativeBatchNormBackward", (inputCount, weightAt, biasAt, dims, shape, count, eps), static (g, s, need, in st) =>
        {
            var (inputCount, weightAt, biasAt, dims, shape, count, eps) = st;
            var result = new Tensor?[inputCount];
            bool needX = need[0], needW = weightAt >= 0 && need[weightAt], needB = biasAt >= 0 && need[biasAt];
            if (!GradMode.IsEnabled && BatchNormBackwardKernel(g, s, shape, needX, needW, needB, out var gx, out var gw, out var gb))
            {
                result[0] = gx;
                if (needW) result[weightAt] = gw;
                if (needB) result[biasAt] = gb;
                return result;
            }
            Tensor xh, inv;
            if (GradMode.IsEnabled)
            {
                // Building a graph: x̂ and 1/σ as differentiable functions of x.
                var c = s[0].Sub(s[0].Sum(dims, keepDim: true).Div(count));
                inv = c.Mul(c).Sum(dims, keepDim: true).Div(count).Add(eps).Sqrt().Reciprocal();
                xh = c.Mul(inv);
            }
            else
            {
                inv = s[2].Reshape(shape);
                xh = s[0].Sub(s[1].Reshape(shape)).Mul(inv);
            }
            var gSum = needX || biasAt >= 0 ? g.Sum(dims, keepDim: true) : null;
            var gDotXHat = needX || needW ? g.Mul(xh).Sum(dims, keepDim: true) : null;
            if (needX)
            {
                var scale = weightAt >= 0 ? inv.Mul(s[3].Reshape(shape)) : inv;
                result[0] = g.Sub(xh.Mul(gDotXHat!.Div(count)).Add(gSum!.Div(count))).Mul(scale);
            }
            if (needW) result[weightAt] = gDotXHat!.Reshape(shape[1]);
            if (needB) result[biasAt] = gSum!.Reshape(shape[1]);
            return result;
        }, inputs, saved);
        return (y, mean, variance);
    }

    /// <summary>The backend's batch-norm backward kernel on the saved [x, μ, 1/σ, γ?]; false when it has none.</summary>
    private static bool BatchNormBackwardKernel(Tensor g, Tensor[] saved, int[] shape, bool needX, bool needW, bool needB,
        out Tensor? gx, out Tensor? gw, out Tensor? gb)
    {
        Tensor x = saved[0];
        gx = needX ? Tensor.Alloc(x.ShapeArray, x.DType, x.Device) : null;
        gw = needW ? Tensor.Alloc([shape[1]], x.DType, x.Device) : null;
        gb = needB ? Tensor.Alloc([shape[1]], x.DType, x.Device) : null;
        Tensor mean = saved[1], invStd = saved[2];
        var weight = saved.Length > 3 ? saved[3] : null;
        if ((weight is null || weight.IsContiguous)
            && x.Device.Backend.TryBatchNormBackward(g, x, mean, invStd, weight, gx, gw, gb)) return true;
        gx?.Dispose();
        gw?.Dispose();
        gb?.Dispose();
        gx = gw = gb = null;
        return false;
    }

    /// <summary>Layer normalization over the trailing <paramref name="normalizedShape"/> dims, with optional elementwise affine.</summary>
    public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "layer_norm";
        Guard.Float(input, op);
        int k = normalizedShape.Length;
        if (k == 0 || k > input.Rank || !input.Shape.ToArray()[^k..].SequenceEqual(normalizedShape))
            throw new ArgumentException($"{op}: normalized shape {ShapeUtil.Format(normalizedShape)} does not end the input shape {input.Shape}");
        foreach (var p in new[] { weight, bias })
            if (p is not null && !p.Shape.ToArray().SequenceEqual(normalizedShape))
                throw new ArgumentException($"{op}: weight and bias must have the normalized shape {ShapeUtil.Format(normalizedShape)}, got {p.Shape}");
        var dims = Enumerable.Range(input.Rank - k, k).ToArray();
        var normalized = Standardize(input, dims, eps);
        if (weight is not null) normalized = normalized.Mul(weight);
        if (bias is not null) normalized = normalized.Add(bias);
        return composite.Keep(normalized);
    }

    /// <summary>(x − mean) / √(biased var + ε) over <paramref name="dims"/>.</summary>
    private static Tensor Standardize(Tensor x, int[] dims, double eps)
    {
        var centered = x.Sub(x.Mean(dims, keepDim: true));
        return centered.Div(centered.Mul(centered).Mean(dims, keepDim: true).Add(eps).Sqrt());
    }

    /// <summary>Instance normalization: each (sample, channel) plane normalised over its spatial positions.</summary>
    public static Tensor InstanceNorm(Tensor input, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "instance_norm";
        Guard.Float(input, op);
        if (input.Rank < 3) throw new ArgumentException($"{op}: expected [N, C, spatial…], got {input.Shape}");
        int count = input.Numel / Math.Max(input.Size(0) * input.Size(1), 1);
        if (count <= 1) throw new ArgumentException($"{op}: expected more than 1 spatial element per channel, got input of shape {input.Shape}");
        CheckChannelParam(weight, input.Size(1), "weight", op);
        CheckChannelParam(bias, input.Size(1), "bias", op);
        var normalized = Standardize(input, Enumerable.Range(2, input.Rank - 2).ToArray(), eps);
        return composite.Keep(Affine(normalized, weight, bias, ChannelShape(input)));
    }

    /// <summary>Group normalization: channels split into <paramref name="numGroups"/> groups, each normalised over its channels and positions.</summary>
    public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "group_norm";
        Guard.Float(input, op);
        if (input.Rank < 2) throw new ArgumentException($"{op}: expected [N, C, …], got {input.Shape}");
        int n = input.Size(0), channels = input.Size(1);
        if (numGroups <= 0 || channels % numGroups != 0)
            throw new ArgumentException($"{op}: {channels} channels are not divisible into {numGroups} groups (input {input.Shape})");
        CheckChannelParam(weight, channels, "weight", op);
        CheckChannelParam(bias, channels, "bias", op);
        var grouped = input.Reshape(n, numGroups, -1);
        var normalized = Standardize(grouped, [2], eps).Reshape(input.Shape.ToArray());
        return composite.Keep(Affine(normalized, weight, bias, ChannelShape(input)));
    }

    /// <summary>
    /// Local response normalization across channels (AlexNet): b_c = a_c / (k + α′·Σ_{c′ in window} a_{c′}²)^β with a window
    /// of <paramref name="size"/> channels centred on c. α′ = α/size as PyTorch (default), or α itself as the AlexNet
    /// paper and seed 002 write it (<paramref name="alphaPerSize"/> false).
    /// </summary>
    public static Tensor LocalResponseNorm(Tensor input, int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0, bool alphaPerSize = true)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "local_response_norm";
        Guard.Float(input, op);
        if (input.Rank < 3) throw new ArgumentException($"{op}: expected [N, C, spatial…], got {input.Shape}");
        if (size <= 0) throw new ArgumentException($"{op}: size must be positive, got {size}");
        int channels = input.Size(1);
        var squares = input.Mul(input);
        var pad = new int[2 * (input.Rank - 1)];
        pad[^2] = size / 2;            // before channel 0
        pad[^1] = (size - 1) / 2;      // after the last channel
        var padded = squares.Pad(pad);
        Tensor? windowSum = null;
        for (int j = 0; j < size; j++)
        {
            var part = padded.Narrow(1, j, channels);
            windowSum = windowSum is null ? part : windowSum.Add(part);
        }
        var scale = windowSum!.Mul(alphaPerSize ? alpha / size : alpha).Add(k).Pow(beta);
        return composite.Keep(input.Div(scale));
    }

    /// <summary>Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1 − p); identity unless training.</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null) =>
        DropoutWithMask(input, p, training, generator, input.Shape.ToArray(), "dropout");

    /// <summary>Channel dropout for [N, C, H, W] (or [C, H, W]): zeroes whole channels with probability p, scales the rest by 1/(1 − p).</summary>
    public static Tensor Dropout2d(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
    {
        if (input.Rank is not (3 or 4)) throw new ArgumentException($"dropout2d: expected [N, C, H, W] or [C, H, W], got {input.Shape}");
        var maskShape = input.Shape.ToArray();
        for (int d = input.Rank - 2; d < input.Rank; d++) maskShape[d] = 1;
        return DropoutWithMask(input, p, training, generator, maskShape, "dropout2d");
    }

    private static Tensor DropoutWithMask(Tensor input, double p, bool training, Generator? generator, int[] maskShape, string op)
    {
        using var composite = Tensor.OpenComposite();
        Guard.Float(input, op);
        if (!(p is >= 0 and <= 1)) throw new ArgumentException($"{op}: probability must be in [0, 1], got {p}");
        if (!training || p == 0) return composite.Keep(input);
        if (p == 1) return composite.Keep(input.Mul(0.0));
        using var keep = Tensor.Bernoulli(maskShape, 1 - p, input.DType, generator, input.Device);
        using var mask = keep.Mul(1 / (1 - p));
        return composite.Keep(input.Mul(mask));
    }

    /// <summary>
    /// Folds an inference-mode batch norm into the preceding convolution: W′ = W·γ/√(σ² + ε) per output channel,
    /// b′ = (b − μ)·γ/√(σ² + ε) + β, so conv(x, W′, b′) equals batch_norm(conv(x, W, b)) in evaluation mode.
    /// </summary>
    public static (Tensor Weight, Tensor Bias) FoldBatchNorm(Tensor convWeight, Tensor? convBias, Tensor runningMean, Tensor runningVar,
        Tensor? gamma = null, Tensor? beta = null, double eps = 1e-5)
    {
        using var composite = Tensor.OpenComposite();
        const string op = "fold_batch_norm";
        int cout = convWeight.Size(0);
        CheckChannelParam(convBias, cout, "conv bias", op);
        CheckChannelParam(runningMean, cout, "running mean", op);
        CheckChannelParam(runningVar, cout, "running variance", op);
        CheckChannelParam(gamma, cout, "gamma", op);
        CheckChannelParam(beta, cout, "beta", op);
        using var noGrad = GradMode.NoGrad();
        var scale = runningVar.Add(eps).Sqrt().Reciprocal();
        if (gamma is not null) scale = scale.Mul(gamma);
        var shape = new int[convWeight.Rank];
        Array.Fill(shape, 1);
        shape[0] = cout;
        var weight = convWeight.Mul(scale.Reshape(shape));
        var bias = (convBias ?? Tensor.ZerosLike(runningMean)).Sub(runningMean).Mul(scale);
        if (beta is not null) bias = bias.Add(beta);
        return composite.Keep((weight, bias));
    }
}
