using System.Globalization;
using System.Text;

namespace AutoGradNet.Nn;

/// <summary>
/// A module that knows its own multiply-add count, for layers the built-in rules of <see cref="ModelSummary"/> do not
/// cover (custom blocks with their own parameters).
/// </summary>
public interface ICountsMultAdds
{
    /// <summary>Multiply-adds of one call that mapped an input of <paramref name="inputShape"/> to <paramref name="outputShape"/> (batch included).</summary>
    long CountMultAdds(int[] inputShape, int[] outputShape);
}

/// <summary>How <see cref="ModelSummary"/> obtained its shapes.</summary>
public enum SummaryPass
{
    /// <summary>One forward pass on an empty batch (zero elements): every layer checks and computes its output shape, no arithmetic runs.</summary>
    EmptyBatch,
    /// <summary>One forward pass on a real batch of zeros (the fallback when a layer rejects an empty batch).</summary>
    RealForward,
}

/// <summary>One module of a <see cref="ModelSummary"/>.</summary>
public sealed class SummaryRow
{
    internal SummaryRow(string name, string type, int depth, bool isLeaf, int calls, int[]? outputShape, long outputElements, long outputBytes,
        long parameters, long totalParameters, long multAdds, long totalMultAdds)
    {
        Name = name;
        Type = type;
        Depth = depth;
        IsLeaf = isLeaf;
        Calls = calls;
        OutputShape = outputShape;
        OutputElements = outputElements;
        OutputBytes = outputBytes;
        Parameters = parameters;
        TotalParameters = totalParameters;
        MultAdds = multAdds;
        TotalMultAdds = totalMultAdds;
    }

    /// <summary>Dotted module path, as in state-dict keys (<c>features.0</c>, <c>layer1.0.conv1</c>).</summary>
    public string Name { get; }
    /// <summary>The module's class name.</summary>
    public string Type { get; }
    /// <summary>Nesting depth: 1 for the model's direct children.</summary>
    public int Depth { get; }
    /// <summary>True when the module has no submodules.</summary>
    public bool IsLeaf { get; }
    /// <summary>How many times the module ran in the forward pass (0: not called, e.g. an auxiliary head in evaluation mode).</summary>
    public int Calls { get; }
    /// <summary>Output shape of the last call, with the summary's batch size; null when the module was not called or does not return a tensor.</summary>
    public int[]? OutputShape { get; }
    /// <summary>Output elements, summed over calls.</summary>
    public long OutputElements { get; }
    /// <summary>Output bytes (elements × element size, float32: 4), summed over calls.</summary>
    public long OutputBytes { get; }
    /// <summary>Output memory in KB (bytes / 1024), as the seed deck's tables.</summary>
    public double OutputKB => OutputBytes / 1024.0;
    /// <summary>Parameter elements registered directly on this module (a layer's weight and bias); the rows' sum is the model's total.</summary>
    public long Parameters { get; }
    /// <summary>Parameter elements of this module and its submodules.</summary>
    public long TotalParameters { get; }
    /// <summary>Multiply-adds of this module's own rule (layers; 0 for containers), summed over calls.</summary>
    public long MultAdds { get; }
    /// <summary>Multiply-adds of this module and its submodules.</summary>
    public long TotalMultAdds { get; }
}

/// <summary>
/// A per-layer table of a model (torchinfo's <c>summary</c>): output shape, output memory, parameters and
/// multiply-adds of every module, with totals. Made by <see cref="SummaryExtensions.Summary"/>.
/// </summary>
/// <remarks>
/// <para><b>How shapes are found without computing.</b> The model runs once, under no-grad, on an input whose batch
/// dimension is 0, with a forward hook on every module. Every layer still validates its input and computes its output
/// shape, so shapes propagate through any custom block (residual adds, concatenations, functional ops), but no
/// arithmetic runs: a VGG-16 at 224×224 takes milliseconds. Batch-norm layers are switched to evaluation mode for the pass
/// (an empty batch has no batch statistics) and restored afterwards, so running statistics are untouched; other modules
/// keep their mode (auxiliary heads of a model in training mode are listed). Recorded shapes get the requested batch
/// size back in dimension 0. If a layer rejects the empty batch, the summary falls back to one real forward pass on
/// zeros (<see cref="Pass"/> says which ran). For a model too large to build, construct it on the meta device
/// (<c>using (Device.Meta.AsDefault())</c>): it then has no storage at all, and the summary runs on meta tensors.</para>
/// <para><b>What is counted.</b> One multiply-add per multiply-accumulate, as the seed deck's "flop" column:
/// convolution C_out·H_out·W_out·(C_in/groups)·k_h·k_w per sample (transposed: per input element C_out/groups·k_h·k_w);
/// linear in·out per row; max and average pooling k_h·k_w per output element (the deck counts pooling comparisons this way);
/// adaptive pooling the window size per output element. Biases, batch norm, activations, dropout, LRN, flatten, residual
/// additions and concatenations count 0. Modules implementing <see cref="ICountsMultAdds"/> count themselves. Activation
/// memory is the sum of the outputs of leaf modules (the forward pass; a backward pass needs about as much again for the
/// gradients).</para>
/// </remarks>
public sealed class ModelSummary
{
    private readonly Dictionary<string, SummaryRow> _byName;

