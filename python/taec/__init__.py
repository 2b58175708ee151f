"""taec — Tiny AutoEncoder Compiler, from Python.

Decode a FLUX.2 latent into an image::

    import numpy as np, taec
    decoder = taec.load("taef2")                        # $TAEC_MODEL_DIR, the cache, or a path
    plan = decoder.compile(1024, 1024, precision="bf16")  # fixed size, layout, dtype, threads
    image = plan(latent, output="uint8")                # [1,32,128,128] float32 -> [1,1024,1024,3] uint8

Plans read numpy arrays and CPU torch tensors in place (buffer protocol / DLPack), release the
GIL while they run, and raise :mod:`taec.errors` exceptions carrying taec's message and status.
Drop-ins: :class:`taec.comfy.TaecPreviewer` (ComfyUI's latent previewer) and
:class:`taec.diffusers.TaecDecoder` (diffusers' ``AutoencoderTiny`` decoding surface).
docs/PYTHON.md has the whole API.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:
    import numpy

from . import errors
from ._taec import Calibration, Model, Package, Plan, Stream, resolve_weights, version
from ._taec import load_image as _load_image
from ._taec import calibrate as _calibrate
from ._taec import load as _load
from ._taec import open_package as _open_package
from .errors import Error
from .quality import (ErrorStats, LatentContract, RoundTrip, Validation, Verification, contract, flux2_pack,
                      flux2_unpack, pack, roundtrip, validate, verify)

__all__ = [
    "Calibration", "Error", "ErrorStats", "LatentContract", "Model", "Package", "Plan", "RoundTrip", "Stream",
    "Validation", "Verification", "calibrate", "contract", "errors", "flux2_pack", "flux2_unpack", "load",
    "load_image", "open_package", "pack", "resolve_weights", "roundtrip", "validate", "verify", "version",
]

__version__ = version()

PathLike = Union[str, "os.PathLike[str]"]


def load(weights_or_name: PathLike, variant: Optional[str] = None, *, role: Optional[str] = None) -> Model:
    """Loads a model: a ``.pth``/``.safetensors`` path, or a name (``"taef2"``, ``"taesd"``, ...)
    looked up as ``<name>_decoder`` / ``_encoder`` in ``$TAEC_MODEL_DIR`` and the cache.

    ``role``: ``"decoder"`` (a name's default) or ``"encoder"``; needed for video (TAEHV) files,
    which hold both halves. ``variant`` overrides the detected one (checked against the tensors).
    """
    return _load(os.fspath(weights_or_name), variant, role)


def open_package(path: PathLike) -> Package:
    """Opens a package (``taec pack``'s directory or zip); its hashes are checked here."""
    return _open_package(os.fspath(path))


def calibrate(decoder: Model, encoder: Model, images: "list[PathLike]", *, size: int = 512, threads: int = 0) -> Calibration:
    """Int8 activation ranges for ``decoder``, measured on ``images`` fitted to size x size and
    encoded by ``encoder``; pass it to ``decoder.compile(..., precision="int8", calibration=...)``."""
    return _calibrate(decoder, encoder, [os.fspath(p) for p in images], size=size, threads=threads)


def load_image(path: PathLike) -> "numpy.ndarray":
    """A PNG or JPEG as [1, 3, H, W] float32 RGB in [0, 1], upright by its EXIF orientation (the
    CLI's reader: README "What taec reads")."""
    return _load_image(os.fspath(path))
