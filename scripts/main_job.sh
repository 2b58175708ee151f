#!/usr/bin/env bash
# The main job on the default model (taef2): build, inspect the weights, round-trip an image
# (encode, decode), and benchmark the compiled decoder at the product's sizes.
# Weights come from $TAEC_MODEL_DIR (default: ../shared/models). Packing and validation join
# this job when `taec pack` / `taec validate` exist.
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
"$taec" encode taef2 "$image" -o "$out/latent.npy"
echo "== decode"
"$taec" decode taef2 "$out/latent.npy" --layout nchw --png "$out/roundtrip.png" --npy "$out/roundtrip.npy"
echo "== bench (compiled fp32 decoder, banded)"
"$taec" bench taef2 --sizes "${TAEC_BENCH_SIZES:-768,1024,1280,1536,1792,2048}" --warmup 1 --iters 3 \
  --json "$out/bench.json"
echo "outputs in $out"
