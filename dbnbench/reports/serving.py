"""dbn-inference's serving scenarios as a report reads them: one line of numbers per case,
from the `serving` extra each scenario case wrote (suites/inference/serving.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..format.results import ResultDoc
from . import format as fmt


def serving_of(case: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extra = (case.get("metrics") or {}).get("extra")
    serving = extra.get("serving") if isinstance(extra, dict) else None
    return serving if isinstance(serving, dict) else None


def rate(value: Any) -> str:
    return f"{fmt.si(value)} q/s" if isinstance(value, (int, float)) else "–"


def ms(value: Any) -> str:
    return f"{value:.3g} ms" if isinstance(value, (int, float)) else "–"


def summary(s: Mapping[str, Any]) -> str:
    """The scenario's outcome in one line (its numbers only; the case id says the rest)."""
    scenario = s.get("scenario")
    if scenario == "server":
        bound = ms(s.get("latency_bound_ms"))
        tried = len(s.get("tried") or [])
        best = s.get("at_best")
        if not isinstance(best, dict):
            return f"server: no rate within p99 ≤ {bound} ({s.get('reason', 'none passed')})"
        return (f"server: {rate(s.get('best_per_s'))} within p99 ≤ {bound} (p99 "
                f"{ms(best.get('p99_ms'))}, mean batch {best.get('mean_batch', 0):.3g}, "
                f"{tried} rates tried, {best.get('queries')} queries at that rate; offline "
                f"{rate(s.get('offline_per_s'))})")
    if scenario == "offline":
        return (f"offline: {rate(s.get('achieved_per_s'))} at batch {s.get('best_batch')} "
                f"({s.get('queries')} queries)")
    return (f"{scenario}: p50 {ms(s.get('p50_ms'))}, p90 {ms(s.get('p90_ms'))}, p99 "
            f"{ms(s.get('p99_ms'))}, {rate(s.get('achieved_per_s'))} ({s.get('queries')} "
            f"queries over {s.get('duration_s', 0):.3g} s)")


def serving_rows(doc: ResultDoc) -> list[tuple[str, str]]:
    """(case id, summary) for every ok case that ran a serving scenario."""
    return [(c["id"], summary(s)) for c in doc["cases"]
            if c["status"] == "ok" and (s := serving_of(c)) is not None]
