#!/usr/bin/python3
"""Decode speed with a busy core: taec (2 and 1 threads) and ONNX Runtime, idle and with one core
kept busy by another process (a Python busy loop, as a host's sampler or UI would), on this
machine, now.

Each round runs every contender in both conditions, alternating, each in its own process; medians
over all rounds. The slowdown is busy time / idle time per contender; what matters is taec's
slowdown against ONNX Runtime's, and taec with 2 threads against taec with 1 thread when busy.

  /usr/bin/python3 bench/compare_contention.py --model taef2 --size 1024 --rounds 3

Needs what bench/compare_peers.py needs (python3-torch and python3-numpy; node and the npm package
in bench/peers for ONNX Runtime, installed on first use).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np

import compare_peers as peers


class BusyCore:
    """One process spinning for as long as the block lasts."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)  # let the scheduler see it before the contender starts
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="taef2", help="model name: <name>_decoder.safetensors in $TAEC_MODEL_DIR")
    p.add_argument("--size", type=int, default=1024, help="square image size")
    p.add_argument("--peers", default="ort", help="comma-separated: ort (or empty)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=3, help="timed iterations per process")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--taec", default=os.path.join(peers.ROOT, "build", "taec"))
    args = p.parse_args()

    model_dir = os.environ.get("TAEC_MODEL_DIR", os.path.join(peers.ROOT, "..", "shared", "models"))
    weights = os.path.join(model_dir, f"{args.model}_decoder.safetensors")
    use_ort = "ort" in args.peers.split(",")
    if use_ort and not os.path.isdir(os.path.join(peers.PEERS, "node_modules", "onnxruntime-node")):
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=peers.PEERS, check=True)

    def with_threads(n):
        return SimpleNamespace(taec=args.taec, threads=n, warmup=args.warmup, iters=args.iters)

    samples = {}
    with tempfile.TemporaryDirectory(prefix="taec_contention_") as workdir:
        channels = 32 if "taef2" in args.model else 16
        latent = os.path.join(workdir, "latent.npy")
        rng = np.random.default_rng(2024)
        np.save(latent, rng.uniform(-1, 1, size=(1, channels, args.size // 8, args.size // 8)).astype(np.float32))
        contenders = {
            "taec fp32, 2 threads": lambda: peers.taec_worker(with_threads(2), weights, latent, args.size, "fp32", workdir),
            "taec fp32, 1 thread": lambda: peers.taec_worker(with_threads(1), weights, latent, args.size, "fp32", workdir),
        }
        if use_ort:
            onnx_path = os.path.join(workdir, f"{args.model}_{args.size}.onnx")
            subprocess.run([sys.executable, os.path.join(peers.PEERS, "export_onnx.py"), "--weights", weights, "--size",
                            str(args.size), "--out", onnx_path], check=True, capture_output=True)
            contenders["ONNX Runtime, 2 threads"] = lambda: peers.ort_worker(with_threads(2), onnx_path, latent)
        for r in range(args.rounds):
            for name, run in contenders.items():
                samples.setdefault((name, "idle"), []).extend(run()["times"])
                with BusyCore():
                    samples.setdefault((name, "busy"), []).extend(run()["times"])
            print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    print(f"\n{args.model} decoder {args.size}x{args.size}, {args.rounds} rounds x {args.iters} iterations, "
          f"{os.cpu_count()} CPUs; busy = one other process spinning")
    print(f"{'contender':<26} {'idle':>9} {'busy':>9} {'slowdown':>9}")
    for name in contenders:
        idle = statistics.median(samples[(name, "idle")])
        busy = statistics.median(samples[(name, "busy")])
        print(f"{name:<26} {idle:8.3f}s {busy:8.3f}s {busy / idle:8.2f}x")


if __name__ == "__main__":
    main()
