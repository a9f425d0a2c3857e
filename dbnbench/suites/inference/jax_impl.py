"""dbn-inference in JAX: the fine-tuned network's forward pass as a function of its weights;
mode `eager` calls it op by op (each operation dispatched on its own), `compiled` wraps it in
jax.jit (XLA). Products in the case's compute dtype through the adapter (float32 results in
the mixed modes); the softmax in float32 (float64 in fp64)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.errors import Skip
from ...harness.frameworks.jax_fw import JaxFramework
from ...harness.plan.workload import Params
from .bench import InferenceBench

NO_GRAPH = ("graph mode is tf.function without XLA; JAX's only graph compiler is jit, "
            "mode 'compiled'")


class JaxForward:
    def __init__(self, fw: JaxFramework, init: list[tuple[np.ndarray, np.ndarray]], mode: str) -> None:
        if mode == "graph":
            raise Skip(NO_GRAPH)
        self.fw = fw
        self.params = [(fw.put(w), fw.put(b)) for w, b in init]
        self.out_dtype = fw.jnp.dtype("float64" if fw.precision == "fp64" else "float32")
        self.forward = fw.jax.jit(self.probs) if mode == "compiled" else self.probs

    def probs(self, params: Any, x: Any) -> Any:
        """Class probabilities: sigmoid hidden layers, a softmax output."""
        fw = self.fw
        h = x
        for w, b in params[:-1]:
            h = fw.jax.nn.sigmoid(fw.matmul(h, w).astype(fw.dtype) + b)
        w, b = params[-1]
        z = (fw.matmul(h, w).astype(fw.dtype) + b).astype(self.out_dtype)
        return fw.jax.nn.softmax(z, axis=-1)

    def to_device(self, x: np.ndarray) -> Any:
        return self.fw.put(x)

    def __call__(self, x: Any) -> Any:
        return self.forward(self.params, x).block_until_ready()

    def host(self, y: Any) -> np.ndarray:
        return np.asarray(y).astype(np.float64)


class JaxInferenceBench(InferenceBench):
    fw: JaxFramework  # the adapter this implementation runs under, typed
    forward_cls = JaxForward

    @classmethod
    def supports(cls, device: str, precision: str, params: Params) -> str | None:
        return NO_GRAPH if params.text("mode") == "graph" else None

    def probe_steps(self) -> list[tuple[Any, tuple[Any, ...]]]:
        """The forward pass a step runs: its compiled module, or (eager) each product
        operation compiled alone, as eager dispatch compiles it."""
        x = self.parts[0][0] if self.parts else self.batches[0]
        return [(self.net.forward, (self.net.params, x))]
