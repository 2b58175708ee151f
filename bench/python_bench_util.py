"""What the Python benchmarks share: the build tree's module, and a model with a seeded latent."""

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "build" / "python"))
os.environ.setdefault("TAEC_MODEL_DIR", str(ROOT.parent / "shared" / "models"))
import taec  # noqa: E402


def model_and_latent(weights, size, seed):
    """The decoder `weights` and a uniform [-1, 1) float32 NCHW latent for a size x size image."""
    model = taec.load(weights)
    f = model.info["spatial_factor"]
    shape = (1, model.info["latent_channels"], size // f, size // f)
    return model, np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
