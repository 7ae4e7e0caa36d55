#!/usr/bin/env bash
# A/B timing on a noisy machine: alternates runs of two builds of the Stopwatch harness and prints the matching
# lines of each, sorted, so medians can be compared run against run.
#
#   bash benchmarks/ab.sh ROUNDS REGEX "ENV_A" "ENV_B" -- HARNESS_ARGS...
#
# ENV_A / ENV_B are environment assignments for each side; TREE=<dir> picks a checkout whose Release build of
# benchmarks/AutoGradNet.Benchmarks to run (default: this repository). Example, the previous commit against the
# working tree, LeNet's conv2 kernels:
#   git worktree add ../base HEAD~1 && (cd ../base && dotnet build -c Release benchmarks/AutoGradNet.Benchmarks)
#   bash benchmarks/ab.sh 3 implicit "TREE=$PWD/../base SHAPE=64,20,14,50,5,2" "SHAPE=64,20,14,50,5,2" -- --convparts 21
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=$1 pattern=$2 a=$3 b=$4
shift 4
[ "${1:-}" = "--" ] && shift
export DOTNET_TieredCompilation=0
for _ in $(seq "$rounds"); do
  for side in "$a" "$b"; do
    tree=$repo
    for kv in $side; do case $kv in TREE=*) tree=${kv#TREE=} ;; esac; done
    # shellcheck disable=SC2086  # $side holds separate assignments
    env $side dotnet "$tree/benchmarks/AutoGradNet.Benchmarks/bin/Release/net10.0/AutoGradNet.Benchmarks.dll" "$@" \
      | { grep -E "$pattern" || true; } | sed "s|^|[$side] |"
  done
done | sort
