"""rbm-cdk in TensorFlow: the update is one tf.function over tf.Variables.

Mixed modes cast the operands of every product to the compute dtype (bf16/fp16) and keep
float32 variables, as Keras's mixed policies do; `bf16` stores everything in bfloat16. Data
parallel, the statistics are all-reduced over the replicas before the update. With
accumulation the traced graph runs the micro-batches one after another (a Python loop, unrolled
when traced), each with its own chain, and adds their statistics; one update applies the sum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...harness.frameworks.tf_fw import TensorflowFramework
from ..accumulation import micro_batch
from .bench import RBMBench


class TensorflowRBM:
    def __init__(self, fw: TensorflowFramework, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...], accumulate: int = 1) -> None:
        tf = self.tf = fw.tf
        self.fw, self.k, self.persistent, self.accumulate = fw, k, persistent, accumulate
        self.rows = micro_batch(batch, accumulate)
        self.lr, self.momentum, self.decay = lr, momentum, weight_decay
        dt = fw.dtype
        with tf.device(fw.tf_device):
            self.w, self.b, self.c = (tf.Variable(tf.constant(a, dtype=dt)) for a in init)
            self.vw, self.vb, self.vc = (tf.Variable(tf.zeros_like(v)) for v in
                                         (self.w, self.b, self.c))
            self.chain = tf.Variable(tf.zeros((batch, hidden), dt)) if persistent else None
        self.shape_h, self.shape_v = (k, hidden), (k, visible)
        # Data parallel: each replica's statistics are all-reduced (summed) through
        # MultiWorkerMirroredStrategy before the one update every replica applies alike.
        self.group = fw.group
        self.world = self.group.world if self.group is not None else 1
        self.update = tf.function(self._update)
        self.train_step = tf.function(self._train_step)

    def to_device(self, x: np.ndarray) -> Any:
        with self.tf.device(self.fw.tf_device):
            return self.tf.constant(np.ascontiguousarray(x), dtype=self.fw.dtype)

    def _train_step(self, v0: Any) -> None:
        if self.accumulate > 1:
            self._accumulated(v0, lambda i: self._draws(self.rows))
            return
        self._update(v0, *self._draws(self.tf.shape(v0)[0]))

    def _draws(self, n: Any) -> tuple[Any, Any]:
        """Uniforms for the chain of n rows: k×n×H and k×n×V."""
        g, dt = self.fw.generator, self.fw.dtype
        uh = g.uniform((self.k, n, self.shape_h[1]), dtype=dt)
        uv = g.uniform((self.k, n, self.shape_v[1]), dtype=dt)
        return uh, uv

    def _mm(self, a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Any:
        tf, cd = self.tf, self.fw.compute_dtype
        out = tf.linalg.matmul(tf.cast(a, cd), tf.cast(b, cd),
                               transpose_a=transpose_a, transpose_b=transpose_b)
        return tf.cast(out, self.fw.dtype)

    def _update(self, v0: Any, uh: Any, uv: Any) -> None:
        """One CD-k/PCD-k update with the given uniform draws (k×B×H and k×B×V)."""
        if self.accumulate > 1:
            uh_parts = self.tf.split(uh, self.accumulate, axis=1)
            uv_parts = self.tf.split(uv, self.accumulate, axis=1)
            self._accumulated(v0, lambda i: (uh_parts[i], uv_parts[i]))
            return
        chain = self.tf.identity(self.chain) if self.chain is not None else None
        grad, sum_b, sum_c, h = self._statistics(v0, uh, uv, chain)
        if self.chain is not None:
            self.chain.assign(h)
        self._step(v0, grad, sum_b, sum_c)

    def _accumulated(self, v0: Any, draws: Callable[[int], tuple[Any, Any]]) -> None:
        """One update from `accumulate` micro-batches, micro-batch i being the i-th equal
        split of v0, of the draws (`draws(i)`) and of the persistent chain; the same update
        as the whole batch's on the same draws."""
        tf = self.tf
        chains = (tf.split(tf.identity(self.chain), self.accumulate)
                  if self.chain is not None else [None] * self.accumulate)
        sums, ends = None, []
        for i, (v, chain) in enumerate(zip(tf.split(v0, self.accumulate), chains, strict=True)):
            *part, h = self._statistics(v, *draws(i), chain)
            sums = part if sums is None else [a + b for a, b in zip(sums, part, strict=True)]
            ends.append(h)
        assert sums is not None
        if self.chain is not None:
            self.chain.assign(tf.concat(ends, 0))
        self._step(v0, *sums)

    def _statistics(self, v0: Any, uh: Any, uv: Any, chain: Any) -> tuple[Any, Any, Any, Any]:
        """One (micro-)batch's CD-k statistics, summed over its rows: the weight term
        v0ᵀ·ph0 − v_kᵀ·ph_k, the visible and hidden bias terms; and the chain's last hidden
        sample. `chain` is this batch's rows of the persistent chain (PCD), else None."""
        tf = self.tf
        dt = self.fw.dtype
        ph0 = tf.sigmoid(self._mm(v0, self.w) + self.c)
        h = chain if chain is not None else tf.cast(uh[0] < ph0, dt)
        vk, phk = v0, ph0
        for i in range(self.k):
            pv = tf.sigmoid(self._mm(h, self.w, transpose_b=True) + self.b)
            vk = tf.cast(uv[i] < pv, dt)
            phk = tf.sigmoid(self._mm(vk, self.w) + self.c)
            if self.persistent:
                h = tf.cast(uh[i] < phk, dt)
            elif i + 1 < self.k:
                h = tf.cast(uh[i + 1] < phk, dt)
        # Both weight statistics in one product: [v0; v_k]ᵀ·[ph0; −ph_k].
        grad = self._mm(tf.concat([v0, vk], 0), tf.concat([ph0, -phk], 0), transpose_a=True)
        return grad, tf.reduce_sum(v0 - vk, 0), tf.reduce_sum(ph0 - phk, 0), h

    def _step(self, v0: Any, grad: Any, sum_b: Any, sum_c: Any) -> None:
        """The momentum step from the statistics summed over the batch v0 (and, data
        parallel, over every replica's rows: the global batch), scaled by lr/B."""
        tf = self.tf
        dt = self.fw.dtype
        if self.group is not None:
            grad, sum_b, sum_c = self.group.all_reduce_sum([grad, sum_b, sum_c])
        rows = tf.cast(tf.shape(v0)[0] * self.world, tf.float64)
        scale = tf.cast(self.lr / rows, dt)
        m = tf.constant(self.momentum, dt)
        step_w = m * self.vw + scale * grad
        if self.decay:
            step_w -= tf.constant(self.lr * self.decay, dt) * self.w
        self.vw.assign(step_w)
        self.vb.assign(m * self.vb + scale * sum_b)
        self.vc.assign(m * self.vc + scale * sum_c)
        self.w.assign_add(self.vw)
        self.b.assign_add(self.vb)
        self.c.assign_add(self.vc)

    def weights(self) -> tuple[np.ndarray, ...]:
        return tuple(v.numpy().astype(np.float64) for v in (self.w, self.b, self.c))


class TensorflowRBMBench(RBMBench):
    fw: TensorflowFramework  # the adapter this implementation runs under, typed
    model_cls = TensorflowRBM

    def setup(self) -> None:
        super().setup()
        with self.fw.tf.device(self.fw.tf_device):
            self.model.train_step(self.batches[0])  # trace the graph here, not in warm-up
