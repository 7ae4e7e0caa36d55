#!/usr/bin/env bash
# Runs the whole test suite (the README's test command). Needs only the .NET 10 SDK; NuGet restores the rest.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
dotnet test tests/AutoGradNet.Tests/AutoGradNet.Tests.csproj -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# One plain summary line ("N passed, N failed, N skipped") for tools that read the closing line.
summary=$(grep -E '(Passed|Failed)!' "$log" | tail -n 1)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$summary")
  passed=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$summary")
  skipped=$(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$summary")
  echo "$passed passed, $failed failed, $skipped skipped"
fi
rm -f "$log"
exit "$status"
