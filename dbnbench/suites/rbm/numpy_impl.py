"""rbm-cdk in NumPy: preallocated buffers, in-place ufuncs, and the two gradient products
fused into one GEMM over stacked positive and negative statistics.

With accumulation the buffers hold one micro-batch: each runs its own chain and adds its
statistics into a sum, and one update applies the sum scaled by lr/B."""

from __future__ import annotations

import numpy as np

from ...harness.frameworks.numpy_fw import NumpyFramework
from ..accumulation import micro_batch
from .bench import RBMBench


def sigmoid_(x: np.ndarray, bias: np.ndarray) -> None:
    """x ← σ(x + bias) in place, via tanh: NumPy's SIMD tanh is about six times faster here
    than scipy.special.expit, and σ(x) = ½ + ½·tanh(x/2) holds exactly in real arithmetic."""
    x += bias
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5


def sample_(u: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
    """out ← 1.0 where u < p else 0.0, written straight into a float buffer."""
    np.less(u, p, out=out, casting="unsafe")


class NumpyRBM:
    def __init__(self, fw: NumpyFramework, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...], accumulate: int = 1) -> None:
        dt = fw.dtype
        self.k, self.persistent, self.accumulate = k, persistent, accumulate
        rows = micro_batch(batch, accumulate)
        self.lr, self.momentum, self.decay = lr, momentum, weight_decay
        # SFC64 draws uniforms about 20 % faster than the default PCG64 here.
        self.rng = np.random.Generator(np.random.SFC64(fw.seed))
        self.w = np.array(init[0], dtype=dt, order="C")  # a copy: never update the caller's array
        self.b, self.c = init[1].astype(dt), init[2].astype(dt)
        self.vw, self.vb, self.vc = (np.zeros_like(a) for a in (self.w, self.b, self.c))
        self.grad = np.empty_like(self.w)
        # Rows [0, B) hold the positive phase (v0, p(h|v0)), rows [B, 2B) the negative phase
        # (v_k, −p(h|v_k)), so Xᵀ·P is v0ᵀ·ph0 − v_kᵀ·ph_k in one product with K = 2B (B the
        # micro-batch with accumulation).
        self.x = np.empty((2 * rows, visible), dt)
        self.p = np.empty((2 * rows, hidden), dt)
        self.h = np.empty((rows, hidden), dt)
        self.pv = np.empty((rows, visible), dt)
        self.uh = np.empty((k, rows, hidden), dt)
        self.uv = np.empty((k, rows, visible), dt)
        self.chain = np.zeros((batch, hidden), dt) if persistent else None
        if accumulate > 1:
            # The statistics summed over the micro-batches, and one micro-batch's weight term.
            self.part = np.empty_like(self.w)
            self.sum_b, self.sum_c = np.empty_like(self.b), np.empty_like(self.c)

    def to_device(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.w.dtype)

    def train_step(self, v0: np.ndarray) -> None:
        if self.accumulate > 1:
            self._accumulated(v0, None, None)
            return
        self.rng.random(out=self.uh, dtype=self.w.dtype)
        self.rng.random(out=self.uv, dtype=self.w.dtype)
        self.update(v0, self.uh, self.uv)

    def update(self, v0: np.ndarray, uh: np.ndarray, uv: np.ndarray) -> None:
        """One CD-k/PCD-k update with the given uniform draws (k×B×H and k×B×V)."""
        if self.accumulate > 1:
            self._accumulated(v0, uh, uv)
            return
        self._gibbs(v0, uh, uv, self.chain)
        self._apply(len(v0))

    def _accumulated(self, v0: np.ndarray, uh: np.ndarray | None,
                     uv: np.ndarray | None) -> None:
        """One update from `accumulate` micro-batches, micro-batch i being rows [i·m, (i+1)·m)
        of v0, of the draws (drawn here, one micro-batch at a time, when None) and of the
        persistent chain; the same update as the whole batch's on the same draws."""
        m = len(v0) // self.accumulate
        for i in range(self.accumulate):
            rows = slice(i * m, (i + 1) * m)
            if uh is None or uv is None:
                self.rng.random(out=self.uh, dtype=self.w.dtype)
                self.rng.random(out=self.uv, dtype=self.w.dtype)
                uh_i, uv_i = self.uh, self.uv
            else:
                uh_i, uv_i = uh[:, rows], uv[:, rows]
            chain = None if self.chain is None else self.chain[rows]
            self._gibbs(v0[rows], uh_i, uv_i, chain)
            self._add_statistics(first=i == 0)
        scale = self.lr / len(v0)
        self.vb *= self.momentum
        self.vb += scale * self.sum_b
        self.vc *= self.momentum
        self.vc += scale * self.sum_c
        self._step_weights(scale)

    def _gibbs(self, v0: np.ndarray, uh: np.ndarray, uv: np.ndarray,
               chain: np.ndarray | None) -> None:
        """The phases of one (micro-)batch into the buffers: x = [v0; v_k], p = [ph0; ph_k];
        `chain` (PCD: this batch's rows of the persistent chain) read, then advanced."""
        n = len(v0)
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        h, pv, w = self.h, self.pv, self.w
        x0[...] = v0
        np.matmul(v0, w, out=ph0)
        sigmoid_(ph0, self.c)
        if chain is not None:
            h[...] = chain
        else:
            sample_(uh[0], ph0, h)
        for i in range(self.k):
            np.matmul(h, w.T, out=pv)
            sigmoid_(pv, self.b)
            sample_(uv[i], pv, xk)
            np.matmul(xk, w, out=phk)
            sigmoid_(phk, self.c)
            if self.persistent:
                sample_(uh[i], phk, h)
            elif i + 1 < self.k:
                sample_(uh[i + 1], phk, h)
        if chain is not None:
            chain[...] = h

    def _add_statistics(self, first: bool) -> None:
        """Add one micro-batch's statistics (its phases in the buffers) into the sums."""
        n = len(self.h)
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        if first:
            np.subtract(x0.sum(axis=0), xk.sum(axis=0), out=self.sum_b)
            np.subtract(ph0.sum(axis=0), phk.sum(axis=0), out=self.sum_c)
        else:
            self.sum_b += x0.sum(axis=0) - xk.sum(axis=0)
            self.sum_c += ph0.sum(axis=0) - phk.sum(axis=0)
        np.negative(phk, out=phk)
        if first:
            np.matmul(self.x.T, self.p, out=self.grad)
        else:
            np.matmul(self.x.T, self.p, out=self.part)
            self.grad += self.part

    def _apply(self, n: int) -> None:
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        scale = self.lr / n
        # Bias statistics first, while phk still holds +p(h|v_k).
        self.vb *= self.momentum
        self.vb += scale * (x0.sum(axis=0) - xk.sum(axis=0))
        self.vc *= self.momentum
        self.vc += scale * (ph0.sum(axis=0) - phk.sum(axis=0))
        np.negative(phk, out=phk)
        # NumPy's own matmul, not scipy.linalg.blas with beta-accumulation: SciPy links a second
        # OpenBLAS, and two BLAS thread pools alternating on the same cores made the whole step
        # about twice as slow here, far more than the extra element-wise passes cost.
        np.matmul(self.x.T, self.p, out=self.grad)
        self._step_weights(scale)

    def _step_weights(self, scale: float) -> None:
        """The momentum step from the weight statistic in `grad` (scaled here), then every
        parameter moved by its momentum (vb and vc already stepped)."""
        vw = self.vw
        vw *= self.momentum
        self.grad *= scale
        vw += self.grad
        if self.decay:
            self.grad[...] = self.w
            self.grad *= self.lr * self.decay
            vw -= self.grad
        self.w += vw
        self.b += self.vb
        self.c += self.vc

    def weights(self) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(a, dtype=np.float64) for a in (self.w, self.b, self.c))


class NumpyRBMBench(RBMBench):
    fw: NumpyFramework  # the adapter this implementation runs under, typed
    model_cls = NumpyRBM
