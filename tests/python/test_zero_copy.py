"""Inputs reach the C plan in place: the pointer the plan received is the caller's buffer
(numpy through the buffer protocol, torch through DLPack); outputs can go into the caller's array."""

import unittest

import numpy as np

import taec
from fixtures import MODELS, need, need_torch, torch


def latent(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(-2, 2, size=shape).astype(dtype)


class ZeroCopy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = None
        if (MODELS / "taef2_decoder.safetensors").exists():
            cls.model = taec.load("taef2")

    def setUp(self):
        need(self, MODELS / "taef2_decoder.safetensors")

    def test_numpy_float32_nchw_batch_items_are_read_in_place(self):
        plan = self.model.compile(64, 64)
        x = latent((2, 32, 8, 8))
        y = plan(x)
        item_bytes = 32 * 8 * 8 * 4
        self.assertEqual(plan.last_input_address, x.ctypes.data + item_bytes)  # the last item
        one = plan(x[1])
        self.assertEqual(plan.last_input_address, x.ctypes.data + item_bytes)
        self.assertTrue(np.array_equal(one, y[1]))

    def test_numpy_float16_nhwc_is_read_in_place(self):
        plan = self.model.compile(64, 64, layout="nhwc", dtype="float16")
        x = latent((1, 8, 8, 32), dtype=np.float16)
        y = plan(x)
        self.assertEqual(plan.last_input_address, x.ctypes.data)
        self.assertEqual((y.dtype, y.shape), (np.float16, (1, 64, 64, 3)))

    def test_memoryview_is_read_in_place(self):
        plan = self.model.compile(64, 64)
        x = latent((32, 8, 8))
        plan(memoryview(x))
        self.assertEqual(plan.last_input_address, x.ctypes.data)

    def test_output_into_a_preallocated_array(self):
        plan = self.model.compile(64, 64)
        x = latent((1, 32, 8, 8))
        out = np.empty((1, 3, 64, 64), np.float32)
        self.assertIs(plan(x, out=out), out)
        self.assertTrue(np.array_equal(out, plan(x)))
        levels = np.empty((1, 64, 64, 3), np.uint8)
        self.assertIs(plan(x, out=levels, output="uint8"), levels)
        expected = np.round(np.clip(out[0].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
        self.assertLessEqual(np.abs(levels[0].astype(int) - expected).max(), 1)  # ties: round-half-even vs away

    def test_torch_tensors_through_dlpack(self):
        need_torch(self)
        plan = self.model.compile(64, 64)
        x = latent((1, 32, 8, 8))
        t = torch.from_numpy(x.copy()).requires_grad_(True)
        y = plan(t)
        self.assertEqual(plan.last_input_address, t.data_ptr())
        self.assertTrue(np.array_equal(y, plan(x)))
        out = torch.empty((1, 3, 64, 64))
        plan(t, out=out)
        self.assertTrue(np.array_equal(out.numpy(), y))

    def test_torch_bfloat16_is_widened_exactly(self):
        need_torch(self)
        t = torch.from_numpy(latent((1, 32, 8, 8))).to(torch.bfloat16)
        plan = self.model.compile(64, 64, dtype="bfloat16")
        y = plan(t)
        self.assertNotEqual(plan.last_input_address, t.data_ptr())  # bfloat16 has no plan I/O type: widened copy
        self.assertTrue(np.array_equal(y, self.model.compile(64, 64)(t.float().numpy())))


if __name__ == "__main__":
    unittest.main()
