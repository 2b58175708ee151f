#!/usr/bin/python3
"""Side-by-side decoder benchmark: taec against PyTorch and ONNX Runtime, on this machine, now.

Same weights (.safetensors), same latent, same thread count. Each round runs every contender once
in its own process (warm-up, then timed iterations), contenders alternating, so drift on a shared
machine hits all of them alike. Prints medians over all rounds and each peer's time / taec's time.

  /usr/bin/python3 bench/compare_peers.py --model taef2 --sizes 1024 --rounds 3

Needs Debian's python3-torch and python3-numpy; for ONNX Runtime, node and the npm package in
bench/peers (installed on first use with `npm install --ignore-scripts`).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def taec_worker(args, weights, latent, size, precision, workdir):
    out = os.path.join(workdir, "taec.json")
    subprocess.run([args.taec, "bench", weights, "--sizes", str(size), "--layout", "nchw", "--precision", precision,
                    "--threads", str(args.threads), "--warmup", str(args.warmup), "--iters", str(args.iters),
                    "--input", latent, "--json", out], check=True, capture_output=True)
    with open(out) as f:
        r = json.load(f)["results"][0]
    return {"times": r["times_s"], "peak_rss_bytes": r["peak_rss_bytes"]}


def torch_worker(args, weights, latent):
    return run_json([sys.executable, os.path.join(PEERS, "torch_worker.py"), "--weights", weights, "--latent", latent,
                     "--threads", str(args.threads), "--warmup", str(args.warmup), "--iters", str(args.iters)])


def ort_worker(args, onnx_path, latent):
    return run_json(["node", os.path.join(PEERS, "ort_worker.mjs"), "--model", onnx_path, "--latent", latent,
                     "--threads", str(args.threads), "--warmup", str(args.warmup), "--iters", str(args.iters)])


def accuracy(args, weights, latent, workdir):
    """max |taec fp32 - PyTorch| on the benchmark latent: both must compute the same function."""
    ours, theirs = os.path.join(workdir, "taec_out.npy"), os.path.join(workdir, "torch_out.npy")
    subprocess.run([args.taec, "decode", weights, latent, "--layout", "nchw", "--npy", ours], check=True,
                   capture_output=True)
    run_json([sys.executable, os.path.join(PEERS, "torch_worker.py"), "--weights", weights, "--latent", latent,
              "--warmup", "0", "--iters", "1", "--out", theirs])
    return float(np.abs(np.load(ours) - np.load(theirs)).max())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="taef2", help="model name: <name>_decoder.safetensors in $TAEC_MODEL_DIR")
    p.add_argument("--sizes", default="1024", help="comma-separated square image sizes")
    p.add_argument("--peers", default="torch,ort", help="comma-separated: torch, ort")
    p.add_argument("--precisions", default="fp32", help="taec precisions to time")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=2, help="timed iterations per process")
    p.add_argument("--warmup", type=int, default=1, help="untimed iterations per process (ORT at 2048 wants 2)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--taec", default=os.path.join(ROOT, "build", "taec"))
    p.add_argument("--json", help="also write all samples here")
    args = p.parse_args()

    model_dir = os.environ.get("TAEC_MODEL_DIR", os.path.join(ROOT, "..", "shared", "models"))
    weights = os.path.join(model_dir, f"{args.model}_decoder.safetensors")
    peers = [x for x in args.peers.split(",") if x]
    if "ort" in peers and not os.path.isdir(os.path.join(PEERS, "node_modules", "onnxruntime-node")):
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=PEERS, check=True)
    report = []
    with tempfile.TemporaryDirectory(prefix="taec_peers_") as workdir:
        for size in [int(s) for s in args.sizes.split(",")]:
            channels = 32 if "taef2" in args.model else 16
            latent = os.path.join(workdir, f"latent_{size}.npy")
            rng = np.random.default_rng(2024)
            np.save(latent, rng.uniform(-1, 1, size=(1, channels, size // 8, size // 8)).astype(np.float32))
            onnx_path = os.path.join(workdir, f"{args.model}_{size}.onnx")
            if "ort" in peers:
                subprocess.run([sys.executable, os.path.join(PEERS, "export_onnx.py"), "--weights", weights,
                                "--size", str(size), "--out", onnx_path], check=True, capture_output=True)
            err = accuracy(args, weights, latent, workdir) if "torch" in peers else float("nan")
            samples = {}
            for r in range(args.rounds):
                for precision in args.precisions.split(","):
                    res = taec_worker(args, weights, latent, size, precision, workdir)
                    samples.setdefault(f"taec {precision}", []).append(res)
                if "torch" in peers:
                    samples.setdefault("PyTorch channels_last", []).append(torch_worker(args, weights, latent))
                if "ort" in peers:
                    samples.setdefault("ONNX Runtime", []).append(ort_worker(args, onnx_path, latent))
                print(f"  {size}: round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
            base = statistics.median(t for s in samples[f"taec {args.precisions.split(',')[0]}"] for t in s["times"])
            print(f"\n{args.model} decoder {size}x{size}, {args.threads} threads, {args.rounds} rounds x {args.iters} "
                  f"iterations; max |taec fp32 - PyTorch| = {err:.2e}")
            print(f"{'contender':<24} {'median':>9} {'p10':>9} {'p90':>9} {'min':>9} {'peak RSS':>10} {'vs taec':>8}")
            for name, runs in samples.items():
                times = sorted(t for s in runs for t in s["times"])
                med = statistics.median(times)
                q = statistics.quantiles(times, n=10) if len(times) > 1 else [times[0]] * 9
                rss = max(s["peak_rss_bytes"] for s in runs) / 2**20
                print(f"{name:<24} {med:8.3f}s {q[0]:8.3f}s {q[-1]:8.3f}s {times[0]:8.3f}s {rss:7.0f} MiB {med / base:7.2f}x")
                report.append({"model": args.model, "size": size, "contender": name, "median_s": med, "times_s": times,
                               "peak_rss_mib": rss, "ratio_to_taec": med / base, "max_abs_diff_vs_torch": err})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
