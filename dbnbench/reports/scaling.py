"""How a result's cases scale: across synchronous data-parallel workers, pipeline stages and
gradient accumulation, each case against its own baseline in the same result.

`batch` is the global batch of one update throughout: W workers each process batch/W rows,
an update of `accumulate` micro-batches processes batch/accumulate rows per micro-batch.
So, for a case of W workers at global batch B:

- speedup = items/s(W, B) / items/s(1, B);
- strong scaling efficiency = items/s(W, B) / (W × items/s(1, B)) (same total work);
- weak scaling efficiency = items/s(W, B) / (W × items/s(1, B/W)) (same work per worker);

the baseline matched on everything else: arm, workload, framework, device, precision and
every other parameter (stages and accumulate included). A missing, failed or unmeasured
baseline gives None with the reason, never a number from another configuration.

Uncertainty is propagated crudely: a ratio's bounds are the ratio of the opposite ends of
the two 95 % intervals (low = low_W / high_1, high = high_W / low_1). That is what the two
intervals allow at worst, treated as independent; it is wider than a proper interval of the
ratio, never narrower, and it is not itself a 95 % interval. Where either case has no
interval, the ratio has no bounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..format.results import ResultDoc
from ..format.view import CaseView, Rate, views

AXES = ("workers", "stages", "accumulate")


@dataclass(frozen=True)
class Ratio:
    """A ratio of two measured rates with crude bounds, or None and why it is missing."""

    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None

    def scaled(self, factor: float) -> Ratio:
        def f(v: float | None) -> float | None:
            return None if v is None else v * factor
        return Ratio(f(self.value), f(self.low), f(self.high), self.reason)


@dataclass(frozen=True)
class Point:
    """One measured case placed on a scaling axis: its series is the matched group."""

    id: str
    workload: str
    series: str  # the matched group, and the batch where batches differ
    group: str   # the matched group without its batch (a weak-scaling series)
    n: int  # workers, stages or accumulate
    batch: int | None
    rate: Rate
    memory: int | None


@dataclass(frozen=True)
class WorkerRow:
    point: Point
    speedup: Ratio
    strong: Ratio
    weak: Ratio
    world: int | None
    backend: str | None
    communication_share: float | None


@dataclass(frozen=True)
class StageRow:
    """Pipeline stages split the model, not the batch: a speedup over one stage at the same
    batch, and efficiency = speedup / stages; no weak scaling."""

    point: Point
    speedup: Ratio
    efficiency: Ratio


@dataclass(frozen=True)
class AccumulationRow:
    """items/s and peak memory against accumulate = 1 at the same global batch."""

    point: Point
    speed: Ratio
    memory_ratio: float | None
    memory_kind: str | None  # "device" or "host": the one the case reports


@dataclass(frozen=True)
class Scaling:
    worker_points: list[Point]  # every measured case of a group with a W > 1 case
    workers: list[WorkerRow]
    stage_points: list[Point]
    stages: list[StageRow]
    accumulation: list[AccumulationRow]

    @property
    def present(self) -> bool:
        return bool(self.workers or self.stages or self.accumulation)


def ratio_text(r: Ratio, percent: bool = False) -> str:
    """'90% [85%, 96%]' or '1.80× [1.70×, 1.92×]'; '–' where there is no value."""
    def show(v: float) -> str:
        return f"{v:.0%}" if percent else f"{v:.2f}×"
    if r.value is None:
        return "–"
    bounds = f" [{show(r.low)}, {show(r.high)}]" if r.low is not None and r.high is not None \
        and (r.low, r.high) != (r.value, r.value) else ""
    return show(r.value) + bounds


def count(case: CaseView, name: str) -> int:
    value = case.params.get(name, 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def batch_of(case: CaseView) -> int | None:
    value = case.params.get("batch")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rate_of(case: CaseView) -> Rate | None:
    return case.rate if case.ok and case.rate and case.rate.median else None


def group_key(case: CaseView, drop: Iterable[str]) -> tuple[str, ...]:
    """What must be equal for two cases to be compared along an axis."""
    left = set(drop)
    others = sorted((k, repr(v)) for k, v in case.params.items() if k not in left)
    return (case.arm, case.workload, *case.mode, repr(others))


def ratio(top: Rate, bottom: Rate) -> Ratio:
    low = top.ci_low / bottom.ci_high if top.ci_low is not None and bottom.ci_high else None
    high = top.ci_high / bottom.ci_low if top.ci_high is not None and bottom.ci_low else None
    return Ratio(top.median / bottom.median, low, high)


def missing(reason: str) -> Ratio:
    return Ratio(None, reason=reason)


def against(top: Rate, base: CaseView | None, what: str) -> Ratio:
    """top's rate over the baseline case's, or None naming why there is none."""
    if base is None:
        return missing(f"no {what} case")
    if not base.ok:
        return missing(f"the {what} case {base.status}: {base.reason or 'no reason'}")
    rate = rate_of(base)
    return ratio(top, rate) if rate else missing(f"the {what} case has no items/s")


def ident(case: CaseView) -> tuple[str, str]:
    return case.id, case.arm


def series_names(cases: Sequence[CaseView], drop: Iterable[str]) -> dict[tuple[str, str], str]:
    """Each case's series name: arm, framework/device/precision, and only the parameters
    that differ between the cases of its workload (batch 256 beside batch 1024)."""
    left = set(drop)
    out = {}
    for case in cases:
        same = [c for c in cases if c.workload == case.workload]
        varying = [k for k in dict.fromkeys(k for c in same for k in c.params)
                   if k not in left and len({repr(c.params.get(k)) for c in same}) > 1]
        extra = "".join(f" {k} {case.params.get(k)}" for k in varying)
        out[ident(case)] = case.config + extra
    return out


def involved(cases: Sequence[CaseView], axis: str, drop: tuple[str, ...]) -> list[CaseView]:
    """The cases of every group (matched on all but `axis` and `drop`) with axis > 1."""
    keys = {group_key(c, (axis, *drop)) for c in cases if count(c, axis) > 1}
    return [c for c in cases if group_key(c, (axis, *drop)) in keys]


def points(cases: Sequence[CaseView], axis: str,
           series_drop: tuple[str, ...]) -> dict[tuple[str, str], Point]:
    """The measured cases on `axis`, each named by its series (which drops `series_drop`)."""
    names = series_names(cases, series_drop)
    groups = series_names(cases, (*series_drop, "batch"))
    out = {}
    for c in cases:
        rate = rate_of(c)
        if rate is not None:
            out[ident(c)] = Point(c.id, c.workload, names[ident(c)], groups[ident(c)],
                                  count(c, axis), batch_of(c), rate, c.memory_bytes)
    return out


def index(cases: Sequence[CaseView], axis: str,
          drop: tuple[str, ...]) -> dict[tuple[Any, ...], CaseView]:
    """Cases by their group (all but `axis` and `drop`), axis value and batch."""
    out: dict[tuple[Any, ...], CaseView] = {}
    for c in cases:
        out.setdefault((group_key(c, (axis, *drop)), count(c, axis), batch_of(c)), c)
    return out


def communication(case: CaseView) -> tuple[int | None, str | None, float | None]:
    """World size, backend and communication share from `parallel`, where recorded."""
    par = case.parallel
    comm = par.get("communication")
    share = comm.get("share") if isinstance(comm, dict) else None
    world, backend = par.get("world"), par.get("backend")
    return (world if isinstance(world, int) else None,
            backend if isinstance(backend, str) else None,
            float(share) if isinstance(share, (int, float)) else None)


def worker_rows(cases: Sequence[CaseView]) -> tuple[list[Point], list[WorkerRow]]:
    """Every W > 1 case against its 1-worker baselines (strong: same global batch; weak:
    batch/W), and the measured points of those groups (for items/s against workers)."""
    mine = involved(cases, "workers", ("batch",))
    by_key = index(mine, "workers", ("batch",))
    pts = points(mine, "workers", ("workers",))
    rows = []
    for c in mine:
        w, b, point = count(c, "workers"), batch_of(c), pts.get(ident(c))
        if w == 1 or point is None:
            continue
        key = group_key(c, ("workers", "batch"))
        speedup = against(point.rate, by_key.get((key, 1, b)), f"1-worker batch {b}")
        if b is None:
            weak = missing("no batch parameter")
        elif b % w:
            weak = missing(f"batch {b} does not divide among {w} workers")
        else:
            weak = against(point.rate, by_key.get((key, 1, b // w)),
                           f"1-worker batch {b // w}").scaled(1 / w)
        rows.append(WorkerRow(point, speedup, speedup.scaled(1 / w), weak, *communication(c)))
    return list(pts.values()), rows


def stage_rows(cases: Sequence[CaseView]) -> tuple[list[Point], list[StageRow]]:
    """Every stages > 1 case against one stage at the same batch and everything else."""
    mine = involved(cases, "stages", ())
    by_key = index(mine, "stages", ())
    pts = points(mine, "stages", ("stages",))
    rows = []
    for c in mine:
        s, point = count(c, "stages"), pts.get(ident(c))
        if s == 1 or point is None:
            continue
        speedup = against(point.rate, by_key.get((group_key(c, ("stages",)), 1, batch_of(c))),
                          "1-stage")
        rows.append(StageRow(point, speedup, speedup.scaled(1 / s)))
    return list(pts.values()), rows


def accumulation_rows(cases: Sequence[CaseView]) -> list[AccumulationRow]:
    """Every measured case of a group with accumulate > 1, accumulate = 1 included, against
    accumulate = 1 at the same global batch: relative items/s and relative peak memory.
    Pipelined cases are left to the stage rows: their micro-batches are the schedule that
    keeps stages busy, compared against one stage running the same micro-batches."""
    mine = [c for c in involved(cases, "accumulate", ()) if count(c, "stages") == 1]
    by_key = index(mine, "accumulate", ())
    pts = points(mine, "accumulate", ("accumulate",))
    rows = []
    for c in mine:
        point = pts.get(ident(c))
        if point is None:
            continue
        base = by_key.get((group_key(c, ("accumulate",)), 1, batch_of(c)))
        memory, kind = c.memory_bytes, c.memory_kind
        base_memory, base_kind = (base.memory_bytes, base.memory_kind) if base else (None, None)
        relative = memory / base_memory if memory and base_memory and kind == base_kind \
            else None
        rows.append(AccumulationRow(point, against(point.rate, base, "accumulate-1"),
                                    relative, kind))
    return rows


def analyse(doc: ResultDoc) -> Scaling:
    """The scaling of one result's cases (one run: baselines come from the same run)."""
    cases = views(doc)
    worker_points, workers = worker_rows(cases)
    stage_points, stages = stage_rows(cases)
    return Scaling(worker_points, workers, stage_points, stages, accumulation_rows(cases))
