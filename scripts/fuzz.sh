#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan + fuzzer coverage) into build-asan — the
# same configuration scripts/sanitize.sh tests with, so CI compiles it once — and runs each for
# SECONDS (default 60), seeded with the real files from ../shared. Prints execs and coverage per
# target; exits non-zero on any crash, leak or sanitizer report (the reproducer is left in
# build-asan/artifacts). TAEC_FUZZ_SEED fixes libFuzzer's seed; with TAEC_FUZZ_FIXED_RUNS=1 each
# target runs a fixed number of inputs (about 15 s each here) instead of a time budget, so a run
# from the same seeds is repeatable (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shared="${TAEC_SHARED_DIR:-$(cd .. && pwd)/shared}"
scripts/configure_asan.sh
cmake --build build-asan -j "$(nproc)" --target fuzz_checkpoint fuzz_pickle fuzz_npy fuzz_image fuzz_video fuzz_coreml fuzz_package taec_cli
corpus=build-asan/corpus
artifacts=build-asan/artifacts
mkdir -p "$artifacts"
seed() {  # target, files...
  local dir="$corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$dir/" || true; done
}
# The committed bad inputs too: deep JSON nesting, duplicate keys, overlapping strides, NaN
# weights — the classes hardening bounded, as starting points for mutation.
seed fuzz_checkpoint "$shared"/models/*.pth "$shared"/models/*.safetensors tests/corpus/bad/st_*.bad tests/corpus/bad/pth_*.bad
mkdir -p "$corpus/fuzz_pickle"
for f in "$shared"/models/*.pth tests/corpus/bad/pth_stride0.bad tests/corpus/bad/pth_overlapping_strides.bad; do  # the data.pkl records, unzipped
  [ -f "$f" ] && unzip -p "$f" '*/data.pkl' > "$corpus/fuzz_pickle/$(basename "$f").pkl" 2>/dev/null || true
