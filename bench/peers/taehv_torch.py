"""The TAEHV-family video autoencoders (madebyollin/taehv) in plain PyTorch, for checks and benchmarks.

taec's independent peer for the video models: written from the architecture description in
/work/shared/models/taehv/README.md and checked against the golden cases by check_taehv_torch.py.
TAEHV_SEMANTICS.md next to this file states what this code computes, module by module and frame
rule by frame rule. Tensors are NTCHW (batch, time, channels, height, width) throughout.

    model = load("taew2_1.safetensors")           # or a .pth; variant="taecvx" for a look-alike
    frames = model.decode(latent, mode="sequential")   # unclamped; clamp(0, 1) for pictures
    latent = model.encode(frames, mode="parallel")

Two execution modes compute the same function (up to float rounding):
  parallel    every layer runs on all frames of the clip at once; a memory block's `past` is its
              input shifted one frame later in time, a zero frame first.
  sequential  frames go through the layers one at a time in causal order (the streaming decoder):
              a memory block remembers its last input, a TGrow turns one frame into s, a TPool
              waits for s frames. Memory is O(1) in the clip length. StreamingDecoder adds the
              frame rules to it: latents in one by one, frames out as soon as they are final.
"""
import dataclasses
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Modules. Parameter names follow taehv.py's nn.Sequential so a checkpoint loads with strict=True.

def conv3x3(n_in, n_out, **kw):
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kw)


class Clamp(nn.Module):
    """Soft clamp of the latent to (-3, 3)."""

    def forward(self, x):
        return torch.tanh(x / 3) * 3


class MemBlock(nn.Module):
    """ReLU(conv3(ReLU(conv2(ReLU(conv1(cat[x, past]))))) + x); all 3x3 convs with bias."""

    def __init__(self, n):
        super().__init__()
        self.conv = nn.Sequential(conv3x3(2 * n, n), nn.ReLU(inplace=True), conv3x3(n, n), nn.ReLU(inplace=True),
                                  conv3x3(n, n))

    def forward(self, x, past):
        return self.mix(torch.cat([x, past], 1), x)

    def mix(self, x_and_past, x):
        return (self.conv(x_and_past) + x).relu_()


class SuperMemBlock(nn.Module):
    """x + 1x1(4n->n, no bias)(ReLU(1x1(2n->4n, bias)(depthwise7x7(cat[x, past], no bias)))).

    Unlike MemBlock there is no ReLU after the residual sum."""

    def __init__(self, n):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(2 * n, 2 * n, 7, padding=3, groups=2 * n, bias=False),
                                  nn.Conv2d(2 * n, 4 * n, 1), nn.ReLU(inplace=True), nn.Conv2d(4 * n, n, 1, bias=False))

    def forward(self, x, past):
        return self.mix(torch.cat([x, past], 1), x)

    def mix(self, x_and_past, x):
        return self.conv(x_and_past) + x


class TPool(nn.Module):
    """s consecutive frames -> one: channel concat (earliest frame first), then a 1x1 conv sC->C.

    forward() takes the s frames already concatenated on channels: (N, s*C, H, W)."""

    def __init__(self, n, stride):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(n * stride, n, 1, bias=False)

    def forward(self, x):
        return self.conv(x)


class TGrow(nn.Module):
    """One frame -> s: a 1x1 conv C->sC; output channels [jC, (j+1)C) are sub-frame j, earliest first.

    forward() returns the s sub-frames as a list, earliest first."""

    def __init__(self, n, stride):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(n, n * stride, 1, bias=False)

    def forward(self, x):
        return list(self.conv(x).chunk(self.stride, 1))


MEMORY_BLOCKS = (MemBlock, SuperMemBlock)


# ---------------------------------------------------------------------------------------------
# Variants.

@dataclasses.dataclass(frozen=True)
class Config:
    variant: str
    latent_channels: int
    patch: int
    tpool_strides: tuple   # encoder, per stage
    tgrow_strides: tuple   # decoder, per stage
    super_decoder: bool
    frame_rule: str        # "trim" (all but cvx/h3), "cvx", "h3"

    @property
    def time_down(self):
        return math.prod(self.tpool_strides)

    @property
    def time_up(self):
        return math.prod(self.tgrow_strides)


