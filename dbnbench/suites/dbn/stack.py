"""The harness-facing side of dbn-pretrain, shared by every framework.

Each framework supplies its RBM class from rbm-cdk (reused, not rewritten) and two small
functions: `hidden` (p(h|x) of a layer, in the case's precision) and `host` (a device
array back as float64 NumPy)."""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np

from ...harness.timing import measure
from ..data import digits, synthetic_binary
from ..pool import POOL_BATCHES, PooledBench, split
from ..rbm.spec import init_weights
from .spec import QUALITY_BUDGET, layer_report, quality_report

# Per-layer timing in metrics(): short, because the main window already measured the stack.
LAYER_TIMING = {"warmup_s": 0.05, "min_time_s": 0.05, "repetitions": 3}
HYPER = ("k", "lr", "momentum", "weight_decay")


def build_stack(model_cls: type, fw: Any, sizes: list[int], batch: int,
                hyper: dict[str, Any]) -> list[Any]:
    """One RBM per adjacent pair of sizes, each seeded differently but identically across
    frameworks, so every framework starts from the same weights."""
    return [model_cls(fw, v, h, batch, persistent=False, init=init_weights(v, h, fw.seed + i),
                      **hyper)
            for i, (v, h) in enumerate(pairwise(sizes))]


def greedy_pretrain(models: list[Any], hidden: Callable[[Any, Any], Any],
                    host: Callable[[Any], np.ndarray], x_train: np.ndarray,
                    x_test: np.ndarray, epochs: int, batch: int, seed: int
                    ) -> list[dict[str, Any]]:
    """Train each RBM in turn on the hidden probabilities of the one below; return each
    layer's reconstruction report on its own held-out input."""
    rng = np.random.default_rng(seed)
    reports = []
    for model in models:
        n = len(x_train) - len(x_train) % batch
        for _ in range(epochs):
            for rows in rng.permutation(len(x_train))[:n].reshape(-1, batch):
                model.train_step(model.to_device(x_train[rows]))
        reports.append(layer_report(model.weights(), x_train, x_test))
        x_train, x_test = (host(hidden(model, model.to_device(x))) for x in (x_train, x_test))
    return reports


class PretrainBench(PooledBench):
    """Impl for dbn-pretrain; subclasses set `model_cls` and define `hidden` and `host`."""

    model_cls: ClassVar[type]

    def hidden(self, model: Any, x: Any) -> Any:
        raise NotImplementedError

    def host(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def setup(self) -> None:
        p = self.p
        hyper = {key: p[key] for key in HYPER}
        self.models = build_stack(self.model_cls, self.fw, p["layers"], p["batch"], hyper)
        pool = synthetic_binary(POOL_BATCHES * p["batch"], p["layers"][0], self.fw.seed)
        # Each layer's data is the layer below's hidden probabilities, computed once, as
        # greedy training does once the layer below is trained.
        self.inputs = [split(pool, self.models[0].to_device)]
        for model in self.models[:-1]:
            self.inputs.append([self.hidden(model, x) for x in self.inputs[-1]])
        self.step()  # first call of every layer (graph tracing in TensorFlow) out of warm-up

    def step(self) -> None:
        j = self.next_index()
        for model, xs in zip(self.models, self.inputs, strict=True):
            model.train_step(xs[j])

    def layer_step_s(self, index: int) -> float:
        """Median seconds of one minibatch update of layer `index` alone."""
        model, xs, count = self.models[index], self.inputs[index], [0]

        def one() -> None:
            model.train_step(xs[count[0] % POOL_BATCHES])
            count[0] += 1

        timing = measure(one, self.fw.sync, **LAYER_TIMING)
        return float(np.median(timing.repetitions_s)) / timing.steps_per_repetition

    def metrics(self) -> dict[str, Any]:
        """Per-layer rates, the whole stack's, and the time of one epoch (every layer once
        over `samples`), all from per-layer step times measured here with syncs."""
        p, sizes = self.p, self.p["layers"]
        steps = math.ceil(p["samples"] / p["batch"])
        layers = []
        for i in range(len(self.models)):
            step_s = self.layer_step_s(i)
            layers.append({"layer": f"{sizes[i]}-{sizes[i + 1]}", "step_s": step_s,
                           "samples_per_s": p["batch"] / step_s, "epoch_s": steps * step_s})
        stack_s = sum(layer["step_s"] for layer in layers)
        return {"layers": layers, "stack_samples_per_s": p["batch"] / stack_s,
                "time_per_epoch_s": steps * stack_s, "epoch_samples": p["samples"],
                "note": "epoch = every layer once over `samples`, from measured step times"}

    def quality(self) -> dict[str, Any]:
        q = QUALITY_BUDGET
        # Reseed: the timed window drew from the same generators for as many steps as the
        # machine's speed allowed, and the score must not depend on that.
        self.fw.seed_all(self.fw.seed)
        x_train, _, x_test, _ = digits(self.fw.seed)
        models = build_stack(self.model_cls, self.fw, q["layers"], q["batch"],
                             {key: q[key] for key in HYPER})
        reports = greedy_pretrain(models, self.hidden, self.host, x_train, x_test,
                                  q["epochs"], q["batch"], self.fw.seed)
        return quality_report(reports)
