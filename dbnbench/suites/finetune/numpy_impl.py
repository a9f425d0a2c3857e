"""dbn-finetune in NumPy: hand-written backprop for a sigmoid MLP with a softmax output."""

from __future__ import annotations

import numpy as np

from ...harness.frameworks.numpy_fw import NumpyFramework
from ..rbm.numpy_impl import sigmoid_
from .bench import FinetuneBench


class NumpyNet:
    def __init__(self, fw: NumpyFramework, init: list[tuple[np.ndarray, np.ndarray]], *, lr: float,
                 momentum: float, accumulate: int = 1) -> None:
        dt = self.dtype = fw.dtype
        self.lr, self.momentum, self.accumulate = lr, momentum, accumulate
        # Copies: training updates these in place, and the caller's init must stay as it was.
        self.w = [np.array(w, dtype=dt, order="C") for w, _ in init]
        self.b = [np.array(b, dtype=dt) for _, b in init]
        self.vw = [np.zeros_like(w) for w in self.w]
        self.vb = [np.zeros_like(b) for b in self.b]

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.ascontiguousarray(x, dtype=self.dtype), np.asarray(y, dtype=np.int64)

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output, input first; the last is the logits."""
        acts = [x]
        last = len(self.w) - 1
        for i, (w, b) in enumerate(zip(self.w, self.b, strict=True)):
            z = acts[-1] @ w
            if i < last:
                sigmoid_(z, b)
            else:
                z += b
            acts.append(z)
        return acts

    def gradients(self, x: np.ndarray, y: np.ndarray, scale: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per layer (input first) the gradient of `scale` × the mean cross-entropy."""
        acts = self.forward(x)
        # δ = ∂(mean cross-entropy)/∂logits = (softmax − onehot)/B, computed in place.
        delta = acts[-1]
        delta -= delta.max(axis=1, keepdims=True)
        np.exp(delta, out=delta)
        delta /= delta.sum(axis=1, keepdims=True)
        delta[np.arange(len(y)), y] -= 1.0
        delta *= scale / len(y)
        grads = []
        for i in range(len(self.w) - 1, -1, -1):
            grads.append((acts[i].T @ delta, delta.sum(axis=0)))
            if i > 0:  # through this layer's weights and the sigmoid below
                h = acts[i]
                delta = delta @ self.w[i].T
                delta *= h
                delta *= 1.0 - h
        return grads[::-1]

    def train_step(self, x: np.ndarray, y: np.ndarray) -> None:
        # Equal micro-batches: each adds its mean-loss gradient at 1/accumulate, so the
        # update is the whole batch's; the weights change only after the last one.
        parts = zip(np.split(x, self.accumulate), np.split(y, self.accumulate), strict=True)
        grads = None
        for xs, ys in parts:
            part = self.gradients(xs, ys, 1.0 / self.accumulate)
            grads = part if grads is None else [(gw + w, gb + b) for (gw, gb), (w, b)
                                                in zip(grads, part, strict=True)]
        assert grads is not None
        for i, (grad_w, grad_b) in enumerate(grads):
            # PyTorch's SGD: v ← m·v + g; w ← w − lr·v (Keras's form is the same up to −lr).
            for p, v, g in ((self.w[i], self.vw[i], grad_w), (self.b[i], self.vb[i], grad_b)):
                v *= self.momentum
                v += g
                p -= self.lr * v

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.forward(x)[-1], dtype=np.float64)

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(w.astype(np.float64), b.astype(np.float64)) for w, b in zip(self.w, self.b, strict=True)]


class NumpyFinetuneBench(FinetuneBench):
    fw: NumpyFramework  # the adapter this implementation runs under, typed
    net_cls = NumpyNet
