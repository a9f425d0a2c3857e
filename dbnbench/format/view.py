"""One typed view of a case, built once from a result document, for every reader.

The terminal, the HTML and Markdown reports, compare, scaling, export, publish and the history
store all read the same things from a case: its mode, shape, rate with its interval, roof
position, memory, energy, quality, latency. Each reads them here instead of walking the
document's dictionaries its own way, so a metric has one meaning in every report.

How a workload lays out its parameters (their order, which ones split a case over processes)
and which of its extras are latency percentiles come from the workload's spec through the
result (`ResultDoc.workloads`), not from names the readers know."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .json_types import JSON, JSONObject
from .results import CaseResult, CaseRoofline, ResultDoc, WorkloadLayout, case_tag


@dataclass(frozen=True)
class Rate:
    """Items per second: the median over repetitions and its 95 % interval."""

    median: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Quality:
    value: float | None
    metric: str | None
    bar: str | None
    passed: bool | None
    raw: JSONObject


@dataclass(frozen=True)
class Layout:
    """What a workload's spec says about laying its cases out (from the result)."""

    params: tuple[str, ...] = ()   # the spec's order
    layout: frozenset[str] = frozenset()  # parameters that split a case over processes
    latency: str | None = None  # the extra that holds latency percentiles, if any

    def order(self, name: str) -> tuple[int, str]:
        """A sort key: the spec's order first, unknown names after, by name."""
        return (self.params.index(name) if name in self.params else len(self.params), name)


NO_LAYOUT = Layout()  # a case read alone, outside its document


def layout_of(doc: ResultDoc, workload: str) -> Layout:
    described: WorkloadLayout | None = (doc.get("workloads") or {}).get(workload)
    if described is None:
        return inferred_layout([c for c in doc["cases"] if c["workload"] == workload])
    latency = next((name for name, kind in described["extras"].items() if kind == "latency"),
                   None)
    return Layout(tuple(described["params"]), frozenset(described["layout"]), latency)


def inferred_layout(cases: list[CaseResult]) -> Layout:
    """A file written before workloads were described: parameters in the order its cases
    list them, none known to split a case, latency where an extra holds percentiles."""
    params = tuple(dict.fromkeys(k for c in cases for k in c["params"]))
    extras = [e for c in cases if isinstance(e := c["metrics"].get("extra"), dict)]
    latency = next((name for e in extras for name, v in e.items()
                    if isinstance(v, dict) and {"p50", "p99"} <= v.keys()), None)
    return Layout(params, frozenset(), latency)


@dataclass(frozen=True)
class CaseView:
    """A case as every reader sees it. `case` keeps the document's case for the few readers
    of per-repetition series (compare's samples)."""

    case: CaseResult = field(repr=False)
    layout: Layout = field(repr=False)

    id: str
    workload: str
    framework: str
    device: str
    precision: str
    arm: str
    tag: str
    params: JSONObject
    status: str
    reason: str | None
    warnings: tuple[str, ...]

    rate: Rate | None
    step_cv: float | None
    flops_per_s: float | None
    pct_of_peak: float | None
    roof: CaseRoofline | None
    memory_bytes: int | None  # the device's peak where measured, else the host's
    memory_kind: str | None  # "device" or "host"
    host_memory_bytes: int | None
    device_memory_bytes: int | None
    energy_per_item_j: float | None
    items_per_joule: float | None
    avg_power_w: float | None
    quality: Quality | None
    latency_ms: Mapping[str, float] | None
    compile: JSONObject | None
    unmeasured: Mapping[str, str]
    contended: bool
    other_cpu_share: float | None
    steal_share: float | None
    source_hash: str | None
    math: JSONObject
    parallel: JSONObject  # the process group of a multi-rank case, where recorded

    @property
    def kind(self) -> str:
        return "cpu" if self.device == "cpu" else "gpu"

    @property
    def mode(self) -> tuple[str, str, str]:
        return self.framework, self.device, self.precision

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def pct_of_roof(self) -> float | None:
        return self.roof["pct_of_roof"] if self.roof else self.pct_of_peak

    @property
    def bound(self) -> str | None:
        return self.roof["bound"] if self.roof else None

    @property
    def config(self) -> str:
        """framework/device/precision, after the arm where the run has arms."""
        return (f"{self.arm}: " if self.arm else "") + "/".join(self.mode)

    def ordered_params(self) -> list[str]:
        return sorted(self.params, key=self.layout.order)

    # Per round (the rounds it was measured ok in), for comparisons across runs.
    def memory_by_round(self) -> list[float | None]:
        """Peak memory of each round: the device's where measured (one value: the peak over
        the case), else the host's per round."""
        m = self.case["metrics"]
        if m.get("peak_device_memory_bytes") or not m.get("peak_host_memory_by_round"):
            return [float(self.memory_bytes)] if self.memory_bytes else []
        return [None if v is None else float(v) for v in m["peak_host_memory_by_round"]]

    def memory_at_start_by_round(self) -> list[float | None]:
        """The worker's resident memory before each round's setup (host memory only)."""
        if self.memory_kind == "device":
            return []
        return [None if v is None else float(v)
                for v in self.case["metrics"].get("host_memory_at_start_by_round") or []]

    def energy_per_item_by_round(self) -> list[float | None]:
        return list(self.case["metrics"].get("energy_per_item_by_round")
                    or [self.energy_per_item_j])


