#!/usr/bin/env bash
# The wheel: `python3 -m build --wheel` (isolated, offline, reusing the CMake tree $2) makes a
# wheel; it installs into a new virtual environment, where the Python tests run against the
# installed copy (not the build tree's). Debian's numpy (and torch, if installed) come from the
# system site-packages, as they would on a user's machine without a package index.
set -euo pipefail
python=$1
tree=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$src" && TAEC_CMAKE_BUILD_DIR="$tree" "$python" -m build --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1) ||
  { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/taec-*.whl)
echo "built $(basename "$wheel")"
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --no-index --quiet "$wheel"
cd "$work"
"$work/venv/bin/python" -c 'import sys, taec; assert taec.__file__.startswith(sys.prefix), taec.__file__; print("taec", taec.__version__, "from", taec.__file__)'
PYTHONPATH="$src/tests/python" PYTHONDONTWRITEBYTECODE=1 "$work/venv/bin/python" -m unittest test_golden test_zero_copy test_errors test_threads test_dropins
