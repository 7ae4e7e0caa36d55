#!/usr/bin/env python3
"""PyTorch reference for benchmarks/AutoGradNet.GpuBench: the same cases, timed the same way.

    python benchmarks/gpu_reference.py [--quick] [--tf32]

GEMM GFLOP/s (float32, square n x n), conv2d forward/backward on ResNet-18's layer shapes at batch 64, a training
step of the same ResNet-18-shaped conv stack (torchvision's resnet18 too, when torchvision is installed), and the
first-call time of each case (PyTorch loads precompiled kernels, so this is cuDNN/cuBLAS heuristics and allocator
warm-up rather than compilation). Every timing is the median over runs after one warm-up run, with
torch.cuda.synchronize() around each run, as in the C# program. TF32 is off unless --tf32 is given, so float32
GEMMs and convolutions are true float32 like AutoGradNet's kernels.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

RESNET18_CONVS = [
    # name, in, out, kernel, stride, padding, input size (the C# program's table)
    ("conv1 7x7/2", 3, 64, 7, 2, 3, 224),
    ("layer1 3x3", 64, 64, 3, 1, 1, 56),
    ("layer2 3x3/2", 64, 128, 3, 2, 1, 56),
    ("layer2 3x3", 128, 128, 3, 1, 1, 28),
    ("layer2 down 1x1/2", 64, 128, 1, 2, 0, 56),
    ("layer3 3x3/2", 128, 256, 3, 2, 1, 28),
    ("layer3 3x3", 256, 256, 3, 1, 1, 14),
    ("layer3 down 1x1/2", 128, 256, 1, 2, 0, 28),
    ("layer4 3x3/2", 256, 512, 3, 2, 1, 14),
    ("layer4 3x3", 512, 512, 3, 1, 1, 7),
    ("layer4 down 1x1/2", 256, 512, 1, 2, 0, 14),
]


def timed(body, quick, min_runs=3, budget=2.0):
    """Median ms after a warm-up call, synchronising around each run; also returns the first call's ms."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    body()
    torch.cuda.synchronize()
    first = (time.perf_counter() - start) * 1e3
    times, total = [], time.perf_counter()
    max_runs = 5 if quick else 20
    while len(times) < min_runs or (len(times) < max_runs and time.perf_counter() - total < budget):
        start = time.perf_counter()
        body()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), first


def fmt(ms):
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def gemm(quick):
    sizes = [1024, 2048, 4096] if quick else [1024, 2048, 4096, 8192]
    print("## GEMM (float32, C = A·B, square n × n)\n")
    print("| n | ms | GFLOP/s | first call ms |")
    print("|---:|---:|---:|---:|")
    for n in sizes:
        g = torch.Generator(device="cuda").manual_seed(1)
        a = torch.randn(n, n, device="cuda", generator=g)
        b = torch.randn(n, n, device="cuda", generator=g)
        ms, first = timed(lambda: a @ b, quick)
        print(f"| {n} | {fmt(ms)} | {2 * n ** 3 / (ms * 1e-3) / 1e9:.0f} | {fmt(first)} |")
    print()


def convolutions(quick, batch=64):
    print(f"## conv2d, ResNet-18 layer shapes, batch {batch}, float32 (no bias)\n")
    print("| layer | input | weight | forward ms | backward ms (input + weight grads) | first forward ms |")
    print("|---|---|---|---:|---:|---:|")
    for name, cin, cout, k, s, p, hw in RESNET18_CONVS:
        x = torch.randn(batch, cin, hw, hw, device="cuda", requires_grad=True)
        w = (torch.randn(cout, cin, k, k, device="cuda") * 0.05).requires_grad_()
        with torch.no_grad():
            fwd, first = timed(lambda: F.conv2d(x, w, None, s, p), quick)
        upstream = torch.ones_like(F.conv2d(x.detach(), w.detach(), None, s, p))

        def both():
            y = F.conv2d(x, w, None, s, p)
            y.backward(upstream)
            x.grad = None
            w.grad = None

        total, _ = timed(both, quick)
        print(f"| {name} | {batch}×{cin}×{hw}×{hw} | {cout}×{cin}×{k}×{k} | {fmt(fwd)} | {fmt(max(0.0, total - fwd))} | {fmt(first)} |")
    print()


class ConvStack(nn.Module):
    """The C# program's ResNet-18-shaped stack: ResNet-18's convolutions, batch norms, shortcuts and head."""

    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.mains, self.shortcuts = nn.ModuleList(), nn.ModuleList()
        cin = 64
        for width, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
            self.mains.append(nn.Sequential(
                nn.Conv2d(cin, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width)))
            self.shortcuts.append(nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))
                                  if stride != 1 or cin != width else nn.Identity())
            cin = width
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = self.stem(x)
        for main, shortcut in zip(self.mains, self.shortcuts):
            h = F.relu(main(h) + shortcut(h))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def training_step(quick, batch=64):
    models = [("ResNet-18-shaped conv stack", ConvStack())]
    try:
        import torchvision
        models.append(("torchvision resnet18", torchvision.models.resnet18()))
    except ImportError:
        pass
    print(f"## Training step, batch {batch}, 224×224, float32, SGD\n")
    print("| model | step ms (median) | images/s | first step ms | peak allocated MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, model in models:
        torch.manual_seed(0)
        model = model.cuda().train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        images = torch.randn(batch, 3, 224, 224, device="cuda")
        labels = torch.randint(0, 1000, (batch,), device="cuda")

        def step():
            loss = F.cross_entropy(model(images), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.item()

        torch.cuda.reset_peak_memory_stats()
        ms, first = timed(step, quick, min_runs=3 if quick else 10, budget=10.0)
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
        print(f"| {name} | {fmt(ms)} | {batch / (ms / 1000):.0f} | {fmt(first)} | {peak:.0f} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, GEMM up to 4096")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 tensor cores for float32 (PyTorch's default for convolutions)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this reference needs a GPU")
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = True
    print(f"# PyTorch {torch.__version__} reference on {torch.cuda.get_device_name()} "
          f"(CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, TF32 {'on' if args.tf32 else 'off'})\n")
    gemm(args.quick)
    convolutions(args.quick)
    training_step(args.quick)


if __name__ == "__main__":
    main()
