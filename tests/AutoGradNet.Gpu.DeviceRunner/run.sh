#!/usr/bin/env bash
# The GPU machine's side of tests/AutoGradNet.Gpu.DeviceRunner: run from the repository root as
#   bash .devpkg/run.sh            (pack.sh puts this script there beside gpu.tar.xz)
# on a machine with an NVIDIA driver but no .NET. Steps, each with a timeout drawn from one overall budget
# (AGN_BUDGET_S seconds, default 390), logs in $OUT (default out/device):
#   1. unpack gpu.tar.xz (the self-contained agn-device program) to /tmp/agn-device; nvidia-smi   -> nvidia-smi.txt
#   2. make libcuda.so and cuBLAS findable (symlinks in /tmp/agn-libs, LD_LIBRARY_PATH)            -> libs.txt
#   3. agn-device info: what ILGPU sees, whether cuBLAS loads                                      -> info.log
#   4. the GPU tests with AUTOGRADNET_TEST_DEVICE=cuda: the agreement tests on the GPU, then the
#      CUDA-only facts (the simulator-only PTX test is left out; CI runs it)                      -> tests.log
#   5. agn-device bench --quick --matmul both (benchmarks/AutoGradNet.GpuBench)                    -> bench.log
#   6. python3 benchmarks/gpu_reference.py --quick (PyTorch, the same cases)                       -> torch.log
# Then a short summary. Exit status: the tests' (0 all passed, 1 a failure, 3 no GPU, 124 timed out).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$PWD/out/device}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1
export PYTHONUNBUFFERED=1 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
budget=${AGN_BUDGET_S:-390}
start=$(date +%s)
left() { echo $((budget - ($(date +%s) - start))); }
# cap WANT [RESERVE]: WANT seconds, or what the budget has left after RESERVE seconds, whichever is less.
cap() { local l; l=$(($(left) - ${2:-0})); if [ "$1" -lt "$l" ]; then echo "$1"; else echo "$l"; fi; }
step() { echo; echo "=== $* (t+$(($(date +%s) - start)) s, $(left) s of the budget left)"; }

step "unpack"
app=/tmp/agn-device
archive="$here/gpu.tar.xz"
rm -rf "$app" && mkdir -p "$app"
if command -v xz >/dev/null 2>&1; then
  tar -xJf "$archive" -C "$app"
else
  echo "no xz: unpacking with Python's lzma"
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$archive" "$app"
fi
bin="$app/agn-device"
chmod +x "$bin" 2>/dev/null
ls "$bin" >/dev/null || { echo "FATAL: $bin missing after unpacking $archive"; exit 2; }
echo "unpacked to $app ($(du -sh "$app" | cut -f1))"

step "nvidia-smi"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu,compute_mode --format=csv
  nvidia-smi | head -n 20
} >"$OUT/nvidia-smi.txt" 2>&1
head -n 14 "$OUT/nvidia-smi.txt"

step "libraries"
libs=/tmp/agn-libs
rm -rf "$libs" && mkdir -p "$libs"
{
  # ILGPU asks for "libcuda.so"; a driver-only machine may have just libcuda.so.1.
  ldc=$(command -v ldconfig || echo /sbin/ldconfig)
  libcuda=$("$ldc" -p 2>/dev/null | awk '/libcuda\.so\.1 .*x86-64/ {print $NF; exit}')
  [ -z "$libcuda" ] && libcuda=$("$ldc" -p 2>/dev/null | awk '/libcuda\.so\.1 / {print $NF; exit}')
  if [ -z "$libcuda" ]; then
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib; do
      [ -e "$d/libcuda.so.1" ] && { libcuda="$d/libcuda.so.1"; break; }
    done
  fi
  if [ -n "$libcuda" ]; then ln -sf "$libcuda" "$libs/libcuda.so"; echo "libcuda: $libcuda"; else echo "libcuda.so.1 not found"; fi
  # cuBLAS: ILGPU.Algorithms 1.5.3 loads libcublas.so.12, .11 or .10. PyTorch's wheels bring one (nvidia-cublas-cu12:
  # site-packages/nvidia/cublas/lib; CUDA 13 builds: nvidia/cu13/lib/libcublas.so.13, linked here as .so.12).
  cublas=""
  sites=$(python3 - <<'PY' 2>/dev/null | sort -u
import os, site, sys
paths = [p for p in sys.path if p]
for f in ("getsitepackages", "getusersitepackages"):
    try:
        r = getattr(site, f)()
        paths += [r] if isinstance(r, str) else list(r)
    except Exception:
        pass
paths.append(os.path.join(sys.prefix, "lib"))
print("\n".join(paths))
PY
)
  for want in libcublas.so.12 libcublas.so.11 libcublas.so.13; do
    for d in $sites ${CONDA_PREFIX:+$CONDA_PREFIX/lib} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
      [ -d "$d" ] || continue
      cublas=$(find "$d" -maxdepth 5 -name "$want" 2>/dev/null | head -n 1)
      [ -n "$cublas" ] && break 2
    done
  done
  if [ -n "$cublas" ]; then
    cublasdir=$(dirname "$cublas")
    echo "cuBLAS: $cublas"
    case "$cublas" in
      *.so.13) ln -sf "$cublas" "$libs/libcublas.so.12"; echo "linked as libcublas.so.12 (ILGPU 1.5.3 knows up to 12)";;
    esac
    export LD_LIBRARY_PATH="$libs:$cublasdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    echo "cuBLAS not found: the cuBLAS GEMM path will report n/a"
    export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
} >"$OUT/libs.txt" 2>&1
cat "$OUT/libs.txt"
# The exports inside { } >file ran in this shell (a group, not a subshell).

