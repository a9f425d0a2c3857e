"""Statistics of repetition samples: median, IQR, bootstrap CI, CV and noise checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from .results import ItemsPerS, StepS

NOISY_CV = 0.10  # pyperf's rule of thumb: a standard deviation over 10 % of the mean
SHORT_REPETITION_S = 1e-3
CONFIDENCE = 0.95
RESAMPLES = 2000


def bootstrap_ci(samples: Sequence[float], statistic: Any = np.median,
                 seed: int = 0) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of `statistic`; None where there are too few samples."""
    data = np.asarray(samples, dtype=float)
    if len(data) < 3:
        return None, None
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    res = stats.bootstrap((data,), statistic, n_resamples=RESAMPLES, confidence_level=CONFIDENCE,
                          method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(repetitions_s: Sequence[float], steps_per_repetition: Sequence[int] | int,
              items_per_step: int) -> tuple[StepS, ItemsPerS, list[str]]:
    """(step_s summary, items_per_s summary, warnings) from raw repetition times and each
    repetition's loop count (one count for all, or one per repetition)."""
    reps = np.asarray(repetitions_s, dtype=float)
    step = reps / np.asarray(steps_per_repetition, dtype=float)
    rate = items_per_step / step
    step_s: StepS = {"median": float(np.median(step)), "iqr": float(stats.iqr(step)),
                     "min": float(step.min()), "max": float(step.max()),
                     "cv": float(np.std(step, ddof=1) / np.mean(step)) if len(step) > 1 else 0.0}
    low, high = bootstrap_ci(rate)
    items: ItemsPerS = {"median": float(np.median(rate)), "ci_low": low, "ci_high": high}
    warnings = []
    if step_s["cv"] > NOISY_CV:
        warnings.append(f"noisy: CV {step_s['cv']:.0%} > {NOISY_CV:.0%}; treat with care")
    if reps.min() < SHORT_REPETITION_S:
        warnings.append("repetitions under 1 ms: clock resolution may dominate")
    if step_s["max"] > 2 * step_s["min"]:
        warnings.append(f"slowest step {step_s['max'] / step_s['min']:.1f}× the fastest")
    return step_s, items, warnings
