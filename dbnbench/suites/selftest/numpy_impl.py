"""The misbehaving implementations behind harness-selftest."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ...harness.plan.workload import Params


class SelftestBench:
    def __init__(self, case: Any, fw: Any) -> None:
        self.p, self.fw = Params(case.params), fw
        self.items_per_step = 1
        self.hoard: list[np.ndarray] = []

    def _maybe_fail(self, where: str) -> None:
        if self.p.text("where") != where:
            return
        mode = self.p.text("mode")
        if mode == "crash":
            os.abort()
        if mode == "hang":
            while True:
                time.sleep(1)
        if mode == "raise":
            raise RuntimeError("selftest: deliberate failure")
        if mode == "oom":
            # Far beyond any machine's memory: NumPy raises MemoryError at once.
            np.empty((1 << 50,), dtype=np.uint8)
        if mode == "leak":
            # Grows until the parent's memory cap kills the worker.
            while True:
                self.hoard.append(np.ones(64 << 20, dtype=np.uint8))
                time.sleep(0.01)

    def setup(self) -> None:
        n = self.p.integer("size")
        self.a = self.fw.rng.random((n, n), dtype=self.fw.dtype)
        self._maybe_fail("setup")

    def step(self) -> None:
        self._maybe_fail("step")
        self.a @ self.a

    def quality(self) -> dict[str, Any]:
        self._maybe_fail("quality")
        return {"metric": "none", "passed": True}
