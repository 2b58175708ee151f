"""Bad input raises taec.errors exceptions carrying taec's message and status."""

import unittest

import numpy as np

import taec
from fixtures import MODELS, SHARED, need, need_torch, torch


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plan = None
        if (MODELS / "taef2_decoder.safetensors").exists():
            cls.plan = taec.load("taef2").compile(64, 64)

    def setUp(self):
        need(self, MODELS / "taef2_decoder.safetensors")
        self.x = np.zeros((1, 32, 8, 8), np.float32)

    def assertRaisesTaec(self, cls, status, fragment, fn, *args, **kwargs):
        with self.assertRaises(cls) as cm:
            fn(*args, **kwargs)
        self.assertIsInstance(cm.exception, taec.Error)
        self.assertEqual(cm.exception.status, status)
        self.assertIn(fragment, str(cm.exception))
        return cm.exception

    def test_wrong_shapes(self):
        e = self.assertRaisesTaec(taec.errors.ShapeError, 5, "[1, 16, 8, 8]", self.plan, np.zeros((1, 16, 8, 8), np.float32))
        self.assertIsInstance(e, ValueError)
        self.assertIn("it takes [N, 32, 8, 8]", str(e))
        self.assertRaisesTaec(taec.errors.ShapeError, 5, "[1, 32, 16, 16]", self.plan, np.zeros((1, 32, 16, 16), np.float32))
        self.assertRaisesTaec(taec.errors.ShapeError, 5, "[32, 64]", self.plan, np.zeros((32, 64), np.float32))

    def test_wrong_dtypes(self):
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "'d'", self.plan, self.x.astype(np.float64))
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "'i'", self.plan, self.x.astype(np.int32))
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "dtype float16 does not fit", self.plan, self.x.astype(np.float16))
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "not an array", self.plan, [1.0, 2.0])

    def test_nan_is_refused_with_taec_message(self):
        self.x[0, 3, 2, 1] = np.nan
        e = self.assertRaisesTaec(taec.errors.NonFiniteError, 6, "NaN", self.plan, self.x)
        self.assertEqual(e.status_name, "nonfinite")
        y = taec.load("taef2").compile(64, 64, nonfinite="propagate")(self.x)
        self.assertTrue(np.isnan(y).any())

    def test_non_contiguous_arrays(self):
        nhwc = np.zeros((1, 8, 8, 32), np.float32).transpose(0, 3, 1, 2)  # NCHW shape, strided
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "not C-contiguous", self.plan, nhwc)
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "not C-contiguous", self.plan,
                              np.zeros((1, 32, 8, 16), np.float32)[..., ::2])

    def test_non_contiguous_torch_tensor(self):
        need_torch(self)
        t = torch.zeros((1, 8, 8, 32)).permute(0, 3, 1, 2)
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "not C-contiguous", self.plan, t)

    def test_bad_out(self):
        self.assertRaisesTaec(taec.errors.ShapeError, 5, "does not fit", self.plan, self.x, out=np.zeros((1, 3, 32, 32), np.float32))
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "'d'", self.plan, self.x, out=np.zeros((1, 3, 64, 64), np.float64))
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "does not fit", self.plan, self.x, out=np.zeros((1, 3, 64, 64), np.float16))
        ro = np.zeros((1, 3, 64, 64), np.float32)
        ro.flags.writeable = False
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "writable", self.plan, self.x, out=ro)
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "output", self.plan, self.x, output="png")

    def test_bad_loads_and_options(self):
        e = self.assertRaisesTaec(taec.errors.FileError, 2, "nonexistent", taec.load, "/nonexistent/taef2_decoder.safetensors")
        self.assertIsInstance(e, OSError)
        self.assertRaises(taec.Error, taec.load, "no_such_model")
        model = taec.load("taef2")
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "precision", model.compile, 64, 64, precision="fp8")
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "calibration", model.compile, 64, 64, precision="int8")
        self.assertRaisesTaec(taec.errors.InvalidArgumentError, 1, "layout", model.compile, 64, 64, layout="chwn")
        self.assertRaises(taec.Error, model.compile, 60, 64)  # not a multiple of 8
        self.assertRaisesTaec(taec.errors.FormatError, 3, "", taec.load, str(SHARED / "golden" / "README.md"))


if __name__ == "__main__":
    unittest.main()
