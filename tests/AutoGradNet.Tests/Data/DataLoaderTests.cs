using AutoGradNet.Data;

namespace AutoGradNet.Tests.Data;

// Storage counters are process-wide: run beside no other test (see MemoryTests).
[Collection(nameof(MemoryCollection))]
public class DataLoaderTests
{
    private static long Live => Device.Cpu.MemoryStats().LiveStorages;

    /// <summary>N samples of C×H×W; pixel j of sample i = (i·5 + j) mod 256; label = i mod 10... stored as i so samples are identifiable.</summary>
    private static ImageDataset Data(int n, int c = 1, int h = 2, int w = 3, Normalization? normalization = null)
    {
        int per = c * h * w;
        var pixels = new byte[n * per];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < per; j++) pixels[i * per + j] = (byte)((i * 5 + j) % 256);
        var labels = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        return new ImageDataset(pixels, labels, c, h, w, normalization: normalization);
    }

    private static List<int[]> EpochIndices(DataLoader loader)
    {
        var result = new List<int[]>();
        foreach (var batch in loader)
            using (batch) result.Add([.. batch.Indices]);
        return result;
    }

    [Fact]
    public void BatchShapesDtypesAndDropLast()
    {
        using var loader = new DataLoader(Data(10), batchSize: 4);
        Assert.Equal(3, loader.Count);
        var sizes = new List<int>();
        foreach (var batch in loader)
        {
            using (batch)
            {
                Assert.Equal(DType.Float32, batch.Images.DType);
                Assert.Equal(DType.Int64, batch.Labels.DType);
                Assert.Equal([batch.Size, 1, 2, 3], batch.Images.Shape.ToArray());
                Assert.Equal([batch.Size], batch.Labels.Shape.ToArray());
                Assert.Equal(batch.Indices.Select(i => (long)i), batch.Labels.ToArray<long>());
                sizes.Add(batch.Size);
            }
        }
        Assert.Equal([4, 4, 2], sizes);

        using var dropping = new DataLoader(Data(10), batchSize: 4, dropLast: true);
        Assert.Equal(2, dropping.Count);
        Assert.Equal([4, 4], EpochIndices(dropping).Select(b => b.Length));
        using var exact = new DataLoader(Data(8), batchSize: 4, dropLast: true);
        Assert.Equal(2, EpochIndices(exact).Count);
    }

    [Fact]
    public void ImagesAreScaledAndNormalisedPerChannel()
    {
        var norm = new Normalization([0.5f, 0.25f, 0f], [0.5f, 2f, 1f]);
        var ds = Data(3, c: 3, h: 2, w: 2);
        using var loader = new DataLoader(ds, batchSize: 3, normalization: norm, prefetch: 0);
        using var batch = loader.First();
        var values = batch.Images.ToArray<float>();
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 4; p++)
                {
                    int j = c * 4 + p;
                    double expected = (ds.GetPixels(i)[j] / 255.0 - norm.Mean[c]) / norm.Std[c];
                    Assert.Equal(expected, values[i * 12 + j], 5);
                }

        // The dataset's own statistics by default (Fashion-MNIST's here); [0, 1] scaling when it has none.
        using var fashion = new DataLoader(Data(2, normalization: Normalization.FashionMnist), batchSize: 2);
        using (var b = fashion.First())
            Assert.Equal((5 / 255.0 - 0.2860) / 0.3530, b.Images.ToArray<float>()[6], 5); // sample 1, pixel 0 = 5
        using var plain = new DataLoader(Data(2), batchSize: 2);
        using (var b = plain.First())
            Assert.Equal(5 / 255.0, b.Images.ToArray<float>()[6], 6);
    }

    [Fact]
    public void ShuffleIsDeterministicBySeedAndDiffersAcrossEpochs()
    {
        var ds = Data(50);
        using var a = new DataLoader(ds, batchSize: 8, shuffle: true, seed: 42);
        using var b = new DataLoader(ds, batchSize: 8, shuffle: true, seed: 42, prefetch: 0);
        var a0 = EpochIndices(a).SelectMany(x => x).ToArray();
        var a1 = EpochIndices(a).SelectMany(x => x).ToArray();
        Assert.Equal(a0, EpochIndices(b).SelectMany(x => x));
        Assert.Equal(a1, EpochIndices(b).SelectMany(x => x));
        Assert.NotEqual(a0, a1);
        Assert.Equal(a1, a.Order(1));
        Assert.NotEqual(a0, new DataLoader(ds, 8, shuffle: true, seed: 43).Order(0));
        Assert.Equal(Enumerable.Range(0, 50), new DataLoader(ds, 8).Order(0));

        // Pinned: the same seed gives this order on every machine (Philox + Fisher–Yates).
        Assert.Equal([3, 2, 4, 0, 7, 1, 5, 9, 8, 6], new DataLoader(Data(10), 4, shuffle: true, seed: 42).Order(0));

        a.Epoch = 0; // resume from epoch 0
        Assert.Equal(a0, EpochIndices(a).SelectMany(x => x));
    }

    [Fact]
    public void EverySampleIsSeenOncePerEpoch()
    {
        var ds = Data(37);
        using var loader = new DataLoader(ds, batchSize: 5, shuffle: true, seed: 7);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = new List<long>();
            foreach (var (x, y) in loader)
            {
                using (x)
                using (y)
                    seen.AddRange(y.ToArray<long>());
            }
            Assert.Equal(Enumerable.Range(0, 37).Select(i => (long)i), seen.Order());
        }
    }

    [Fact]
    public void AugmentedBatchesAreDeterministicWhateverThePrefetch()
    {
        var ds = Data(20, c: 1, h: 6, w: 6);
        var aug = new Compose(new RandomCrop(1), new RandomHorizontalFlip(), new RandomRotation(10));
        float[] Epoch(int prefetch, ulong seed)
        {
            using var loader = new DataLoader(ds, batchSize: 6, shuffle: true, seed: seed, augmentation: aug, prefetch: prefetch);
            var all = new List<float>();
            foreach (var batch in loader)
                using (batch) all.AddRange(batch.Images.ToArray<float>());
            return [.. all];
        }
        var reference = Epoch(2, 3);
        Assert.Equal(reference, Epoch(0, 3));
        Assert.Equal(reference, Epoch(1, 3));
        Assert.NotEqual(reference, Epoch(2, 4));

        using var plain = new DataLoader(ds, batchSize: 20, shuffle: true, seed: 3);
        using var first = plain.First();
        Assert.NotEqual(first.Images.ToArray<float>(), reference); // the augmentation changed something
    }

    [Fact]
    public void PrefetchThreadEndsWhenTheEnumerationIsDisposed()
    {
        using var loader = new DataLoader(Data(100), batchSize: 3, prefetch: 2);
        var e = loader.GetEnumerator();
        var worker = DataLoader.WorkerOf(e);
        Assert.NotNull(worker);
        Assert.True(e.MoveNext());
        e.Current.Dispose();
        e.Dispose(); // mid-epoch: the worker is blocked on the full queue
        Assert.False(worker!.IsAlive);

        // Running to the end also ends the worker; disposing the loader stops an enumeration still open.
        var e2 = loader.GetEnumerator();
        while (e2.MoveNext()) e2.Current.Dispose();
        Assert.True(DataLoader.WorkerOf(e2)!.Join(TimeSpan.FromSeconds(10)));
        e2.Dispose();

        var e3 = loader.GetEnumerator();
        var w3 = DataLoader.WorkerOf(e3)!;
        loader.Dispose();
        Assert.False(w3.IsAlive);
        Assert.Throws<ObjectDisposedException>(() => loader.GetEnumerator());
    }

    [Fact]
    public void WorkerErrorsSurfaceInMoveNext()
    {
        using var loader = new DataLoader(new Faulty(Data(10)), batchSize: 2);
        var seen = 0;
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in loader)
                using (batch) seen++;
        });
        Assert.Equal("sample 7 is broken", e.Message);
        Assert.Equal(3, seen); // the batches before the broken one were delivered
    }

    [Fact]
    public void DisposedBatchesLeakNothing()
    {
        var ds = Data(30, c: 3, h: 4, w: 4);
        var aug = new Compose(new RandomCrop(1), new RandomHorizontalFlip());
        long before = Live;
        using (var loader = new DataLoader(ds, batchSize: 4, shuffle: true, seed: 1, augmentation: aug))
        {
            for (int epoch = 0; epoch < 2; epoch++)
                foreach (var batch in loader)
                    batch.Dispose();
            foreach (var batch in loader) // abandon an epoch mid-way
            {
                batch.Dispose();
                break;
            }
            Assert.Equal(before, Live);

            using (Tensor.NewDisposeScope()) // or let a dispose scope on the consuming thread free them
                foreach (var (x, y) in loader)
                    Assert.Equal(4, x.Shape[1] + 1);
            Assert.Equal(before, Live);
        }
        Assert.Equal(before, Live);
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Data(4), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Data(4), 2, prefetch: -1));
        Assert.Throws<ArgumentException>(() => new DataLoader(Data(4), 2, normalization: Normalization.Cifar10));
        Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[5], [0, 1], 1, 1, 2));
    }

    private sealed class Faulty(ImageDataset inner) : IImageDataset
    {
        public int Count => inner.Count;
        public int Channels => inner.Channels;
        public int Height => inner.Height;
        public int Width => inner.Width;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public Normalization? DefaultNormalization => null;
        public ImageSample Get(int index) => inner.Get(index);
        public long GetLabel(int index) => inner.GetLabel(index);

        public ReadOnlySpan<byte> GetPixels(int index) =>
            index == 7 ? throw new InvalidDataException("sample 7 is broken") : inner.GetPixels(index);
    }
}
