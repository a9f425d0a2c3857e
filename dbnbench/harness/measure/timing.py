"""The worker's clock discipline: warm-up, loop calibration, timed repetitions.

Every timed region ends with the framework's device sync, so a GPU's queued work is inside
the window; host clocks never time work still in flight. The loop count is chosen in every
round from that round's own step time, and a repetition shorter than `min_time_s` is never
kept: it is thrown away, the loop count raised, and the repetitions started again."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_WARMUP_STEPS = 3
MAX_WARMUP_S = 30.0
# Restarts of the repetitions when one fell short of min_time_s. The loop count at least
# doubles each time, so this allows a step that got 2**8 times faster after warm-up.
MAX_RESTARTS = 8


class TimingError(RuntimeError):
    """The repetitions could not be made to last min_time_s: nothing is reported."""


@dataclass(frozen=True)
class Timing:
    warmup_steps: int
    steps_per_repetition: int
    repetitions_s: tuple[float, ...]
    discarded: int = 0  # repetitions thrown away for lasting less than min_time_s
    warmup_s: float = 0.0  # wall time of the warm-up, and of the repetitions (discarded too)
    timed_s: float = 0.0


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
    (steps run, fastest step's seconds), the estimate the loop count is chosen from. The
    fastest, not the last: one slow step (a page fault, a neighbour) must not shrink the
    loop count, and a count chosen too high only makes repetitions longer."""
    steps, start, best = 0, time.perf_counter(), math.inf
    while True:
        best = min(best, timed(step, sync, 1))
        steps += 1
        elapsed = time.perf_counter() - start
        if (steps >= MIN_WARMUP_STEPS and elapsed >= min_s) or elapsed >= MAX_WARMUP_S:
            return steps, best


def loops_for(step_s: float, min_time_s: float) -> int:
    """Steps per repetition so one repetition lasts at least `min_time_s` (timeit's autorange,
    computed from a measured step time rather than doubling from scratch), with 10 % margin
    so a repetition that runs a little faster than the estimate still lasts long enough."""
    if step_s <= 0:
        return 1
    return max(1, math.ceil(round(1.1 * min_time_s / step_s, 9)))


def measure(step: Callable[[], None], sync: Callable[[], None], *, warmup_s: float,
            min_time_s: float, repetitions: int,
            on_timed: Callable[[], None] | None = None) -> Timing:
    """Warm up, choose the loop count from this round's own step time, then time the
    repetitions; every kept repetition lasts at least `min_time_s`. `on_timed` is called
    between the warm-up and the first timed repetition."""
    t0 = time.perf_counter()
    warm_steps, estimate = warm_up(step, sync, warmup_s)
    if on_timed is not None:
        on_timed()
    t1 = time.perf_counter()
    loops = loops_for(estimate, min_time_s)
    discarded = 0
    for _ in range(MAX_RESTARTS + 1):
        reps: list[float] = []
        while len(reps) < repetitions:
            seconds = timed(step, sync, loops)
            if seconds < min_time_s:
                break
            reps.append(seconds)
        else:
            return Timing(warm_steps, loops, tuple(reps), discarded, t1 - t0,
                          time.perf_counter() - t1)
        # A repetition fell short: the step got faster than the estimate. The steps already
        # run count as warm-up; start again with a loop count from the short repetition.
        discarded += len(reps) + 1
        warm_steps += loops * (len(reps) + 1)
        loops = max(2 * loops, loops_for(seconds / loops, min_time_s))
    raise TimingError(f"repetitions stayed under min_time_s = {min_time_s:g} s after "
                      f"{MAX_RESTARTS} restarts (last: {loops} steps)")
