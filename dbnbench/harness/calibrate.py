"""The machine's own measured roofs: GEMM rate per (framework, device, precision), a
STREAM-style triad bandwidth per device, and GEMMs at a case's own shapes.

The GEMM sweep grows square sizes (×1.5 and ×4/3 steps between powers of two) until the
rate stops improving: it ends when two sizes in a row fail to beat the best rate by
IMPROVEMENT, not when a time budget runs out, so a slow mode is not cut short at a small
size. Each size's rate is the median of REPEATS timings after an untimed product. The only
other limits are memory (three n×n operands within MEMORY_SHARE of what is available) and a
single product's time (PRODUCT_LIMIT_S), both recorded as the reason the sweep stopped."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from .frameworks.base import Framework
from .records import Bandwidth, Shape

START = 128
IMPROVEMENT = 0.03
PATIENCE = 2          # sizes in a row without improvement before the sweep stops
REPEATS = 5
LONG_REPEATS = 3      # for products over LONG_S: their timings vary less, and cost more
LONG_S = 0.05
MIN_TIMING_S = 2e-3   # one timing of small products loops until it lasts this long
PRODUCT_LIMIT_S = 2.0
MEMORY_SHARE = 0.25
ITEMSIZE = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16-mixed": 4, "fp16-mixed": 4, "bf16": 2}
TRIAD_BYTES = 3 * 2**27  # three 128 MiB arrays: far beyond any last-level cache
REFERENCE_SIZE = 256     # the reference GEMM timed next to every case (same in every run)
REFERENCE_REPEATS = 7
REFERENCE_TIMING_S = 5e-3


def sizes(start: int = START) -> Iterable[int]:
    """128, 192, 256, 384, 512, 768, 1024, 1536, ...: steps of ×1.5 then ×4/3."""
    n = start
    while True:
        yield n
        yield n * 3 // 2
        n *= 2


@dataclass(frozen=True)
class Sweep:
    rate: float                 # the best median rate over the sizes (FLOP/s)
    best_size: int
    by_size: dict[str, float]
    stopped: str                # why the sweep ended


def rate_at(fw: Framework, m: int, n: int, k: int, first_s: float | None = None) -> tuple[float, float]:
    """(median FLOP/s, median seconds per product) of an (m×k)·(k×n) product."""
    loops = 1 if first_s is None or first_s >= MIN_TIMING_S else \
        math.ceil(MIN_TIMING_S / max(first_s, 1e-7))
    repeats = LONG_REPEATS if first_s is not None and first_s > LONG_S else REPEATS
    seconds = statistics.median(fw.gemm_times(m, n, k, repeats, loops))
    return 2.0 * m * n * k / seconds, seconds


def available_bytes(fw: Framework) -> int:
    device_free = fw.device_free_bytes()
    return device_free if device_free is not None else int(psutil.virtual_memory().available)


def calibrate(fw: Framework, start: int = START, patience: int = PATIENCE) -> Sweep:
    """Sweep square GEMMs from `start` until the rate stops improving for `patience` sizes
    in a row; the best size's rate is this framework's peak in this mode. Later rounds
    start at the best size found so far, with a patience of one: the curve below it was
    measured in the first round."""
    rates: dict[str, float] = {}
    best, best_n, flat = 0.0, start, 0
    last: tuple[int, float] | None = None  # (size, seconds per product) of the last size
    memory = MEMORY_SHARE * available_bytes(fw)
    stop = "the rate stopped improving"
    for n in sizes(start):
        if 3 * n * n * ITEMSIZE[fw.precision] > memory:
            stop = f"memory: three {n}×{n} operands would pass {MEMORY_SHARE:.0%} of free memory"
            break
        estimate = last[1] * (n / last[0]) ** 3 if last else None
        if estimate is not None and estimate > PRODUCT_LIMIT_S:
            stop = f"time: one {n}×{n} product would take about {estimate:.0f} s"
            break
        rate, seconds = rate_at(fw, n, n, n, estimate)
        last = (n, seconds)
        rates[str(n)] = rate
        if rate > best * (1 + IMPROVEMENT):
            best_n, flat = n, 0
        else:
            flat += 1
        best = max(best, rate)
        if flat >= patience:
            break
    return Sweep(best, best_n, rates, stop)


def reference_rate(fw: Framework) -> float:
    """FLOP/s of a fixed small GEMM in the case's mode, timed right before and right after a
    case: how fast the machine was at that moment. Two runs' cases are compared through it,
    so a machine that got slower between runs shows as that, not as a slower case. The best
    of REFERENCE_REPEATS timings of REFERENCE_TIMING_S each: on a shared VM the median of a
    few short timings swung 3x between rounds of a quiet run (a moment of steal stalls a
    multi-threaded GEMM), while the best tracks the speed the machine could give."""
    n = REFERENCE_SIZE
    first = statistics.median(fw.gemm_times(n, n, n, 1, 1))
    loops = max(1, math.ceil(REFERENCE_TIMING_S / max(first, 1e-7)))
    return 2.0 * n ** 3 / min(fw.gemm_times(n, n, n, REFERENCE_REPEATS, loops))


def shapes_rate(fw: Framework, shapes: list[Shape]) -> float:
    """The GEMM rate of a case's own products: total FLOPs of one step's products over their
    summed best times, each product (count, m, n, k) timed at its own shape. The best, not
    the median: this is a roof, the most the machine did at these shapes."""
    flops = seconds = 0.0
    for count, m, n, k in shapes:
        first = statistics.median(fw.gemm_times(m, n, k, 1, 1))
        loops = max(1, math.ceil(MIN_TIMING_S / max(first, 1e-7)))
        per = min(fw.gemm_times(m, n, k, REPEATS, loops))
        flops += count * 2.0 * m * n * k
        seconds += count * per
    return flops / seconds


def bandwidth(fw: Framework, total_bytes: int = TRIAD_BYTES) -> Bandwidth | None:
    """STREAM-style triad bandwidth in bytes/s (median of REPEATS passes), or None where the
    adapter has no triad."""
    n = max(1, total_bytes // 12)
    if 12 * n > MEMORY_SHARE * available_bytes(fw):
        n = int(MEMORY_SHARE * available_bytes(fw) // 12)
    answer = fw.triad_times(n, REPEATS)
    if answer is None:
        return None
    times, moved = answer
    return Bandwidth(moved / statistics.median(times), 4 * n)
