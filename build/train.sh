#!/usr/bin/env bash
# The main job (the README's first command): trains a network end to end with AutoGradNet.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project examples/MlpDemo -- "$@"
