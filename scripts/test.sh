#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite. Fixtures (../shared/models and
# ../shared/golden) are found beside the checkout or through TAEC_MODEL_DIR / TAEC_GOLDEN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh chromium  # the round-trip report test renders its HTML in a headless browser
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
