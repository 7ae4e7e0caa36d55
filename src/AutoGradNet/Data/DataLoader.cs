using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using AutoGradNet.Backends.Cpu;

namespace AutoGradNet.Data;

/// <summary>
/// One mini-batch: <see cref="Images"/> (float32, N×C×H×W, scaled to [0, 1] then normalised) and <see cref="Labels"/>
/// (int64, N). The consumer owns both tensors: dispose the batch (or the tensors) when done, or create it inside a
/// dispose scope — the tensors are created on the thread that enumerates the loader, so they join that thread's
/// current <see cref="DisposeScope"/>.
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(Tensor images, Tensor labels, int[] indices, int epoch, int index)
    {
        Images = images;
        Labels = labels;
        Indices = indices;
        Epoch = epoch;
        Index = index;
    }

    /// <summary>The images, float32 N×C×H×W.</summary>
    public Tensor Images { get; }

    /// <summary>The class labels, int64 N.</summary>
    public Tensor Labels { get; }

    /// <summary>The dataset index of each sample, in batch order.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Number of samples (N).</summary>
    public int Size => Indices.Count;

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>The batch's position in its epoch (0-based).</summary>
    public int Index { get; }

    /// <summary>Deconstructs into (images, labels): <c>foreach (var (x, y) in loader)</c> — the caller then owns both.</summary>
    public void Deconstruct(out Tensor images, out Tensor labels)
    {
        images = Images;
        labels = Labels;
    }

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Batches an <see cref="IImageDataset"/> (PyTorch's <c>DataLoader</c> for image classification): seeded per-epoch
/// shuffling, drop-last, per-sample <see cref="Augmentation"/>, collation into normalised float32 NCHW tensors and
/// int64 labels, with the next batches prepared on a background worker thread.
/// </summary>
/// <remarks>
/// <para>Each enumeration (<c>foreach</c>) is one epoch: it uses <see cref="Epoch"/> and then increments it. The order of
/// epoch e is a Fisher–Yates shuffle driven by a Philox <see cref="Generator"/> keyed by <see cref="Seed"/> at a counter
/// offset derived from e, and the augmentations of epoch e draw from a second such stream, so the same seed gives the
/// same batches on every machine, independent of the batch size for augmentation draws, thread timing and
/// <see cref="Prefetch"/>; different epochs give different orders.</para>
/// <para>The worker fills reusable float/long buffers (a lookup table maps each byte to its normalised value, augmentations
/// reuse two scratch images), and at most <see cref="Prefetch"/> finished batches wait in a bounded queue. Tensors are
/// created only on the consuming thread, in <c>MoveNext</c>, so abandoning an enumeration leaks nothing. Disposing the
/// enumerator (leaving <c>foreach</c>, also by <c>break</c> or an exception) or the loader stops and joins the worker.</para>
/// <para>Ownership: every <see cref="Batch"/> belongs to the consumer, who must dispose it (or its tensors, or a
/// dispose scope they were created in).</para>
/// </remarks>
public sealed class DataLoader : IEnumerable<Batch>, IDisposable
{
    private const ulong AugmentKey = 0x9E3779B97F4A7C15UL;
    private readonly float[] _lut;
    private readonly object _gate = new();
    private readonly List<Enumerator> _active = [];
    private bool _disposed;

    /// <summary>A loader over <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The images and labels.</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="shuffle">Reshuffle the order every epoch (seeded by <paramref name="seed"/>); otherwise dataset order.</param>
    /// <param name="dropLast">Skip the last batch of an epoch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="seed">Seed of the shuffling and augmentation streams.</param>
    /// <param name="normalization">Per-channel mean/std; null for the dataset's <see cref="IImageDataset.DefaultNormalization"/>
    /// (or none: [0, 1] scaling only, when the dataset has none).</param>
    /// <param name="augmentation">Random transforms applied to every sample, or null.</param>
    /// <param name="prefetch">Batches prepared ahead on a worker thread (0: no worker, prepare in <c>MoveNext</c>).</param>
    /// <param name="device">Where batches are put (null: the CPU).</param>
    public DataLoader(IImageDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0,
        Normalization? normalization = null, Augmentation? augmentation = null, int prefetch = 2, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: batchSize must be positive, got {batchSize}");
        if (prefetch < 0 || prefetch > 16) throw new ArgumentOutOfRangeException(nameof(prefetch), $"DataLoader: prefetch must be in [0, 16], got {prefetch}");
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        Normalization = normalization ?? dataset.DefaultNormalization ?? Normalization.None(dataset.Channels);
        Augmentation = augmentation;
        Prefetch = prefetch;
        Device = device ?? Device.Cpu;
        _lut = Normalization.LookupTable(dataset.Channels);
    }

    /// <summary>The dataset.</summary>
    public IImageDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a short last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Seed of the shuffling and augmentation streams.</summary>
    public ulong Seed { get; }

    /// <summary>The normalisation applied after scaling to [0, 1].</summary>
    public Normalization Normalization { get; }

    /// <summary>The per-sample transforms, or null.</summary>
    public Augmentation? Augmentation { get; }

    /// <summary>Batches prepared ahead by the worker (0: none, no worker thread).</summary>
    public int Prefetch { get; }

    /// <summary>Where batches are put.</summary>
    public Device Device { get; }

    /// <summary>The epoch the next enumeration produces (starts at 0; each <see cref="GetEnumerator"/> increments it). Set it to resume.</summary>
    public int Epoch { get; set; }

    /// <summary>Batches per epoch (<c>len(loader)</c>).</summary>
    public int Count => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the dataset (identity when not shuffling).</summary>
    public int[] Order(int epoch)
    {
        int n = Dataset.Count;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (!Shuffle) return order;
        var rng = StreamFor(Seed, epoch);
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>Starts epoch <see cref="Epoch"/> (and increments <see cref="Epoch"/>); the worker starts here.</summary>
    public IEnumerator<Batch> GetEnumerator()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var e = new Enumerator(this, Epoch++);
            _active.Add(e);
            return e;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Stops and joins the workers of enumerations still in progress; later enumerations throw.</summary>
    public void Dispose()
    {
        Enumerator[] active;
        lock (_gate)
        {
            _disposed = true;
            active = [.. _active];
        }
        foreach (var e in active) e.Dispose();
    }

    /// <summary>The prefetch thread of an enumeration of a loader (null without prefetch); for tests.</summary>
    internal static Thread? WorkerOf(IEnumerator<Batch> enumeration) => (enumeration as Enumerator)?.Worker;

    private void Finished(Enumerator e)
    {
        lock (_gate) _active.Remove(e);
    }

    // Epoch e draws from counter offset e·2^32 (4 words per draw: up to 2^32 draws before overlapping the next epoch).
    private static Generator StreamFor(ulong key, int epoch)
    {
        var g = new Generator(key);
        g.SetState((key, (ulong)(uint)epoch << 32));
        return g;
    }

    /// <summary>Reusable host buffers of one batch.</summary>
    private sealed class Slot(int batchSize, int sampleBytes)
    {
        public readonly float[] Images = new float[batchSize * sampleBytes];
        public readonly long[] Labels = new long[batchSize];
        public readonly int[] Indices = new int[batchSize];
        public int Count;
        public int Index;
    }

    /// <summary>One epoch. Holds the worker thread (when prefetching) and the buffers.</summary>
    private sealed class Enumerator : IEnumerator<Batch>
    {
        private readonly DataLoader _loader;
        private readonly int _epoch;
        private readonly int[] _order;
        private readonly int _batches;
        private readonly ImageShape _shape;
        private readonly byte[] _image;
        private readonly byte[] _scratch;
        private readonly Generator? _augmentRng;
        private readonly Slot? _syncSlot;
        private readonly BlockingCollection<Slot>? _ready;
        private readonly BlockingCollection<Slot>? _free;
        private readonly CancellationTokenSource? _cancel;
        private readonly Thread? _worker;
        private ExceptionDispatchInfo? _failure;
        private int _next;
        private bool _disposed;
        private int _disposeState;
        private Batch? _current;

        public Enumerator(DataLoader loader, int epoch)
        {
            _loader = loader;
            _epoch = epoch;
            var ds = loader.Dataset;
            _shape = new ImageShape(ds.Channels, ds.Height, ds.Width);
            _order = loader.Order(epoch);
            _batches = loader.Count;
            _image = new byte[_shape.Length];
            _scratch = new byte[_shape.Length];
            if (loader.Augmentation is not null) _augmentRng = StreamFor(loader.Seed ^ AugmentKey, epoch);
            int batchSize = Math.Min(loader.BatchSize, Math.Max(1, ds.Count));
            if (loader.Prefetch == 0)
            {
                _syncSlot = new Slot(batchSize, _shape.Length);
                return;
            }
            _ready = new BlockingCollection<Slot>(loader.Prefetch);
            _free = new BlockingCollection<Slot>();
            for (int i = 0; i < loader.Prefetch + 1; i++) _free.Add(new Slot(batchSize, _shape.Length));
            _cancel = new CancellationTokenSource();
            _worker = new Thread(Work) { IsBackground = true, Name = "AutoGradNet DataLoader prefetch" };
            _worker.Start();
        }

        /// <summary>The prefetch thread (null without prefetch); exposed for tests.</summary>
        internal Thread? Worker => _worker;

        public Batch Current => _current ?? throw new InvalidOperationException("DataLoader: Current before MoveNext or after the end");

        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _current = null;
            if (_worker is null)
            {
                if (_next >= _batches) return false;
                Fill(_syncSlot!, _next++);
                _current = MakeBatch(_syncSlot!);
                return true;
            }
            if (!_ready!.TryTake(out var slot, Timeout.Infinite))
            {
                _failure?.Throw();
                return false;
            }
            try
            {
                _current = MakeBatch(slot);
            }
            finally
            {
                _free!.Add(slot);
            }
            return true;
        }

        private void Work()
        {
            var token = _cancel!.Token;
            try
            {
                for (int b = 0; b < _batches; b++)
                {
                    var slot = _free!.Take(token);
                    Fill(slot, b);
                    _ready!.Add(slot, token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                _ready!.CompleteAdding();
            }
        }

        /// <summary>Collates batch <paramref name="b"/> of the epoch into <paramref name="slot"/>'s buffers (no allocation).</summary>
        private void Fill(Slot slot, int b)
        {
            var ds = _loader.Dataset;
            var augmentation = _loader.Augmentation;
            int start = b * _loader.BatchSize;
            int n = Math.Min(_loader.BatchSize, _order.Length - start);
            int per = _shape.Length, plane = _shape.Height * _shape.Width;
            var lut = _loader._lut;
            for (int k = 0; k < n; k++)
            {
                int index = _order[start + k];
                slot.Indices[k] = index;
                slot.Labels[k] = ds.GetLabel(index);
                ReadOnlySpan<byte> pixels = ds.GetPixels(index);
                if (pixels.Length != per)
                    throw new InvalidOperationException($"DataLoader: sample {index} has {pixels.Length} bytes, expected {_shape.Channels}×{_shape.Height}×{_shape.Width} = {per}");
                if (augmentation is not null)
                {
                    pixels.CopyTo(_image);
                    augmentation.Apply(_image, _shape, _scratch, _augmentRng!);
                    pixels = _image;
                }
                var dst = slot.Images.AsSpan(k * per, per);
                for (int c = 0; c < _shape.Channels; c++)
                {
                    var table = lut.AsSpan(c * 256, 256);
                    var src = pixels.Slice(c * plane, plane);
                    var outPlane = dst.Slice(c * plane, plane);
                    for (int i = 0; i < src.Length; i++) outPlane[i] = table[src[i]];
                }
            }
            slot.Count = n;
            slot.Index = b;
        }

        private Batch MakeBatch(Slot slot)
        {
            int n = slot.Count;
            var indices = slot.Indices.AsSpan(0, n).ToArray();
            Tensor? images = null, labels = null;
            try
            {
                images = Tensor.Empty([n, _shape.Channels, _shape.Height, _shape.Width], DType.Float32);
                slot.Images.AsSpan(0, n * _shape.Length).CopyTo(((CpuStorage<float>)images.StorageRef).Span);
                labels = Tensor.Empty([n], DType.Int64);
                slot.Labels.AsSpan(0, n).CopyTo(((CpuStorage<long>)labels.StorageRef).Span);
                if (_loader.Device == Device.Cpu) return new Batch(images, labels, indices, _epoch, slot.Index);
            }
            catch
            {
                images?.Dispose();
                labels?.Dispose();
                throw;
            }
            Tensor? deviceImages = null;
            try
            {
                deviceImages = images.To(_loader.Device);
                var deviceLabels = labels.To(_loader.Device);
                return new Batch(deviceImages, deviceLabels, indices, _epoch, slot.Index);
            }
            catch
            {
                deviceImages?.Dispose();
                throw;
            }
            finally
            {
                images.Dispose();
                labels.Dispose();
            }
        }

        public void Reset() => throw new NotSupportedException("DataLoader: enumerate the loader again for a new epoch");

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposeState, 1) != 0) return;
            _disposed = true;
            _current = null;
            if (_worker is not null)
            {
                _cancel!.Cancel();
                _worker.Join();
                _cancel.Dispose();
                _ready!.Dispose();
                _free!.Dispose();
            }
            _loader.Finished(this);
        }
    }
}
