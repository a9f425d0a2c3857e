"""rbm-cdk in PyTorch: closed-form update, no autograd, in-place ops, one fused gradient GEMM.

Mixed modes run every product under autocast (bf16/fp16 operands, fp32 master weights);
`bf16` stores everything in bfloat16."""

from __future__ import annotations

from typing import Any

import numpy as np

from .bench import RBMBench


class TorchRBM:
    def __init__(self, fw: Any, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...]) -> None:
        t = self.t = fw.torch
        self.fw, self.k, self.persistent = fw, k, persistent
        self.lr, self.momentum, self.decay = lr, momentum, weight_decay
        opts = {"device": fw.dev, "dtype": fw.dtype}
        # t.tensor copies: as_tensor would share (and update) the caller's float64 arrays.
        self.w, self.b, self.c = (t.tensor(a, **opts).contiguous() for a in init)
        self.vw, self.vb, self.vc = (t.zeros_like(a) for a in (self.w, self.b, self.c))
        # Rows [0, B) hold (v0, p(h|v0)), rows [B, 2B) hold (v_k, −p(h|v_k)): Xᵀ·P is the
        # whole weight statistic in one product with K = 2B.
        self.x = t.empty((2 * batch, visible), **opts)
        self.p = t.empty((2 * batch, hidden), **opts)
        self.chain = t.zeros((batch, hidden), **opts) if persistent else None
        self.xk_mask = t.empty((batch, visible), device=fw.dev, dtype=t.bool)
        self.visible, self.hidden = visible, hidden

    def to_device(self, x: np.ndarray) -> Any:
        return self.t.as_tensor(np.ascontiguousarray(x), device=self.fw.dev, dtype=self.fw.dtype)

    def train_step(self, v0: Any) -> None:
        t, fw, n = self.t, self.fw, len(v0)
        opts = {"generator": fw.generator, "device": fw.dev, "dtype": fw.dtype}
        uh = t.rand((self.k, n, self.hidden), **opts)
        uv = t.rand((self.k, n, self.visible), **opts)
        self.update(v0, uh, uv)

    def update(self, v0: Any, uh: Any, uv: Any) -> None:
        """One CD-k/PCD-k update with the given uniform draws (k×B×H and k×B×V)."""
        t = self.t
        n = len(v0)
        x0, xk, ph0, phk = self.x[:n], self.x[n:], self.p[:n], self.p[n:]
        with t.inference_mode(), self.fw.autocast():
            x0.copy_(v0)
            self._hidden(v0, ph0)
            h = self.chain.clone() if self.chain is not None else (uh[0] < ph0).to(ph0.dtype)
            for i in range(self.k):
                pv = t.addmm(self.b, h, self.w.t()).sigmoid_()
                t.lt(uv[i], pv, out=self.xk_mask)
                xk.copy_(self.xk_mask)
                self._hidden(xk, phk)
                if self.persistent:
                    h = (uh[i] < phk).to(phk.dtype)
                elif i + 1 < self.k:
                    h = (uh[i + 1] < phk).to(phk.dtype)
            if self.chain is not None:
                self.chain.copy_(h)
            self._apply(n)

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
        if self.decay:
            self.vw.add_(self.w, alpha=-self.lr * self.decay)
        self.w.add_(self.vw)
        self.b.add_(self.vb)
        self.c.add_(self.vc)

    def weights(self) -> tuple[np.ndarray, ...]:
        return tuple(a.detach().to("cpu", self.t.float64).numpy() for a in (self.w, self.b, self.c))


class TorchRBMBench(RBMBench):
    model_cls = TorchRBM
