"""dbn-inference's serving scenarios as a report reads them, from the `serving` extra each
scenario case wrote (suites/inference/serving.py): one line of numbers per case for the
terminal, and per case its configuration, batching and the rates a server search tried for
the HTML report's latency-against-load figure and table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..format.results import ResultDoc
from ..format.view import CaseView, views
from . import format as fmt


def serving_of(case: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extra = (case.get("metrics") or {}).get("extra")
    serving = extra.get("serving") if isinstance(extra, dict) else None
    return serving if isinstance(serving, dict) else None


def rate(value: Any) -> str:
    return f"{fmt.si(value)} q/s" if isinstance(value, (int, float)) else "–"


def ms(value: Any) -> str:
    return f"{value:.3g} ms" if isinstance(value, (int, float)) else "–"


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


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


@dataclass(frozen=True)
class Trial:
    """One offered rate of a server search and what it measured."""

    offered_per_s: float
    achieved_per_s: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    mean_batch: float | None
    queries: int | None


@dataclass(frozen=True)
class ServingCase:
    """An ok scenario case: what ran it and what it measured."""

    id: str
    config: str  # framework/device/precision (after the arm)
    precision: str
    scenario: str
    batching: str  # "one query per call" or "batcher ≤ 64, 2 ms"
    serving: Mapping[str, Any]

    @property
    def series(self) -> str:
        return f"{self.config}, {self.batching}"

    @property
    def bound_ms(self) -> float | None:
        return number(self.serving.get("latency_bound_ms"))

    @property
    def best_per_s(self) -> float | None:
        return number(self.serving.get("best_per_s"))

    @property
    def measured(self) -> Mapping[str, Any]:
        """The distribution the case reports: at its best rate for a server, else its own."""
        best = self.serving.get("at_best")
        if self.scenario == "server":
            return best if isinstance(best, dict) else {}
        return self.serving

    @property
    def trials(self) -> list[Trial]:
        """A server search's trials by offered rate (the order they ran is the search's)."""
        out = []
        for t in self.serving.get("tried") or []:
            offered = number(t.get("offered_per_s")) if isinstance(t, dict) else None
            if offered is None:
                continue
            queries = t.get("queries")
            out.append(Trial(offered, number(t.get("achieved_per_s")), number(t.get("p50_ms")),
                             number(t.get("p90_ms")), number(t.get("p99_ms")),
                             number(t.get("mean_batch")),
                             queries if isinstance(queries, int) else None))
        return sorted(out, key=lambda t: t.offered_per_s)


def batching(s: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    most = s.get("max_batch", params.get("max_batch", 1))
    if s.get("scenario") == "offline":
        return f"best batch ≤ {most}"
    if not isinstance(most, int) or most <= 1:
        return "one query per call"
    wait = s.get("max_wait_ms", params.get("max_wait_ms"))
    return f"batcher ≤ {most}" + (f", {wait:g} ms" if isinstance(wait, (int, float)) else "")


CLOSED_LOOP = "closed loop"


def closed_loop(v: CaseView) -> Mapping[str, Any] | None:
    """A batch-1 case's latency of back-to-back calls, read as the scenario it is not: the
    closed loop the others are set against (one call waits for the last)."""
    lat = v.latency_ms
    if not (v.ok and lat and v.params.get("batch") == 1
            and v.params.get("scenario", "batch") == "batch"):
        return None
    calls = lat.get("calls")
    return {"scenario": CLOSED_LOOP, "p50_ms": lat.get("p50"), "p90_ms": lat.get("p90"),
            "p99_ms": lat.get("p99"), "queries": int(calls) if calls else None}


def serving_cases(doc: ResultDoc) -> list[ServingCase]:
    """Every ok scenario case, and beside them (where there are any) every batch-1 case's
    closed-loop latency."""
    scenario, closed = [], []
    for v in views(doc):
        if (s := serving_of(v.case) if v.ok else None) is not None:
            scenario.append(ServingCase(v.id, v.config, v.precision, str(s.get("scenario")),
                                        batching(s, v.params), s))
        elif (s := closed_loop(v)) is not None:
            closed.append(ServingCase(v.id, v.config, v.precision, CLOSED_LOOP,
                                      "one query per call", s))
    return closed + scenario if scenario else []


def by_precision(cases: Sequence[ServingCase]) -> dict[str, list[ServingCase]]:
    out: dict[str, list[ServingCase]] = {}
    for c in cases:
        out.setdefault(c.precision, []).append(c)
    return out
