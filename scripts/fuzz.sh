#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan + fuzzer coverage) into build-fuzz and runs
# each for SECONDS (default 60), seeded with the real files from ../shared. Prints execs and
# coverage per target; exits non-zero on any crash, leak or sanitizer report (the reproducer is
# left in build-fuzz/artifacts). TAEC_FUZZ_SEED fixes libFuzzer's seed; with TAEC_FUZZ_FIXED_RUNS=1
# each target runs a fixed number of inputs (about 60 s each here) instead of a time budget, so a
# run from the same seeds is repeatable (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shared="${TAEC_SHARED_DIR:-$(cd .. && pwd)/shared}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAEC_BUILD_TESTS=OFF \
  -DTAEC_FUZZ=ON -DTAEC_SANITIZE=address,undefined >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_checkpoint fuzz_pickle fuzz_npy fuzz_image
corpus=build-fuzz/corpus
artifacts=build-fuzz/artifacts
mkdir -p "$artifacts"
seed() {  # target, files...
  local dir="$corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$dir/" || true; done
}
seed fuzz_checkpoint "$shared"/models/*.pth "$shared"/models/*.safetensors
mkdir -p "$corpus/fuzz_pickle"
for f in "$shared"/models/*.pth; do  # the data.pkl records, unzipped
  [ -f "$f" ] && unzip -p "$f" '*/data.pkl' > "$corpus/fuzz_pickle/$(basename "$f").pkl" 2>/dev/null || true
done
seed fuzz_npy "$shared"/golden/taef2/dec_tiny_*.npy "$shared"/golden/taef1_synthetic/dec_tiny_*.npy
seed fuzz_image "$shared"/images/*.png "$shared"/images/*.jpg
status=0
for target in fuzz_checkpoint fuzz_pickle fuzz_npy fuzz_image; do
  log="build-fuzz/$target.log"
  budget=(-max_total_time="$seconds")
  if [ "${TAEC_FUZZ_FIXED_RUNS:-0}" = 1 ]; then
    case $target in
      fuzz_checkpoint) runs=250000 ;; fuzz_pickle) runs=500000 ;; fuzz_npy) runs=10000000 ;; *) runs=120000 ;;
    esac
    budget=(-runs="$runs" -max_total_time=600)
  fi
  if ! ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz/$target "$corpus/$target" "${budget[@]}" \
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
