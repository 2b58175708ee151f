#!/usr/bin/env bash
# The main job on the default model (taef2): build; pack the decoder at the product's sizes into
# one package (FP16-class, NHWC, fp16 I/O), each size validated against the fp32 reference on
# seeded random latents and on latents of real photos; verify the package; benchmark it.
# Weights come from $TAEC_MODEL_DIR (default ../shared/models), photos from $TAEC_IMAGE_DIR
# (default ../shared/images; without photos the validation uses random latents only).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
export TAEC_MODEL_DIR="${TAEC_MODEL_DIR:-$(cd .. && pwd)/shared/models}"
if [ -z "${TAEC_IMAGE_DIR:-}" ] && [ -d ../shared/images ]; then export TAEC_IMAGE_DIR="$(cd ../shared/images && pwd)"; fi
out="${TAEC_OUT:-build/main_job}"
sizes="${TAEC_SIZES:-768,1024,1280,1536,1792,2048}"
mkdir -p "$out"
taec=build/taec
"$taec" info taef2
echo "== pack (validates every size)"
"$taec" pack taef2 --sizes "$sizes" --precision bf16 --layout nhwc --io fp16 --out "$out/taef2_bf16"
echo "== verify"
"$taec" verify "$out/taef2_bf16"
echo "== bench the package"
"$taec" bench --package "$out/taef2_bf16" --warmup 1 --iters 3 --json "$out/bench.json"
"$taec" bench --package "$out/taef2_bf16" --rss-table
echo "outputs in $out"
