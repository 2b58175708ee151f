#!/usr/bin/python3
"""Side-by-side video decoder benchmark: taec's streamed plan against the reference taehv.py in PyTorch.

For each model and size, every round runs taec (`taec bench --latents T`, fp32, one clip streamed
latent by latent) and PyTorch (bench/peers/taehv_torch_worker.py: taehv.py's two decode modes,
`sequential` = frame by frame, `parallel` = all frames at once), each in its own process, alternating,
same thread count, same clip length. Reports medians over rounds of ms per output frame and peak RSS,
and the ratios against the faster PyTorch mode (time) and the all-frames mode (memory). A PyTorch
run that fails (out of memory under --memory-limit-gb) is reported as failed, with the RSS it reached.

  /usr/bin/python3 bench/compare_video.py --models taew2_1,taehv1_5 --sizes 480x832:21,720x1280:6 --rounds 2

Weights: $TAEC_MODEL_DIR/taehv/<model>_synthetic.safetensors (or --weights-dir); the synthetic files
have the real architectures, so times and memory are the real ones. Needs Debian's python3-torch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_taec(args, weights, h, w, latents, workdir):
    out = os.path.join(workdir, "taec.json")
    subprocess.run([args.taec, "bench", weights, "--height", str(h), "--width", str(w), "--latents", str(latents),
                    "--layout", "nchw", "--precision", args.precision, "--threads", str(args.threads), "--json", out],
                   check=True, capture_output=True)
    with open(out) as f:
        r = json.load(f)["results"][0]
    return {"ms_per_frame": r["ms_per_frame"], "peak_rss_bytes": r["peak_rss_bytes"], "frames": r["frames"],
            "state_bytes": r["state_bytes"], "arena_bytes": r["arena_bytes"]}


def run_torch(args, weights, h, w, latents, mode):
    cmd = [sys.executable, os.path.join(HERE, "peers", "taehv_torch_worker.py"), "--weights", weights, "--height", str(h),
           "--width", str(w), "--latents", str(latents), "--mode", mode, "--threads", str(args.threads),
           "--memory-limit-gb", str(args.memory_limit_gb)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    if not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1][:200], "peak_rss_bytes": 0}
    return json.loads(lines[-1])


def mib(b):
    return b / 2**20


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="taew2_1,taehv1_5")
    p.add_argument("--sizes", default="480x832:21,720x1280:6", help="HxW:latents, comma-separated")
    p.add_argument("--modes", default="sequential,parallel")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--memory-limit-gb", type=float, default=20.0)
    p.add_argument("--weights-dir", default=os.path.join(os.environ.get("TAEC_MODEL_DIR", os.path.join(ROOT, "..", "shared", "models")), "taehv"))
    p.add_argument("--taec", default=os.path.join(ROOT, "build", "taec"))
    p.add_argument("--json", help="also write every measurement here")
    a = p.parse_args()

    modes = a.modes.split(",")
    rows, raw = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for model in a.models.split(","):
            weights = os.path.join(a.weights_dir, f"{model}_synthetic.safetensors")
            for spec in a.sizes.split(","):
                size, latents = spec.split(":")
                h, w = map(int, size.split("x"))
                latents = int(latents)
                runs = {"taec": []}
                runs.update({m: [] for m in modes})
                for r in range(a.rounds):
                    order = ["taec"] + modes if r % 2 == 0 else modes[::-1] + ["taec"]
                    for who in order:
                        res = run_taec(a, weights, h, w, latents, workdir) if who == "taec" else run_torch(a, weights, h, w, latents, who)
                        runs[who].append(res)
                        print(f"  round {r + 1} {model} {size} T={latents} {who}: "
                              + (res["error"] if "error" in res else f"{res['ms_per_frame']:.1f} ms/frame") +
                              f", peak RSS {mib(res['peak_rss_bytes']):.0f} MiB", file=sys.stderr, flush=True)
                raw.append({"model": model, "size": size, "latents": latents, "runs": runs})

                def med(who, key):
                    ok = [x[key] for x in runs[who] if "error" not in x]
                    return statistics.median(ok) if ok else None

                taec_ms, taec_rss = med("taec", "ms_per_frame"), med("taec", "peak_rss_bytes")
                row = {"model": model, "size": size, "latents": latents, "frames": runs["taec"][0]["frames"],
                       "taec_ms": taec_ms, "taec_rss": taec_rss}
                for m in modes:
                    row[m + "_ms"] = med(m, "ms_per_frame")
                    row[m + "_rss"] = med(m, "peak_rss_bytes") or max(x["peak_rss_bytes"] for x in runs[m])
                    row[m + "_failed"] = all("error" in x for x in runs[m])
                rows.append(row)

    print(f"\n{a.precision} taec vs taehv.py (PyTorch {a.threads} threads); medians of {a.rounds} rounds; ms per output frame, peak RSS")
    print("| model | size | latents -> frames | taec ms/frame | " + " | ".join(f"torch {m} ms/frame" for m in modes) +
          " | speed-up vs faster torch | taec RSS | " + " | ".join(f"torch {m} RSS" for m in modes) + " | memory vs all-frames |")
    print("|" + "---|" * (7 + 2 * len(modes)))
    for r in rows:
        times = [r[m + "_ms"] for m in modes if r[m + "_ms"] is not None]
        speed = f"{min(times) / r['taec_ms']:.2f}x" if times else "-"
        mem = "-"
        if "parallel" in modes:
            pr = r["parallel_rss"]
            mem = (">" if r["parallel_failed"] else "") + f"{pr / r['taec_rss']:.1f}x"
        cells = [r["model"], r["size"], f"{r['latents']} -> {r['frames']}", f"{r['taec_ms']:.1f}"]
        cells += ["failed" if r[m + "_failed"] else f"{r[m + '_ms']:.1f}" for m in modes]
        cells += [speed, f"{mib(r['taec_rss']):.0f} MiB"]
        cells += [(">" if r[m + "_failed"] else "") + f"{mib(r[m + '_rss']):.0f} MiB" for m in modes]
        cells += [mem]
        print("| " + " | ".join(cells) + " |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "raw": raw}, f, indent=1)


if __name__ == "__main__":
    main()
