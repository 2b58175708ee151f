#!/usr/bin/env bash
# The main job on the default model (taef2): build, inspect the weights, decode a latent and
# round-trip an image. Weights come from $TAEC_MODEL_DIR (default: ../shared/models).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
export TAEC_MODEL_DIR="${TAEC_MODEL_DIR:-$(cd .. && pwd)/shared/models}"
out="${TAEC_OUT:-build/main_job}"
mkdir -p "$out"
taec=build/taec
"$taec" info taef2
image="${TAEC_IMAGE:-../shared/images/chelsea.png}"
echo "== encode $image"
time "$taec" encode taef2 "$image" -o "$out/latent.npy"
echo "== decode"
time "$taec" decode taef2 "$out/latent.npy" --layout nchw --png "$out/roundtrip.png" --npy "$out/roundtrip.npy"
echo "outputs in $out"
