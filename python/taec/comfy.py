"""A ComfyUI latent previewer backed by taec.

ComfyUI calls ``decode_latent_to_preview(x0)`` on a ``latent_preview.LatentPreviewer`` subclass
with the sampler's current latent ``x0`` ([B, C, H, W], a CPU or GPU torch tensor) and shows the
PIL image it returns. Use it from a custom node::

    from comfy.latent_preview import LatentPreviewer
    from taec.comfy import TaecPreviewer

    class TaecLatentPreviewer(TaecPreviewer, LatentPreviewer):
        pass

    previewer = TaecLatentPreviewer("taef2", precision="bf16")

Only the first latent of the batch is previewed (as ComfyUI's own TAESD previewer does). A latent
of a new size compiles a plan (tens of milliseconds); plans are cached per (size, dtype).
FLUX.2's 128-channel packed latents are unpacked first.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import errors
from ._plan_cache import PlanCache, dtype_name
from ._taec import load
from .quality import contract, flux2_unpack


class TaecPreviewer:
    """``decode_latent_to_preview(x0) -> PIL.Image.Image`` for ComfyUI's ``LatentPreviewer``."""

    def __init__(self, weights: str = "taef2", *, variant: Optional[str] = None, precision: str = "fp32",
                 threads: int = 0, max_plans: int = 4) -> None:
        model = load(weights, variant, "decoder")
        self.latent_channels: int = model.info["latent_channels"]
        self.spatial_factor: int = model.info["spatial_factor"]
        try:
            self.packed_channels: int = contract(model.info["variant"]).packed_channels
        except errors.Error:
            self.packed_channels = 0
        self.plans = PlanCache(model, max_plans, precision=precision, threads=threads)

    def decode_latent_to_preview(self, x0: Any) -> Any:
        from PIL import Image  # ComfyUI ships Pillow; the rest of taec does not need it

        x = x0[0] if len(x0.shape) == 4 else x0
        if hasattr(x, "detach"):
            x = x.detach()
            if x.device.type != "cpu":
                x = x.cpu()
        channels = int(x.shape[0])
        if channels == self.packed_channels and channels != self.latent_channels:
            x = flux2_unpack(np.asarray(x.float() if hasattr(x, "float") else x, dtype=np.float32))
        elif channels != self.latent_channels:
            raise errors.ShapeError(f"x0: {channels} channels, but the previewer's decoder takes {self.latent_channels}"
                                    + (f" (or FLUX.2's packed {self.packed_channels})" if self.packed_channels else ""), 5)
        dtype = dtype_name(x)
        if dtype not in ("float32", "float16", "bfloat16"):
            x, dtype = np.asarray(x, dtype=np.float32), "float32"
        if hasattr(x, "is_contiguous") and not x.is_contiguous():
            x = x.contiguous()
        plan = self.plans.get(int(x.shape[1]) * self.spatial_factor, int(x.shape[2]) * self.spatial_factor, dtype)
        return Image.fromarray(plan(x, output="uint8"))
