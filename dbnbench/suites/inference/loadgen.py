"""A load generator for inference scenarios, as MLPerf Inference judges a forward pass:
single-stream (one query at a time), server (queries arriving at random times at a target
rate) and offline (every query at once).

The server scenario is an open loop: arrival times are drawn before the run (a Poisson
process at the offered rate) and every latency is measured from the query's *scheduled*
arrival, so a slow call is charged to every query it delays, not only to itself (a closed
loop, which issues the next query when the last returns, hides that: coordinated omission).
There is no generator thread: the one thread that runs the model looks at the clock between
calls, takes what has arrived (up to `max_batch`, waiting at most `max_wait_s` for a batch to
fill) and sleeps when nothing has. On 2 cores a second, spinning generator thread would take
CPU from the model it loads; here the model's thread is the only one, and it is idle exactly
when the server would be. The last `SPIN_S` of a wait are spun, not slept: a sleep overshoots
by tens of microseconds, which would be charged to the query as server latency.

Clock and sleep are parameters, so the tests drive the same code with a simulated clock and
a model of known service times (an M/D/1 queue)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SPIN_S = 2e-4
Clock = Callable[[], float]
Sleep = Callable[[float], None]


def poisson_arrivals(rate_per_s: float, queries: int, seed: int) -> np.ndarray:
    """Arrival times (seconds from the start) of `queries` queries of a Poisson process at
    `rate_per_s`: exponential gaps, drawn before the run."""
    if rate_per_s <= 0 or queries < 1:
        raise ValueError("a Poisson load needs a positive rate and at least one query")
    gaps = np.random.default_rng(seed).exponential(1.0 / rate_per_s, queries)
    return np.cumsum(gaps)


def wait(seconds: float, clock: Clock, sleep: Sleep) -> None:
    """Wait `seconds`: sleep all but the last SPIN_S, spin those."""
    end = clock() + seconds
    if seconds > SPIN_S:
        sleep(seconds - SPIN_S)
    while clock() < end:
        pass


@dataclass(frozen=True)
class Served:
    """What one scenario run gave: every query's latency, the batches the server ran, and
    the wall time from the first scheduled arrival to the last completion."""

    latencies_s: np.ndarray
    batch_sizes: list[int]
    duration_s: float
    offered_per_s: float | None = None  # the Poisson rate (server scenario)

    @property
    def queries(self) -> int:
        return len(self.latencies_s)

    @property
    def achieved_per_s(self) -> float:
        return self.queries / self.duration_s if self.duration_s > 0 else math.inf

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q) * 1e3)

    def summary(self) -> dict[str, float | int | None]:
        return {"queries": self.queries, "duration_s": self.duration_s,
                "offered_per_s": self.offered_per_s, "achieved_per_s": self.achieved_per_s,
                "p50_ms": self.percentile_ms(50), "p90_ms": self.percentile_ms(90),
                "p99_ms": self.percentile_ms(99),
                "mean_batch": float(np.mean(self.batch_sizes)) if self.batch_sizes else 0.0}


def open_loop(arrivals: np.ndarray, serve: Callable[[int], None], *, max_batch: int = 1,
              max_wait_s: float = 0.0, clock: Clock = time.perf_counter,
              sleep: Sleep = time.sleep, rate_per_s: float | None = None) -> Served:
    """Serve queries arriving at `arrivals` (seconds from now, ascending): `serve(n)` runs
    the model on a batch of n queries and returns when its result is ready (synced). With
    `max_batch` > 1, a batch that is not full waits until `max_wait_s` after its first
    query's arrival (or until it fills), as a dynamic batcher does."""
    if max_batch < 1 or max_wait_s < 0:
        raise ValueError("max_batch must be at least 1 and max_wait_s not negative")
    n = len(arrivals)
    done = np.empty(n)
    sizes: list[int] = []
    start = clock()
    i = 0
    while i < n:
        now = clock() - start
        if arrivals[i] > now:  # idle until the next query arrives
            wait(arrivals[i] - now, clock, sleep)
            continue
        j = min(int(np.searchsorted(arrivals, now, side="right")), i + max_batch, n)
        if j - i < max_batch and max_wait_s > 0:
            fills = arrivals[i + max_batch - 1] if i + max_batch - 1 < n else math.inf
            until = min(arrivals[i] + max_wait_s, fills)
            if until > now:
                wait(until - now, clock, sleep)
                continue
        serve(j - i)
        done[i:j] = clock() - start
        sizes.append(j - i)
        i = j
    duration = float(done[-1]) if n else 0.0
    return Served(done - arrivals, sizes, duration, rate_per_s)


def single_stream(serve: Callable[[int], None], min_queries: int, min_s: float = 0.0,
                  max_queries: int | None = None, max_s: float = math.inf,
                  clock: Clock = time.perf_counter) -> Served:
    """One query at a time, each issued when the last completes (MLPerf's single-stream:
    here a closed loop is the scenario itself, not a shortcut), until at least `min_queries`
    over at least `min_s`, or either cap is reached."""
    latencies: list[float] = []
    start = clock()
    while max_queries is None or len(latencies) < max_queries:
        t0 = clock()
        serve(1)
        latencies.append(clock() - t0)
        elapsed = clock() - start
        if (len(latencies) >= min_queries and elapsed >= min_s) or elapsed >= max_s:
            break
    return Served(np.array(latencies), [1] * len(latencies), clock() - start)


def offline(queries: int, batch: int, serve: Callable[[int], None],
            clock: Clock = time.perf_counter) -> Served:
    """Every query available at once, served in batches of `batch`: throughput; a query's
    latency is its batch's completion time."""
    latencies = np.empty(queries)
    sizes: list[int] = []
    start = clock()
    for i in range(0, queries, batch):
        n = min(batch, queries - i)
        serve(n)
        latencies[i:i + n] = clock() - start
        sizes.append(n)
    return Served(latencies, sizes, clock() - start)


@dataclass
class Search:
    """The highest offered rate whose p99 latency stays within the bound: every rate tried,
    with its outcome, and the best one that passed."""

    bound_ms: float
    tried: list[tuple[float, Served]] = field(default_factory=list)

    def within(self, served: Served) -> bool:
        return served.percentile_ms(99) <= self.bound_ms

    @property
    def best(self) -> tuple[float, Served] | None:
        passed = [(r, s) for r, s in self.tried if self.within(s)]
        return max(passed, key=lambda t: t[0]) if passed else None


def highest_rate(run_at: Callable[[float], Served], bound_ms: float, start: float,
                 high: float, floor: float, steps: int = 7) -> Search:
    """The highest offered rate whose p99 latency is within the bound, between `floor` and
    `high` (a rate the server cannot keep up with). From `start`, the rate is quartered
    until a trial passes (or the floor fails: nothing is asked below it); then bisected on a
    log scale between the highest rate that passed and the lowest above it that failed, for
    `steps` trials. p99 latency need not fall with the load (a server idle between queries
    can answer slower than a busy one), so the search never extrapolates below a failure:
    it reports every rate it tried, and the best is the highest that passed."""
    if not 0 < floor <= start <= high:
        raise ValueError("the search needs 0 < floor <= start <= high")
    search = Search(bound_ms)

    def passes(rate: float) -> bool:
        served = run_at(rate)
        search.tried.append((rate, served))
        return search.within(served)

    rate, failed_above = start, high
    while not passes(rate):
        failed_above = rate
        if rate <= floor:
            return search
        rate = max(floor, rate / 4)
    lo, hi = rate, failed_above
    if lo == hi:  # the start was the high end and it passed
        return search
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        if passes(mid):
            lo = mid
        else:
            hi = mid
    return search
