#!/usr/bin/env bash
# Runs the whole test suite (the README's test command): the core tests, then the GPU backend's tests (on ILGPU's
# CPU simulator; tests that need a real CUDA GPU are skipped with a reason when none is present).
# Needs only the .NET 10 SDK; NuGet restores the rest. Extra arguments go to every `dotnet test`.
set -uo pipefail
cd "$(dirname "$0")/.."
core=tests/AutoGradNet.Tests/AutoGradNet.Tests.csproj
# Each run, fields separated by ";": environment assignments (or "-"), project, extra arguments. The last two runs
# repeat the GEMM, convolution (few-input-channel kernels included) and pooling kernel tests with the JIT denied AVX-512 (the ymm micro-kernel and direct
# convolution tiles) and then AVX2 (the scalar fallbacks), so every code path of those kernels is checked on a machine
# that has AVX-512. .NET 10 reads DOTNET_EnableAVX512 (DOTNET_EnableAVX512F, its older name, no longer turns it off).
kernels="FullyQualifiedName~GemmTests|FullyQualifiedName~ConvolutionTests|FullyQualifiedName~FewInputChannelsTests|FullyQualifiedName~WinogradTests|FullyQualifiedName~PoolingTests"
runs=(
  "-;$core;"
  "-;tests/AutoGradNet.Gpu.Tests/AutoGradNet.Gpu.Tests.csproj;"
  "DOTNET_EnableAVX512=0;$core;--no-build --filter $kernels"
  "DOTNET_EnableAVX2=0;$core;--no-build --filter $kernels"
)
status=0
passed=0 failed=0 skipped=0
for run in "${runs[@]}"; do
  IFS=";" read -r environment project extra <<<"$run"
  [ "$environment" = "-" ] && environment=""
  log=$(mktemp)
  # shellcheck disable=SC2086  # $extra holds separate arguments
  env $environment dotnet test "$project" -c Release $extra "$@" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  [ "$code" -ne 0 ] && status=$code
  summary=$(grep -E '(Passed|Failed)!' "$log" | tail -n 1)
  if [ -n "$summary" ]; then
    failed=$((failed + $(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$summary")))
    passed=$((passed + $(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$summary")))
    skipped=$((skipped + $(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$summary")))
  elif [ "$code" -ne 0 ]; then
    echo "no test summary from $project (build failure?)"
  fi
  rm -f "$log"
done
if [ "$skipped" -gt 0 ]; then
  echo "Skipped tests state their reason (e.g. no CUDA GPU) in the detailed log: add --logger 'console;verbosity=detailed'."
fi
# One plain summary line ("N passed, N failed, N skipped") over both projects, for tools that read the closing line.
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
