"""The worker's clock discipline: warm-up, loop calibration, timed repetitions.

Every timed region ends with the framework's device sync, so a GPU's queued work is inside
the window; host clocks never time work still in flight."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_WARMUP_STEPS = 3
MAX_WARMUP_S = 30.0


@dataclass(frozen=True)
class Timing:
    warmup_steps: int
    steps_per_repetition: int
    repetitions_s: tuple[float, ...]


def timed(step: Callable[[], None], sync: Callable[[], None], loops: int) -> float:
    """Seconds for `loops` steps, synchronised before and after."""
    sync()
    t0 = time.perf_counter()
    for _ in range(loops):
        step()
    sync()
    return time.perf_counter() - t0


def warm_up(step: Callable[[], None], sync: Callable[[], None], min_s: float) -> tuple[int, float]:
    """Run steps until at least MIN_WARMUP_STEPS and `min_s` have passed; return
    (steps run, last step's seconds), the estimate the loop count is chosen from."""
    steps, start, last = 0, time.perf_counter(), 0.0
    while True:
        last = timed(step, sync, 1)
        steps += 1
        elapsed = time.perf_counter() - start
        if (steps >= MIN_WARMUP_STEPS and elapsed >= min_s) or elapsed >= MAX_WARMUP_S:
            return steps, last


def loops_for(step_s: float, min_time_s: float) -> int:
    """Steps per repetition so one repetition lasts at least `min_time_s` (timeit's autorange,
    computed from the warm-up estimate rather than doubling from scratch)."""
    if step_s <= 0:
        return 1
    return max(1, math.ceil(min_time_s / step_s))


def measure(step: Callable[[], None], sync: Callable[[], None], *, warmup_s: float,
            min_time_s: float, repetitions: int, loops: int | None = None) -> Timing:
    """Warm up, choose the loop count (unless given: later rounds reuse the first round's,
    so every repetition of a case is the same length), then time the repetitions."""
    warm_steps, estimate = warm_up(step, sync, warmup_s)
    if loops is None:
        loops = loops_for(estimate, min_time_s)
        # One check repetition: if the estimate was off (a slow first step), re-derive loops.
        check = timed(step, sync, loops)
        warm_steps += loops
        if check < min_time_s * 0.5:
            loops = loops_for(check / loops, min_time_s)
    reps = tuple(timed(step, sync, loops) for _ in range(repetitions))
    return Timing(warm_steps, loops, reps)
