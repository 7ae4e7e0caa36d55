#!/usr/bin/env bash
# Runs the whole test suite (the README's test command). Needs only the .NET 10 SDK; NuGet restores the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet test tests/AutoGradNet.Tests/AutoGradNet.Tests.csproj -c Release --logger "console;verbosity=normal" "$@"
