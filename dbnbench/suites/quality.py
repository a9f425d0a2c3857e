"""Which data a quality procedure uses, and how its answer says so.

Quality is measured at the case's own shape and precision on an MNIST-shaped set when the
case's input is 784 wide and such a set is here (data.mnist_quality); otherwise on a small
fixed model of scikit-learn's 8×8 digits, labelled as the fallback with the reason. Either
way the answer names the model and the data, so a quality number beside a shape column is
never read as that configuration's quality when it is not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..harness.install import pip_extra
from .data import LabelledSet, mnist_quality

MNIST_INPUT = 784
MNIST_CLASSES = 10
NO_MNIST = f"no MNIST set ({pip_extra('mnist')} or --data-dir)"
DIGITS = "sklearn digits 8x8, held-out 20%"


def mnist_or_why(input_size: int, seed: int, classes: int = MNIST_CLASSES
                 ) -> tuple[LabelledSet | None, str | None]:
    """(the MNIST quality set, None) when the case's shape fits it, else (None, why not)."""
    if input_size != MNIST_INPUT:
        return None, f"fallback: case input is {input_size}, not {MNIST_INPUT}"
    if classes != MNIST_CLASSES:
        return None, f"fallback: case has {classes} classes, MNIST has {MNIST_CLASSES}"
    found = mnist_quality(seed)
    if found is None:
        return None, f"fallback: {NO_MNIST}"
    return found, None


def labelled(report: dict[str, Any], model: str, data: str, fallback: str | None
             ) -> dict[str, Any]:
    """The report with where it comes from: the model trained or run, the data, and whether
    that model is the case's own shape (fallback None) or the digits stand-in (why)."""
    return {**report, "model": model, "data": data, "at_case_shape": fallback is None,
            "fallback": fallback}


def budget_text(epochs: int, batch: int, data: str = "the train split") -> str:
    return f"{epochs} epoch{'s' if epochs != 1 else ''} × batch {batch} on {data}"


def epoch_batches(rng: np.random.Generator, n: int, batch: int) -> Iterator[np.ndarray]:
    """One epoch's minibatches of row indices: a fresh permutation, the remainder dropped."""
    usable = n - n % batch
    yield from rng.permutation(n)[:usable].reshape(-1, batch)
