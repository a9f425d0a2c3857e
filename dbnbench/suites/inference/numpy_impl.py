"""dbn-inference in NumPy: BLAS products and in-place sigmoid and softmax."""

from __future__ import annotations

import numpy as np

from ...harness.frameworks.numpy_fw import NumpyFramework
from ...harness.plan.workload import Params
from ..rbm.numpy_impl import sigmoid_
from .bench import InferenceBench


class NumpyForward:
    def __init__(self, fw: NumpyFramework, init: list[tuple[np.ndarray, np.ndarray]], mode: str) -> None:
        self.dtype = fw.dtype
        self.w = [np.ascontiguousarray(w, dtype=fw.dtype) for w, _ in init]
        self.b = [np.asarray(b, dtype=fw.dtype) for _, b in init]

    def to_device(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.dtype)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = x
        for w, b in zip(self.w[:-1], self.b[:-1], strict=True):
            h = h @ w
            sigmoid_(h, b)
        z = h @ self.w[-1]
        z += self.b[-1]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def host(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)


class NumpyInferenceBench(InferenceBench):
    fw: NumpyFramework  # the adapter this implementation runs under, typed
    @classmethod
    def supports(cls, device: str, precision: str, params: Params) -> str | None:
        mode = params.text("mode")
        return f"NumPy executes eagerly only: it has no {mode} mode" if mode != "eager" \
            else None

    forward_cls = NumpyForward
