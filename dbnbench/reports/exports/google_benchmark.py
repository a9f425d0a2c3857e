"""Google Benchmark's JSON (`--benchmark_format=json`), read by its `tools/compare.py` and by
dashboards that take it.

A case is a benchmark named by its id (its arm after it); each repetition is one
`run_type: iteration` entry (iterations = the repetition's steps, real_time = seconds per step
in milliseconds), followed by the mean, median, stddev and cv aggregates of those
repetitions, as the library writes them with `--benchmark_repetitions`. Counters carry
items_per_second (the library's own name: each repetition's own, aggregated as the library
does, the median aggregate's the case's median), and on the mean and median the interval of
the case's rate, peak memory, energy per item, the roof share and quality where measured.
dbnbench times wall-clock only, so `cpu_time` repeats `real_time` (the context says so):
compare.py's CPU columns then match its wall-clock ones. Lost: the latency percentiles'
meaning (counters, not entries), the direction of non-time counters."""

from __future__ import annotations

import json
import statistics
from typing import Any

from ...format.results import ResultDoc
from .metrics import ENERGY, MEMORY, QUALITY, ROOF, THROUGHPUT, CaseMetrics, exported

MS = 1e3


def counters(c: CaseMetrics) -> dict[str, float]:
    """The case's own numbers (not a repetition's): the median rate's interval, latency,
    memory, energy, roof share, quality."""
    out: dict[str, float] = {}
    for m in c.metrics:
        if m.key == THROUGHPUT and m.low is not None and m.high is not None:
            out["items_per_second_ci_low"], out["items_per_second_ci_high"] = m.low, m.high
        elif m.key.startswith("latency_"):
            out[f"{m.key}_ms"] = m.value
        elif m.key == MEMORY:
            out["peak_memory_bytes"] = m.value
        elif m.key == ENERGY:
            out["energy_per_item_joules"] = m.value
        elif m.key == ROOF:
            out["roof_share_percent"] = m.value
        elif m.key == QUALITY:
            out[f"quality_{m.unit}"] = m.value
    return out


def entries(c: CaseMetrics, family: int) -> list[dict[str, Any]]:
    """One entry per repetition with its own items/s, then the aggregates of both, the
    case's own numbers on its mean and median (the median's items/s is the case's)."""
    raw = c.case.case
    reps, steps = raw["repetitions_s"], raw["steps_per_repetition"]
    per_step = raw.get("items_per_step") or 0
    times = [r / n for r, n in zip(reps, steps, strict=True)]
    rates = [per_step * n / r for r, n in zip(reps, steps, strict=True)] if per_step else []
    base = {"family_index": family, "per_family_instance_index": 0, "run_name": c.name,
            "repetitions": len(times), "threads": 1, "time_unit": "ms"}
    out = [{"name": c.name, **base, "run_type": "iteration", "repetition_index": i,
            "iterations": n, "real_time": t * MS, "cpu_time": t * MS,
            **({"items_per_second": rates[i]} if rates else {})}
           for i, (t, n) in enumerate(zip(times, steps, strict=True))]
    if len(times) < 2:
        return out
    own = counters(c)
    for name, of in (("mean", statistics.fmean), ("median", statistics.median),
                     ("stddev", statistics.stdev),
                     ("cv", lambda v: statistics.stdev(v) / statistics.fmean(v))):
        unit = "percentage" if name == "cv" else "time"
        value = of(times) * (1 if name == "cv" else MS)
        extra = {"items_per_second": of(rates)} if rates else {}
        if name == "median" and c.case.rate is not None:
            extra["items_per_second"] = c.case.rate.median  # the case's, as its report shows
        out.append({"name": f"{c.name}_{name}", **base, "run_type": "aggregate",
                    "aggregate_name": name, "aggregate_unit": unit,
                    "iterations": len(times), "real_time": value, "cpu_time": value,
                    **extra, **(own if name in ("mean", "median") else {})})
    return out


def to_google_benchmark(doc: ResultDoc, keys: tuple[str, ...], commit: str | None = None) -> str:
    m = doc["machine"]
    context: dict[str, Any] = {
        "date": doc["finished_at"] or doc["started_at"], "host_name": m["hostname"],
        "executable": "dbnbench", "num_cpus": m["cpu"]["threads"],
        "library_build_type": "release", "library_version": f"dbnbench {doc['tool']['version']}",
        "dbnbench_run_id": doc["run_id"], "dbnbench_suite": doc["suite"],
        "dbnbench_cpu": m["cpu"]["model"],
        "dbnbench_cpu_time": "cpu_time repeats real_time: dbnbench times wall-clock only",
        "dbnbench_threads": doc["settings"]["threads"]}
    if commit:
        context["dbnbench_commit"] = commit
    cases = [c for c in exported(doc, keys)
             if c.case.case["repetitions_s"] and c.case.case["steps_per_repetition"]]
    benchmarks = [e for i, c in enumerate(cases) for e in entries(c, i)]
    # One benchmark a line: a full suite's thousands of repetitions stay readable and small.
    lines = ",\n".join(json.dumps(b, ensure_ascii=False, allow_nan=False) for b in benchmarks)
    head = json.dumps(context, indent=1, ensure_ascii=False, allow_nan=False)
    return f'{{"context": {head},\n"benchmarks": [\n{lines}\n]}}\n'

