"""dbn-pretrain in NumPy: rbm-cdk's NumpyRBM per layer; p(h|x) with its in-place sigmoid."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.frameworks.numpy_fw import NumpyFramework
from ..rbm.numpy_impl import NumpyRBM, sigmoid_
from .stack import PretrainBench


def hidden(model: NumpyRBM, x: np.ndarray) -> np.ndarray:
    out = x @ model.w
    sigmoid_(out, model.c)
    return out


class NumpyPretrainBench(PretrainBench):
    fw: NumpyFramework  # the adapter this implementation runs under, typed
    model_cls = NumpyRBM

    def hidden(self, model: Any, x: Any) -> Any:
        return hidden(model, x)

    def host(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)
