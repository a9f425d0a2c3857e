"""The harness-facing side of rbm-cdk, shared by every framework's model class."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..data import digits, synthetic_binary
from ..pool import POOL_BATCHES, PooledBench, split
from .spec import QUALITY_BUDGET, init_weights, quality_report


class RBMBench(PooledBench):
    """Impl for rbm-cdk: builds `model_cls` (one per framework) and drives it."""

    model_cls: ClassVar[type]
    quality_note: ClassVar[str | None] = None

    def build(self, visible: int, hidden: int, batch: int, **overrides: Any) -> Any:
        hyper = {key: overrides.get(key, self.p[key])
                 for key in ("k", "persistent", "lr", "momentum", "weight_decay")}
        init = init_weights(visible, hidden, self.fw.seed)
        return self.model_cls(self.fw, visible, hidden, batch, init=init, **hyper)

    def setup(self) -> None:
        p = self.p
        self.model = self.build(p["visible"], p["hidden"], p["batch"])
        pool = synthetic_binary(POOL_BATCHES * p["batch"], p["visible"], self.fw.seed)
        self.batches = split(pool, self.model.to_device)

    def step(self) -> None:
        self.model.train_step(self.batches[self.next_index()])

    def quality(self) -> dict[str, Any]:
        x_train, _, x_test, _ = digits(self.fw.seed)
        q = QUALITY_BUDGET
        model = self.build(x_train.shape[1], q["hidden"], q["batch"], lr=q["lr"],
                           momentum=q["momentum"], weight_decay=q["weight_decay"])
        rng = np.random.default_rng(self.fw.seed)
        n = len(x_train) - len(x_train) % q["batch"]
        for _ in range(q["epochs"]):
            order = rng.permutation(len(x_train))[:n].reshape(-1, q["batch"])
            for rows in order:
                model.train_step(model.to_device(x_train[rows]))
        return quality_report(*model.weights(), x_test, note=self.quality_note)
