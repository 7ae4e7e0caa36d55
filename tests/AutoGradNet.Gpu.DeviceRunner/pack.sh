#!/usr/bin/env bash
# Writes .devpkg/ at the repository root for a GPU machine that has an NVIDIA driver but no .NET:
#   gpu.tar.xz  this program (agn-device: the GPU tests in-process, and the GPU benchmarks) published self-contained
#               for linux-x64, untrimmed (ILGPU compiles kernels from IL by reflection at run time)
#   run.sh      what to run there from the repository root: bash .devpkg/run.sh (see its header)
#   VERSION     the commit it was built from
# It publishes from a clean export of HEAD (uncommitted edits stay out; --worktree publishes the working tree as it
# is). Needs the .NET 10 SDK and xz; takes a few minutes on two cores. .devpkg/ is not for committing: add
# /.devpkg/ to .git/info/exclude.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
from=HEAD
[ "${1:-}" = "--worktree" ] && from=worktree
work=$(mktemp -d /tmp/agn-pack.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ "$from" = HEAD ]; then
  mkdir "$work/src"
  git archive HEAD | tar -x -C "$work/src"
  src="$work/src"
  version="$(git rev-parse HEAD) ($(git log -1 --format=%cd --date=iso))"
else
  src="$root"
  version="working tree on $(git rev-parse HEAD), $(date -u '+%Y-%m-%d %H:%M') UTC"
fi
dotnet publish "$src/tests/AutoGradNet.Gpu.DeviceRunner" -c Release -o "$work/publish" -nologo
[ -x "$work/publish/agn-device" ] || { echo "publish produced no agn-device" >&2; exit 1; }
mkdir -p .devpkg
tar -C "$work/publish" -cf - . | xz -9e -T2 > .devpkg/gpu.tar.xz.tmp
mv .devpkg/gpu.tar.xz.tmp .devpkg/gpu.tar.xz
cp tests/AutoGradNet.Gpu.DeviceRunner/run.sh .devpkg/run.sh
echo "$version" > .devpkg/VERSION
du -sh "$work/publish" .devpkg/gpu.tar.xz
du -sh .devpkg
