"""Statistics on samples whose answers are known."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dbnbench.harness.stats import bootstrap_ci, summarize
from dbnbench.harness.timing import loops_for, measure


def test_summary_of_known_samples():
    reps = [1.0, 2.0, 3.0, 4.0, 5.0]  # seconds per repetition of 10 steps
    step_s, items, warnings = summarize(reps, steps_per_repetition=10, items_per_step=100)
    assert step_s["median"] == pytest.approx(0.3)
    assert step_s["min"] == pytest.approx(0.1) and step_s["max"] == pytest.approx(0.5)
    assert step_s["iqr"] == pytest.approx(0.2)  # quartiles 0.2 and 0.4
    assert step_s["cv"] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1) / 3)
    assert items["median"] == pytest.approx(100 / 0.3)
    assert items["ci_low"] <= items["median"] <= items["ci_high"]
    assert any(w.startswith("noisy") for w in warnings)
    assert any("5.0×" in w for w in warnings)


def test_quiet_samples_raise_no_warning():
    rng = np.random.default_rng(0)
    reps = 0.5 + rng.normal(0, 0.002, 30)
    step_s, items, warnings = summarize(reps, 5, 1)
    assert warnings == []
    assert step_s["cv"] < 0.01
    # The interval of the median of 30 draws is narrow and around the true rate 10/s.
    assert items["ci_low"] < 10.0 < items["ci_high"]
    assert items["ci_high"] - items["ci_low"] < 0.1


def test_bootstrap_coverage_is_about_95_percent():
    rng = np.random.default_rng(1)
    hits, widths = 0, []
    for _ in range(200):
        low, high = bootstrap_ci(rng.normal(100, 5, 25), seed=int(rng.integers(1 << 30)))
        hits += low <= 100 <= high
        widths.append(high - low)
    assert 0.85 <= hits / 200
    # ...and not by being wide: the median's 95 % interval is about 2·1.96·1.2533·σ/√n wide.
    assert np.mean(widths) == pytest.approx(2 * 1.96 * 1.2533 * 5 / 5, rel=0.2)


def test_degenerate_samples():
    assert bootstrap_ci([1.0, 2.0]) == (None, None)
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    _, _, warnings = summarize([1e-4] * 5, 1, 1)
    assert any("under 1 ms" in w for w in warnings)


def test_loop_count_reaches_min_time_with_margin():
    assert loops_for(0.01, 0.1) == 11
    assert loops_for(1.0, 0.1) == 1
    assert loops_for(0.0, 0.1) == 1


def test_measure_counts_steps_and_syncs():
    calls = {"step": 0, "sync": 0}

    def step():
        calls["step"] += 1

    def sync():
        calls["sync"] += 1

    t = measure(step, sync, warmup_s=0.0, min_time_s=1e-4, repetitions=4)
    assert len(t.repetitions_s) == 4
    assert calls["step"] == t.warmup_steps + 4 * t.steps_per_repetition
    assert calls["sync"] >= 2 * 4  # every repetition is synchronised before and after


def test_a_slow_warm_up_never_yields_short_repetitions():
    """The warm-up's steps are slow (a cold cache, a first-call compilation), the timed ones
    fast: the loop count chosen from the warm-up is too small, and every repetition that
    falls short of min_time_s is thrown away and the loop count raised until they all last."""
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        time.sleep(0.02 if calls["n"] <= 5 else 0.0002)

    t = measure(step, lambda: None, warmup_s=0.0, min_time_s=0.01, repetitions=5)
    assert len(t.repetitions_s) == 5
    assert min(t.repetitions_s) >= 0.01
    assert t.steps_per_repetition > 10  # the warm-up alone suggested 1
    assert t.discarded >= 1