# (latent channels, patch, super decoder) -> variant names with those shapes; the first is the default.
_SHAPE_FAMILIES = {
    (16, 1, False): ("taew2_1", "taehv", "taecvx", "taeos1_3"),
    (32, 2, False): ("taehv1_5",),
    (32, 2, True): ("taehv1_5_super",),
    (48, 2, False): ("taew2_2",),
    (48, 2, True): ("taew2_2_super",),
    (128, 4, False): ("taeltx_2", "taeltx2_3"),
    (24, 2, False): ("taeh3",),
}

H3_ENCODER_CHUNK = 17    # frames per H3 encoder chunk
H3_LEAD_FRAMES = 3       # zero frames the encoder puts before each chunk; the decoder drops as many
H3_DROPPED_LATENTS = 3   # latents the encoder drops at the end


def frame_rule_of(variant):
    return {"taecvx": "cvx", "taeh3": "h3"}.get(variant, "trim")


# ---------------------------------------------------------------------------------------------
# Weights.

def read_safetensors(path):
    dtypes = {"F16": np.float16, "BF16": None, "F32": np.float32}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, t = e["data_offsets"]
        raw = np.frombuffer(data[b:t], dtype=np.uint16 if e["dtype"] == "BF16" else dtypes[e["dtype"]])
        if e["dtype"] == "BF16":   # bf16 is the top half of an fp32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(raw.reshape(e["shape"]).astype(np.float32))
    return out


