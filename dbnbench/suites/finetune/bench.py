"""The harness-facing side of dbn-finetune, shared by every framework's network class.

A network class is built as `net_cls(fw, init)` from float64 (W, b) pairs, input first, and
offers `to_device(x, y)`, `train_step(x, y)` (one SGD + momentum update), `logits(x)` (float64
NumPy) and `weights()`; it takes lr and momentum as keywords."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from ..data import digits, synthetic_binary
from ..dbn.reference import pretrained_digits
from ..dbn.spec import QUALITY_BUDGET as DBN_QUALITY
from ..pool import POOL_BATCHES, PooledBench
from .spec import ACCURACY_BAR, CLASSES, QUALITY_BUDGET, glorot_init, quality_report, time_to_target

DIGITS_STACK: list[int] = DBN_QUALITY["layers"]
# The digits runs are a fixed, seeded budget: once per worker process and mode, not again in
# every round (they cost seconds, and the quick suite's time is counted).
_RUNS: dict[tuple[Any, ...], dict[str, list[tuple[float, float]]]] = {}


def pretrained_init(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The digits stack's weights and hidden biases, topped by a Glorot softmax layer."""
    stack = [(w.copy(), c.copy()) for w, c in pretrained_digits(seed)]
    return stack + glorot_init([DIGITS_STACK[-1], CLASSES], seed + len(stack))


def random_init(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return glorot_init([*DIGITS_STACK, CLASSES], seed)


class FinetuneBench(PooledBench):
    net_cls: ClassVar[type]

    def setup(self) -> None:
        p, seed = self.p, self.fw.seed
        init = glorot_init(p["layers"] + [p["classes"]], seed)
        self.net = self.net_cls(self.fw, init, lr=p["lr"], momentum=p["momentum"])
        n = POOL_BATCHES * p["batch"]
        x = synthetic_binary(n, p["layers"][0], seed)
        y = np.random.default_rng(seed).integers(0, p["classes"], n)
        self.batches = [self.net.to_device(x[i::POOL_BATCHES], y[i::POOL_BATCHES])
                        for i in range(POOL_BATCHES)]
        self.step()  # first call (graph tracing, optimizer slots) out of the warm-up

    def step(self) -> None:
        self.net.train_step(*self.batches[self.next_index()])

    def train_budget(self, init: list[tuple[np.ndarray, np.ndarray]]
                     ) -> tuple[list[tuple[float, float]], Any]:
        """Fine-tune on the digits with the quality budget: after each epoch, (cumulative
        training seconds, test accuracy), and the trained network. Evaluation and host→device
        copies are off the clock."""
        q, fw = QUALITY_BUDGET, self.fw
        x_train, y_train, x_test, y_test = digits(fw.seed)
        net = self.net_cls(fw, init, lr=q["lr"], momentum=q["momentum"])
        rng = np.random.default_rng(fw.seed)
        n = len(x_train) - len(x_train) % q["batch"]
        test = net.to_device(x_test, y_test)[0]
        seconds, curve = 0.0, []
        for _ in range(q["epochs"]):
            order = rng.permutation(len(x_train))[:n].reshape(-1, q["batch"])
            batches = [net.to_device(x_train[rows], y_train[rows]) for rows in order]
            fw.sync()
            t0 = time.perf_counter()
            for xb, yb in batches:
                net.train_step(xb, yb)
            fw.sync()
            seconds += time.perf_counter() - t0
            accuracy = float(np.mean(np.argmax(net.logits(test), axis=1) == y_test))
            curve.append((seconds, accuracy))
        return curve, net

    def runs(self) -> dict[str, list[tuple[float, float]]]:
        fw = self.fw
        key = (type(self).__name__, fw.device, fw.precision, fw.seed)
        if key not in _RUNS:
            _RUNS[key] = {"pretrained": self.train_budget(pretrained_init(fw.seed))[0],
                          "random": self.train_budget(random_init(fw.seed))[0]}
        return _RUNS[key]

    def metrics(self) -> dict[str, Any]:
        """Time to the accuracy target on the digits (training time only), from pretrained
        and from random weights; the digits runs are shared with quality()."""
        curves = self.runs()
        return {"target_accuracy": ACCURACY_BAR,
                "pretrained": time_to_target(curves["pretrained"], ACCURACY_BAR),
                "random_init": time_to_target(curves["random"], ACCURACY_BAR),
                "epoch_s": curves["pretrained"][-1][0] / len(curves["pretrained"]),
                "epoch_samples_digits": len(digits(self.fw.seed)[0]),
                "steps_per_epoch_case": math.ceil(self.p["samples"] / self.p["batch"])}

    def quality(self) -> dict[str, Any]:
        curves = self.runs()
        return quality_report(curves["pretrained"], curves["random"])
