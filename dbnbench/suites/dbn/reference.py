"""The pretrained stack every framework fine-tunes from in dbn-finetune's quality run:
greedy pretraining on the digits in NumPy float64, once per worker process, so that what
differs between frameworks and precisions is the fine-tuning alone."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import numpy as np

from ..data import digits
from ..rbm.numpy_impl import NumpyRBM
from .numpy_impl import hidden
from .spec import QUALITY_BUDGET
from .stack import build_stack, greedy_pretrain


@cache
def pretrained_digits(seed: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(W, c) of each layer of the quality stack, pretrained on the digits in float64."""
    q = QUALITY_BUDGET
    fw = SimpleNamespace(dtype=np.float64, seed=seed)
    models = build_stack(NumpyRBM, fw, q["layers"], q["batch"],
                         {key: q[key] for key in ("k", "lr", "momentum", "weight_decay")})
    x_train, _, x_test, _ = digits(seed)
    greedy_pretrain(models, hidden, np.asarray, x_train, x_test, q["epochs"], q["batch"], seed)
    return tuple((w, c) for w, _, c in (m.weights() for m in models))