def read_weights(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return {k: v.float() for k, v in state.items()}


def _half(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def detect(state, variant=None):
    """The variant's Config from tensor shapes; `variant` picks among look-alikes (taecvx...)."""
    enc, dec = _half(state, "encoder."), _half(state, "decoder.")
    if not dec and not enc:
        raise ValueError("no encoder.* or decoder.* tensors: not a TAEHV checkpoint")
    super_decoder = "0.weight" in dec and dec["0.weight"].shape[2:] == (1, 1)
    if dec:
        last = dec["22.weight"]
        latent_channels = dec["0.weight" if super_decoder else "1.weight"].shape[1]
        patch = math.isqrt(last.shape[0] // 3)
        tgrow_idx = (7, 14, 21) if super_decoder else (7, 13, 19)
        tgrow = tuple(dec[f"{i}.conv.weight"].shape[0] // dec[f"{i}.conv.weight"].shape[1] for i in tgrow_idx)
    if enc:
        e_latent, e_patch = enc["17.weight"].shape[0], math.isqrt(enc["0.weight"].shape[1] // 3)
        tpool = tuple(enc[f"{i}.conv.weight"].shape[1] // enc[f"{i}.conv.weight"].shape[0] for i in (2, 7, 12))
        if dec and (e_latent, e_patch) != (latent_channels, patch):
            raise ValueError(f"encoder ({e_latent} ch, patch {e_patch}) and decoder ({latent_channels} ch, "
                             f"patch {patch}) do not match")
        latent_channels, patch = e_latent, e_patch
    if not dec:
        tgrow = tuple(reversed(tpool))   # a lone encoder: the decoder it pairs with mirrors it
    if not enc:
        tpool = tuple(reversed(tgrow))
    family = _SHAPE_FAMILIES.get((latent_channels, patch, super_decoder))
    if family is None:
        raise ValueError(f"unknown TAEHV variant: {latent_channels} latent channels, patch {patch}, "
                         f"{'super' if super_decoder else 'base'} decoder")
    if variant is None:
        variant = family[0]
    elif variant not in family:
        raise ValueError(f"variant {variant!r} does not fit these weights (they look like {', '.join(family)})")
    return Config(variant, latent_channels, patch, tpool, tgrow, super_decoder, frame_rule_of(variant))


# ---------------------------------------------------------------------------------------------
# Networks.

def build_encoder(cfg):
    layers = [conv3x3(3 * cfg.patch ** 2, 64), nn.ReLU(inplace=True)]
    for s in cfg.tpool_strides:
        layers += [TPool(64, s), conv3x3(64, 64, stride=2, bias=False), MemBlock(64), MemBlock(64), MemBlock(64)]
    layers.append(conv3x3(64, cfg.latent_channels))
    return nn.Sequential(*layers)


def build_decoder(cfg):
    if cfg.super_decoder:
        widths = [512, 256, 128, 64]
        layers = [nn.Conv2d(cfg.latent_channels, widths[0], 1, bias=False)]
        for n, n_next, s in zip(widths, widths[1:], cfg.tgrow_strides):
            layers += [SuperMemBlock(n), SuperMemBlock(n), SuperMemBlock(n), conv3x3(n, n_next * 4), nn.ReLU(inplace=True),
                       nn.PixelShuffle(2), TGrow(n_next, s)]
    else:
        widths = [256, 128, 64, 64]
        layers = [Clamp(), conv3x3(cfg.latent_channels, widths[0]), nn.ReLU(inplace=True)]
        for n, n_next, s in zip(widths, widths[1:], cfg.tgrow_strides):
            layers += [MemBlock(n), MemBlock(n), MemBlock(n), nn.Upsample(scale_factor=2), TGrow(n, s),
                       conv3x3(n, n_next, bias=False)]
        layers.append(nn.ReLU(inplace=True))
    layers.append(conv3x3(widths[-1], 3 * cfg.patch ** 2))
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------------------------------
# Execution.

def run_parallel(layers, x):
    """All frames of each clip through each layer at once. x: NTCHW; returns NTCHW."""
    n, t = x.shape[:2]
    h = x.reshape(n * t, *x.shape[2:])
    for layer in layers:
        if isinstance(layer, MEMORY_BLOCKS):
            h = layer.mix(with_past(h, n, t), h)
        elif isinstance(layer, TPool):
            if t % layer.stride:
                raise ValueError(f"TPool stride {layer.stride} needs a multiple of it, got {t} frames")
            t //= layer.stride
            h = layer(h.reshape(n * t, layer.stride * h.shape[1], *h.shape[2:]))
        elif isinstance(layer, TGrow):
            h = torch.stack(layer(h), 1)          # (NT, s, C, H, W): sub-frames follow their source
            t *= layer.stride
            h = h.reshape(n * t, *h.shape[2:])
        else:
            h = layer(h)
    return h.view(n, t, *h.shape[1:])


def with_past(h, n, t):
    """(NT, C, H, W) -> (NT, 2C, H, W): each frame's channels followed by the previous frame's of
    the same clip (zeros for a clip's first frame). Written in place of a cat of two copies."""
    c = h.shape[1]
    fmt = torch.channels_last if h.is_contiguous(memory_format=torch.channels_last) and c > 1 else \
        torch.contiguous_format
    both = torch.empty((h.shape[0], 2 * c, *h.shape[2:]), dtype=h.dtype, memory_format=fmt)
    b, v = both.view(n, t, 2 * c, *h.shape[2:]), h.view(n, t, c, *h.shape[2:])
    b[:, :, :c] = v
    b[:, 1:, c:] = v[:, :-1]
    b[:, :1, c:] = 0
    return both


class Stream:
    """Frame-by-frame (sequential) execution of one network over one clip of N parallel streams.

    push(frame NCHW) returns the output frames that frame completes, in order (a list, maybe
    empty). Each layer's state: a memory block keeps its last input (zeros before the first), a
    TPool keeps the frames it is still waiting for."""

    def __init__(self, layers):
        self.layers = layers
        self.reset()

    def reset(self):
        self.state = [None] * len(self.layers)

    def push(self, frame):
        out = []
        self._visit(0, frame, out)
        return out

    def _visit(self, i, h, out):
        # Depth first: each frame a layer emits goes all the way down before the layer's next one,
        # so every layer sees its frames in time order.
        while i < len(self.layers):
            layer = self.layers[i]
            if isinstance(layer, MEMORY_BLOCKS):
                past = self.state[i] if self.state[i] is not None else torch.zeros_like(h)
                self.state[i] = h
                h = layer(h, past)
            elif isinstance(layer, TPool):
                pending = (self.state[i] or []) + [h]
                if len(pending) < layer.stride:
                    self.state[i] = pending
                    return
                self.state[i] = None
                h = layer(torch.cat(pending, 1))
            elif isinstance(layer, TGrow):
                for sub in layer(h):
                    self._visit(i + 1, sub, out)
                return
            else:
                h = layer(h)
            i += 1
        out.append(h)


def run_sequential(layers, x):
    stream = Stream(layers)
    out = [y for t in range(x.shape[1]) for y in stream.push(x[:, t])]
    return torch.stack(out, 1)


def run(layers, x, mode):
    if mode == "parallel":
        return run_parallel(layers, x)
    if mode == "sequential":
        return run_sequential(layers, x)
    raise ValueError(f"mode must be parallel or sequential, got {mode!r}")


# ---------------------------------------------------------------------------------------------
# The model with its frame rules.

class TAEHV(nn.Module):
    def __init__(self, cfg, with_encoder=True, with_decoder=True):
        super().__init__()
        self.cfg = cfg
        self.encoder = build_encoder(cfg) if with_encoder else None
        self.decoder = build_decoder(cfg) if with_decoder else None

    # -- decoder ------------------------------------------------------------------------------
    def decode_raw(self, latent, mode="parallel"):
        """Every frame the decoder makes, untrimmed: time_up per latent, after pixel_shuffle."""
        return to_pixels(run(self.decoder, latent, mode), self.cfg.patch)

    def decode(self, latent, mode="parallel"):
        """latent NTCHW -> frames NTCHW, unclamped (clamp(0, 1) gives taehv.py's decode_video)."""
        self._need(self.decoder, "decoder")
        return select_frames(self.cfg, self.decode_raw(latent, mode))

    # -- encoder ------------------------------------------------------------------------------
    def encode(self, frames, mode="parallel"):
        """frames NTCHW RGB in [0, 1] -> latent NTCHW."""
        self._need(self.encoder, "encoder")
        if self.cfg.frame_rule == "h3":
            return self._encode_h3(frames, mode)
        return run(self.encoder, self._prepare(pad_end(frames, self.cfg.time_down)), mode)

    @staticmethod
    def _need(half, name):
        if half is None:
            raise ValueError(f"this model was loaded without its {name} (or the file has none)")

    def _prepare(self, x):
        n, t = x.shape[:2]
        return F.pixel_unshuffle(x.reshape(n * t, *x.shape[2:]), self.cfg.patch).view(n, t, -1, *(
            d // self.cfg.patch for d in x.shape[3:]))

    def _encode_h3(self, x, mode):
        # Chunks of 17 frames (the clip end-padded with its last frame), each preceded by 3 zero
        # frames and encoded with fresh memory: 20 frames -> 5 latents per chunk. The chunks are
        # independent, so the parallel mode runs them as a batch.
        n = x.shape[0]
        x = pad_end(x, H3_ENCODER_CHUNK)
        k = x.shape[1] // H3_ENCODER_CHUNK
        chunks = x.reshape(n * k, H3_ENCODER_CHUNK, *x.shape[2:])
        lead = torch.zeros_like(chunks[:, :H3_LEAD_FRAMES])
        z = run(self.encoder, self._prepare(torch.cat([lead, chunks], 1)), mode)
        z = z.reshape(n, k * z.shape[1], *z.shape[2:])
        return z[:, :z.shape[1] - H3_DROPPED_LATENTS]


def pad_end(x, multiple):
    """Pads the clip at its end with copies of its last frame to a multiple of `multiple` frames."""
    extra = -x.shape[1] % multiple
    if extra == 0:
        return x
    return torch.cat([x, x[:, -1:].expand(-1, extra, *x.shape[2:])], 1)


def to_pixels(y, patch):
    """Decoder output (N, T, 3p^2, h, w) -> frames (N, T, 3, h*p, w*p) by pixel_shuffle."""
    n, t = y.shape[:2]
    return F.pixel_shuffle(y.reshape(n * t, *y.shape[2:]), patch).view(n, t, 3, y.shape[3] * patch,
                                                                       y.shape[4] * patch)


H3_GROUP = H3_ENCODER_CHUNK + H3_LEAD_FRAMES   # 20 raw frames = 5 latents
H3_HELD_FROM = H3_GROUP - 4 * H3_DROPPED_LATENTS   # group positions from here on are final only
                                                   # once the next group starts (8)


def select_frames(cfg, raw):
    """The frames decode() returns out of all time_up * T raw ones (NTCHW in, NTCHW out)."""
    n_latents = raw.shape[1] // cfg.time_up
    if cfg.frame_rule == "cvx" and n_latents % 2 == 0:
        return raw
    if cfg.frame_rule != "h3":
        return raw[:, cfg.time_up - 1:]
    # H3: pad to whole groups of 20 raw frames, drop the first 3 of each group, then the last 12
    # (3 latents' worth). Only T % 5 == 1 keeps padding (4 frames); the reference's padding values
    # are not pinned by the golden cases: copies of the last raw frame here (TAEHV_SEMANTICS.md).
    raw = pad_end(raw, H3_GROUP)
    kept = raw.view(raw.shape[0], -1, H3_GROUP, *raw.shape[2:])[:, :, H3_LEAD_FRAMES:].flatten(1, 2)
    return kept[:, :kept.shape[1] - H3_DROPPED_LATENTS * cfg.time_up]


def output_frame_count(cfg, n_latents):
    """How many frames decode() returns for n_latents latents."""
    if cfg.frame_rule == "h3":
        groups = -(-n_latents // (H3_GROUP // cfg.time_up))
        return H3_ENCODER_CHUNK * groups - H3_DROPPED_LATENTS * cfg.time_up
    if cfg.frame_rule == "cvx" and n_latents % 2 == 0:
        return cfg.time_up * n_latents
    return cfg.time_up * (n_latents - 1) + 1


class StreamingDecoder:
    """Latents in one at a time, frames out as soon as they are final (the sequential mode plus
    the frame rule). push(latent N,C,h,w) -> list of frames (N,3,H,W); finish() -> the rest.

    Emission per pushed latent k (0-based), t = time_up:
      trim rule  k = 0: 1 frame (raw t-1); k > 0: t frames (raw t*k .. t*k+t-1). finish(): none.
      cvx        all t raw frames of every latent (decode() matches only for even T; for odd T it
                 drops the first 3, which a stream cannot know in advance; taehv.py's
                 StreamingTAEHV never trims taecvx either).
      h3         raw frames at positions 3..7 of each group of 20 right away, positions 8..19 held
                 back until the next group starts (the clip's last 12 frames are dropped);
                 finish() pads a 1-latent last group (T % 5 == 1) and drops the held-back frames.
    """

    def __init__(self, model):
        model._need(model.decoder, "decoder")
        self.cfg = model.cfg
        self.stream = Stream(model.decoder)
        self.raw_count = 0
        self.held = []

    def push(self, latent):
        out = []
        for y in self.stream.push(latent):
            frame = F.pixel_shuffle(y, self.cfg.patch)
            i, self.raw_count = self.raw_count, self.raw_count + 1
            if self.cfg.frame_rule == "cvx":
                out.append(frame)
            elif self.cfg.frame_rule == "trim":
                if i >= self.cfg.time_up - 1:
                    out.append(frame)
            else:
                pos = i % H3_GROUP
                if pos == 0:                 # a new group: the last one was not the clip's end
                    out += self.held
                    self.held = []
                if H3_LEAD_FRAMES <= pos < H3_HELD_FROM:
                    out.append(frame)
                elif pos >= H3_HELD_FROM:
                    self.held.append(frame)
                self.last = frame
        return out

    def finish(self):
        if self.cfg.frame_rule != "h3":
            return []
        pos = self.raw_count % H3_GROUP   # raw frames so far in the last group
        pad = [self.last] * (H3_HELD_FROM - pos) if 0 < pos < H3_HELD_FROM else []
        self.held = []
        return pad


def load(path, variant=None, encoder=True, decoder=True):
    """A TAEHV model from a .safetensors or .pth file; fp32, eval mode."""
    state = read_weights(path)
    cfg = detect(state, variant)
    model = TAEHV(cfg, encoder and any(k.startswith("encoder.") for k in state),
                  decoder and any(k.startswith("decoder.") for k in state))
    wanted = {k: v for k, v in state.items()
              if (k.startswith("encoder.") and model.encoder is not None)
              or (k.startswith("decoder.") and model.decoder is not None)}
    model.load_state_dict(wanted, strict=True)
    return model.eval()
