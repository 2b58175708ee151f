#!/usr/bin/env bash
# Side-by-side decode timings of the compiled precisions (fp32, bf16 = FP16-class, int8 weights +
# activations) for one model and size: ROUNDS rounds, each running every precision once
# (`taec bench`, 1 warm-up + ITERS timed runs), alternated so drift on a shared machine hits all
# alike. Prints each round's medians, then per precision the median over rounds and the speed-up
# against fp32 and bf16.
#
#   scripts/bench_precisions.sh [MODEL=taef2] [SIZE=1024] [ROUNDS=3] [ITERS=5]
#
# int8 calibrates on $TAEC_IMAGE_DIR (the photos) with the model's encoder, as `taec pack` does.
set -euo pipefail
model=${1:-taef2}
size=${2:-1024}
rounds=${3:-3}
iters=${4:-5}
taec=${TAEC:-$(dirname "$0")/../build/taec}
precisions=(fp32 bf16 int8)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for p in "${precisions[@]}"; do
    line=$("$taec" bench "$model" --sizes "$size" --precision "$p" --iters "$iters" 2>/dev/null | grep "^${size}x${size}")
    median=$(awk '{sub("s", "", $4); print $4}' <<<"$line")
    echo "round $r $p median ${median} s"
    echo "$p $median" >>"$results"
  done
done
echo "$model ${size}x${size}, median over $rounds rounds of the per-round median ($iters runs):"
awk -v list="${precisions[*]}" '
  { t[$1] = t[$1] " " $2 }
  function median(s,   a, n, i, j, x) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split(list, ps, " ")
    for (i in ps) m[ps[i]] = median(t[ps[i]])
    printf "%-6s %9s %12s %12s\n", "", "median s", "vs fp32", "vs bf16"
    for (i = 1; i <= length(ps); i++) { p = ps[i]; printf "%-6s %9.3f %11.2fx %11.2fx\n", p, m[p], m["fp32"] / m[p], m["bf16"] / m[p] }
  }' "$results"