    internal ModelSummary(string modelType, int[] inputShape, int[]? outputShape, DType dtype, IReadOnlyList<SummaryRow> rows,
        long trainable, long nonTrainable, long parameterBytes, SummaryPass pass)
    {
        ModelType = modelType;
        InputShape = inputShape;
        OutputShape = outputShape;
        DType = dtype;
        Rows = rows;
        TrainableParameters = trainable;
        NonTrainableParameters = nonTrainable;
        ParameterBytes = parameterBytes;
        Pass = pass;
        _byName = rows.ToDictionary(r => r.Name);
        TotalMultAdds = rows.Sum(r => r.MultAdds);
        ActivationBytes = rows.Where(r => r.IsLeaf).Sum(r => r.OutputBytes);
        InputBytes = ShapeProduct(inputShape) * dtype.ElementSize();
    }

    /// <summary>The model's class name.</summary>
    public string ModelType { get; }
    /// <summary>The input shape the summary was made for (batch first).</summary>
    public int[] InputShape { get; }
    /// <summary>The model's output shape, or null when it does not return a tensor.</summary>
    public int[]? OutputShape { get; }
    /// <summary>The element type of the input and activations.</summary>
    public DType DType { get; }
    /// <summary>Every submodule in registration order (depth first), the model itself excluded.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; }
    /// <summary>Trainable plus non-trainable parameter elements (each shared tensor once).</summary>
    public long TotalParameters => TrainableParameters + NonTrainableParameters;
    /// <summary>Parameter elements that require grad.</summary>
    public long TrainableParameters { get; }
    /// <summary>Parameter elements that do not require grad (frozen).</summary>
    public long NonTrainableParameters { get; }
    /// <summary>Multiply-adds of one forward pass of the whole batch (sum of the rows).</summary>
    public long TotalMultAdds { get; }
    /// <summary>Bytes of the input tensor.</summary>
    public long InputBytes { get; }
    /// <summary>Bytes of all leaf-module outputs of one forward pass.</summary>
    public long ActivationBytes { get; }
    /// <summary>Bytes of the parameters.</summary>
    public long ParameterBytes { get; }
    /// <summary>Whether shapes came from an empty-batch pass or a real forward pass.</summary>
    public SummaryPass Pass { get; }

    /// <summary>The row of the module at dotted path <paramref name="name"/>.</summary>
    public SummaryRow this[string name] =>
        _byName.TryGetValue(name, out var row) ? row : throw new KeyNotFoundException($"ModelSummary: no module named '{name}' in {ModelType}");

