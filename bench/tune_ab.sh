#!/usr/bin/env bash
# Measured kernel choice against the built-in defaults, side by side: for each size, `taec bench`
# with --tune off and --tune fast alternate ROUNDS times (same process conditions, interleaved so
# drift hits both), each run a median over ITERS decodes; prints the median of the medians, the
# ratio, and the first-compile cost of tuning (fresh cache) against a compile from the cache.
#   bench/tune_ab.sh [MODEL] [PRECISION] [SIZES...]     e.g. bench/tune_ab.sh taef2 fp32 512 1024
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-taef2}"
precision="${2:-fp32}"
shift 2 || true
sizes=("${@:-512 1024}")
rounds="${ROUNDS:-5}"
iters="${ITERS:-5}"
taec=build/taec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TAEC_TUNE_CACHE="$tmp/tune-cache.json"
# One bench run; prints "median_s compile_s".
one() {
  "$taec" bench "$model" --precision "$precision" --sizes "$1" --warmup 1 --iters "$iters" --tune "$2" --json "$tmp/r.json" >/dev/null
  /usr/bin/python3 -c "import json; r = json.load(open('$tmp/r.json'))['results'][0]; print(r['median_s'], r['compile_s'])"
}
printf '%-6s %12s %12s %8s %16s %16s\n' size "off ms" "fast ms" "off/fast" "tuning compile s" "cached compile s"
for s in ${sizes[*]}; do
  rm -f "$TAEC_TUNE_CACHE"
  read -r _ first_compile < <(one "$s" fast)
  off=() fast=() cached_compile=0
  for ((i = 0; i < rounds; i++)); do
    read -r t _ < <(one "$s" off)
    off+=("$t")
    read -r t cached_compile < <(one "$s" fast)
    fast+=("$t")
  done
  /usr/bin/python3 - "$s" "$first_compile" "$cached_compile" "${off[*]}" "${fast[*]}" <<'EOF'
import statistics, sys
size, first, cached, off, fast = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
o, f = statistics.median(map(float, off)), statistics.median(map(float, fast))
print(f"{size:<6} {o * 1e3:12.1f} {f * 1e3:12.1f} {o / f:8.3f} {first:16.2f} {cached:16.2f}")
EOF
done
