"""The latent contract, FLUX.2's packed latent, and validate / pack / verify / roundtrip."""

import tempfile
import unittest
from pathlib import Path

import numpy as np

import taec
from fixtures import IMAGES, MODELS, need


def packed_by_hand(latent):
    """[C, H, W] -> [4C, H/2, W/2]: packed channel 4c + 2py + px at (y, x) is c at (2y+py, 2x+px)."""
    c, h, w = latent.shape
    return latent.reshape(c, h // 2, 2, w // 2, 2).transpose(0, 2, 4, 1, 3).reshape(4 * c, h // 2, w // 2)


class Contract(unittest.TestCase):
    def test_taef2(self):
        c = taec.contract("taef2")
        self.assertEqual((c.latent_channels, c.spatial_factor, c.packed_channels, c.packed_factor), (32, 8, 128, 16))
        self.assertEqual((c.scale, c.shift, c.image_min, c.image_max), (1.0, 0.0, 0.0, 1.0))
        self.assertEqual(c.pipeline, "FLUX.2")
        with self.assertRaises(taec.errors.InvalidArgumentError):
            taec.contract("sdxl-vae")

    def test_flux2_pack_and_unpack(self):
        x = np.random.default_rng(1).normal(size=(2, 32, 6, 10)).astype(np.float32)
        packed = taec.flux2_pack(x)
        self.assertTrue(np.array_equal(packed[1], packed_by_hand(x[1])))
        self.assertTrue(np.array_equal(taec.flux2_unpack(packed), x))
        nhwc = np.ascontiguousarray(x[0].transpose(1, 2, 0))
        self.assertTrue(np.array_equal(taec.flux2_pack(nhwc, "nhwc"), packed[0].transpose(1, 2, 0)))


class Tooling(unittest.TestCase):
    def setUp(self):
        need(self, MODELS / "taef2_decoder.safetensors", MODELS / "taef2_encoder.safetensors", IMAGES / "astronaut.png")
        self.model = taec.load("taef2")

    def test_validate(self):
        v = taec.validate(self.model, self.model.compile(64, 64), random=1, images=[IMAGES / "astronaut.png"],
                          encoder=taec.load("taef2", role="encoder"))
        self.assertTrue(v.passed)
        self.assertEqual(v.tolerance, 1e-3)
        self.assertEqual([name for name, _ in v.cases], ["random_0", "image:astronaut"])
        self.assertLess(v.worst.max_abs, 1e-3)
        strict = taec.validate(self.model, self.model.compile(64, 64, precision="bf16"), random=1, tolerance=1e-9)
        self.assertFalse(strict.passed)  # bf16 products are not within 1e-9: a result, not an exception

    def test_pack_verify_and_load(self):
        with tempfile.TemporaryDirectory() as tmp:
            lines = []
            pkg = taec.pack("taef2", Path(tmp) / "pkg", sizes=[64, (64, 96)], precision="fp32", layout="nchw",
                            dtype="float32", random_inputs=1, progress=lines.append)
            self.assertTrue(lines)
            self.assertEqual([(h, w) for h, w, _ in pkg.sizes], [(64, 64), (64, 96)])
            self.assertLess(max(e for _, _, e in pkg.sizes), 1e-3)
            result = taec.verify(Path(tmp) / "pkg")
            self.assertTrue(result.ok)
            self.assertIn("manifest.json", [f for f, _, _ in result.files])
            x = np.random.default_rng(2).uniform(-2, 2, (1, 32, 8, 12)).astype(np.float32)
            y = pkg.load_plan(64, 96)(x)
            self.assertLess(np.abs(y - self.model.compile(64, 96)(x)).max(), 1e-5)

    def test_roundtrip(self):
        with tempfile.TemporaryDirectory() as tmp:
            rt = taec.roundtrip([IMAGES / "astronaut.png"], tmp, size=64, methods="fp32", timing_runs=1)
            self.assertIn("fp32", rt.method_table)
            self.assertTrue(Path(rt.report_html).exists())
            self.assertIsInstance(rt.summary, dict)


if __name__ == "__main__":
    unittest.main()
