# Stubs of the extension taec._taec (python/src/*.cc). Arrays: anything with the buffer protocol
# (numpy) or DLPack (CPU torch tensors); they are read in place, never copied (bfloat16 excepted:
# it is widened to float32 into the plan's scratch).
from typing import Any, Callable, Optional, Sequence, Tuple, TypedDict

import numpy as np
import numpy.typing as npt

class ModelInfo(TypedDict):
    role: str  # "decoder" | "encoder"
    variant: str
    variant_note: str
    source_format: str
    source_path: str
    source_sha256: str
    latent_channels: int
    image_channels: int
    spatial_factor: int  # image pixels per latent pixel along each axis
    parameter_count: int
    is_video: bool
    time_factor: int
    patch: int
    frame_rule: str

class PackageInfo(TypedDict):
    model_name: str
    variant: str
    role: str
    layout: str
    dtype: str
    precision: str
    weight_file_bytes: int
    packed_weight_bytes: int
    packed_by: str
    is_video: bool

class Model:
    @property
    def info(self) -> ModelInfo: ...
    def clip_length(self, count: int) -> int:
        """Video models: frames `count` latents decode to (decoder) or latents of `count` frames (encoder)."""
    def compile(
        self,
        height: int,
        width: int,
        *,
        precision: str = "fp32",  # "fp32" | "bf16" | "int8" (needs calibration) | "reference"
        layout: str = "nchw",  # of input and output: "nchw" | "nhwc"
        dtype: str = "float32",  # input (and output) type: "float32" | "float16" | "bfloat16" (out float32)
        threads: int = 0,  # 0 = all cores
        memory: str = "banded",  # "banded" | "whole"
        nonfinite: str = "reject",  # "reject" NaN/Inf inputs | "propagate"
        calibration: Optional[Calibration] = None,
        weights: Optional[str] = None,  # weight-only quantization at compile: "int8" | "palette8" | "palette4"
    ) -> Plan:
        """A plan for height x width images (decoders: multiples of spatial_factor)."""

class Plan:
    def __call__(self, input: Any, *, out: Optional[Any] = None, output: str = "float") -> npt.NDArray[Any]:
        """Runs the plan on `input` ([N, ...] or one item of `input_shape`, the plan's dtype and layout).
        Returns a new array of `output_shape` per item (float32, or float16 for float16 plans), or
        `out` filled in place; output="uint8" gives [N,H,W,3] levels as a PNG holds them.
        The GIL is released while it runs; calls on one plan from several threads queue."""
    def stream(self, clip_latents: int = 0) -> Stream:
        """Video plans: a stream holding one clip's temporal state."""
    @property
    def role(self) -> str: ...
    @property
    def is_video(self) -> bool: ...
    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def layout(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def input_shape(self) -> list[int]: ...
    @property
    def output_shape(self) -> list[int]: ...
    @property
    def stats(self) -> dict[str, Any]:
        """engine, isa, isa_note, kernel, arena_bytes, weight_bytes, model_flops, executed_flops, threads."""
    @property
    def last_input_address(self) -> int:
        """Debug: the input pointer the C plan last received (equals the caller's buffer: no copy)."""
    @property
    def last_run_held_gil(self) -> bool:
        """Debug: whether the thread held the GIL during the last C run (False: released)."""

class Stream:
    def push(self, latent: Any) -> npt.NDArray[Any]:
        """One latent (decoder) or frame (encoder); returns the outputs it completes, [k, ...]."""
    def flush(self) -> npt.NDArray[Any]:
        """End of the clip: the remaining outputs."""
    def reset(self) -> None: ...
    @property
    def pushed(self) -> int: ...
    @property
    def pulled(self) -> int: ...
    @property
    def state_bytes(self) -> int: ...

class Package:
    @property
    def path(self) -> str: ...
    @property
    def model(self) -> Model: ...
    @property
    def info(self) -> PackageInfo: ...
    @property
    def sizes(self) -> list[Tuple[int, int, float]]:
        """(height, width, validated max |err|) per size."""
    def load_plan(self, height: int, width: int, *, threads: int = 0, memory: str = "banded",
                  nonfinite: str = "reject") -> Plan: ...

class Calibration:
    def describe(self) -> str: ...

def load(weights: str, variant: Optional[str] = None, role: Optional[str] = None) -> Model: ...
def open_package(path: str) -> Package: ...
def calibrate(decoder: Model, encoder: Model, images: Sequence[str], *, size: int = 512, threads: int = 0) -> Calibration: ...
def load_image(path: str) -> npt.NDArray[np.float32]:
    """A PNG or JPEG as [1,3,H,W] float32 RGB in [0,1], upright by its EXIF orientation."""
def resolve_weights(name: str, role: str = "decoder") -> str: ...
def version() -> str: ...
def contract(variant: str) -> dict[str, Any]: ...
def flux2_unpack(packed: Any, layout: str = "nchw") -> npt.NDArray[np.float32]: ...
def flux2_pack(latent: Any, layout: str = "nchw") -> npt.NDArray[np.float32]: ...
def default_tolerance(variant: str, precision: str) -> float: ...
def validate(model: Model, plan: Plan, *, random: int = 2, seed: int = 0, images: Sequence[str] = ...,
             encoder: Optional[Model] = None, tolerance: Optional[float] = None) -> dict[str, Any]: ...
def pack(weights: str, out: str, *, sizes: Sequence[Tuple[int, int]], precision: str = "bf16",
         weight_storage: Optional[str] = None, layout: str = "nhwc", dtype: str = "float16", zip: bool = False,
         threads: int = 0, random_inputs: int = -1, seed: int = 0, image_dir: Optional[str] = None,
         encoder: Optional[str] = None, tolerance: float = 0.0, variant: Optional[str] = None, clip_latents: int = 0,
         progress: Optional[Callable[[str], None]] = None) -> None: ...
def verify(path: str) -> Tuple[bool, list[Tuple[str, bool, str]]]: ...
def roundtrip(encoder: Model, decoder: Model, images: Sequence[str], out_dir: str, *, size: int = 512,
              methods: str = "fp32,bf16", threads: int = 0, timing_runs: int = 3, packages: Sequence[Package] = ...,
              progress: Optional[Callable[[str], None]] = None) -> dict[str, str]: ...
