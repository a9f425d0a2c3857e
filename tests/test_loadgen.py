"""The inference load generator against queues whose answers are known: an M/D/1 queue
(Poisson arrivals, a constant service time) on a simulated clock, a stall charged to every
query it delays (no coordinated omission), dynamic batching, and the rate search."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.suites.inference.loadgen import (
    Served,
    highest_rate,
    offline,
    open_loop,
    poisson_arrivals,
    single_stream,
)


class SimulatedTime:
    """A clock that moves only when the server sleeps or serves (plus a microsecond per
    read, so a spin ends): service times are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        self.now += 1e-6
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)

    def model(self, service_s):
        """A model whose call on n queries takes service_s(call, n) seconds."""
        calls = [0]

        def serve(n: int) -> None:
            self.now += service_s(calls[0], n)
            calls[0] += 1

        return serve


def md1_mean_latency(rate: float, service_s: float) -> float:
    """Pollaczek–Khinchine for M/D/1: mean wait ρ·D / (2(1 − ρ)), plus the service."""
    rho = rate * service_s
    return service_s + rho * service_s / (2 * (1 - rho))


@pytest.mark.parametrize(("rho", "queries", "tolerance"), [(0.5, 40_000, 0.04),
                                                             (0.8, 100_000, 0.08)])
def test_an_md1_queue_has_the_mean_latency_queueing_theory_gives(rho, queries, tolerance):
    service = 1e-3
    rate = rho / service
    t = SimulatedTime()
    served = open_loop(poisson_arrivals(rate, queries, seed=1), t.model(lambda c, n: service),
                       clock=t.clock, sleep=t.sleep, rate_per_s=rate)
    assert served.queries == queries and set(served.batch_sizes) == {1}
    expected = md1_mean_latency(rate, service)
    assert float(np.mean(served.latencies_s)) == pytest.approx(expected, rel=tolerance)
    assert served.achieved_per_s == pytest.approx(rate, rel=0.03)  # it kept up
    assert np.min(served.latencies_s) >= service  # nobody is served faster than the model


def test_a_stall_is_charged_to_every_query_it_delays_not_only_its_own():
    """Queries every millisecond, 0.1 ms each, one call of 100 ms: about 100 queries arrive
    during the stall, and each waits for it. A closed loop would show one slow query."""
    t = SimulatedTime()
    stall = t.model(lambda call, n: 0.1 if call == 100 else 1e-4)
    arrivals = np.arange(1, 1001) * 1e-3
    served = open_loop(arrivals, stall, clock=t.clock, sleep=t.sleep)
    # The query arriving k ms into the stall finishes after the stall and the k queries
    # queued before it: latency 100.1 − 0.9·k ms, over 50 ms for k ≤ 55, plus the stalled one.
    slow = int(np.sum(served.latencies_s > 0.05))
    assert slow == 56
    assert served.percentile_ms(99) > 50
    t2 = SimulatedTime()
    closed = single_stream(t2.model(lambda call, n: 0.1 if call == 100 else 1e-4), 1000,
                           clock=t2.clock)
    assert closed.queries == 1000
    assert int(np.sum(closed.latencies_s > 0.05)) == 1
    assert closed.percentile_ms(99) < 1


def test_a_dynamic_batcher_waits_for_a_full_batch_or_its_deadline():
    t = SimulatedTime()
    arrivals = np.arange(1, 41) * 1e-3  # one query a millisecond
    full = open_loop(arrivals, t.model(lambda c, n: 5e-4), max_batch=4, max_wait_s=5e-3,
                     clock=t.clock, sleep=t.sleep)
    assert full.batch_sizes == [4] * 10  # the 4th arrives 3 ms after the 1st, inside 5 ms
    # The first of each batch waited for the other three: 3 ms, plus the call.
    assert float(np.max(full.latencies_s)) == pytest.approx(3.5e-3, abs=5e-5)
    t = SimulatedTime()
    hurried = open_loop(arrivals, t.model(lambda c, n: 5e-4), max_batch=4, max_wait_s=1.5e-3,
                        clock=t.clock, sleep=t.sleep)
    assert set(hurried.batch_sizes) == {2}  # the deadline comes before the 3rd query
    assert float(np.max(hurried.latencies_s)) == pytest.approx(2e-3, abs=5e-5)


def test_offline_serves_every_query_at_once_in_batches():
    t = SimulatedTime()
    served = offline(10, 4, t.model(lambda c, n: 1e-3 * n), clock=t.clock)
    assert served.batch_sizes == [4, 4, 2]
    assert served.achieved_per_s == pytest.approx(1000, rel=0.01)


def fake_served(p99_s: float) -> Served:
    lat = np.full(100, p99_s)
    return Served(lat, [1] * 100, 1.0)


def test_the_search_finds_the_highest_rate_within_the_bound_and_keeps_every_trial():
    threshold = 731.0  # p99 crosses 10 ms at this rate

    def run_at(rate: float) -> Served:
        return fake_served(0.005 if rate <= threshold else 0.02)

    search = highest_rate(run_at, 10.0, 500.0, 2000.0, 100.0, steps=10)
    assert len(search.tried) == 11  # the start passed, then ten bisections
    best = search.best
    assert best is not None and best[0] <= threshold
    assert best[0] > threshold * (2000 / 500) ** (-1 / 2 ** 10) * 0.999  # within one step


def test_the_search_steps_down_from_a_failing_start_and_stops_at_its_floor():
    """Slow when idle, fine under moderate load, failing when overloaded: the search steps
    down from a failing start, never below its floor, and never past a failure."""
    def run_at(rate: float) -> Served:
        return fake_served(0.005 if 150 <= rate <= 600 else 0.02)

    search = highest_rate(run_at, 10.0, 1000.0, 4000.0, 100.0, steps=6)
    rates = [r for r, _ in search.tried]
    assert rates[:2] == [1000.0, 250.0]  # quartered once: 250 passed
    assert all(250.0 <= r < 1000.0 for r in rates[2:])  # bisected between 250 and 1000
    assert search.best is not None and 590 < search.best[0] <= 600
    hopeless = highest_rate(lambda r: fake_served(1.0), 10.0, 1000.0, 4000.0, 100.0)
    assert [r for r, _ in hopeless.tried] == [1000.0, 250.0, 100.0] and hopeless.best is None
    with pytest.raises(ValueError):
        highest_rate(run_at, 10.0, 50.0, 4000.0, 100.0)


def test_poisson_arrivals_have_the_offered_rate_and_refuse_nonsense():
    arrivals = poisson_arrivals(250.0, 20_000, seed=3)
    assert np.all(np.diff(arrivals) > 0)
    assert 20_000 / arrivals[-1] == pytest.approx(250.0, rel=0.03)
    with pytest.raises(ValueError):
        poisson_arrivals(0.0, 10, seed=0)
    with pytest.raises(ValueError):
        open_loop(arrivals, lambda n: None, max_batch=0)