done
seed fuzz_npy "$shared"/golden/taef2/dec_tiny_*.npy "$shared"/golden/taef1_synthetic/dec_tiny_*.npy
seed fuzz_image "$shared"/images/*.png "$shared"/images/*.jpg
# Small clips of every container and codec taec reads, made by the ffmpeg tool (install_deps.sh).
mkdir -p "$corpus/fuzz_video"
if command -v ffmpeg >/dev/null; then
  for clip in "mp4 libx264 yuv420p" "webm libvpx-vp9 yuv420p" "webm libvpx yuv420p" "avi mpeg4 yuv420p" "mkv ffv1 yuv444p" \
      "mov mjpeg yuvj420p"; do
    read -r ext codec pix_fmt <<<"$clip"
    ffmpeg -v error -y -f lavfi -i testsrc=size=48x32:rate=8 -frames:v 4 -c:v "$codec" -pix_fmt "$pix_fmt" \
      "$corpus/fuzz_video/$codec.$ext" </dev/null || echo "fuzz_video: could not make the $codec seed"
  done
else
  echo "fuzz_video: ffmpeg not installed; fuzzing without seeds"
fi
# Core ML packages written by the exporter, their three files joined as fuzz/fuzz_coreml.cc reads them.
mkdir -p "$corpus/fuzz_coreml"
coreml_tmp=build-asan/coreml_seeds
rm -rf "$coreml_tmp"
coreml_seed() {  # weights, extra export flags...
  local weights=$1
  shift
  [ -f "$weights" ] || return 0
  build-asan/taec export coreml "$weights" --sizes 8,16 --out "$coreml_tmp" "$@" >/dev/null ||
    echo "fuzz_coreml: could not export a seed from $weights; fuzzing with fewer seeds"
}
coreml_seed "$shared"/models/taef2_decoder.safetensors --multifunction
coreml_seed "$shared"/models/taef1_synthetic_decoder.safetensors --enumerated --io fp32 --layout nchw
# Compressed weights: the iOS18 constexpr ops, uint4 and int8 blobs.
coreml_seed "$shared"/models/taef2_decoder.safetensors --weights palette4
coreml_seed "$shared"/models/taef1_synthetic_decoder.safetensors --weights int8 --multifunction
for pkg in "$coreml_tmp"/*.mlpackage; do
  [ -d "$pkg" ] || continue
  { cat "$pkg/Manifest.json"; printf '\n--taec-coreml-part--\n'; cat "$pkg/Data/com.apple.CoreML/model.mlmodel"
    printf '\n--taec-coreml-part--\n'; cat "$pkg/Data/com.apple.CoreML/weights/weight.bin"; } \
    > "$corpus/fuzz_coreml/$(basename "$pkg" .mlpackage)"
done
# A taec package's three kinds of file, each prefixed with the selector byte fuzz_package reads.
mkdir -p "$corpus/fuzz_package"
package_tmp=build-asan/package_seed
if [ -f "$shared/models/taef2_decoder.safetensors" ]; then
  build-asan/taec pack "$shared/models/taef2_decoder.safetensors" --sizes 16,16x24 --random-inputs 1 --out "$package_tmp" 2>/dev/null
  { printf '\x00'; cat "$package_tmp/manifest.json"; } > "$corpus/fuzz_package/manifest"
  # Bounded classes as seeds: a duplicate key and nesting past the JSON depth limit.
  { printf '\x00{"format": "x",'; tail -c +2 "$package_tmp/manifest.json"; } > "$corpus/fuzz_package/manifest_duplicate_key"
  { printf '\x00{"deep": '; head -c 200 /dev/zero | tr '\0' '['; head -c 200 /dev/zero | tr '\0' ']'; printf ', '
    tail -c +2 "$package_tmp/manifest.json"; } > "$corpus/fuzz_package/manifest_deep"
  { printf '\x01'; cat "$package_tmp/plans/16x16.json"; } > "$corpus/fuzz_package/plan"
  { printf '\x02'; cat "$package_tmp/weight.bin"; } > "$corpus/fuzz_package/weights"
  # An int8 package: its manifest carries the activation calibration (one photo keeps it quick).
  mkdir -p "$package_tmp-photo"
  cp "$shared/images/chelsea.png" "$package_tmp-photo/"
  if build-asan/taec pack "$shared/models/taef2_decoder.safetensors" --sizes 16 --precision int8 --random-inputs 1 \
      --images "$package_tmp-photo" --out "$package_tmp-int8" 2>/dev/null; then
    { printf '\x00'; cat "$package_tmp-int8/manifest.json"; } > "$corpus/fuzz_package/manifest_int8"
  else
    echo "fuzz_package: could not pack the int8 seed; fuzzing with fewer seeds"
  fi
fi
status=0
for target in fuzz_checkpoint fuzz_pickle fuzz_npy fuzz_image fuzz_video fuzz_coreml fuzz_package; do
  log="build-asan/$target.log"
  budget=(-max_total_time="$seconds")
  if [ "${TAEC_FUZZ_FIXED_RUNS:-0}" = 1 ]; then
    case $target in
      fuzz_checkpoint) runs=60000 ;; fuzz_pickle) runs=125000 ;; fuzz_video) runs=10000 ;; fuzz_coreml) runs=1000 ;; fuzz_package) runs=150000 ;; fuzz_npy) runs=2500000 ;; *) runs=30000 ;;
    esac
    budget=(-runs="$runs" -max_total_time=600)
  fi
  if ! ASAN_OPTIONS=detect_leaks=1 build-asan/fuzz/$target "$corpus/$target" "${budget[@]}" \
      ${TAEC_FUZZ_SEED:+-seed="$TAEC_FUZZ_SEED"} \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/$target-" >"$log" 2>&1; then
    echo "$target: FAILED, see $log and $artifacts"
    tail -30 "$log"
    status=1
    continue
  fi
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1)
  echo "$target: ok, ${budget[*]}: $stats"
done
exit $status
