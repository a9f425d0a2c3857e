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

from ...harness.measure.timing import measure
from ..batches import POOL_BATCHES, PooledBench, split
from ..data import digits, synthetic_binary
from ..quality import DIGITS, budget_text, epoch_batches, labelled, mnist_or_why
from ..rbm.spec import init_weights, scored_layer
from .spec import (
    MNIST_BUDGET,
    MNIST_RATIO_BAR,
    QUALITY_BUDGET,
    RECON_RATIO_BAR,
    layers_tag,
    quality_report,
)

# Per-layer timing in metrics(): short, because the main window already measured the stack.
LAYER_TIMING: dict[str, Any] = {"warmup_s": 0.05, "min_time_s": 0.05, "repetitions": 3}
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
                    x_test: np.ndarray, q: dict[str, Any], seed: int,
                    bar: float = RECON_RATIO_BAR) -> list[dict[str, Any]]:
    """Train each RBM in turn on the hidden probabilities of the one below, `q["epochs"]`
    epochs of `q["batch"]`; return each layer's reconstruction report on its own held-out
    input against `bar`."""
    rng = np.random.default_rng(seed)
    reports = []
    for model in models:
        for _ in range(q["epochs"]):
            for rows in epoch_batches(rng, len(x_train), q["batch"]):
                model.train_step(model.to_device(x_train[rows]))
        reports.append(scored_layer(model.weights(), x_train, x_test, bar))
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
        # A data-parallel replica builds its layers for its share of the rows; each layer's
        # update all-reduces its statistics over the group (rbm-cdk's model does it).
        self.models = build_stack(self.model_cls, self.fw, p.integers("layers"), self.rows(), hyper)
        pool = synthetic_binary(POOL_BATCHES * self.rows(), p.integers("layers")[0], self.fw.seed)
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
        p, sizes = self.p, self.p.integers("layers")
        steps = math.ceil(p.integer("samples") / p.integer("batch"))
        layers: list[dict[str, Any]] = []
        step_times = [self.layer_step_s(i) for i in range(len(self.models))]
        for i, step_s in enumerate(step_times):
            layers.append({"layer": f"{sizes[i]}-{sizes[i + 1]}", "step_s": step_s,
                           "samples_per_s": p.integer("batch") / step_s, "epoch_s": steps * step_s})
        stack_s = sum(step_times)
        return {"layers": layers, "stack_samples_per_s": p.integer("batch") / stack_s,
                "time_per_epoch_s": steps * stack_s, "epoch_samples": p.integer("samples"),
                "note": "epoch = every layer once over `samples`, from measured step times"}

    def quality(self) -> dict[str, Any]:
        """The case's stack pretrained on MNIST where the data allows; else the digits
        stack (the fallback). Each layer scored against the bar; the worst is the metric."""
        p, fw = self.p, self.fw
        mnist, fallback = mnist_or_why(p.integers("layers")[0], fw.seed)
        q: dict[str, Any]
        if mnist is None:
            x_train, _, x_test, _ = digits(fw.seed)
            q, bar, on, data = QUALITY_BUDGET, RECON_RATIO_BAR, "the digits", DIGITS
        else:
            x_train, x_test = mnist.x_train, mnist.x_test
            q = {**MNIST_BUDGET, "layers": p.integers("layers"), "k": p.integer("k")}
            bar, on, data = MNIST_RATIO_BAR, "the train split", mnist.description
        # Reseed: the timed window drew from the same generators for as many steps as the
        # machine's speed allowed, and the score must not depend on that.
        fw.seed_all(fw.seed)
        models = build_stack(self.model_cls, fw, q["layers"], q["batch"],
                             {key: q[key] for key in HYPER})
        reports = greedy_pretrain(models, self.hidden, self.host, x_train, x_test, q, fw.seed, bar)
        model = (f"DBN {layers_tag(q['layers'])[1:]}, CD-{q['k']} per layer, {fw.precision}, "
                 f"{budget_text(q['epochs'], q['batch'], on)} per layer")
        return labelled(quality_report(reports, bar, q), model, data, fallback)
