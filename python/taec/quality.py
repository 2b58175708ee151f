"""The latent contract, validation, packing and round trips, as typed results.

These are the entry points of ``taec validate``, ``taec pack``, ``taec verify`` and
``taec roundtrip`` (docs/QUALITY.md, docs/PACKAGE.md), returning Python objects instead of text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Tuple, Union

from . import _taec

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class LatentContract:
    """What a model's latents are: channels, factor, scale/shift (TAE latents are raw: 1.0 / 0),
    the image range, and FLUX.2's packed form (``packed_channels`` 128 at ``packed_factor`` 16)."""

    variant: str
    pipeline: str
    latent_channels: int
    spatial_factor: int
    scale: float
    shift: float
    image_min: float
    image_max: float
    typical_std: float
    packed_channels: int
    packed_factor: int
    note: str


@dataclass(frozen=True)
class ErrorStats:
    """A candidate against the fp32 reference (unclamped outputs); ``psnr_db`` has peak 1.0."""

    max_abs: float
    mae: float
    rmse: float
    psnr_db: float
    count: int
    nonfinite: int


@dataclass(frozen=True)
class Validation:
    """A plan against the fp32 reference on each input (``cases``: input name -> errors)."""

    passed: bool
    tolerance: float
    worst: ErrorStats
    cases: Tuple[Tuple[str, ErrorStats], ...]


@dataclass(frozen=True)
class Verification:
    """``taec verify``: ``ok`` when every file passed; ``files``: (file, ok, detail)."""

    ok: bool
    files: Tuple[Tuple[str, bool, str], ...]


@dataclass(frozen=True)
class RoundTrip:
    """``taec roundtrip``: ``summary`` is summary.json parsed; the tables are Markdown."""

    out_dir: str
    summary: Any
    table: str
    method_table: str
    report_html: str = field(default="")


def contract(variant: str) -> LatentContract:
    """The latent contract of ``variant`` (e.g. ``"taef2"``)."""
    return LatentContract(**_taec.contract(variant))


def flux2_unpack(packed: Any, layout: str = "nchw") -> Any:
    """FLUX.2's 128-channel 1/16 transformer latent -> taef2's 32-channel 1/8 latent, exactly (packed
    channel 4c + 2py + px at (y, x) is channel c at (2y + py, 2x + px)). float32, rank 3 or [N, ...]."""
    return _taec.flux2_unpack(packed, layout)


def flux2_pack(latent: Any, layout: str = "nchw") -> Any:
    """The inverse of :func:`flux2_unpack` (height and width even)."""
    return _taec.flux2_pack(latent, layout)


def _stats(d: dict) -> ErrorStats:
    return ErrorStats(**d)


def validate(
    model: "_taec.Model",
    plan: "_taec.Plan",
    *,
    random: int = 2,
    seed: int = 0,
    images: Sequence[PathLike] = (),
    encoder: Optional["_taec.Model"] = None,
    tolerance: Optional[float] = None,
) -> Validation:
    """Runs ``plan`` against ``model``'s fp32 reference on ``random`` seeded inputs and on the
    latents of ``images`` (made by ``encoder``). ``tolerance`` defaults to the precision's
    (taec_default_tolerance). Over tolerance is a result (``passed`` False), not an exception."""
    r = _taec.validate(model, plan, random=random, seed=seed, images=[os.fspath(p) for p in images],
                       encoder=encoder, tolerance=tolerance)
    return Validation(r["passed"], r["tolerance"], _stats(r["worst"]),
                      tuple((name, _stats(e)) for name, e in r["cases"]))


def pack(
    weights: PathLike,
    out: PathLike,
    *,
    sizes: Sequence[Union[int, Tuple[int, int]]],
    precision: str = "bf16",
    weight_storage: Optional[str] = None,
    layout: str = "nhwc",
    dtype: str = "float16",
    zip: bool = False,
    threads: int = 0,
    random_inputs: int = -1,
    seed: int = 0,
    image_dir: Optional[PathLike] = None,
    encoder: Optional[PathLike] = None,
    tolerance: float = 0.0,
    variant: Optional[str] = None,
    clip_latents: int = 0,
    progress: Optional[Callable[[str], None]] = None,
) -> "_taec.Package":
    """``taec pack``: compiles every size (an int N is NxN), validates each against the fp32
    reference, writes the package atomically, and returns it opened. Defaults are the CLI's."""
    pairs = [(s, s) if isinstance(s, int) else (int(s[0]), int(s[1])) for s in sizes]
    _taec.pack(os.fspath(weights), os.fspath(out), sizes=pairs, precision=precision, weight_storage=weight_storage,
               layout=layout, dtype=dtype, zip=zip, threads=threads, random_inputs=random_inputs, seed=seed,
               image_dir=None if image_dir is None else os.fspath(image_dir),
               encoder=None if encoder is None else os.fspath(encoder), tolerance=tolerance, variant=variant,
               clip_latents=clip_latents, progress=progress)
    return _taec.open_package(os.fspath(out))


def verify(path: PathLike) -> Verification:
    """``taec verify``: checks every file of a package (hash, size, references, nothing extra)."""
    ok, files = _taec.verify(os.fspath(path))
    return Verification(ok, tuple(files))


def roundtrip(
    images: Sequence[PathLike],
    out_dir: PathLike,
    *,
    weights: str = "taef2",
    encoder: Optional["_taec.Model"] = None,
    decoder: Optional["_taec.Model"] = None,
    size: int = 512,
    methods: str = "fp32,bf16",
    threads: int = 0,
    timing_runs: int = 3,
    packages: Sequence["_taec.Package"] = (),
    progress: Optional[Callable[[str], None]] = None,
) -> RoundTrip:
    """``taec roundtrip``: fits ``images`` to size x size, encodes and decodes them with every
    method, writes PNGs, summary.json and report.html into ``out_dir``, and returns the results.
    ``encoder``/``decoder`` default to ``weights``' halves."""
    enc = encoder if encoder is not None else _taec.load(weights, None, "encoder")
    dec = decoder if decoder is not None else _taec.load(weights, None, "decoder")
    out = os.fspath(out_dir)
    r = _taec.roundtrip(enc, dec, [os.fspath(p) for p in images], out, size=size, methods=methods, threads=threads,
                        timing_runs=timing_runs, packages=list(packages), progress=progress)
    return RoundTrip(out, json.loads(r["json"]), r["table"], r["method_table"], os.path.join(out, "report.html"))
