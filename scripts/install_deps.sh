#!/usr/bin/env bash
# Installs taec's build and test dependencies from Debian (bookworm) packages. Idempotent: runs
# apt only when something is missing. Extra package names given as arguments are added (CI adds
# the sanitizer and fuzzing toolchain).
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config
  libzip-dev          # .pth checkpoints are zip archives
  libstb-dev          # PNG write, image resizing
  libpng-dev          # PNG read
  libjpeg62-turbo-dev # JPEG read (libjpeg-turbo)
  nlohmann-json3-dev  # safetensors headers, manifests
  libcli11-dev        # the CLI
  libssl-dev          # SHA-256
  libcurl4-openssl-dev  # fetching the official weights (checksummed)
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # video files (src/io/video_*)
  ffmpeg              # tests: makes inputs taec's writer does not (odd sizes, rotation), ffprobe
  libprotobuf-dev protobuf-compiler  # Core ML export: model.mlmodel is a protobuf (proto/coreml)
  libgtest-dev libgmock-dev
  python3-dev pybind11-dev python3-pybind11  # the Python module (python/): built by CMake against the library
  python3-numpy python3-setuptools python3-wheel  # its runtime and `pip install .` / wheel build, offline
  python3-build python3-venv python3-pip  # tests: `python3 -m build --wheel`, installed into a fresh venv
  python3-pil           # tests: the ComfyUI previewer returns PIL images
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
