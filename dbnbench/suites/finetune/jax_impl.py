"""dbn-finetune in JAX: the loss differentiated by jax.grad inside one jitted step, SGD with
momentum written out (PyTorch's form, as the other implementations), the state's buffers
donated. Mixed modes: float32 master weights, every product on bf16/fp16 operands with
float32 results (the adapter's matmul, its backward products reduced too), the loss in
float32; fp16 adds dynamic loss scaling with GradScaler's defaults. With accumulation the
micro-batches' gradients (a Python loop, unrolled when traced) are summed into one update."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.frameworks.jax_fw import JaxFramework
from .bench import FinetuneBench

# torch.amp.GradScaler's defaults: start at 2^16, halve on a non-finite gradient (and skip
# that update), double after 2000 finite ones in a row.
INIT_SCALE = 2.0**16
GROWTH_INTERVAL = 2000

State = dict[str, Any]


class JaxNet:
    def __init__(self, fw: JaxFramework, init: list[tuple[np.ndarray, np.ndarray]], *, lr: float,
                 momentum: float, accumulate: int = 1) -> None:
        jax, jnp = fw.jax, fw.jnp
        self.fw, self.lr, self.momentum, self.accumulate = fw, lr, momentum, accumulate
        self.loss_dtype = jnp.dtype("float64" if fw.precision == "fp64" else "float32")
        self.scaled = fw.precision == "fp16-mixed"
        params = [(fw.put(w), fw.put(b)) for w, b in init]
        self.state: State = {"params": params,
                             "velocity": jax.tree_util.tree_map(jnp.zeros_like, params)}
        if self.scaled:
            self.state["scale"] = fw.put(INIT_SCALE, "float32")
            self.state["good"] = fw.put(0, "int32")
        self._train = jax.jit(self._step, donate_argnums=0)
        self._logits = jax.jit(self.forward)

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        return self.fw.put(x), self.fw.put(y, "int32")

    def forward(self, params: Any, x: Any) -> Any:
        """Logits in the loss dtype: sigmoid hidden layers, a linear output."""
        fw = self.fw
        h = x
        for i, (w, b) in enumerate(params):
            z = fw.matmul(h, w).astype(fw.dtype) + b
            h = fw.jax.nn.sigmoid(z) if i + 1 < len(params) else z
        return h.astype(self.loss_dtype)

    def _loss(self, params: Any, x: Any, y: Any, factor: Any) -> Any:
        """`factor` × the mean cross-entropy of the micro-batch."""
        jax, jnp = self.fw.jax, self.fw.jnp
        logp = jax.nn.log_softmax(self.forward(params, x))
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean() * factor

    def _step(self, state: State, x: Any, y: Any) -> State:
        jax, jnp = self.fw.jax, self.fw.jnp
        tree_map = jax.tree_util.tree_map
        scale = state["scale"] if self.scaled else 1.0
        grads = None
        # Equal micro-batches: each adds its mean-loss gradient at 1/accumulate, so the
        # update is the whole batch's.
        for xs, ys in zip(jnp.split(x, self.accumulate), jnp.split(y, self.accumulate),
                          strict=True):
            part = jax.grad(self._loss)(state["params"], xs, ys, scale / self.accumulate)
            grads = part if grads is None else tree_map(jnp.add, grads, part)
        if self.scaled:
            grads = tree_map(lambda g: g / scale, grads)
        # PyTorch's SGD: v ← m·v + g; w ← w − lr·v.
        velocity = tree_map(lambda v, g: self.momentum * v + g, state["velocity"], grads)
        params = tree_map(lambda p, v: p - self.lr * v, state["params"], velocity)
        new: State = {"params": params, "velocity": velocity}
        return self._rescale(state, new, grads) if self.scaled else new

    def _rescale(self, old: State, new: State, grads: Any) -> State:
        """GradScaler's rule: a non-finite gradient skips the update and halves the scale;
        GROWTH_INTERVAL finite ones in a row double it."""
        jax, jnp = self.fw.jax, self.fw.jnp
        finite = jnp.all(jnp.stack([jnp.isfinite(g).all()
                                    for g in jax.tree_util.tree_leaves(grads)]))
        kept = {key: jax.tree_util.tree_map(lambda n, o: jnp.where(finite, n, o),
                                            new[key], old[key])
                for key in ("params", "velocity")}
        good = jnp.where(finite, old["good"] + 1, 0)
        grow = good >= GROWTH_INTERVAL
        scale = jnp.where(finite, jnp.where(grow, old["scale"] * 2, old["scale"]),
                          old["scale"] * 0.5)
        return {**kept, "scale": scale, "good": jnp.where(grow, 0, good)}

    def train_step(self, x: Any, y: Any) -> None:
        self.state = self.fw.block(self._train(self.state, x, y))

    def probe_step(self, x: Any, y: Any) -> tuple[Any, tuple[Any, ...]]:
        return self._train, (self.state, x, y)

    def logits(self, x: Any) -> np.ndarray:
        return np.asarray(self._logits(self.state["params"], x)).astype(np.float64)

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.asarray(w).astype(np.float64), np.asarray(b).astype(np.float64))
                for w, b in self.state["params"]]


class JaxFinetuneBench(FinetuneBench):
    fw: JaxFramework  # the adapter this implementation runs under, typed
    net_cls = JaxNet

    def probe_steps(self) -> list[tuple[Any, tuple[Any, ...]]]:
        return [self.net.probe_step(*self.batches[0])]
