"""Video decoders through streams: bitwise the C API's (the CLI) on a golden clip."""

import tempfile
import unittest
from pathlib import Path

import numpy as np

import taec
from fixtures import GOLDEN, MODELS, cli, need

WEIGHTS = MODELS / "taehv" / "taew2_1_synthetic.safetensors"
CASE = GOLDEN / "taehv" / "taew2_1" / "dec_t3_6x8"


class VideoStream(unittest.TestCase):
    def test_stream_frames_bitwise_equal_to_the_c_api(self):
        latent = Path(f"{CASE}.input.npy")
        need(self, WEIGHTS, latent)
        clip = np.load(latent)  # [1, T, C, h, w]
        model = taec.load(WEIGHTS, role="decoder")
        self.assertTrue(model.info["is_video"])
        plan = model.compile(48, 64, threads=2)
        stream = plan.stream(clip_latents=clip.shape[1])
        pieces = [stream.push(clip[0, t]) for t in range(clip.shape[1])]
        self.assertEqual([p.shape[0] for p in pieces], [1, 4, 4])
        self.assertEqual(plan.last_input_address, clip[0, 2].ctypes.data)
        frames = np.concatenate(pieces + [stream.flush()])
        self.assertEqual(frames.shape, (model.clip_length(3), 3, 48, 64))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "frames.npy"
            r = cli(self, ["decode", str(WEIGHTS), str(latent), "--layout", "ntchw", "--npy", str(out), "--threads", "2", "-q"])
            self.assertEqual(r.returncode, 0, r.stderr)
            expected = np.load(out)
        self.assertTrue(np.array_equal(frames, expected[0]))
        self.assertLess(np.abs(frames - np.load(f"{CASE}.output.npy")[0]).max(), 1e-3)
        stream.reset()
        self.assertTrue(np.array_equal(stream.push(clip[0, 0]), pieces[0]))
        with self.assertRaises(taec.errors.UnsupportedError):
            plan(clip[0, 0])


if __name__ == "__main__":
    unittest.main()