    internal static long ShapeProduct(int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>A torchinfo-like table: one row per module, then the totals.</summary>
    public override string ToString()
    {
        var lines = new List<string[]> { new[] { ModelType, Shape(OutputShape), "--", "--", "--" } };
        foreach (var r in Rows)
        {
            var label = new string(' ', 2 * (r.Depth - 1)) + "└─" + r.Name + " (" + r.Type + ")";
            string parameters = r.Parameters > 0 || r.IsLeaf ? Count(r.Parameters) : "--";
            string multAdds = r.IsLeaf ? (r.Calls > 0 ? Count(r.MultAdds) : "--") : (r.MultAdds > 0 ? Count(r.MultAdds) : "--");
            string memory = r.Calls > 0 && r.OutputShape is not null ? r.OutputKB.ToString("F1", CultureInfo.InvariantCulture) : "--";
            lines.Add([label, Shape(r.Calls > 0 ? r.OutputShape : null), memory, parameters, multAdds]);
        }
        string[] headers = ["Layer (type)", "Output Shape", "Memory (KB)", "Param #", "Mult-Adds"];
        var widths = new int[headers.Length];
        for (int c = 0; c < headers.Length; c++) widths[c] = Math.Max(headers[c].Length, lines.Max(l => l[c].Length));
        int total = widths.Sum() + 3 * (widths.Length - 1);
        var rule = new string('=', total);
        var sb = new StringBuilder();
        string Format(string[] cells) =>
            string.Join("   ", cells.Select((cell, c) => c < 2 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd();
        sb.AppendLine(rule).AppendLine(Format(headers)).AppendLine(rule);
        foreach (var l in lines) sb.AppendLine(Format(l));
        sb.AppendLine(rule);
        sb.AppendLine($"Total params: {Count(TotalParameters)}");
        sb.AppendLine($"Trainable params: {Count(TrainableParameters)}");
        sb.AppendLine($"Non-trainable params: {Count(NonTrainableParameters)}");
        sb.AppendLine($"Total mult-adds (M): {(TotalMultAdds / 1e6).ToString("F2", CultureInfo.InvariantCulture)}");
        sb.AppendLine(rule);
        sb.AppendLine($"Input size (MB): {Mb(InputBytes)}");
        sb.AppendLine($"Forward pass activations (MB): {Mb(ActivationBytes)}");
        sb.AppendLine($"Params size (MB): {Mb(ParameterBytes)}");
        sb.AppendLine($"Estimated total size (MB): {Mb(InputBytes + ActivationBytes + ParameterBytes)}");
        sb.AppendLine(rule);
        sb.Append(Pass == SummaryPass.EmptyBatch ? "Shapes inferred on an empty batch (no arithmetic ran)." : "Shapes from a real forward pass on zeros.");
        return sb.ToString();
    }

    private static string Shape(int[]? shape) => shape is null ? "--" : "[" + string.Join(", ", shape) + "]";
}

/// <summary>Makes <see cref="ModelSummary"/> tables.</summary>
public static class SummaryExtensions
{
    private sealed class Record
    {
        public int Calls;
        public int[]? Shape;
        public long Elements, Bytes, MultAdds;
    }

    /// <summary>
    /// Summarises <paramref name="model"/> for inputs of <paramref name="inputShape"/> (batch first, e.g. <c>[1, 3, 224, 224]</c>):
    /// output shape, output memory, parameters and multiply-adds of every module, and totals. No arithmetic runs on the
    /// model (see <see cref="ModelSummary"/> for the empty-batch pass and what is counted).
    /// </summary>
    /// <param name="model">The model; it is left as it was (modes, running statistics, hooks).</param>
    /// <param name="inputShape">The input shape, batch first.</param>
    /// <param name="dtype">The input element type; defaults to that of the model's first floating-point parameter (float32 if none).</param>
    /// <param name="allowRealForward">Whether to fall back to one real forward pass on zeros when a layer rejects an empty batch.</param>
    public static ModelSummary Summary(this Module<Tensor, Tensor> model, int[] inputShape, DType? dtype = null, bool allowRealForward = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentException($"Summary: the input shape must be non-empty with positive sizes (batch first), got [{string.Join(", ", inputShape)}]");
        var tensors = model.Parameters().Concat(model.NamedBuffers().Select(b => b.Buffer)).ToList();
        var device = tensors.Count > 0 ? tensors[0].Device : Device.Default;
        var elementType = dtype ?? model.Parameters().Select(p => p.DType).Where(d => d.IsFloatingPoint()).DefaultIfEmpty(DType.Float32).First();
        int batch = inputShape[0];

        var modules = model.NamedModules().ToList();
        var records = new Dictionary<Module, Record>(ReferenceEqualityComparer.Instance);
        foreach (var (_, m) in modules) records.TryAdd(m, new Record());

        void Observe(Module m, int[]? input, Tensor output, bool emptyBatch)
        {
            var r = records[m];
            var shape = emptyBatch ? WithBatch(output.ShapeArray, batch) : (int[])output.ShapeArray.Clone();
            var inShape = input is null ? null : emptyBatch ? WithBatch(input, batch) : input;
            r.Calls++;
            r.Shape = shape;
            long elements = ModelSummary.ShapeProduct(shape);
            r.Elements += elements;
            r.Bytes += elements * output.DType.ElementSize();
            if (inShape is not null) r.MultAdds += MultAdds(m, inShape, shape);
        }

        int[]? outputShape = null;
        SummaryPass pass = SummaryPass.EmptyBatch;
        var batchNorms = modules.Select(m => m.Module).OfType<BatchNormBase>().Where(b => b.Training).Distinct().ToList();
        foreach (var bn in batchNorms) bn.Eval();
        try
        {
            try
            {
                outputShape = Run(model, modules, [0, .. inputShape[1..]], elementType, device, Observe, emptyBatch: true);
                if (outputShape is not null) outputShape = WithBatch(outputShape, batch);
            }
            catch (Exception) when (allowRealForward)
            {
                foreach (var r in records.Values) (r.Calls, r.Shape, r.Elements, r.Bytes, r.MultAdds) = (0, null, 0, 0, 0);
                pass = SummaryPass.RealForward;
                outputShape = Run(model, modules, inputShape, elementType, device, Observe, emptyBatch: false);
            }
        }
        finally
        {
            foreach (var bn in batchNorms) bn.Train();
        }

        var rows = new List<SummaryRow>();
        foreach (var (name, m) in modules)
        {
            if (name.Length == 0) continue;
            var r = records[m];
            long own = m.Parameters(recurse: false).Sum(p => (long)p.Numel);
            long totalParams = m.ParameterCount();
            long totalMultAdds = m.NamedModules().Select(x => x.Module).Distinct<Module>(ReferenceEqualityComparer.Instance)
                .Sum(x => records.TryGetValue(x, out var rec) ? rec.MultAdds : 0);
            bool leaf = !m.Children().Any();
            rows.Add(new SummaryRow(name, m.GetType().Name, name.Count(c => c == '.') + 1, leaf, r.Calls, r.Shape, r.Elements, r.Bytes,
                own, totalParams, r.MultAdds, totalMultAdds));
        }
        var parameters = model.Parameters().ToList();
        long trainable = parameters.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel);
        long frozen = parameters.Where(p => !p.RequiresGrad).Sum(p => (long)p.Numel);
        long parameterBytes = parameters.Sum(p => (long)p.Numel * p.DType.ElementSize());
        return new ModelSummary(model.GetType().Name, (int[])inputShape.Clone(), outputShape, elementType, rows, trainable, frozen, parameterBytes, pass);
    }

    private static int[]? Run(Module<Tensor, Tensor> model, List<(string Name, Module Module)> modules, int[] shape, DType dtype, Device device,
        Action<Module, int[]?, Tensor, bool> observe, bool emptyBatch)
    {
        var hooks = new List<IDisposable>();
        var hooked = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        try
        {
            foreach (var (_, m) in modules)
            {
                if (!hooked.Add(m)) continue;
                switch (m)
                {
                    case Module<Tensor, Tensor> single:
                        hooks.Add(single.RegisterForwardHook((mod, input, output) =>
                        {
                            observe(mod, input.ShapeArray, output, emptyBatch);
                            return null;
                        }));
                        break;
                    case Module<IReadOnlyList<Tensor>, Tensor> list:
                        hooks.Add(list.RegisterForwardHook((mod, _, output) =>
                        {
                            observe(mod, null, output, emptyBatch);
                            return null;
                        }));
                        break;
                }
            }
            using var noGrad = GradMode.NoGrad();
            using var scope = Tensor.NewDisposeScope();
            var x = Tensor.Zeros(shape, dtype, device);
            var y = model.Call(x);
            return (int[])y.ShapeArray.Clone();
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
        }
    }

    private static int[] WithBatch(int[] shape, int batch)
    {
        var result = (int[])shape.Clone();
        for (int d = 0; d < result.Length; d++)
            if (result[d] == 0) result[d] = batch;
        return result;
    }

    /// <summary>Multiply-adds of one call of a layer (see <see cref="ModelSummary"/> for the rules).</summary>
    internal static long MultAdds(Module module, int[] input, int[] output)
    {
        long outputs = ModelSummary.ShapeProduct(output);
        switch (module)
        {
            case ICountsMultAdds custom:
                return custom.CountMultAdds(input, output);
            case ConvTranspose2d t:
                return ModelSummary.ShapeProduct(input) * (t.OutChannels / t.Groups) * Product(t.KernelSize);
            case ConvBase c:
                return outputs * (c.InChannels / c.Groups) * Product(c.KernelSize);
            case Linear l:
                return outputs * l.InFeatures;
            case MaxPool2d p:
                return outputs * Product(p.KernelSize.For(2, "summary", "kernel size"));
            case AvgPool2d p:
                return outputs * Product(p.KernelSize.For(2, "summary", "kernel size"));
            case AdaptiveAvgPool2d or AdaptiveMaxPool2d when input.Length >= 3 && output.Length == input.Length:
            {
                // Σ over output positions of the window area = Π over spatial dims of the summed window lengths.
                long windows = 1;
                for (int d = input.Length - 2; d < input.Length; d++)
                {
                    long sum = 0;
                    int size = input[d], outSize = output[d];
                    for (int o = 0; o < outSize; o++) sum += ((o + 1) * size + outSize - 1) / outSize - o * size / outSize;
                    windows *= sum;
                }
                return outputs / Math.Max(1, (long)output[^1] * output[^2]) * windows;
            }
            default:
                return 0;
        }
    }

    private static long Product(int[] values)
    {
        long p = 1;
        foreach (var v in values) p *= v;
        return p;
    }
}