step "info"
timeout -k 5 "$(cap 60)" "$bin" info 2>&1 | tee "$OUT/info.log"

# The agreement tests (written against the simulator) on the GPU first, then the CUDA-only facts and the rest.
order="DeviceTests,BackendAgreementTests,OpAgreementTests,ConvolutionTests,TrainingTests,CudaTests,FashionMnistDeviceTests,*"
skip="PtxCompilationTests,FashionMnistDeviceTests.TrainsOnTheSimulator"
t=$(cap 200 150)
[ "$t" -lt 60 ] && t=60 # the tests come first whatever the budget
step "tests on the GPU (AUTOGRADNET_TEST_DEVICE=cuda, ${t} s)"
AUTOGRADNET_TEST_DEVICE=cuda timeout -k 10 "$t" "$bin" tests --run "$order" --skip "$skip" --timeout $((t - 5)) 2>&1 | tee "$OUT/tests.log"
tests_rc=${PIPESTATUS[0]}
echo "tests exit code: $tests_rc"

t=$(cap 180 70)
if [ "$t" -ge 30 ]; then
  step "GpuBench --quick --matmul both (${t} s)"
  timeout -k 10 "$t" "$bin" bench --quick --matmul both 2>&1 | tee "$OUT/bench.log"
  echo "bench exit code: ${PIPESTATUS[0]}"
else
  step "GpuBench skipped: only $(left) s left"
fi

root=""
for d in "$PWD" "$here/.." "$here/../.."; do [ -f "$d/benchmarks/gpu_reference.py" ] && { root="$d"; break; }; done
t=$(cap 120 3)
if [ -z "$root" ]; then
  step "PyTorch reference skipped: benchmarks/gpu_reference.py not found"
elif [ "$t" -ge 25 ]; then
  step "PyTorch reference --quick (${t} s)"
  timeout -k 5 "$t" python3 "$root/benchmarks/gpu_reference.py" --quick 2>&1 | tee "$OUT/torch.log"
  echo "torch exit code: ${PIPESTATUS[0]}"
else
  step "PyTorch reference skipped: only $(left) s left"
fi

step "summary"
head -n 2 "$OUT/nvidia-smi.txt"
grep -E '^(ILGPU|cuBLAS|cuda)' "$OUT/info.log" 2>/dev/null
echo "-- tests (full log: tests.log):"
grep -E '^\[FAIL\]|^\[ERROR\]|^# (TIMED OUT|failed|total)|^#   |^[0-9]+ passed' "$OUT/tests.log" 2>/dev/null | tail -n 60
echo "-- bench (full log: bench.log):"
[ -f "$OUT/bench.log" ] && sed -n '/^## First-use/q;/^|/p;/^##/p' "$OUT/bench.log" && grep -E '^## First-use' "$OUT/bench.log"
echo "-- torch (full log: torch.log):"
[ -f "$OUT/torch.log" ] && grep -E '^(#|\|)' "$OUT/torch.log"
echo "run.sh done in $(($(date +%s) - start)) s; tests exit code $tests_rc"
exit "$tests_rc"
