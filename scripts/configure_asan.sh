#!/usr/bin/env bash
# Configures build-asan: clang, ASan + UBSan, libFuzzer coverage, tests on. scripts/sanitize.sh
# runs the test suite from it and scripts/fuzz.sh the fuzz targets, so CI builds the library once
# for both.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAEC_SANITIZE=address,undefined \
  -DTAEC_FUZZ=ON -DTAEC_BUILD_TESTS=ON >/dev/null
