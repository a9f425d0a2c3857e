"""The harness-facing side of rbm-cdk, shared by every framework's model class.

A model class is built as `model_cls(fw, visible, hidden, batch, init=..., k=..., persistent=...,
lr=..., momentum=..., weight_decay=..., accumulate=...)` and offers `to_device(x)`,
`train_step(v0)` (one update, drawing its own uniforms) and `weights()` (float64 NumPy);
NumPy, torch and TensorFlow also offer `update(v0, uh, uv)`, the update with given draws."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..batches import POOL_BATCHES, PooledBench, split
from ..data import digits, synthetic_binary
from ..quality import DIGITS, budget_text, epoch_batches, labelled, mnist_or_why
from .spec import (
    MNIST_BUDGET,
    MNIST_BUDGET_PCD,
    QUALITY_BUDGET,
    init_weights,
    quality_report,
    ratio_report,
)


class RBMBench(PooledBench):
    """Impl for rbm-cdk: builds `model_cls` (one per framework) and drives it."""

    model_cls: ClassVar[type]
    # Whether the model offers `update(v0, uh, uv)`, the update with given uniform draws (the
    # conformance tests hold it to a float64 reference); a peer that draws its own does not.
    given_draws: ClassVar[bool] = True
    quality_note: ClassVar[str | None] = None
    model_name: ClassVar[str] = "RBM"

    def chain(self) -> str:
        """The sampling scheme, as the quality answer names it."""
        return f"{'PCD' if self.p['persistent'] else 'CD'}-{self.p['k']}"

    def build(self, visible: int, hidden: int, batch: int, **overrides: Any) -> Any:
        hyper = {key: overrides.get(key, self.p[key])
                 for key in ("k", "persistent", "lr", "momentum", "weight_decay", "accumulate")}
        init = init_weights(visible, hidden, self.fw.seed)
        return self.model_cls(self.fw, visible, hidden, batch, init=init, **hyper)

    def setup(self) -> None:
        p = self.p
        self.model = self.build(p.integer("visible"), p.integer("hidden"), self.rows())
        pool = synthetic_binary(POOL_BATCHES * self.rows(), p.integer("visible"), self.fw.seed)
        self.batches = split(pool, self.model.to_device)

    def step(self) -> None:
        self.model.train_step(self.batches[self.next_index()])

    def train(self, x_train: np.ndarray, hidden: int, q: dict[str, Any]) -> Any:
        """A fresh RBM of x_train's width × `hidden`, trained with budget `q` (reseeded first:
        the timed window drew from the same generators for as long as the machine allowed).
        Without accumulation: the budget's batch is its own, and the update is the same."""
        self.fw.seed_all(self.fw.seed)
        model = self.build(x_train.shape[1], hidden, q["batch"], lr=q["lr"],
                           momentum=q["momentum"], weight_decay=q["weight_decay"], accumulate=1)
        rng = np.random.default_rng(self.fw.seed)
        for _ in range(q["epochs"]):
            for rows in epoch_batches(rng, len(x_train), q["batch"]):
                model.train_step(model.to_device(x_train[rows]))
        return model

    def describe(self, visible: int, hidden: int, q: dict[str, Any], data: str) -> str:
        return (f"{self.model_name} {visible}×{hidden}, {self.chain()}, {self.fw.precision}, "
                f"{budget_text(q['epochs'], q['batch'], data)}")

    def quality(self) -> dict[str, Any]:
        """At the case's shape on MNIST where the data allows; else the digits fallback."""
        mnist, fallback = mnist_or_why(self.p.integer("visible"), self.fw.seed)
        if mnist is None:
            x_train, _, x_test, _ = digits(self.fw.seed)
            q = QUALITY_BUDGET
            model = self.train(x_train, q["hidden"], q)
            w, b, c = model.weights()
            report = quality_report(w, b, c, x_test, note=self.quality_note)
            return labelled(report, self.describe(64, q["hidden"], q, "the digits"), DIGITS,
                            fallback)
        q, hidden = MNIST_BUDGET_PCD if self.p.flag("persistent") else MNIST_BUDGET, self.p.integer("hidden")
        model = self.train(mnist.x_train, hidden, q)
        report = ratio_report(model.weights(), mnist.x_train, mnist.x_test, q,
                              note=self.quality_note)
        return labelled(report, self.describe(784, hidden, q, "the train split"),
                        mnist.description, None)
