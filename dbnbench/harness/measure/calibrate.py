"""The machine's own measured roofs: GEMM rate per (framework, device, precision), a
STREAM-style triad bandwidth per device, and GEMMs at a case's own shapes.

The GEMM sweep grows square sizes (×1.5 and ×4/3 steps between powers of two) until the
rate stops improving: it ends when two sizes in a row fail to beat the best rate by
IMPROVEMENT, not when a time budget runs out, so a slow mode is not cut short at a small
size. Each size's rate is the median of REPEATS timings after an untimed product. The only
other limits are memory (three n×n operands within MEMORY_SHARE of what is available) and a
single product's time (PRODUCT_LIMIT_S), both recorded as the reason the sweep stopped.

A mode is swept once per run (per arm): later rounds time the GEMM at the sweep's best size
only (a drift check) and sweep again only when that moved by more than DRIFT_TOLERANCE
(`settle`, on the parent's side). A sweep or check timed while other processes used the CPU
is measured again; a check still busy carries the last quiet sweep's rate over, a sweep
still busy is kept and flagged."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import psutil

from ...format.precisions import ITEMSIZE
from ..frameworks.base import OPERANDS, Framework, Operands
from ..records import Bandwidth, CalibrationAnswer, Shape

START = 128
IMPROVEMENT = 0.03
PATIENCE = 2          # sizes in a row without improvement before the sweep stops
REPEATS = 5
LONG_REPEATS = 3      # for products over LONG_S: their timings vary less, and cost more
LONG_S = 0.05
MIN_TIMING_S = 2e-3   # one timing of small products loops until it lasts this long
PRODUCT_LIMIT_S = 2.0
# Past products this long, one size without improvement ends the sweep: each further size
# costs seconds (four products), and there the curve is flat. On the 2-core EPYC the sizes
# from 3072 up took 30 of the quick suite's 43 s of sweeps for at most 4 % more rate.
LONG_PATIENCE_S = 0.25
MEMORY_SHARE = 0.25
TRIAD_BYTES = 3 * 2**27  # three 128 MiB arrays: far beyond any last-level cache
REFERENCE_SIZE = 256     # the reference GEMM timed next to every case (same in every run)
# On a GPU a 256³ product is a few microseconds of launch for well under one of compute (an
# H100 does it in ~0.1 µs): its rate would be the launch rate, not the card's speed. There
# the reference is 4096³ (137 GFLOP: about a millisecond even on the largest cards).
REFERENCE_SIZE_GPU = 4096
REFERENCE_REPEATS = 7
REFERENCE_TIMING_S = 5e-3
# A later round's check at the best size agrees with the mode's last quiet sweep when within
# this share of the sweep's rate there; beyond it the machine's GEMM moved and the mode is
# swept again. On this project's shared 2-core VM 44 of 52 quiet checks (ci and quick, every
# CPU mode) came within ±10 %, most within ±5 %; the rest were torch at best sizes of 192-512
# (products of a millisecond or two) or followed a round-1 sweep that had come out low.
DRIFT_TOLERANCE = 0.10


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
    binary_rate: float | None = None  # at best_size on 0/1 operands, where timed


def rate_at(fw: Framework, m: int, n: int, k: int, first_s: float | None = None,
            operands: Operands = "uniform") -> tuple[float, float]:
    """(median FLOP/s, median seconds per product) of an (m×k)·(k×n) product."""
    loops = 1 if first_s is None or first_s >= MIN_TIMING_S else \
        math.ceil(MIN_TIMING_S / max(first_s, 1e-7))
    repeats = LONG_REPEATS if first_s is not None and first_s > LONG_S else REPEATS
    seconds = statistics.median(fw.gemm_times(m, n, k, repeats, loops, operands))
    return 2.0 * m * n * k / seconds, seconds


def times_binary(device: str) -> bool:
    """Whether a mode's roof also times 0/1 operands at its best size. On a GPU the clock
    under a power cap follows how many bits toggle, so 0/1 matrices can run faster than
    uniform ones. A CPU's FP units take the same time for any normal value: on the 2-core
    EPYC at 1536³, numpy fp32 210.2 vs 210.3 GFLOP/s and torch bf16 418.0 vs 418.4
    (uniform vs 0/1), so there it would cost a second of products per mode for nothing."""
    return device.startswith("cuda")


def rate_on_binary(fw: Framework, n: int, uniform_flops_per_s: float) -> float | None:
    """FLOP/s of the n³ product on 0/1 operands, timed as the uniform one was; None where
    `times_binary` says the device does not need it."""
    if not times_binary(fw.device):
        return None
    return rate_at(fw, n, n, n, 2.0 * n ** 3 / uniform_flops_per_s, "binary")[0]


def available_bytes(fw: Framework) -> int:
    device_free = fw.device_free_bytes()
    return device_free if device_free is not None else int(psutil.virtual_memory().available)


def calibrate(fw: Framework, start: int = START, patience: int = PATIENCE) -> Sweep:
    """Sweep square GEMMs from `start` until the rate stops improving for `patience` sizes
    in a row (one, once a product takes over LONG_PATIENCE_S); the best size's rate is this
    framework's peak in this mode. Later rounds
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
        if flat >= (1 if seconds > LONG_PATIENCE_S else patience):
            break
    return Sweep(best, best_n, rates, stop, rate_on_binary(fw, best_n, best) if best else None)


