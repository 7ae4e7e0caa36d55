#!/usr/bin/env bash
# The main job (the README's first command): trains a CNN on Fashion-MNIST with AutoGradNet.
# Extra arguments go to the trainer (see `bash build/train.sh --help`), e.g. --epochs 1 --limit 2000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/get-data.sh
dotnet run -c Release --project examples/FashionMnist -- "$@"
