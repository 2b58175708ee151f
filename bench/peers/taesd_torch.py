"""A few lines of PyTorch: the TAESD-family decoder (taesd.py's architecture), for benchmarks only.

Written for taec's peer comparison; loads .safetensors weights with taesd.py tensor names."""
import json
import struct

import numpy as np
import torch
import torch.nn as nn


def conv(n_in, n_out, **kw):
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kw)


class Clamp(nn.Module):
    def forward(self, x):
        return torch.tanh(x / 3) * 3


class Block(nn.Module):
    def __init__(self, n, gn):
        super().__init__()
        self.conv = nn.Sequential(conv(n, n), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n))
        self.skip = nn.Identity()
        self.fuse = nn.ReLU()
        self.pool = (nn.Sequential(nn.Conv2d(n, 4 * n, 1, bias=False), nn.GroupNorm(4, 4 * n), nn.ReLU(),
                                   nn.Conv2d(4 * n, n, 1, bias=False)) if gn else None)

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


def decoder(latent_channels, gn):
    return nn.Sequential(
        Clamp(), conv(latent_channels, 64), nn.ReLU(),
        Block(64, gn), Block(64, gn), Block(64, gn), nn.Upsample(scale_factor=2), conv(64, 64, bias=False),
        Block(64, False), Block(64, False), Block(64, False), nn.Upsample(scale_factor=2), conv(64, 64, bias=False),
        Block(64, False), Block(64, False), Block(64, False), nn.Upsample(scale_factor=2), conv(64, 64, bias=False),
        Block(64, False), conv(64, 3))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F16": np.float16, "F32": np.float32}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, t = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:t], dtype=dtypes[e["dtype"]]).reshape(e["shape"]).astype(np.float32))
    return out


def load_decoder(path):
    state = read_safetensors(path)
    model = decoder(state["1.weight"].shape[1], any(".pool." in k for k in state))
    model.load_state_dict(state, strict=True)
    return model.eval()
