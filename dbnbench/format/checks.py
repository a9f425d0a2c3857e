"""A result file checked by meaning, beyond its schema's types: every number finite and in
range, times and sizes positive, dates that parse, one entry per case and arm, and the
summary consistent with the raw repetitions it claims to summarise, so a file whose
throughput was edited (or corrupted) is refused rather than reported.

`plain_problem` runs on any parsed JSON before the schema (depth, finiteness, integer range:
what would otherwise surface as a RecursionError or an OverflowError); `meaning_problem` on a
schema-valid document. Each returns the first problem as "field: why", or None."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from statistics import median

from .json_types import JSON

MAX_DEPTH = 64  # far beyond any real file (about 8); deeper input is hostile
MAX_INT = 2**63 - 1  # every integer a result holds fits a signed 64-bit integer
SHORTEST_S = 1e-9  # no clock resolves a shorter repetition
RATE_TOLERANCE = 1e-6  # relative: float rounding, not editing
ROOF_TOLERANCE = 1e-6  # pct_of_peak is clamped to 1 when written (schema 2)

Problem = str | None


def where(path: Sequence[str | int]) -> str:
    return "/".join(map(str, path)) or "(top level)"


def plain_problem(doc: JSON) -> Problem:
    """Nesting depth, non-finite numbers and out-of-range integers, found without
    recursion (so any depth of input is safe)."""
    stack: list[tuple[JSON, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return f"{where(path[:MAX_DEPTH])}: nested deeper than {MAX_DEPTH} levels"
        if isinstance(node, float) and not math.isfinite(node):
            return f"{where(path)}: {node} is not a finite number"
        if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
            return f"{where(path)}: integer out of range"
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return None


def number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def at_least(values: Mapping[str, object], keys: Sequence[str], low: float, path: str,
             strict: bool = False) -> Problem:
    """Each present, non-null number under `keys` is >= low (> low when strict)."""
    for key in keys:
        v = number(values.get(key))
        if v is not None and (v < low or (strict and v == low)):
            sign = ">" if strict else ">="
            return f"{path}/{key}: {v:g} is not {sign} {low:g}"
    return None


def date_problem(value: object, path: str) -> Problem:
    if value is None:
        return None
    try:
        dt.datetime.fromisoformat(str(value))
    except ValueError:
        return f"{path}: {str(value)[:40]!r} is not an ISO 8601 date"
    return None


def machine_problem(doc: Mapping[str, object]) -> Problem:
    machine = doc.get("machine")
    if not isinstance(machine, dict):
        return None
    cpu = machine.get("cpu")
    cpu = cpu if isinstance(cpu, dict) else {}
    gpus = machine.get("gpus")
    gpus = gpus if isinstance(gpus, list) else []
    return (at_least(machine, ["memory_bytes"], 0, "machine", strict=True)
            or at_least(cpu, ["cores", "threads"], 1, "machine/cpu")
            or next((p for i, g in enumerate(gpus) if isinstance(g, dict)
                     and (p := at_least(g, ["memory_bytes"], 0, f"machine/gpus/{i}"))), None))


def roofs_problem(doc: Mapping[str, object], planned: int | None = None) -> Problem:
    """Calibration and roofline rates: positive where measured; no more rounds than the
    run planned."""
    for key in ("calibration", "roofline"):
        entries = doc.get(key)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            path = f"{key}/{i}"
            why = at_least(entry, ["gemm_flops_per_s", "bandwidth_bytes_per_s"], 0, path,
                           strict=True)
            for series in ("by_round", "bandwidth_by_round", "binary_flops_per_s_by_round"):
                values = entry.get(series)
                if why is None and isinstance(values, list) and planned is not None \
                        and len(values) > planned:
                    why = f"{path}/{series}: {len(values)} rounds in a run of {planned}"
                for j, v in enumerate(values if isinstance(values, list) else []):
                    if why is None and (n := number(v)) is not None and n <= 0:
                        why = f"{path}/{series}/{j}: {n:g} is not > 0"
            if why:
                return why
    return None


def rate_from_repetitions(reps: Sequence[float], steps: Sequence[int],
                          items_per_step: float) -> float:
    return median(items_per_step * s / r for r, s in zip(reps, steps, strict=True))


def repetitions_problem(case: Mapping[str, object], path: str) -> Problem:
    reps = case.get("repetitions_s")
    steps = case.get("steps_per_repetition")
    reps = reps if isinstance(reps, list) else []
    steps = steps if isinstance(steps, list) else []
    for j, r in enumerate(reps):
        if (n := number(r)) is None or n < SHORTEST_S:
            return f"{path}/repetitions_s/{j}: {r!r} is not a time (> {SHORTEST_S:g} s)"
    for j, s in enumerate(steps):
        if (n := number(s)) is None or n < 1:
            return f"{path}/steps_per_repetition/{j}: {s!r} is not a loop count (>= 1)"
    if len(steps) != len(reps):
        return (f"{path}/steps_per_repetition: {len(steps)} counts for {len(reps)} "
                "repetitions")
    rounds = case.get("repetition_rounds")
    if isinstance(rounds, list) and len(rounds) != len(reps):
        return f"{path}/repetition_rounds: {len(rounds)} rounds for {len(reps)} repetitions"
    if case.get("status") == "ok" and not reps:
        return f"{path}/repetitions_s: status is ok but no repetition was timed"
    return None


def metrics_problem(case: Mapping[str, object], path: str, version: int) -> Problem:
    metrics = case.get("metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    mpath = f"{path}/metrics"
    rate = metrics.get("items_per_s")
    step = metrics.get("step_s")
    why = at_least(metrics, ["peak_host_memory_bytes", "peak_device_memory_bytes",
                             "energy_j", "energy_per_item_j", "items_per_joule", "avg_power_w",
                             "flops_per_s",
                             "pct_of_peak", "pct_of_framework_peak"], 0, mpath)
    if why:
        return why
    why = quality_problem(metrics.get("quality"), f"{mpath}/quality")
    if why:
        return why
    pct = number(metrics.get("pct_of_peak"))
    if version >= 2 and pct is not None and pct > 1 + ROOF_TOLERANCE:
        return f"{mpath}/pct_of_peak: {pct:g} is over 1 (no case beats the machine's roof)"
    if isinstance(step, dict):
        why = at_least(step, ["median", "iqr", "min", "max", "cv"], 0, f"{mpath}/step_s") \
            or step_problem(step, f"{mpath}/step_s")
        if why:
            return why
    if case.get("status") == "ok" and not isinstance(rate, dict):
        return f"{mpath}/items_per_s: status is ok but no throughput"
    if not isinstance(rate, dict):
        return None
    why = (at_least(rate, ["median"], 0, f"{mpath}/items_per_s", strict=True)
           or at_least(rate, ["ci_low", "ci_high"], 0, f"{mpath}/items_per_s"))
    if why:
        return why
    return interval_problem(rate, f"{mpath}/items_per_s") \
        or consistency_problem(case, rate, mpath)


def interval_problem(rate: Mapping[str, object], path: str) -> Problem:
    """The interval is ordered and holds the median it goes with (every interval the tool
    has written did: a percentile bootstrap of the median, and the interval over rounds,
    widened where needed to hold it), so an edited bound far from the median is refused."""
    low, high = number(rate.get("ci_low")), number(rate.get("ci_high"))
    middle = number(rate.get("median"))
    if low is not None and high is not None and low > high:
        return f"{path}: ci_low {low:g} is above ci_high {high:g}"
    slack = RATE_TOLERANCE * (middle or 0.0)
    if middle is not None and low is not None and low > middle + slack:
        return f"{path}/ci_low: {low:.6g} is above the median {middle:.6g}"
    if middle is not None and high is not None and high < middle - slack:
        return f"{path}/ci_high: {high:.6g} is below the median {middle:.6g}"
    return None


def quality_problem(q: object, path: str) -> Problem:
    """A quality record names its metric; the metric's value and the bar are numbers (or
    null): the reports print them as numbers."""
    if not isinstance(q, dict):
        return None
    name = q.get("metric")
    if name is not None and not isinstance(name, str):
        return f"{path}/metric: not a metric's name"
    for key in ("bar", name):
        value = q.get(key) if key else None
        if value is not None and (number(value) is None or not math.isfinite(float(value))):
            return f"{path}/{key}: {str(value)[:40]!r} is not a number"
    return None


def consistency_problem(case: Mapping[str, object], rate: Mapping[str, object],
                        mpath: str) -> Problem:
    """The throughput must be what the raw repetitions give: the median over repetitions
    of items_per_step × steps / seconds."""
    items = number(case.get("items_per_step"))
    reps, steps = case.get("repetitions_s"), case.get("steps_per_repetition")
    claimed = number(rate.get("median"))
    if items is None or claimed is None or not isinstance(reps, list) or not reps \
            or not isinstance(steps, list):
        return None
    actual = rate_from_repetitions(reps, steps, items)
    if abs(claimed - actual) > RATE_TOLERANCE * actual:
        return (f"{mpath}/items_per_s/median: {claimed:.6g} does not follow from repetitions_s, "
                f"steps_per_repetition and items_per_step ({actual:.6g})")
    return None


def order_problem(doc: Mapping[str, object]) -> Problem:
    """A run finishes after it starts."""
    try:
        start = dt.datetime.fromisoformat(str(doc.get("started_at")))
        end = dt.datetime.fromisoformat(str(doc.get("finished_at")))
        if (start.tzinfo is None) != (end.tzinfo is None):
            return None
        return f"finished_at: {end.isoformat()} is before started_at" if end < start else None
    except ValueError:
        return None  # date_problem names a date that does not parse


def settings_problem(doc: Mapping[str, object]) -> Problem:
    settings = doc.get("settings")
    settings = settings if isinstance(settings, dict) else {}
    return (at_least(settings, ["timeout_s"], 0, "settings", strict=True)
            or at_least(settings, ["warmup_s"], 0, "settings")
            or at_least(settings, ["rounds", "repetitions", "threads"], 1, "settings"))


def planned_rounds(doc: Mapping[str, object]) -> int | None:
    settings = doc.get("settings")
    rounds = settings.get("rounds") if isinstance(settings, dict) else None
    return rounds if isinstance(rounds, int) and not isinstance(rounds, bool) else None


def step_problem(step: Mapping[str, object], path: str) -> Problem:
    """min <= median <= max, and a step takes some time."""
    low, mid, high = (number(step.get(k)) for k in ("min", "median", "max"))
    if mid is not None and mid <= 0:
        return f"{path}/median: {mid:g} is not > 0"
    if low is not None and high is not None and low > high:
        return f"{path}/min: {low:g} is above max {high:g}"
    if mid is not None and low is not None and low > mid * (1 + RATE_TOLERANCE):
        return f"{path}/min: {low:g} is above the median {mid:g}"
    if mid is not None and high is not None and high < mid * (1 - RATE_TOLERANCE):
        return f"{path}/max: {high:g} is below the median {mid:g}"
    return None


def rounds_problem(case: Mapping[str, object], path: str, planned: int | None) -> Problem:
    """Each repetition's round is one the run planned, in order; each per-round series has
    one entry per round the case ran."""
    rounds = case.get("repetition_rounds")
    rounds = rounds if isinstance(rounds, list) else []
    for j, r in enumerate(rounds):
        if not isinstance(r, int) or isinstance(r, bool) or r < 0 or \
                (planned is not None and r >= planned):
            return f"{path}/repetition_rounds/{j}: {r!r} is not a round of this run"
        if j and r < rounds[j - 1]:
            return f"{path}/repetition_rounds/{j}: rounds out of order"
    ran = len(set(rounds)) if rounds else None  # files before schema 2's rounds: unknown
    metrics = case.get("metrics")
    series = {f"metrics/{k}": v for k, v in (metrics.items() if isinstance(metrics, dict)
                                             else ()) if k.endswith("_by_round")}
    contention = case.get("contention")
    if isinstance(contention, dict):
        series["contention/by_round"] = contention.get("by_round")
    series["own_shape_gemm_by_round"] = case.get("own_shape_gemm_by_round")
    for key, values in series.items():
        if not isinstance(values, list) or not values:  # []: not recorded
            continue
        if ran is not None and len(values) != ran:
            return f"{path}/{key}: {len(values)} entries for the {ran} round(s) the case ran"
        if ran is None and planned is not None and len(values) > planned:
            return f"{path}/{key}: {len(values)} entries in a run of {planned} round(s)"
    return None


def cases(doc: Mapping[str, object]) -> Iterator[tuple[int, Mapping[str, object]]]:
    entries = doc.get("cases")
    for i, case in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(case, dict):
            yield i, case


def case_problem(case: Mapping[str, object], path: str, version: int,
                 planned: int | None = None) -> Problem:
    items = case.get("items_per_step")
    if items is not None and ((n := number(items)) is None or n < 1):
        return f"{path}/items_per_step: {items!r} is not a count of items (>= 1)"
    tag = case.get("tag")
    if tag is not None and not str(case.get("id")).endswith(f"/{tag}"):
        return f"{path}/tag: {tag!r} is not the last part of the id {case.get('id')!r}"
    return (at_least(case, ["setup_s"], 0, path)
            or repetitions_problem(case, path)
            or rounds_problem(case, path, planned)
            or metrics_problem(case, path, version))


def meaning_problem(doc: Mapping[str, object], version: int) -> Problem:
    """The first problem of a schema-valid document (in the current version; `version` is
    the one it was written in), or None."""
    why = (date_problem(doc.get("started_at"), "started_at")
           or date_problem(doc.get("finished_at"), "finished_at")
           or order_problem(doc) or settings_problem(doc)
           or machine_problem(doc) or roofs_problem(doc, planned_rounds(doc)))
    if why:
        return why
    seen: set[tuple[str, str]] = set()
    for i, case in cases(doc):
        key = (str(case.get("id")), str(case.get("arm") or ""))
        if key in seen:
            arm = f" in arm {key[1]}" if key[1] else ""
            return f"cases/{i}/id: {key[0]} appears twice{arm}"
        seen.add(key)
        why = case_problem(case, f"cases/{i}", version, planned_rounds(doc))
        if why:
            return why
    return None
