#!/usr/bin/env python3
"""Call overhead of the Python module: one small decode through Python against the same decode
through the C API (`taec bench`, which times taec_plan_run alone), same plan options, same input.

    taec-lock /usr/bin/python3 bench/python_overhead.py --cli build/taec --size 64 --rounds 5

Rounds alternate C and Python; each reports the median of --iters timed calls after --warmup.
Prints both medians per round and the overhead of the medians over all rounds, for `plan(x)`
(a new output array per call) and `plan(x, out=y)` (the caller's array).
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from python_bench_util import ROOT, model_and_latent


def c_api_median(cli, weights, latent, size, threads, iters, warmup, tmp):
    out = Path(tmp) / "bench.json"
    subprocess.run([cli, "bench", weights, "--height", str(size), "--width", str(size), "--layout", "nchw",
                    "--threads", str(threads), "--iters", str(iters), "--warmup", str(warmup), "--input", str(latent),
                    "--json", str(out)], check=True, capture_output=True)
    data = json.loads(out.read_text())
    results = data["results"] if isinstance(data, dict) and "results" in data else data
    return results[0]["median_s"]


def python_median(plan, x, out, iters, warmup):
    for _ in range(warmup):
        plan(x, out=out)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        plan(x, out=out)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=str(ROOT / "build" / "taec"))
    ap.add_argument("--weights", default="taef2")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    model, x = model_and_latent(args.weights, args.size, 1234)
    plan = model.compile(args.size, args.size, threads=args.threads)
    out = np.empty((1, 3, args.size, args.size), np.float32)
    c, py_out, py_new = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        latent = Path(tmp) / "latent.npy"
        np.save(latent, x)
        for r in range(args.rounds):
            c.append(c_api_median(args.cli, args.weights, latent, args.size, args.threads, args.iters, args.warmup, tmp))
            py_out.append(python_median(plan, x, out, args.iters, args.warmup))
            py_new.append(python_median(plan, x, None, args.iters, args.warmup))
            print(f"round {r}: C API {c[-1] * 1e3:.3f} ms, Python out= {py_out[-1] * 1e3:.3f} ms, "
                  f"Python new array {py_new[-1] * 1e3:.3f} ms")
    cm = statistics.median(c)
    for name, t in (("plan(x, out=y)", py_out), ("plan(x)", py_new)):
        m = statistics.median(t)
        print(f"{name}: median {m * 1e3:.3f} ms vs C API {cm * 1e3:.3f} ms: overhead {100 * (m - cm) / cm:+.2f} %")


if __name__ == "__main__":
    main()
