#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan). Left out: the
# golden cases run through the slow scalar reference engine or scalar ISA paths (the same code
# runs under the sanitizers in the kernel and plan tests at smaller sizes; at golden sizes they
# took 8 of the 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/configure_asan.sh
cmake --build build-asan -j "$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j "$(nproc)" \
  -E 'ReferencePlanMatchesPyTorch|GoldenLayouts|golden_fp32_isa_|golden_bf16_isa_|PackGolden.*taef2_bf16'
