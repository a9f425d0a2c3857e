"""Compile time is recorded apart from the timed window, and a compilation inside the timed
repetitions is flagged (a framework that compiles on first call, such as JAX's jit)."""

from __future__ import annotations

import pytest

from dbnbench.harness.engine.merge import compile_over
from dbnbench.harness.measure.timing import measure
from dbnbench.harness.processes.worker import compile_record


def test_on_timed_runs_after_the_warm_up_and_before_the_first_timed_step():
    calls: list[str] = []
    timing = measure(lambda: calls.append("step"), lambda: None, warmup_s=0.0,
                     min_time_s=1e-4, repetitions=2, on_timed=lambda: calls.append("mark"))
    first = calls.index("mark")
    # After the warm-up (steps of repetitions restarted later count as warm-up too), and
    # every timed repetition's steps after it.
    assert 0 < first <= timing.warmup_steps
    timed = timing.steps_per_repetition * len(timing.repetitions_s)
    assert calls.count("mark") == 1 and len(calls) - first - 1 >= timed


def test_compiles_before_and_inside_the_timed_repetitions_are_told_apart():
    record = compile_record((2, 0.5), ((5, 3.0), (6, 3.4)))
    assert record == {"count": 3, "seconds": 2.5, "in_window": 1,
                      "in_window_s": pytest.approx(0.4)}
    assert compile_record(None, ((5, 3.0), (6, 3.4))) is None  # a framework that compiles nothing


def test_a_compilation_inside_the_timed_window_is_a_warning():
    warnings: list[str] = []
    quiet = {"count": 3, "seconds": 2.0, "in_window": 0, "in_window_s": 0.0}
    merged = compile_over([quiet, {**quiet, "seconds": 4.0}], warnings)
    assert merged is not None and merged["seconds"] == 3.0 and merged["in_window"] == 0
    assert not warnings
    compile_over([quiet, {**quiet, "in_window": 2, "in_window_s": 0.3}], warnings)
    assert warnings and "compiled 2 time(s) inside the timed repetitions" in warnings[0]
    assert compile_over([None, None], []) is None


def test_the_report_says_how_long_compiling_took():
    from dbnbench.reports.format import compiled

    assert compiled({"count": 3, "seconds": 1.234, "in_window": 0}) == \
        "compiled 3× in 1.23 s before timing"
    assert compiled({"count": 1, "seconds": 0.5, "in_window": 2}).endswith(", 2× inside it")
    assert compiled(None) is None and compiled({"count": 0, "seconds": 0.0}) is None


def test_what_the_product_probe_compiles_is_not_the_cases():
    from dbnbench.harness.processes.worker import skip_probe

    # 2 compiles at setup; the probe compiled 5 more (1.5 s): the baseline moves past them.
    assert skip_probe((0, 0.0), (2, 1.0), (7, 2.5)) == (5, 1.5)
    assert skip_probe(None, (2, 1.0), (7, 2.5)) is None
