#!/usr/bin/env bash
# libtorch side of the side-by-side CPU benchmark (benchmarks/AutoGradNet.TorchBaseline, TorchSharp-cpu 0.107.0):
# restore (~280 MB the first time), build Release, patch the native library, run every case.
#
#   bash benchmarks/torch-baseline.sh                       # all cases, report in BenchmarkDotNet.Artifacts/results/torch-baseline.md
#   bash benchmarks/torch-baseline.sh --filter '*Conv*'     # one suite; other arguments go to the program / BenchmarkDotNet
#
# Why the patch: TorchSharp 0.107.0's libLibTorchSharp.so asks for GLIBCXX_3.4.32 (GCC 13's libstdc++), which
# Debian 12 lacks (its libstdc++ stops at 3.4.30). Only one symbol needs that version
# (std::ios_base_library_init, referenced but never called), so marking the version requirement weak lets the
# loader accept the library. The patch is applied to the copy in the build output, never to the NuGet cache, and
# must be redone after every build (MSBuild copies the original again) -- hence this script instead of `dotnet run`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

project=benchmarks/AutoGradNet.TorchBaseline
out=$project/bin/Release/net10.0
# The patch tool lives in the shared folder beside the checkout (../shared/tools from the repository root).
tool=${LIBTORCHSHARP_PATCH_TOOL:-$repo/../shared/tools/libtorchsharp-glibcxx-weak.py}

if [ ! -f "$tool" ]; then
  echo "error: patch tool not found: $tool" >&2
  echo "  It is expected in the shared folder beside the checkout ($(cd "$repo/.." && pwd)/shared/tools/)." >&2
  echo "  Set LIBTORCHSHARP_PATCH_TOOL=/path/to/libtorchsharp-glibcxx-weak.py to use another copy." >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "error: python3 is needed to run $tool" >&2; exit 1; }

echo "== restore + build ($project, Release)"
dotnet build "$project" -c Release -nologo -clp:NoSummary -v:quiet

lib=$out/runtimes/linux-x64/native/libLibTorchSharp.so
if [ ! -f "$lib" ]; then
  echo "error: $lib is missing after the build (is this a linux-x64 machine?)" >&2
  exit 1
fi
echo "== patch $lib (GLIBCXX_3.4.32 -> weak)"
python3 "$tool" "$lib" GLIBCXX_3.4.32

echo "== run"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
# The exact command, shell-quoted, for the report header.
cmd="bash benchmarks/torch-baseline.sh"
for arg in "$@"; do
  if [[ $arg =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then cmd+=" $arg"; else cmd+=" '${arg//\'/\'\\\'\'}'"; fi
done
export TORCH_BASELINE_COMMAND=$cmd
if commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
  [ -z "$(git -C "$repo" status --porcelain -- benchmarks/AutoGradNet.TorchBaseline benchmarks/torch-baseline.sh)" ] || commit+=" (with uncommitted changes)"
  export TORCH_BASELINE_COMMIT="$commit, branch $(git -C "$repo" rev-parse --abbrev-ref HEAD)"
fi
exec dotnet "$out/AutoGradNet.TorchBaseline.dll" "$@"
