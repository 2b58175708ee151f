#!/usr/bin/env python3
"""Two Python threads decoding at once, each with its own plan (threads=1), against one thread
doing the same work alone: the GIL is released while a plan runs, so on 2 cores the two threads
should finish in about the time of one (ratio ~1.0; a held GIL would give ~2.0).

    taec-lock /usr/bin/python3 bench/python_threads.py --size 256 --decodes 8 --rounds 3
"""

import argparse
import os
import statistics
import threading
import time


from python_bench_util import model_and_latent


def run_threads(plans, x, decodes):
    start = threading.Barrier(len(plans) + 1)

    def work(plan):
        start.wait()
        for _ in range(decodes):
            plan(x)

    threads = [threading.Thread(target=work, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="taef2")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--decodes", type=int, default=8, help="decodes per thread")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    model, x = model_and_latent(args.weights, args.size, 1)
    plans = [model.compile(args.size, args.size, threads=1) for _ in range(2)]
    for p in plans:
        p(x)
    print(f"{os.cpu_count()} cores; {args.decodes} decodes of {args.size}x{args.size} per thread, one plan each (threads=1)")
    one, two = [], []
    for r in range(args.rounds):
        one.append(run_threads(plans[:1], x, args.decodes))
        two.append(run_threads(plans, x, args.decodes))
        print(f"round {r}: one thread {one[-1]:.3f} s, two threads {two[-1]:.3f} s, ratio {two[-1] / one[-1]:.3f}")
    print(f"median: one thread {statistics.median(one):.3f} s, two threads {statistics.median(two):.3f} s, "
          f"ratio {statistics.median(two) / statistics.median(one):.3f} (1.0 = fully concurrent, 2.0 = serialized)")


if __name__ == "__main__":
    main()
