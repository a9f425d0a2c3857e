"""rbm-cdk in JAX: the closed-form update as one jitted function of the model's state (no
autograd), the state's buffers donated so XLA updates them in place, and the two gradient
products fused into one over stacked phases.

Mixed modes run every product on bf16/fp16 operands with float32 results and keep float32
state; `bf16` stores everything in bfloat16. With accumulation the traced function runs the
micro-batches one after another (a Python loop, unrolled when traced), each with its own chain
and its own draws, and adds their statistics; one update applies the sum. `train_step` draws
inside the jitted function from a key carried in the state (taken from the adapter's stream
when the model is built), so a step is one dispatch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...harness.frameworks.jax_fw import JaxFramework
from ..accumulation import micro_batch
from .bench import RBMBench

State = dict[str, Any]
Draws = Callable[[int, int], tuple[Any, Any]]  # (micro-batch index, rows) -> (uh, uv)


class JaxRBM:
    def __init__(self, fw: JaxFramework, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...], accumulate: int = 1) -> None:
        jax, jnp = fw.jax, fw.jnp
        self.fw, self.k, self.persistent, self.accumulate = fw, k, persistent, accumulate
        micro_batch(batch, accumulate)  # refuses an accumulate that does not divide the batch
        self.lr, self.momentum, self.decay = lr, momentum, weight_decay
        self.visible, self.hidden = visible, hidden
        w, b, c = (fw.put(a) for a in init)  # copies: the caller's arrays stay as they were
        self.state: State = {"w": w, "b": b, "c": c, "vw": jnp.zeros_like(w),
                             "vb": jnp.zeros_like(b), "vc": jnp.zeros_like(c),
                             "key": fw.next_key()}
        if persistent:
            self.state["chain"] = jnp.zeros((batch, hidden), fw.dtype, device=fw.dev)
        self._update = jax.jit(self._given, donate_argnums=0)
        self._train = jax.jit(self._drawn, donate_argnums=0)

    @property
    def chain(self) -> Any:
        return self.state.get("chain")

    def to_device(self, x: np.ndarray) -> Any:
        return self.fw.put(x)

    def train_step(self, v0: Any) -> None:
        self.state = self.fw.block(self._train(self.state, v0))

    def update(self, v0: Any, uh: Any, uv: Any) -> None:
        """One CD-k/PCD-k update with the given uniform draws (k×B×H and k×B×V)."""
        self.state = self.fw.block(self._update(self.state, v0, uh, uv))

    def probe_step(self, v0: Any) -> tuple[Any, tuple[Any, ...]]:
        """The jitted function a step runs and its arguments, for the product probe."""
        return self._train, (self.state, v0)

    def _given(self, state: State, v0: Any, uh: Any, uv: Any) -> State:
        def draws(i: int, m: int) -> tuple[Any, Any]:
            return uh[:, i * m:(i + 1) * m], uv[:, i * m:(i + 1) * m]

        return self._run(state, v0, draws)

    def _drawn(self, state: State, v0: Any) -> State:
        jax, dt = self.fw.jax, self.fw.dtype
        key, *keys = jax.random.split(state["key"], self.accumulate + 1)

        def draws(i: int, m: int) -> tuple[Any, Any]:
            kh, kv = jax.random.split(keys[i])
            return (jax.random.uniform(kh, (self.k, m, self.hidden), dt),
                    jax.random.uniform(kv, (self.k, m, self.visible), dt))

        return self._run({**state, "key": key}, v0, draws)

    def _run(self, state: State, v0: Any, draws: Draws) -> State:
        """One update from `accumulate` micro-batches, micro-batch i being rows [i·m, (i+1)·m)
        of v0, of the draws and of the persistent chain; the same update as the whole
        batch's on the same draws."""
        jnp = self.fw.jnp
        n = v0.shape[0]
        m = n // self.accumulate
        sums: list[Any] | None = None
        ends = []
        for i in range(self.accumulate):
            rows = slice(i * m, (i + 1) * m)
            chain = state["chain"][rows] if self.persistent else None
            *part, h = self._statistics(state, v0[rows], *draws(i, m), chain)
            sums = part if sums is None else [a + b for a, b in zip(sums, part, strict=True)]
            ends.append(h)
        assert sums is not None
        new = self._step(state, n, *sums)
        if self.persistent:
            new["chain"] = jnp.concatenate(ends) if len(ends) > 1 else ends[0]
        return new

    def _statistics(self, state: State, v0: Any, uh: Any, uv: Any,
                    chain: Any) -> tuple[Any, Any, Any, Any]:
        """One (micro-)batch's CD-k statistics summed over its rows: the weight term
        v0ᵀ·ph0 − v_kᵀ·ph_k, the visible and hidden bias terms; and the chain's last hidden
        sample. `chain` is this batch's rows of the persistent chain (PCD), else None."""
        fw, jnp = self.fw, self.fw.jnp
        dt, mm, sigmoid = fw.dtype, fw.matmul, fw.jax.nn.sigmoid
        w, b, c = state["w"], state["b"], state["c"]
        ph0 = sigmoid(mm(v0, w).astype(dt) + c)
        h = chain if chain is not None else (uh[0] < ph0).astype(dt)
        vk, phk = v0, ph0
        for i in range(self.k):
            pv = sigmoid(mm(h, w.T).astype(dt) + b)
            vk = (uv[i] < pv).astype(dt)
            phk = sigmoid(mm(vk, w).astype(dt) + c)
            if self.persistent:
                h = (uh[i] < phk).astype(dt)
            elif i + 1 < self.k:
                h = (uh[i + 1] < phk).astype(dt)
        # Both weight statistics in one product: [v0; v_k]ᵀ·[ph0; −ph_k].
        grad = mm(jnp.concatenate([v0, vk]).T, jnp.concatenate([ph0, -phk])).astype(dt)
        return grad, (v0 - vk).sum(0), (ph0 - phk).sum(0), h

    def _step(self, state: State, n: int, grad: Any, sum_b: Any, sum_c: Any) -> State:
        """The momentum step from statistics summed over n rows, scaled by lr/n."""
        scale, m = self.lr / n, self.momentum
        vw = m * state["vw"] + scale * grad
        if self.decay:
            vw = vw - (self.lr * self.decay) * state["w"]
        vb = m * state["vb"] + scale * sum_b
        vc = m * state["vc"] + scale * sum_c
        return {**state, "vw": vw, "vb": vb, "vc": vc, "w": state["w"] + vw,
                "b": state["b"] + vb, "c": state["c"] + vc}

    def weights(self) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(self.state[key]).astype(np.float64) for key in "wbc")


class JaxRBMBench(RBMBench):
    fw: JaxFramework  # the adapter this implementation runs under, typed
    model_cls = JaxRBM

    def setup(self) -> None:
        super().setup()
        self.model.train_step(self.batches[0])  # compiled here, not in the warm-up

    def probe_steps(self) -> list[tuple[Any, tuple[Any, ...]]]:
        return [self.model.probe_step(self.batches[0])]
