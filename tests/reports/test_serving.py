"""The serving block: each scenario case's outcome in one line, from its `serving` extra."""

from __future__ import annotations

import copy

from dbnbench.format.results import validate
from dbnbench.reports.serving import serving_rows
from dbnbench.reports.terminal import render

from .test_scaling import base  # noqa: F401  (the fixture)
from .test_terminal import text_at

SERVER = {"scenario": "server", "latency_bound_ms": 10.0, "max_batch": 8, "max_wait_ms": 1.0,
          "offline_per_s": 40000.0, "best_per_s": 12345.0,
          "tried": [{"offered_per_s": 1250.0}, {"offered_per_s": 40000.0},
                    {"offered_per_s": 12345.0}],
          "at_best": {"queries": 12345, "p99_ms": 8.25, "mean_batch": 2.5}}


def doc_with(base: dict, serving: dict) -> dict:  # noqa: F811
    d = copy.deepcopy(base)
    c = next(c for c in d["cases"] if c["status"] == "ok")
    c["metrics"]["extra"] = {"serving": serving}
    d["cases"] = [c]
    return validate(d)


def test_a_server_case_shows_its_best_rate_against_its_bound(base):  # noqa: F811
    doc = doc_with(base, SERVER)
    [(case_id, line)] = serving_rows(doc)
    assert case_id == doc["cases"][0]["id"]
    assert line.startswith("server: 12.3 k q/s within p99 ≤ 10 ms (p99 8.25 ms, mean batch 2.5, "
                           "3 rates tried, 12345 queries at that rate")
    lines = text_at(render(doc), 160)
    start = next(i for i, line in enumerate(lines) if line.startswith("serving ("))
    assert any("server: 12.3 k q/s" in line for line in lines[start:])


def test_a_server_with_no_rate_within_its_bound_says_so(base):  # noqa: F811
    failed = {**SERVER, "best_per_s": None, "reason": "p99 over 10 ms even at 1250 queries/s"}
    del failed["at_best"]
    [(_, line)] = serving_rows(doc_with(base, failed))
    assert line == "server: no rate within p99 ≤ 10 ms (p99 over 10 ms even at 1250 queries/s)"


def test_single_stream_and_offline_lines(base):  # noqa: F811
    single = {"scenario": "single-stream", "queries": 800, "duration_s": 1.2, "p50_ms": 0.5,
              "p90_ms": 0.75, "p99_ms": 1.5, "achieved_per_s": 666.7}
    [(_, line)] = serving_rows(doc_with(base, single))
    assert line == ("single-stream: p50 0.5 ms, p90 0.75 ms, p99 1.5 ms, 667 q/s (800 queries "
                    "over 1.2 s)")
    off = {"scenario": "offline", "best_batch": 64, "queries": 512, "achieved_per_s": 25000.0}
    [(_, line)] = serving_rows(doc_with(base, off))
    assert line == "offline: 25.0 k q/s at batch 64 (512 queries)"


def test_no_scenario_no_block(base):  # noqa: F811
    assert serving_rows(base) == []
    assert not any(line.startswith("serving (") for line in text_at(render(base), 120))
