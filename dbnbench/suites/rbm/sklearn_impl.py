"""rbm-cdk through scikit-learn's BernoulliRBM: the peer a user would pick instead.

BernoulliRBM is PCD-1 with mean-field negative hiddens, no momentum and no weight decay,
and computes in the dtype of its input (float64 by default, float32 when given float32)."""

from __future__ import annotations

import numpy as np

from ...harness.frameworks.sklearn_fw import SklearnFramework
from ...harness.plan.workload import Params
from .bench import RBMBench

NOTE = ("scikit-learn BernoulliRBM: PCD-1, mean-field negative hiddens, no momentum or "
        "weight decay; k, persistent, momentum and weight_decay are ignored")


class SklearnRBM:
    def __init__(self, fw: SklearnFramework, visible: int, hidden: int, batch: int, *, k: int,
                 persistent: bool, lr: float, momentum: float, weight_decay: float,
                 init: tuple[np.ndarray, ...], accumulate: int = 1) -> None:
        from sklearn.neural_network import BernoulliRBM

        if accumulate != 1:  # the spec's supports() refuses such a case before it gets here
            raise ValueError("scikit-learn's BernoulliRBM has no gradient accumulation")

        dt = fw.dtype
        self.rbm = BernoulliRBM(n_components=hidden, learning_rate=lr, batch_size=batch,
                                n_iter=1, random_state=fw.seed)
        # Set the fitted state by hand so every framework starts from the same weights.
        self.rbm.components_ = np.ascontiguousarray(init[0].T, dtype=dt)
        self.rbm.intercept_visible_ = init[1].astype(dt)
        self.rbm.intercept_hidden_ = init[2].astype(dt)
        self.rbm.h_samples_ = np.zeros((batch, hidden), dtype=dt)
        self.rng = np.random.RandomState(fw.seed)
        self.dtype = dt

    def to_device(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.dtype)

    def train_step(self, v0: np.ndarray) -> None:
        # The body of BernoulliRBM.fit's minibatch loop, without partial_fit's per-call
        # input validation, so the peer is timed as its own fit() runs.
        self.rbm._fit(v0, self.rng)

    def weights(self) -> tuple[np.ndarray, ...]:
        r = self.rbm
        return tuple(np.asarray(a, dtype=np.float64) for a in
                     (r.components_.T, r.intercept_visible_, r.intercept_hidden_))


class SklearnRBMBench(RBMBench):
    given_draws = False  # BernoulliRBM draws from its own random state
    fw: SklearnFramework  # the adapter this implementation runs under, typed

    @classmethod
    def supports(cls, device: str, precision: str, params: Params) -> str | None:
        if params.integer("k") != 1:
            return "scikit-learn's BernoulliRBM does one Gibbs step per update (k=1 only)"
        if params.integer("accumulate") != 1:
            return ("scikit-learn's BernoulliRBM has no gradient accumulation: it updates "
                    "once per minibatch (accumulate=1 only)")
        return None

    model_cls = SklearnRBM
    quality_note = NOTE
    model_name = "scikit-learn BernoulliRBM"

    def chain(self) -> str:
        return "PCD-1"
