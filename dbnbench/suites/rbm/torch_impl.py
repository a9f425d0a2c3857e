"""rbm-cdk in PyTorch: closed-form update, no autograd, in-place ops, one fused gradient GEMM.

Mixed modes run every product under autocast (bf16/fp16 operands, fp32 master weights);
`bf16` stores everything in bfloat16. With accumulation the buffers hold one micro-batch: each
runs its own chain and adds its statistics into a sum, and one update applies the sum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...harness.frameworks.torch_fw import TorchFramework
from ..accumulation import micro_batch
from .bench import RBMBench


class TorchRBM:
    def __init__(self, fw: TorchFramework, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...], accumulate: int = 1) -> None:
        t = self.t = fw.torch
        self.fw, self.k, self.persistent, self.accumulate = fw, k, persistent, accumulate
        rows = micro_batch(batch, accumulate)
        self.lr, self.momentum, self.decay = lr, momentum, weight_decay
        opts = {"device": fw.dev, "dtype": fw.dtype}
        # t.tensor copies: as_tensor would share (and update) the caller's float64 arrays.
        self.w, self.b, self.c = (t.tensor(a, **opts).contiguous() for a in init)
        self.vw, self.vb, self.vc = (t.zeros_like(a) for a in (self.w, self.b, self.c))
        # Rows [0, B) hold (v0, p(h|v0)), rows [B, 2B) hold (v_k, −p(h|v_k)): Xᵀ·P is the
        # whole weight statistic in one product with K = 2B (B the micro-batch with
        # accumulation).
        self.x = t.empty((2 * rows, visible), **opts)
        self.p = t.empty((2 * rows, hidden), **opts)
        self.chain = t.zeros((batch, hidden), **opts) if persistent else None
        self.xk_mask = t.empty((rows, visible), device=fw.dev, dtype=t.bool)
        # Data parallel: each replica's statistics are all-reduced (summed) before the one
        # update every replica applies alike.
        self.group = fw.group
        self.summed = accumulate > 1 or self.group is not None
        if self.summed:  # the statistics summed over the micro-batches (and replicas)
            v, h = visible, hidden
            self.stats = t.empty(v * h + v + h, **opts)  # one buffer: one all-reduce
            self.grad = self.stats[:v * h].view(v, h)
            self.sum_b, self.sum_c = self.stats[v * h:v * h + v], self.stats[v * h + v:]
        self.visible, self.hidden = visible, hidden

    def to_device(self, x: np.ndarray) -> Any:
        return self.t.as_tensor(np.ascontiguousarray(x), device=self.fw.dev, dtype=self.fw.dtype)

    def train_step(self, v0: Any) -> None:
        if self.summed:
            self._accumulated(v0, lambda rows: self._draws(len(v0) // self.accumulate))
            return
        self.update(v0, *self._draws(len(v0)))

    def _draws(self, n: int) -> tuple[Any, Any]:
        """Uniforms for the chain of n rows: k×n×H and k×n×V."""
        t, fw = self.t, self.fw
        opts = {"generator": fw.generator, "device": fw.dev, "dtype": fw.dtype}
        return t.rand((self.k, n, self.hidden), **opts), t.rand((self.k, n, self.visible), **opts)

    def update(self, v0: Any, uh: Any, uv: Any) -> None:
        """One CD-k/PCD-k update with the given uniform draws (k×B×H and k×B×V)."""
        if self.summed:
            self._accumulated(v0, lambda rows: (uh[:, rows], uv[:, rows]))
            return
        with self.t.inference_mode(), self.fw.autocast():
            self._gibbs(v0, uh, uv, self.chain)
            self._apply(len(v0))

    def _accumulated(self, v0: Any, draws: Callable[[slice], tuple[Any, Any]]) -> None:
        """One update from `accumulate` micro-batches, micro-batch i being rows [i·m, (i+1)·m)
        of v0, of the draws (`draws(rows)`) and of the persistent chain; the same update as
        the whole batch's on the same draws."""
        m = len(v0) // self.accumulate
        with self.t.inference_mode(), self.fw.autocast():
            for i in range(self.accumulate):
                rows = slice(i * m, (i + 1) * m)
                chain = None if self.chain is None else self.chain[rows]
                self._gibbs(v0[rows], *draws(rows), chain)
                self._add_statistics(first=i == 0)
            world = 1
            if self.group is not None:
                self.group.all_reduce_sum(self.stats)
                world = self.group.world
            scale = self.lr / (len(v0) * world)  # every replica's rows: the global batch
            self.vb.mul_(self.momentum).add_(self.sum_b, alpha=scale)
            self.vc.mul_(self.momentum).add_(self.sum_c, alpha=scale)
            self.vw.mul_(self.momentum).add_(self.grad, alpha=scale)
            self._step_weights()

    def _gibbs(self, v0: Any, uh: Any, uv: Any, chain: Any) -> None:
        """The phases of one (micro-)batch into the buffers: x = [v0; v_k], p = [ph0; ph_k];
        `chain` (PCD: this batch's rows of the persistent chain, else None) read, then
        advanced."""
        t = self.t
        n = len(v0)
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        x0.copy_(v0)
        self._hidden(v0, ph0)
        h = chain.clone() if chain is not None else (uh[0] < ph0).to(ph0.dtype)
        for i in range(self.k):
            pv = t.addmm(self.b, h, self.w.t()).sigmoid_()
            t.lt(uv[i], pv, out=self.xk_mask)
            xk.copy_(self.xk_mask)
            self._hidden(xk, phk)
            if self.persistent:
                h = (uh[i] < phk).to(phk.dtype)
            elif i + 1 < self.k:
                h = (uh[i + 1] < phk).to(phk.dtype)
        if chain is not None:
            chain.copy_(h)

    def _add_statistics(self, first: bool) -> None:
        """Add one micro-batch's statistics (its phases in the buffers) into the sums."""
        n = len(self.xk_mask)
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        if first:
            self.sum_b.copy_(x0.sum(0) - xk.sum(0))
            self.sum_c.copy_(ph0.sum(0) - phk.sum(0))
        else:
            self.sum_b.add_(x0.sum(0) - xk.sum(0))
            self.sum_c.add_(ph0.sum(0) - phk.sum(0))
        phk.neg_()
        if self.fw.autocast_dtype is not None:
            # The allocating mm, as in _apply: autocast runs it in the reduced dtype.
            part = self.t.mm(self.x.t(), self.p)
            if first:
                self.grad.copy_(part)
            else:
                self.grad.add_(part)
        elif first:
            self.t.mm(self.x.t(), self.p, out=self.grad)
        else:
            self.grad.addmm_(self.x.t(), self.p)

    def _hidden(self, v: Any, out: Any) -> None:
        """out ← σ(c + v·W). Autocast does not apply to out= variants, so mixed modes take
        the allocating form and copy back into the (full-precision) buffer."""
        if self.fw.autocast_dtype is None:
            self.t.addmm(self.c, v, self.w, out=out).sigmoid_()
        else:
            out.copy_(self.t.addmm(self.c, v, self.w)).sigmoid_()

    def _apply(self, n: int) -> None:
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        scale = self.lr / n
        self.vb.mul_(self.momentum).add_(x0.sum(0) - xk.sum(0), alpha=scale)
        self.vc.mul_(self.momentum).add_(ph0.sum(0) - phk.sum(0), alpha=scale)
        phk.neg_()
        if self.fw.autocast_dtype is None:
            # vw ← m·vw + scale·XᵀP − lr·decay·W, the product accumulated by addmm itself.
            self.vw.addmm_(self.x.t(), self.p, beta=self.momentum, alpha=scale)
        else:
            # In-place addmm_ is not autocast-eligible: it would run this product (4 of the
            # 10·B·V·H FLOPs) in float32. The allocating mm is, so the weight statistic runs
            # in the reduced dtype like every other product, and is added to the float32
            # momentum after.
            self.vw.mul_(self.momentum).add_(self.t.mm(self.x.t(), self.p), alpha=scale)
        self._step_weights()

    def _step_weights(self) -> None:
        """Weight decay into the weights' momentum, then every parameter moved by its
        momentum (the statistics already added in)."""
        if self.decay:
            self.vw.add_(self.w, alpha=-self.lr * self.decay)
        self.w.add_(self.vw)
        self.b.add_(self.vb)
        self.c.add_(self.vc)

    def weights(self) -> tuple[np.ndarray, ...]:
        return tuple(a.detach().to("cpu", self.t.float64).numpy() for a in (self.w, self.b, self.c))


class TorchRBMBench(RBMBench):
    fw: TorchFramework  # the adapter this implementation runs under, typed
    model_cls = TorchRBM
