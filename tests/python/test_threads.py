"""The GIL is released while a plan runs, so Python threads decode concurrently (the speed of
that is measured in bench/python_threads.py, not here); results do not depend on it."""

import threading
import unittest

import numpy as np

import taec
from fixtures import MODELS, need


def in_threads(work, count=2):
    """Runs work(i) for i < count, each on its own thread, all released together; returns when done."""
    start = threading.Barrier(count)

    def run(i):
        start.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Threads(unittest.TestCase):
    def setUp(self):
        need(self, MODELS / "taef2_decoder.safetensors")
        self.model = taec.load("taef2")
        rng = np.random.default_rng(7)
        self.latents = [rng.uniform(-2, 2, (1, 32, 16, 16)).astype(np.float32) for _ in range(2)]

    def test_the_gil_is_released_during_the_run(self):
        plan = self.model.compile(128, 128, threads=1)
        plan(self.latents[0])
        self.assertFalse(plan.last_run_held_gil)

    def test_two_threads_on_two_plans(self):
        plans = [self.model.compile(128, 128, threads=1) for _ in range(2)]
        expected = [p(x) for p, x in zip(plans, self.latents)]
        results = [None, None]

        def work(i):
            results[i] = [plans[i](self.latents[i]) for _ in range(3)]

        in_threads(work)
        for i in range(2):
            for y in results[i]:
                self.assertTrue(np.array_equal(y, expected[i]))

    def test_two_threads_sharing_one_plan_queue(self):
        plan = self.model.compile(128, 128, threads=1)
        expected = [plan(x) for x in self.latents]
        results = [None, None]

        def work(i):
            results[i] = [plan(self.latents[i]) for _ in range(3)]

        in_threads(work)
        for i in range(2):
            for y in results[i]:
                self.assertTrue(np.array_equal(y, expected[i]))


if __name__ == "__main__":
    unittest.main()