def check(fw: Framework, n: int, expected_flops_per_s: float | None = None) -> Sweep:
    """A later round's drift check: the GEMM at one size (the best of the mode's last quiet
    sweep), timed as the sweep timed it there (median of the same number of timings, the
    loop count from the sweep's rate), so the two rates compare like for like."""
    estimate = 2.0 * n ** 3 / expected_flops_per_s if expected_flops_per_s else None
    rate, _ = rate_at(fw, n, n, n, estimate)
    return Sweep(rate, n, {str(n): rate}, f"drift check at {n}×{n}", rate_on_binary(fw, n, rate))


def reference_size(device: str) -> int:
    return REFERENCE_SIZE_GPU if device.startswith("cuda") else REFERENCE_SIZE


def reference_rate(fw: Framework) -> float:
    """FLOP/s of a fixed small GEMM in the case's mode, timed right before and right after a
    case: how fast the machine was at that moment. Two runs' cases are compared through it,
    so a machine that got slower between runs shows as that, not as a slower case. The best
    of REFERENCE_REPEATS timings of REFERENCE_TIMING_S each: on a shared VM the median of a
    few short timings swung 3x between rounds of a quiet run (a moment of steal stalls a
    multi-threaded GEMM), while the best tracks the speed the machine could give."""
    n = reference_size(fw.device)
    return 2.0 * n ** 3 / best_seconds(fw, n, n, n, REFERENCE_REPEATS, REFERENCE_TIMING_S)


def best_seconds(fw: Framework, m: int, n: int, k: int, repeats: int, timing_s: float,
                 operands: Operands = "uniform") -> float:
    """The best of `repeats` timings of an (m×k)·(k×n) product, each timing looping it
    until it lasts about `timing_s` (the loop count from one untimed product's time)."""
    first = statistics.median(fw.gemm_times(m, n, k, 1, 1, operands))
    loops = max(1, math.ceil(timing_s / max(first, 1e-7)))
    return min(fw.gemm_times(m, n, k, repeats, loops, operands))


def shapes_rates(fw: Framework, shapes: list[Shape]) -> dict[str, float]:
    """The GEMM rate of a case's own products, per kind of operand (uniform and 0/1, the
    kind an RBM multiplies): total FLOPs of one step's products over their summed best
    times, each product (count, m, n, k) timed at its own shape. The best, not the median:
    this is a roof, the most the machine did at these shapes."""
    rates: dict[str, float] = {}
    for operands in OPERANDS:
        flops = seconds = 0.0
        for count, m, n, k in shapes:
            flops += count * 2.0 * m * n * k
            seconds += count * best_seconds(fw, m, n, k, REPEATS, MIN_TIMING_S, operands)
        rates[operands] = flops / seconds
    return rates


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


