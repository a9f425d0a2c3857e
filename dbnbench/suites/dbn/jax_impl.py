"""dbn-pretrain in JAX: rbm-cdk's JaxRBM per layer (its update one jitted function); p(h|x)
jitted too, with the product in the case's compute dtype, as the RBM's own products."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from ...harness.frameworks.jax_fw import JaxFramework
from ..rbm.jax_impl import JaxRBM
from .stack import PretrainBench


class JaxPretrainBench(PretrainBench):
    fw: JaxFramework  # the adapter this implementation runs under, typed
    model_cls = JaxRBM

    @cached_property
    def _hidden(self) -> Any:
        fw = self.fw

        def hidden(w: Any, c: Any, x: Any) -> Any:
            # Back to the storage dtype: the next layer's data lives in its state's dtype.
            return fw.jax.nn.sigmoid(fw.matmul(x, w).astype(fw.dtype) + c)

        return fw.jax.jit(hidden)

    def hidden(self, model: Any, x: Any) -> Any:
        return self.fw.block(self._hidden(model.state["w"], model.state["c"], x))

    def host(self, x: Any) -> np.ndarray:
        return np.asarray(x).astype(np.float64)

    def probe_steps(self) -> list[tuple[Any, tuple[Any, ...]]]:
        return [model.probe_step(xs[0]) for model, xs in zip(self.models, self.inputs, strict=True)]