def _quality(raw: JSONObject | None) -> Quality | None:
    if not raw:
        return None
    metric = raw.get("metric")
    # Results keep the score under the metric's own name ("recon_mse": 0.038).
    value = raw.get(metric) if isinstance(metric, str) and metric in raw else raw.get("value")
    passed = raw.get("passed")
    bar = raw.get("bar")
    return Quality(float(value) if isinstance(value, (int, float))
                   and not isinstance(value, bool) else None,
                   metric if isinstance(metric, str) else None,
                   None if bar is None else str(bar),
                   passed if isinstance(passed, bool) else None, raw)


def _latency(extra: JSONObject | None, name: str | None) -> dict[str, float] | None:
    found: JSON = (extra or {}).get(name) if name else None
    if not isinstance(found, dict):
        return None
    return {k: v for k, v in found.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def view(case: CaseResult, layout: Layout = NO_LAYOUT) -> CaseView:
    m = case["metrics"]
    items = m.get("items_per_s")
    step = m.get("step_s")
    device_memory = m.get("peak_device_memory_bytes")
    memory = device_memory or m.get("peak_host_memory_bytes")
    contention = case["contention"]
    energy = m.get("energy_per_item_j")
    per_joule = m.get("items_per_joule")
    if per_joule is None and energy:  # files written before items_per_joule was recorded
        per_joule = 1.0 / energy
    return CaseView(
        case=case, layout=layout, id=case["id"], workload=case["workload"],
        framework=case["framework"], device=case["device"], precision=case["precision"],
        arm=case.get("arm", ""), tag=case_tag(case), params=case["params"],
        status=case["status"], reason=case["reason"], warnings=tuple(case.get("warnings", [])),
        rate=Rate(items["median"], items["ci_low"], items["ci_high"]) if items else None,
        step_cv=step["cv"] if step else None, flops_per_s=m.get("flops_per_s"),
        pct_of_peak=m.get("pct_of_peak"), roof=m.get("roofline"),
        memory_bytes=memory, memory_kind=None if memory is None else
        "device" if device_memory else "host",
        host_memory_bytes=m.get("peak_host_memory_bytes"), device_memory_bytes=device_memory,
        energy_per_item_j=energy, items_per_joule=per_joule, avg_power_w=m.get("avg_power_w"),
        quality=_quality(m.get("quality")), latency_ms=_latency(m.get("extra"), layout.latency),
        compile=m.get("compile"), unmeasured=m.get("unmeasured") or {},
        contended=bool(contention and contention["contended"]),
        other_cpu_share=contention["other_cpu_share"] if contention else None,
        steal_share=contention["steal_share"] if contention else None,
        source_hash=case.get("source_hash"),
        math=case.get("math") or {}, parallel=case.get("parallel") or {})


def views(doc: ResultDoc) -> list[CaseView]:
    """Every case of a document, in its order, each with its workload's layout."""
    layouts = {w: layout_of(doc, w) for w in dict.fromkeys(c["workload"] for c in doc["cases"])}
    return [view(c, layouts[c["workload"]]) for c in doc["cases"]]
