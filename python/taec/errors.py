"""taec's failures as exceptions: one class per C status, all under :class:`Error`.

Each carries taec's own message (what failed, on which file/tensor/shape, and why) and its status
(``taec_status`` of include/taec/taec.h) in ``status`` / ``status_name``. The classes also derive
from the matching built-in (``ValueError``, ``OSError``, ``MemoryError``), so generic handlers work.
"""

from __future__ import annotations

__all__ = [
    "Error",
    "InvalidArgumentError",
    "FileError",
    "FormatError",
    "UnsupportedError",
    "ShapeError",
    "NonFiniteError",
    "OutOfMemoryError",
    "InternalError",
]

_STATUS_NAMES = {
    1: "invalid_argument",
    2: "io",
    3: "format",
    4: "unsupported",
    5: "shape",
    6: "nonfinite",
    7: "out_of_memory",
    8: "internal",
}


class Error(Exception):
    """A taec failure. ``str(e)`` is taec's message; ``e.status`` its ``taec_status`` code."""

    status: int
    status_name: str

    def __init__(self, message: str, status: int = 8) -> None:
        super().__init__(message)
        self.status = status
        self.status_name = _STATUS_NAMES.get(status, "internal")


class InvalidArgumentError(Error, ValueError):
    """An unusable value: bad option, wrong dtype, a non-contiguous array (status 1)."""


class FileError(Error, OSError):
    """A file missing, unreadable or unwritable (status 2)."""


class FormatError(Error, ValueError):
    """A file malformed, truncated or hostile (status 3)."""


class UnsupportedError(Error, ValueError):
    """Well-formed, but not something taec handles (status 4)."""


class ShapeError(Error, ValueError):
    """A tensor of a shape the plan or model does not take (status 5)."""


class NonFiniteError(Error, ValueError):
    """NaN or Inf in an input (status 6); compile with ``nonfinite="propagate"`` to decode anyway."""


class OutOfMemoryError(Error, MemoryError):
    """Out of memory (status 7)."""


class InternalError(Error, RuntimeError):
    """A bug in taec (status 8): please report it."""
