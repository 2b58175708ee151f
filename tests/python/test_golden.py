"""Python results are bitwise the C API's (through the CLI, which runs the same plans) on the
golden cases, and within the plans' tolerance of PyTorch's."""

import tempfile
import unittest
from pathlib import Path

import numpy as np

import taec
from fixtures import GOLDEN, IMAGES, MODELS, cli, need

DECODER_CASES = [  # (model, case)
    ("taef2", "dec_astronaut_32x32"),
    ("taef2", "dec_batch2_16x16"),
    ("taef2", "dec_rand_24x40"),
    ("taef2", "dec_tiny_3x5"),
    ("taef1_synthetic", "dec_rand_32x32"),
]


class GoldenDecoders(unittest.TestCase):
    def decode_with_cli(self, weights, latent, extra=()):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.npy"
            r = cli(self, ["decode", weights, str(latent), "--npy", str(out), "--threads", "2", *extra])
            self.assertEqual(r.returncode, 0, r.stderr)
            return np.load(out)

    def test_fp32_nchw_bitwise_equal_to_the_c_api(self):
        for model, case in DECODER_CASES:
            with self.subTest(case=f"{model}/{case}"):
                latent = GOLDEN / model / f"{case}.input.npy"
                need(self, latent, MODELS / f"{model}_decoder.safetensors")
                x = np.load(latent)
                plan = taec.load(model).compile(x.shape[2] * 8, x.shape[3] * 8, threads=2)
                y = plan(x)
                expected = self.decode_with_cli(model, latent, ["--layout", "nchw"])
                self.assertEqual(y.dtype, np.float32)
                self.assertTrue(np.array_equal(y, expected), f"max diff {np.abs(y - expected).max()}")
                reference = np.load(GOLDEN / model / f"{case}.output.npy")
                self.assertLess(np.abs(y - reference).max(), 1e-3)

    def test_nhwc_and_bf16_bitwise_equal_to_the_c_api(self):
        latent = GOLDEN / "taef2" / "dec_rand_24x40.input.npy"
        need(self, latent)
        x = np.ascontiguousarray(np.load(latent).transpose(0, 2, 3, 1))
        model = taec.load("taef2")
        with tempfile.TemporaryDirectory() as tmp:
            nhwc = Path(tmp) / "nhwc.npy"
            np.save(nhwc, x)
            for precision in ("fp32", "bf16"):
                with self.subTest(precision=precision):
                    y = model.compile(192, 320, layout="nhwc", precision=precision, threads=2)(x)
                    self.assertEqual(y.shape, (1, 192, 320, 3))
                    expected = self.decode_with_cli("taef2", nhwc, ["--layout", "nhwc", "--precision", precision])
                    self.assertTrue(np.array_equal(y, expected))

    def test_float16_plan_matches_float32_within_half_precision(self):
        latent = GOLDEN / "taef2" / "dec_astronaut_32x32.input.npy"
        need(self, latent)
        x = np.load(latent)
        model = taec.load("taef2")
        y32 = model.compile(256, 256)(x)
        y16 = model.compile(256, 256, dtype="float16")(x.astype(np.float16))
        self.assertEqual(y16.dtype, np.float16)
        self.assertLess(np.abs(y16.astype(np.float32) - y32).max(), 2e-3)


class GoldenEncoder(unittest.TestCase):
    def test_encoder_bitwise_equal_to_the_c_api(self):
        png = IMAGES / "chelsea.png"
        need(self, png, MODELS / "taef2_encoder.safetensors")
        image = taec.load_image(png)
        _, _, h, w = image.shape
        latent = taec.load("taef2", role="encoder").compile(h, w, threads=2)(image)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "latent.npy"
            r = cli(self, ["encode", "taef2", str(png), "-o", str(out), "--layout", "nchw", "--threads", "2"])
            self.assertEqual(r.returncode, 0, r.stderr)
            expected = np.load(out)
        self.assertEqual(latent.shape, expected.shape)
        self.assertTrue(np.array_equal(latent, expected))


if __name__ == "__main__":
    unittest.main()
