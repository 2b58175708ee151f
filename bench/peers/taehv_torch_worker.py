#!/usr/bin/python3
"""Times the PyTorch TAEHV decoder (or encoder) in one process, for taec's video peer comparison.

  /usr/bin/python3 bench/peers/taehv_torch_worker.py --weights taew2_1.safetensors \\
      --height 480 --width 832 --latents 21 --mode sequential --threads 2 --warmup 0 --iters 1

Decodes a seeded N(0,1) latent (or --input, NTCHW .npy) of the size that gives --height x --width
frames, fp32, under torch.inference_mode(); --encode times the encoder on --frames seeded uniform
frames instead. Prints one JSON line: {"times_s": [...], "frames": F (all clips of the batch),
"ms_per_frame": median ms per output frame (per input frame with --encode), "peak_rss_bytes": N, ...}, or
{"error": "..."} when the run fails (out of memory included). The address space is capped at
--memory-limit-gb so that a run too big for the machine fails as an allocation error in this
process instead of waking the kernel's OOM killer on a shared machine.

Layout: channels_last (--layout nhwc, the default) for the weights and every frame; --layout nchw
for PyTorch's default. On this machine (2 threads, Debian's torch 1.13, oneDNN convolutions)
channels_last was 27 % faster in the sequential mode and 2 % in the parallel one (taew2_1, 240x416,
9 frames; bench/peers/TAEHV_SEMANTICS.md, "Benchmark notes").
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taehv_torch as tt  # noqa: E402


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True)
    p.add_argument("--variant", help="for look-alike weights: taehv, taew2_1, taecvx, taeos1_3, ...")
    p.add_argument("--height", type=int, required=True, help="output (decode) or input (encode) pixels")
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--latents", type=int, default=21, help="decode: latent frames T")
    p.add_argument("--encode", action="store_true", help="time the encoder instead")
    p.add_argument("--frames", type=int, default=81, help="encode: input frames")
    p.add_argument("--mode", choices=("parallel", "sequential"), default="sequential")
    p.add_argument("--layout", choices=("nchw", "nhwc"), default="nhwc")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--iters", type=int, default=1)
    p.add_argument("--input", help="decode: latent .npy (NTCHW) instead of the seeded one")
    p.add_argument("--out", help="save the (last) output here, .npy NTCHW")
    p.add_argument("--memory-limit-gb", type=float, default=20.0, help="address-space cap; 0: none")
    a = p.parse_args()

    report = {"weights": os.path.basename(a.weights), "mode": a.mode, "layout": a.layout, "threads": a.threads,
              "height": a.height, "width": a.width, "kind": "encoder" if a.encode else "decoder"}
    if a.memory_limit_gb > 0:
        cap = int(a.memory_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    torch.set_num_threads(a.threads)
    fmt = torch.channels_last if a.layout == "nhwc" else torch.contiguous_format
    try:
        model = tt.load(a.weights, a.variant, encoder=a.encode, decoder=not a.encode)
        cfg = model.cfg
        report["variant"] = cfg.variant
        model = model.to(memory_format=fmt)
        scale = cfg.patch * 8   # pixels per latent cell
        if a.height % scale or a.width % scale:
            raise ValueError(f"{cfg.variant}: height and width must be multiples of {scale}")
        rng = np.random.default_rng(2024)
        if a.encode:
            x = rng.uniform(0, 1, size=(1, a.frames, 3, a.height, a.width)).astype(np.float32)
        elif a.input:
            x = np.load(a.input)
        else:
            x = rng.standard_normal((1, a.latents, cfg.latent_channels, a.height // scale, a.width // scale),
                                    dtype=np.float32)
        x = torch.from_numpy(x)
        if a.layout == "nhwc":   # per frame NHWC: the (N*T, C, H, W) views the layers see are channels_last
            x = x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
        report["input_shape"] = list(x.shape)
        times = []
        with torch.inference_mode():
            for i in range(a.warmup + a.iters):
                t0 = time.perf_counter()
                y = model.encode(x, a.mode) if a.encode else model.decode(x, a.mode)
                if i >= a.warmup:
                    times.append(time.perf_counter() - t0)
                if i + 1 < a.warmup + a.iters:
                    del y
        frames = x.shape[0] * (x.shape[1] if a.encode else y.shape[1])   # all clips of the batch
        report.update(times_s=times, frames=frames, output_shape=list(y.shape),
                      ms_per_frame=1000 * statistics.median(times) / frames)
        if a.out:
            np.save(a.out, y.contiguous().numpy())
    except (RuntimeError, MemoryError, ValueError) as e:
        report["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    report["peak_rss_bytes"] = peak_rss_bytes()
    print(json.dumps(report))
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
