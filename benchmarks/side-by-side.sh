#!/usr/bin/env bash
# The side-by-side CPU run of the CPU-speed issue, in one command (run it on a quiet machine):
#   1. AutoGradNet's suites that have a libtorch counterpart (benchmarks/AutoGradNet.Benchmarks),
#   2. the libtorch baseline (benchmarks/torch-baseline.sh -> benchmarks/AutoGradNet.TorchBaseline),
# both with the same BenchmarkDotNet job: 3 warm-up and 15 measured iterations, medians reported.
# Reports: BenchmarkDotNet.Artifacts/results/ (AutoGradNet: *-report-github.md; libtorch: torch-baseline.md).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

job=(--warmupCount 3 --iterationCount 15)
echo "== load before: $(cat /proc/loadavg)"

echo "== AutoGradNet (benchmarks/AutoGradNet.Benchmarks)"
# '*LeNet*' and '*ResNet*' pick up the train-step suites once AutoGradNet.Benchmarks has them (no match is fine).
dotnet run -c Release --project benchmarks/AutoGradNet.Benchmarks -- \
  --filter '*MatMulBenchmarks*' '*ConvBenchmarks.ForwardBackward*' '*OverheadBenchmarks*' '*LeNet*' '*ResNet*' \
  "${job[@]}"

echo "== libtorch (benchmarks/torch-baseline.sh)"
bash benchmarks/torch-baseline.sh "${job[@]}"

echo "== load after: $(cat /proc/loadavg)"
