"""What every export carries of a case, once: each measured metric with its unit, its
interval where one was measured, and which way is better. A format keeps what it can hold
of these (its module says what it drops); none computes a number of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...format.results import ResultDoc
from ...format.view import CaseView, views

# The metrics, in the order exports list them: key → (what it is, unit, bigger is better).
THROUGHPUT, ROOF = "throughput", "roof_share"
LATENCY = ("latency_p50", "latency_p90", "latency_p99")
MEMORY, ENERGY, QUALITY = "peak_memory", "energy_per_item", "quality"
KEYS = (THROUGHPUT, *LATENCY, MEMORY, ENERGY, ROOF, QUALITY)


@dataclass(frozen=True)
class Metric:
    key: str  # one of KEYS
    label: str  # what a chart's title says
    unit: str  # explicit: "samples/s", "ms", "bytes", "J/sample", "%", or the quality metric's
    value: float
    bigger_is_better: bool
    low: float | None = None  # the 95 % interval as measured, where there is one
    high: float | None = None

    @property
    def direction(self) -> str:
        return "bigger" if self.bigger_is_better else "smaller"


@dataclass(frozen=True)
class CaseMetrics:
    name: str  # the case id, and its arm in a run with several: stable across runs
    case: CaseView
    item: str  # what items/s counts ("samples", "images")
    metrics: tuple[Metric, ...]


def item_of(doc: ResultDoc, workload: str) -> str:
    described = (doc.get("workloads") or {}).get(workload)
    return described["item"] if described else "items"


def metrics_of(case: CaseView, item: str) -> tuple[Metric, ...]:
    """Every metric the case measured (an unmeasured one is absent, never zero)."""
    out = []
    if case.rate is not None:
        out.append(Metric(THROUGHPUT, "throughput", f"{item}/s", case.rate.median, True,
                          case.rate.ci_low, case.rate.ci_high))
    for key in LATENCY:
        value = (case.latency_ms or {}).get(key.rsplit("_", 1)[1])
        if value is not None:
            out.append(Metric(key, f"latency {key.rsplit('_', 1)[1]} (batch-1 call)", "ms",
                              float(value), False))
    if case.memory_bytes:
        out.append(Metric(MEMORY, f"peak {case.memory_kind} memory", "bytes",
                          float(case.memory_bytes), False))
    if case.energy_per_item_j is not None:
        out.append(Metric(ENERGY, "energy per item", f"J/{item.rstrip('s') or item}",
                          case.energy_per_item_j, False))
    if case.pct_of_roof is not None:
        out.append(Metric(ROOF, f"share of the {case.bound or 'GEMM'} roof", "%",
                          100.0 * case.pct_of_roof, True))
    q = case.quality
    if q is not None and q.metric and q.value is not None:
        out.append(Metric(QUALITY, f"quality ({q.metric})", q.metric, q.value,
                          not bool(q.raw.get("lower_is_better"))))
    return tuple(out)


def name_of(case: CaseView) -> str:
    return f"{case.id} [{case.arm}]" if case.arm else case.id


def exported(doc: ResultDoc, keys: Iterable[str] = KEYS) -> list[CaseMetrics]:
    """Every ok case with the metrics among `keys` it measured, in the result's order."""
    wanted = set(keys)
    out = []
    for c in views(doc):
        if c.ok:
            item = item_of(doc, c.workload)
            kept = tuple(m for m in metrics_of(c, item) if m.key in wanted)
            if kept:
                out.append(CaseMetrics(name_of(c), c, item, kept))
    return out
