"""The drop-ins against small fakes of their hosts: ComfyUI's LatentPreviewer protocol and a
diffusers pipeline's use of its VAE when decoding."""

import os
import subprocess
import sys
import unittest

import numpy as np

import taec
from fixtures import MODELS, need, need_torch, torch
from taec.comfy import TaecPreviewer
from taec.diffusers import TaecDecoder


class FakeLatentPreviewer:
    """comfy/latent_preview.py's base class, as ComfyUI calls it from its sampler callback."""

    def decode_latent_to_preview(self, x0):
        pass

    def decode_latent_to_preview_image(self, preview_format, x0):
        return ("JPEG", self.decode_latent_to_preview(x0), 512)


class ComfyPreviewer(TaecPreviewer, FakeLatentPreviewer):
    pass


def fake_pipeline_decode(vae, latents):
    """What diffusers pipelines do with the VAE after denoising (StableDiffusionPipeline,
    FluxPipeline: unscale, decode, VaeImageProcessor.postprocess to [0, 1])."""
    latents = latents / vae.config.scaling_factor + vae.config.shift_factor
    image = vae.decode(latents.to(vae.dtype) if hasattr(latents, "to") else latents, return_dict=False)[0]
    return (image / 2 + 0.5).clip(0, 1) if isinstance(image, np.ndarray) else (image / 2 + 0.5).clamp(0, 1)


def latents(shape, seed=3):
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(np.float32)


class Previewer(unittest.TestCase):
    def setUp(self):
        need(self, MODELS / "taef2_decoder.safetensors")

    def test_preview_is_the_plans_uint8_image_and_plans_are_cached_per_size(self):
        previewer = ComfyPreviewer("taef2", max_plans=2)
        x0 = latents((2, 32, 8, 12))
        fmt, image, _ = previewer.decode_latent_to_preview_image("JPEG", x0)
        self.assertEqual((fmt, image.size, image.mode), ("JPEG", (96, 64), "RGB"))
        expected = taec.load("taef2").compile(64, 96)(x0[0], output="uint8")
        self.assertTrue(np.array_equal(np.asarray(image), expected))
        previewer.decode_latent_to_preview(latents((1, 32, 8, 12), seed=4))
        previewer.decode_latent_to_preview(latents((1, 32, 4, 4)))
        self.assertEqual(previewer.plans.compiled, 2)
        self.assertEqual(previewer.plans.sizes, [(64, 96, "float32"), (32, 32, "float32")])
        previewer.decode_latent_to_preview(latents((1, 32, 2, 2)))  # a third size evicts the oldest
        self.assertEqual(previewer.plans.sizes, [(32, 32, "float32"), (16, 16, "float32")])

    def test_flux2_packed_latents_are_unpacked(self):
        previewer = ComfyPreviewer("taef2")
        x = latents((1, 32, 8, 8))
        packed = taec.flux2_pack(x)
        self.assertEqual(packed.shape, (1, 128, 4, 4))
        a = np.asarray(previewer.decode_latent_to_preview(packed))
        b = np.asarray(previewer.decode_latent_to_preview(x))
        self.assertTrue(np.array_equal(a, b))

    def test_torch_half_latents(self):
        need_torch(self)
        previewer = ComfyPreviewer("taef2")
        x0 = torch.from_numpy(latents((1, 32, 8, 8))).half()
        image = previewer.decode_latent_to_preview(x0)
        self.assertEqual(image.size, (64, 64))
        self.assertEqual(previewer.plans.sizes, [(64, 64, "float16")])

    def test_wrong_channels(self):
        with self.assertRaises(taec.errors.ShapeError):
            ComfyPreviewer("taef2").decode_latent_to_preview(latents((1, 16, 8, 8)))


class Diffusers(unittest.TestCase):
    def setUp(self):
        need(self, MODELS / "taef2_decoder.safetensors")
        self.vae = TaecDecoder("taef2")

    def test_config_surface(self):
        self.assertEqual(self.vae.config.scaling_factor, 1.0)
        self.assertEqual(self.vae.config["latent_channels"], 32)
        self.assertEqual(self.vae.config.shift_factor, 0.0)
        self.assertIs(self.vae.to("cpu"), self.vae)
        with self.assertRaises(taec.errors.UnsupportedError):
            self.vae.to("cuda")

    def test_decode_numpy_is_the_plan_in_minus_one_to_one(self):
        z = latents((2, 32, 8, 8))
        sample = self.vae.decode(z).sample
        y = taec.load("taef2").compile(64, 64)(z)
        self.assertTrue(np.array_equal(sample, y * 2 - 1))
        image = fake_pipeline_decode(self.vae, z)
        self.assertEqual(image.shape, (2, 3, 64, 64))
        self.assertTrue(np.allclose(image, np.clip(y, 0, 1), atol=1e-6))

    def test_decode_torch(self):
        need_torch(self)
        self.assertEqual((self.vae.dtype, str(self.vae.device)), (torch.float32, "cpu"))
        z = torch.from_numpy(latents((1, 32, 8, 8)))
        out = self.vae.decode(z)
        self.assertIsInstance(out.sample, torch.Tensor)
        self.assertEqual((tuple(out.sample.shape), out.sample.dtype), ((1, 3, 64, 64), torch.float32))
        y = taec.load("taef2").compile(64, 64)(z.numpy())
        self.assertTrue(np.array_equal(out[0].numpy(), y * 2 - 1))
        image = fake_pipeline_decode(self.vae, z)
        self.assertGreaterEqual(float(image.min()), 0.0)
        self.assertLessEqual(float(image.max()), 1.0)
        self.assertEqual(self.vae.decode(z.bfloat16()).sample.dtype, torch.bfloat16)


class WithoutTorch(unittest.TestCase):
    def test_module_and_drop_ins_work_without_torch(self):
        need(self, MODELS / "taef2_decoder.safetensors")
        code = """
import sys
sys.modules["torch"] = None  # as if torch were not installed: importing it raises ImportError
import numpy as np, taec, taec.comfy, taec.diffusers
z = np.zeros((1, 32, 4, 4), np.float32)
vae = taec.diffusers.TaecDecoder("taef2")
assert vae.decode(z).sample.shape == (1, 3, 32, 32) and vae.dtype == np.float32 and vae.device == "cpu"
assert taec.comfy.TaecPreviewer("taef2").decode_latent_to_preview(z).size == (32, 32)
"""
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
