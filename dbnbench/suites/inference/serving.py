"""dbn-inference's serving scenarios (single-stream, server, offline) run on a case's
forward pass, through the load generator (loadgen.py). Each result names its queries, its
duration and, for the server, the bound and every rate it tried.

Trials are short (MLPerf asks for 10 minutes and 270 336 queries per run for a p99; here a
trial has at least MIN_QUERIES queries and lasts about TRIAL_S), so a p99 is the 99th
percentile of a few hundred to a few thousand latencies: its rank error is stated with it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .loadgen import Served, highest_rate, offline, open_loop, poisson_arrivals, single_stream

SCENARIOS = ("batch", "single-stream", "server", "offline")
MIN_QUERIES = 500  # per trial: p99 is then the 5th slowest or beyond
MAX_QUERIES = 20_000
TRIAL_S = 1.0  # seconds of offered load per server trial, at least
MAX_TRIAL_S = 5.0  # and at most: the lowest rate tried is MIN_QUERIES / MAX_TRIAL_S
SINGLE_S = 1.0  # single-stream: at least this long, and MIN_QUERIES queries
SEARCH_STEPS = 7  # bisections after the first pass
START_FRACTION = 1 / 4  # the search's first rate, of the offline throughput
OFFLINE_S = 0.5  # each offline batch size served for at least this long (after a pilot)
MAX_OFFLINE_QUERIES = 200_000


def warm(serve: Callable[[int], None], sizes: range) -> None:
    """Every batch size the scenario can call with, once, before anything is timed: a
    compiling mode traces or compiles per shape."""
    for n in sizes:
        serve(n)


def served_json(served: Served) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in served.summary().items()}


def run_single_stream(serve: Callable[[int], None]) -> dict[str, Any]:
    """One query at a time, at least MIN_QUERIES of them over at least SINGLE_S."""
    warm(serve, range(1, 2))
    return {"scenario": "single-stream",
            **served_json(single_stream(serve, MIN_QUERIES, SINGLE_S))}


def best_offline(serve: Callable[[int], None], max_batch: int, queries: int) -> tuple[int, Served]:
    """Throughput at each batch size from 1 up to max_batch (powers of two, and max_batch):
    the best one."""
    sizes = sorted({*(2 ** i for i in range(int(math.log2(max_batch)) + 1)), max_batch})
    results = []
    for b in sizes:
        warm(serve, range(b, b + 1))
        results.append((b, offline_for(serve, b, max(queries, 4 * b))))
    return max(results, key=lambda r: r[1].achieved_per_s)


def offline_for(serve: Callable[[int], None], batch: int, queries: int) -> Served:
    """Offline at one batch size for at least about OFFLINE_S: a pilot of `queries`, then,
    where it was shorter, as many queries as its rate serves in OFFLINE_S (a few batches
    of a fast model take milliseconds, too short for a throughput)."""
    pilot = offline(queries, batch, serve)
    if pilot.duration_s >= OFFLINE_S:
        return pilot
    more = int(min(MAX_OFFLINE_QUERIES, pilot.achieved_per_s * OFFLINE_S))
    return offline(max(more, queries), batch, serve)


def run_offline(serve: Callable[[int], None], max_batch: int) -> dict[str, Any]:
    batch, served = best_offline(serve, max_batch, MIN_QUERIES)
    return {"scenario": "offline", "best_batch": batch, **served_json(served)}


def run_server(serve: Callable[[int], None], *, bound_ms: float, max_batch: int,
               max_wait_ms: float, seed: int) -> dict[str, Any]:
    """The highest Poisson rate whose p99 latency is within the bound, searched below the
    offline throughput (nothing can serve more) and down to MIN_QUERIES / MAX_TRIAL_S (a
    p99 needs its queries in a trial of bounded length)."""
    warm(serve, range(1, max_batch + 1))
    _, capacity = best_offline(serve, max_batch, MIN_QUERIES)
    high = capacity.achieved_per_s
    floor = min(MIN_QUERIES / MAX_TRIAL_S, high)
    trials = [0]

    def run_at(rate: float) -> Served:
        trials[0] += 1
        queries = int(min(MAX_QUERIES, max(MIN_QUERIES, rate * TRIAL_S)))
        return open_loop(poisson_arrivals(rate, queries, seed + trials[0]), serve,
                         max_batch=max_batch, max_wait_s=max_wait_ms / 1e3, rate_per_s=rate)

    search = highest_rate(run_at, bound_ms, max(floor, high * START_FRACTION), high, floor,
                          steps=SEARCH_STEPS)
    best = search.best
    out: dict[str, Any] = {
        "scenario": "server", "latency_bound_ms": bound_ms, "max_batch": max_batch,
        "max_wait_ms": max_wait_ms, "offline_per_s": high, "lowest_rate_per_s": floor,
        "tried": [{"offered_per_s": r, **served_json(s)} for r, s in search.tried],
        "best_per_s": best[0] if best else None}
    if best:
        out["at_best"] = served_json(best[1])
    else:
        out["reason"] = (f"p99 over {bound_ms:g} ms at every rate tried, down to "
                         f"{floor:.4g} queries/s (a trial of {MIN_QUERIES} queries in at most "
                         f"{MAX_TRIAL_S:g} s)")
    return out
