#!/usr/bin/env bash
# Peak RSS of a whole-process `taec decode` (latent .npy in, PNG / .npy out) against `taec bench`
# of the same plan, per size. The decode streams its output band by band, so it should cost the
# plan (arena + packed weights) plus the latent, not the plan plus full-size images.
#   bench/decode_memory.sh [MODEL] [SIZES...]     e.g. bench/decode_memory.sh taef2 1024 2048
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-taef2}"
shift || true
sizes=("${@:-1024 2048}")
taec=build/taec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }  # KiB
printf '%-6s %14s %14s %14s %14s\n' size "bench MiB" "decode png" "decode npy" "png + npy"
for s in ${sizes[*]}; do
  l=$((s / 8))
  /usr/bin/python3 -c "import numpy as np; np.save('$tmp/l.npy', np.random.default_rng(0).standard_normal((1,32,$l,$l)).astype(np.float32))"
  b=$(rss $taec bench "$model" --sizes "$s" --warmup 0 --iters 1 --layout nchw)
  p=$(rss $taec decode "$model" "$tmp/l.npy" --layout nchw --png "$tmp/o.png" -q)
  n=$(rss $taec decode "$model" "$tmp/l.npy" --layout nchw --npy "$tmp/o.npy" -q)
  both=$(rss $taec decode "$model" "$tmp/l.npy" --layout nchw --png "$tmp/o.png" --npy "$tmp/o.npy" -q)
  awk -v s="$s" -v b="$b" -v p="$p" -v n="$n" -v t="$both" 'BEGIN { printf "%-6s %14.1f %14.1f %14.1f %14.1f\n", s, b/1024, p/1024, n/1024, t/1024 }'
done
