#!/usr/bin/env bash
# Makes sure Fashion-MNIST is in /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
set -euo pipefail
dir=/usr/share/datasets/fashion-mnist
if ls "$dir"/train-images-idx3-ubyte* >/dev/null 2>&1; then exit 0; fi
echo "Fashion-MNIST not found in $dir; installing the Debian package dataset-fashion-mnist…"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1 && { $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist; } then
  exit 0
fi
cat >&2 <<MSG
Could not install dataset-fashion-mnist. Either install it by hand:
    sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist
or download the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist into a folder and run
    dotnet run -c Release --project examples/FashionMnist -- --data FOLDER
MSG
exit 1
