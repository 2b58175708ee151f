"""Times the PyTorch decoder in its fastest CPU configuration (channels_last, inference_mode).

Prints one JSON line: {"times": [...seconds], "peak_rss_bytes": N}. Run by compare_peers.py."""
import argparse
import json
import resource
import time

import numpy as np
import torch

from taesd_torch import load_decoder

p = argparse.ArgumentParser()
p.add_argument("--weights", required=True)
p.add_argument("--latent", required=True)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--iters", type=int, default=3)
p.add_argument("--out", help="save the output here (.npy) for the accuracy check")
a = p.parse_args()

torch.set_num_threads(a.threads)
model = load_decoder(a.weights).to(memory_format=torch.channels_last)
x = torch.from_numpy(np.load(a.latent)).contiguous(memory_format=torch.channels_last)
times = []
with torch.inference_mode():
    for i in range(a.warmup + a.iters):
        t = time.perf_counter()
        y = model(x)
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
    if a.out:
        np.save(a.out, y.contiguous().numpy())
print(json.dumps({"times": times, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
