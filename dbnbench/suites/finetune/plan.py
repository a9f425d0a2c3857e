"""dbn-finetune's quality run, shared with dbn-inference: which stack is fine-tuned on which
data with which budget and bar (a Plan: at the case's shape on MNIST where the data allows,
else the digits stack, the fallback), and the fine-tuning loop itself."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import digits
from ..dbn.reference import MNIST_PRETRAIN, pretrained_digits, pretrained_mnist
from ..dbn.spec import QUALITY_BUDGET as DBN_QUALITY
from ..dbn.spec import layers_tag
from ..quality import DIGITS, budget_text, epoch_batches, mnist_or_why
from .spec import ACCURACY_BAR, CLASSES, MNIST_ACCURACY_BAR, MNIST_BUDGET, QUALITY_BUDGET, glorot_init

Init = list[tuple[np.ndarray, np.ndarray]]
DIGITS_STACK: list[int] = DBN_QUALITY["layers"]


@dataclass(frozen=True)
class Plan:
    """What a quality run fine-tunes, on what, with which budget and bar, and its labels."""

    sizes: tuple[int, ...]  # the stack below the softmax layer, input first
    pretrained: tuple[tuple[np.ndarray, np.ndarray], ...]  # its pretrained (W, c), float64
    data: tuple[np.ndarray, ...]  # x_train, y_train, x_test, y_test
    budget: dict[str, Any]
    bar: float
    pretraining: str  # how the stack was pretrained
    on: str  # what the budget's epochs run over
    data_text: str
    fallback: str | None

    def init(self, seed: int, pretrained: bool = True) -> Init:
        """The pretrained stack topped by a Glorot softmax layer, or a Glorot net throughout."""
        if not pretrained:
            return glorot_init([*self.sizes, CLASSES], seed)
        stack = [(w.copy(), c.copy()) for w, c in self.pretrained]
        return stack + glorot_init([self.sizes[-1], CLASSES], seed + len(stack))

    def model(self, finetuned_in: str) -> str:
        """The network, how it was pretrained, and how fine-tuned (in which precision)."""
        q = self.budget
        return (f"DBN {layers_tag(list(self.sizes))[1:]} + softmax {CLASSES}, {self.pretraining}; "
                f"fine-tuned in {finetuned_in}, {budget_text(q['epochs'], q['batch'], self.on)}")


def quality_plan(layers: list[int], classes: int, seed: int) -> Plan:
    """At the case's shape on MNIST where the data allows; else the digits stack (fallback)."""
    mnist, fallback = mnist_or_why(layers[0], seed, classes)
    if mnist is None:
        return Plan(tuple(DIGITS_STACK), pretrained_digits(seed), digits(seed), QUALITY_BUDGET,
                    ACCURACY_BAR, pretraining(DBN_QUALITY, "the digits"), "the digits", DIGITS,
                    fallback)
    stack = pretrained_mnist(mnist, tuple(layers), seed)
    data = (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
    return Plan(tuple(layers), stack, data, MNIST_BUDGET, MNIST_ACCURACY_BAR,
                pretraining(MNIST_PRETRAIN, "the train split"), "the train split",
                mnist.description, None)


def pretraining(q: dict[str, Any], on: str) -> str:
    return f"pretrained in NumPy fp64, CD-{q['k']}, {budget_text(q['epochs'], q['batch'], on)} per layer"


def train_budget(net_cls: type, fw: Any, plan: Plan, init: Init
                 ) -> tuple[list[tuple[float, float]], Any]:
    """Fine-tune `init` with the plan's budget: after each epoch, (cumulative training seconds,
    test accuracy), and the trained network. Evaluation and host→device copies are off the
    clock."""
    q, (x_train, y_train, x_test, y_test) = plan.budget, plan.data
    net = net_cls(fw, init, lr=q["lr"], momentum=q["momentum"])
    rng = np.random.default_rng(fw.seed)
    test = net.to_device(x_test, y_test)[0]
    seconds, curve = 0.0, []
    for _ in range(q["epochs"]):
        batches = [net.to_device(x_train[rows], y_train[rows])
                   for rows in epoch_batches(rng, len(x_train), q["batch"])]
        fw.sync()
        t0 = time.perf_counter()
        for xb, yb in batches:
            net.train_step(xb, yb)
        fw.sync()
        seconds += time.perf_counter() - t0
        accuracy = float(np.mean(np.argmax(net.logits(test), axis=1) == y_test))
        curve.append((seconds, accuracy))
    return curve, net