# ------------------------------------------------------------- the parent's side: settle
def busy(answer: CalibrationAnswer) -> bool:
    """Timed while other processes used the CPU (or the hypervisor stole it)."""
    return answer.contention is not None and answer.contention.contended


def reference_sweep(earlier: Sequence[CalibrationAnswer | None]
                    ) -> tuple[int, CalibrationAnswer] | None:
    """(round, answer) of the latest earlier round whose roof was swept on a quiet machine:
    what a drift check is compared with. None: sweep (again)."""
    for round_ in range(len(earlier) - 1, -1, -1):
        a = earlier[round_]
        if a is not None and a.status == "ok" and a.roof in (None, "swept") \
                and a.best_size and a.gemm_flops_per_s and not busy(a):
            return round_, a
    return None


def swept_rate(reference: CalibrationAnswer) -> float:
    """The sweep's rate at its best size (the check's size): the like-for-like rate."""
    assert reference.gemm_flops_per_s is not None
    return reference.by_size.get(str(reference.best_size), reference.gemm_flops_per_s)


def settle(check: CalibrationAnswer, reference: tuple[int, CalibrationAnswer]
           ) -> CalibrationAnswer | None:
    """A round's roof from its drift check: the check's own rate where it is quiet and
    agrees with the reference sweep (`checked`), the sweep's rate carried over where the
    check was busy (`carried`: a busy rate is not the machine's), None where a quiet check
    moved past DRIFT_TOLERANCE (the mode is swept again) or failed (its failure stands)."""
    round_, sweep = reference
    if check.status != "ok" or not check.gemm_flops_per_s:
        return check if check.status != "ok" else None
    drift = check.gemm_flops_per_s / swept_rate(sweep)
    if busy(check):
        share = check.contention.other_cpu_share if check.contention else 0.0
        return replace(check, gemm_flops_per_s=sweep.gemm_flops_per_s,
                       best_size=sweep.best_size, by_size={}, stopped=None,
                       binary_flops_per_s=sweep.binary_flops_per_s,
                       bandwidth=sweep.bandwidth if check.bandwidth else None, roof="carried",
                       drift=drift, checked_flops_per_s=check.gemm_flops_per_s,
                       note=join(f"carried over from round {round_ + 1}'s sweep: the check "
                                 f"was timed while other processes used {share:.0%} of the "
                                 "CPU", check.note))
    if abs(drift - 1) > DRIFT_TOLERANCE:
        return None
    return replace(check, roof="checked", drift=drift,
                   checked_flops_per_s=check.gemm_flops_per_s,
                   note=join(f"{drift - 1:+.0%} from round {round_ + 1}'s sweep "
                             f"(within ±{DRIFT_TOLERANCE:.0%})", check.note))


def resweep(again: CalibrationAnswer, check: CalibrationAnswer,
            reference: tuple[int, CalibrationAnswer]) -> CalibrationAnswer:
    """The sweep that followed a check that moved, with the check's drift and rate, and
    the triad the check measured (the sweep does not measure it twice)."""
    drift = (check.gemm_flops_per_s or 0.0) / swept_rate(reference[1])
    note = (f"swept again: the check at {check.best_size}×{check.best_size} moved "
            f"{drift - 1:+.0%} from round {reference[0] + 1}'s sweep "
            f"(beyond ±{DRIFT_TOLERANCE:.0%})")
    return replace(again, drift=drift, checked_flops_per_s=check.gemm_flops_per_s,
                   bandwidth=again.bandwidth or check.bandwidth, note=join(note, again.note))


def join(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None
