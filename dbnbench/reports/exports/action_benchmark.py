"""github-action-benchmark's custom formats (`tool: customBiggerIsBetter` and
`customSmallerIsBetter`): a JSON list of {name, unit, value, range, extra}.

One file holds one direction, so an export is of one direction: the bigger-is-better
metrics (throughput, share of the roof, a quality where higher is better) or the smaller
ones (latency, peak memory, energy per item, a quality where lower is better). The action
applies one alert threshold to every entry of a file (github-action-benchmark#206), so
`--metric` narrows a file to one metric where their noise differs. Each entry's name is the
case id and the metric, the same in every run. Lost: the interval becomes the `range` text
(the action only shows it), the repetitions, every per-round number."""

from __future__ import annotations

import json
from typing import Any

from ...format.results import ResultDoc
from .metrics import CaseMetrics, Metric, exported

TOOL = {"bigger": "customBiggerIsBetter", "smaller": "customSmallerIsBetter"}


def range_text(m: Metric) -> str | None:
    """The 95 % interval as measured, as the action's free-text range."""
    if m.low is None or m.high is None:
        return None
    return f"95% CI [{m.low:.6g}, {m.high:.6g}]"


def entry(c: CaseMetrics, m: Metric, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f"{c.name} · {m.key}", "unit": m.unit, "value": m.value}
    span = range_text(m)
    if span:
        out["range"] = span
    out["extra"] = f"{m.label}; {where}"
    return out


def to_action_benchmark(doc: ResultDoc, direction: str, keys: tuple[str, ...],
                        commit: str | None = None) -> str:
    """The metrics of one direction ("bigger" or "smaller") among `keys`."""
    where = f"run {doc['run_id']} on {doc['machine']['hostname']} ({doc['machine']['cpu']['model']})"
    if commit:
        where += f", commit {commit}"
    entries = [entry(c, m, where) for c in exported(doc, keys) for m in c.metrics
               if m.direction == direction]
    return json.dumps(entries, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
