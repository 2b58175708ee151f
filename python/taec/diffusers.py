"""A diffusers ``AutoencoderTiny`` stand-in for decoding, backed by taec.

Mirrors what pipelines use of a VAE when they decode: ``decode(z).sample`` in [-1, 1] (unclamped,
as ``DecoderTiny`` gives it), ``config.scaling_factor`` / ``shift_factor`` / ``latent_channels``,
``dtype`` and ``device``, ``to()`` and the slicing/tiling switches::

    from taec.diffusers import TaecDecoder
    pipe.vae = TaecDecoder("taesd")          # decode on CPU through taec
    image = pipe(prompt).images[0]

Latents are read in place (torch tensors through DLPack, numpy arrays through the buffer
protocol) and the output is written straight into the returned tensor. Only decoding: ``encode``
raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from . import errors
from ._plan_cache import PlanCache, dtype_name
from ._taec import load


class TinyConfig(dict):
    """A FrozenDict-like config: ``config.scaling_factor`` and ``config["scaling_factor"]``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class DecoderOutput:
    """diffusers' ``DecoderOutput``: ``.sample``, or ``[0]`` as ``BaseOutput`` allows."""

    sample: Any

    def __getitem__(self, key: Any) -> Any:
        if key == 0 or key == "sample":
            return self.sample
        raise KeyError(key)

    def to_tuple(self) -> Tuple[Any]:
        return (self.sample,)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


class TaecDecoder:
    """``AutoencoderTiny``'s decoding surface over taec plans (one per latent size and dtype)."""

    def __init__(self, weights: str = "taesd", *, variant: Optional[str] = None, precision: str = "fp32",
                 threads: int = 0, max_plans: int = 4) -> None:
        model = load(weights, variant, "decoder")
        info = model.info
        self.spatial_factor: int = info["spatial_factor"]
        # TAE latents are raw (taec.contract): pipelines divide by 1.0 and add 0.
        self.config = TinyConfig(scaling_factor=1.0, shift_factor=0.0, latent_channels=info["latent_channels"],
                                 latent_magnitude=3, latent_shift=0.5, force_upcast=False, in_channels=3, out_channels=3)
        self.plans = PlanCache(model, max_plans, precision=precision, threads=threads)
        self.use_slicing = False
        self.use_tiling = False

    @property
    def dtype(self) -> Any:
        torch = _torch()
        return torch.float32 if torch is not None else np.dtype(np.float32)

    @property
    def device(self) -> Any:
        torch = _torch()
        return torch.device("cpu") if torch is not None else "cpu"

    def to(self, *args: Any, **kwargs: Any) -> "TaecDecoder":
        """Accepts CPU devices and any dtype (decoding keeps taec's precision); refuses others."""
        for a in list(args) + [kwargs.get("device")]:
            if a is None or not isinstance(a, str) and not type(a).__name__ == "device":
                continue
            if str(a).split(":")[0] != "cpu":
                raise errors.UnsupportedError(f"TaecDecoder runs on the CPU, not {a}", 4)
        return self

    def eval(self) -> "TaecDecoder":
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "TaecDecoder":
        return self

    # Plans run in row bands (memory grows with the width, not the area): nothing to switch.
    def enable_slicing(self) -> None:
        self.use_slicing = True

    def disable_slicing(self) -> None:
        self.use_slicing = False

    def enable_tiling(self, *args: Any, **kwargs: Any) -> None:
        self.use_tiling = True

    def disable_tiling(self) -> None:
        self.use_tiling = False

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        raise errors.UnsupportedError("TaecDecoder only decodes; use taec.load(name, role='encoder')", 4)

    def decode(self, z: Any, return_dict: bool = True, generator: Any = None) -> Any:
        """z: [B, C, h, w] latents (torch on CPU, or numpy) -> images [B, 3, 8h, 8w] in [-1, 1]."""
        torch = _torch()
        is_torch = torch is not None and isinstance(z, torch.Tensor)
        if is_torch:
            z = z.detach()
            if z.device.type != "cpu":
                raise errors.UnsupportedError(f"z is on {z.device}; TaecDecoder decodes CPU tensors", 4)
            if not z.is_contiguous():
                z = z.contiguous()
        if len(z.shape) != 4:
            raise errors.ShapeError(f"z: shape {tuple(z.shape)}; AutoencoderTiny.decode takes [B, C, h, w]", 5)
        dtype = dtype_name(z)
        if dtype not in ("float32", "float16", "bfloat16"):
            z = z.float() if is_torch else np.asarray(z, dtype=np.float32)
            dtype = "float32"
        batch, _, h, w = (int(d) for d in z.shape)
        plan = self.plans.get(h * self.spatial_factor, w * self.spatial_factor, dtype)
        out_shape = (batch, 3, h * self.spatial_factor, w * self.spatial_factor)
        if is_torch:
            sample = torch.empty(out_shape, dtype=torch.float16 if dtype == "float16" else torch.float32)
            plan(z, out=sample)
            sample.mul_(2).sub_(1)  # DecoderTiny's [0, 1] -> [-1, 1]
            if dtype == "bfloat16":
                sample = sample.to(torch.bfloat16)
        else:
            sample = plan(z) * 2 - 1
        return DecoderOutput(sample) if return_dict else (sample,)
