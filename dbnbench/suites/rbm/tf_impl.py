"""rbm-cdk in TensorFlow: the update is one tf.function over tf.Variables.

Mixed modes cast the operands of every product to the compute dtype (bf16/fp16) and keep
float32 variables, as Keras's mixed policies do; `bf16` stores everything in bfloat16."""

from __future__ import annotations

from typing import Any

import numpy as np

from .bench import RBMBench


class TensorflowRBM:
    def __init__(self, fw: Any, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...]) -> None:
        tf = self.tf = fw.tf
        self.fw, self.k, self.persistent = fw, k, persistent
        self.lr, self.momentum, self.decay = lr, momentum, weight_decay
        dt = fw.dtype
        with tf.device(fw.tf_device):
            self.w, self.b, self.c = (tf.Variable(tf.constant(a, dtype=dt)) for a in init)
            self.vw, self.vb, self.vc = (tf.Variable(tf.zeros_like(v)) for v in
                                         (self.w, self.b, self.c))
            self.chain = tf.Variable(tf.zeros((batch, hidden), dt)) if persistent else None
        self.shape_h, self.shape_v = (k, hidden), (k, visible)
        self.update = tf.function(self._update)
        self.train_step = tf.function(self._train_step)

    def to_device(self, x: np.ndarray) -> Any:
        with self.tf.device(self.fw.tf_device):
            return self.tf.constant(np.ascontiguousarray(x), dtype=self.fw.dtype)

    def _train_step(self, v0: Any) -> None:
        g, n, dt = self.fw.generator, self.tf.shape(v0)[0], self.fw.dtype
        uh = g.uniform((self.k, n, self.shape_h[1]), dtype=dt)
        uv = g.uniform((self.k, n, self.shape_v[1]), dtype=dt)
        self._update(v0, uh, uv)

    def _mm(self, a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Any:
        tf, cd = self.tf, self.fw.compute_dtype
        out = tf.linalg.matmul(tf.cast(a, cd), tf.cast(b, cd),
                               transpose_a=transpose_a, transpose_b=transpose_b)
        return tf.cast(out, self.fw.dtype)

    def _update(self, v0: Any, uh: Any, uv: Any) -> None:
        """One CD-k/PCD-k update with the given uniform draws (k×B×H and k×B×V)."""
        tf = self.tf
        dt = self.fw.dtype
        ph0 = tf.sigmoid(self._mm(v0, self.w) + self.c)
        h = tf.identity(self.chain) if self.persistent else tf.cast(uh[0] < ph0, dt)
        vk, phk = v0, ph0
        for i in range(self.k):
            pv = tf.sigmoid(self._mm(h, self.w, transpose_b=True) + self.b)
            vk = tf.cast(uv[i] < pv, dt)
            phk = tf.sigmoid(self._mm(vk, self.w) + self.c)
            if self.persistent:
                h = tf.cast(uh[i] < phk, dt)
            elif i + 1 < self.k:
                h = tf.cast(uh[i + 1] < phk, dt)
        if self.chain is not None:
            self.chain.assign(h)
        scale = tf.cast(self.lr / tf.cast(tf.shape(v0)[0], tf.float64), dt)
        m = tf.constant(self.momentum, dt)
        # Both weight statistics in one product: [v0; v_k]ᵀ·[ph0; −ph_k].
        grad = self._mm(tf.concat([v0, vk], 0), tf.concat([ph0, -phk], 0), transpose_a=True)
        step_w = m * self.vw + scale * grad
        if self.decay:
            step_w -= tf.constant(self.lr * self.decay, dt) * self.w
        self.vw.assign(step_w)
        self.vb.assign(m * self.vb + scale * tf.reduce_sum(v0 - vk, 0))
        self.vc.assign(m * self.vc + scale * tf.reduce_sum(ph0 - phk, 0))
        self.w.assign_add(self.vw)
        self.b.assign_add(self.vb)
        self.c.assign_add(self.vc)

    def weights(self) -> tuple[np.ndarray, ...]:
        return tuple(v.numpy().astype(np.float64) for v in (self.w, self.b, self.c))


class TensorflowRBMBench(RBMBench):
    model_cls = TensorflowRBM

    def setup(self) -> None:
        super().setup()
        with self.fw.tf.device(self.fw.tf_device):
            self.model.train_step(self.batches[0])  # trace the graph here, not in warm-up
