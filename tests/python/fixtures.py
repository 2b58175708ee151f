"""Where the Python tests find the shared fixtures and the CLI, as the C++ tests do
(tests/test_util.cc): absent fixtures skip a test, or fail it under TAEC_REQUIRE_FIXTURES=1."""

from __future__ import annotations

import os
import subprocess
import unittest
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("TAEC_TEST_SHARED_DIR") or HERE.parent.parent.parent / "shared")
MODELS = Path(os.environ.get("TAEC_MODEL_DIR") or SHARED / "models")
GOLDEN = Path(os.environ.get("TAEC_GOLDEN_DIR") or SHARED / "golden")
IMAGES = SHARED / "images"
CLI = os.environ.get("TAEC_TEST_CLI", "")
REQUIRED = os.environ.get("TAEC_REQUIRE_FIXTURES") == "1"

# Model names resolve here, never by download.
os.environ["TAEC_MODEL_DIR"] = str(MODELS)
os.environ["TAEC_OFFLINE"] = "1"

try:
    import torch  # noqa: F401  (Debian's python3-torch, optional)
except ImportError:
    torch = None


def need(test: unittest.TestCase, *paths: Path) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        if REQUIRED:
            test.fail("fixture missing (TAEC_REQUIRE_FIXTURES=1): " + ", ".join(missing))
        test.skipTest("fixture missing: " + ", ".join(missing))


def need_torch(test: unittest.TestCase) -> None:
    if torch is None:
        test.skipTest("torch not installed (the module works without it)")


def cli(test: unittest.TestCase, args: Sequence[str]) -> subprocess.CompletedProcess:
    if not CLI:
        if REQUIRED:
            test.fail("TAEC_TEST_CLI is not set")
        test.skipTest("TAEC_TEST_CLI is not set")
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    return r
