"""The pretrained stack every framework fine-tunes from in dbn-finetune's quality run:
greedy pretraining in NumPy float64, once per worker process (and seed and shape), so that
what differs between frameworks and precisions is the fine-tuning alone."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..data import LabelledSet, digits
from ..rbm.numpy_impl import NumpyRBM
from .numpy_impl import hidden
from .spec import MNIST_BUDGET, QUALITY_BUDGET
from .stack import HYPER, build_stack, greedy_pretrain

# The MNIST stack's pretraining: dbn-pretrain's MNIST budget with CD-1 and two epochs per layer,
# not five: float64 pretraining of 784-500-500-2000 costs about 2.5 s an epoch on a 2-core CPU,
# and fine-tuning from two epochs reaches 0.88-0.91 where five reach 0.91-0.93 (measured here).
MNIST_PRETRAIN = {**MNIST_BUDGET, "k": 1, "epochs": 2}

Stack = tuple[tuple[np.ndarray, np.ndarray], ...]


def pretrain_float64(sizes: list[int], q: dict[str, Any], x_train: np.ndarray,
                     x_test: np.ndarray, seed: int) -> Stack:
    """(W, c) of each layer of `sizes`, pretrained greedily with budget `q` in float64."""
    fw = SimpleNamespace(dtype=np.float64, seed=seed)
    models = build_stack(NumpyRBM, fw, sizes, q["batch"], {key: q[key] for key in HYPER})
    greedy_pretrain(models, hidden, np.asarray, x_train, x_test, q, seed)
    return tuple((w, c) for w, _, c in (m.weights() for m in models))


@cache
def pretrained_digits(seed: int) -> Stack:
    """The digits quality stack (the fallback's), pretrained on the digits."""
    x_train, _, x_test, _ = digits(seed)
    return pretrain_float64(QUALITY_BUDGET["layers"], QUALITY_BUDGET, x_train, x_test, seed)


@cache
def pretrained_mnist(data: LabelledSet, sizes: tuple[int, ...], seed: int) -> Stack:
    """A stack of the case's `sizes` pretrained on the MNIST quality set's train split with
    the MNIST_PRETRAIN budget."""
    return pretrain_float64(list(sizes), MNIST_PRETRAIN, data.x_train, data.x_test, seed)
