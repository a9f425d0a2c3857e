"""A result as pytest-benchmark JSON, for `pytest-benchmark compare` and github-action-benchmark.

pytest-benchmark times one call; here a call is one step of a case (one minibatch update),
so `ops` is steps per second and items/s stays in `extra_info`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ...format.results import ResultDoc
from ...format.view import CaseView, views

PYTEST_BENCHMARK_VERSION = "5.1.0"  # the file format these fields follow


def step_stats(step_s: np.ndarray) -> dict[str, Any]:
    """pytest-benchmark's Stats fields from per-step seconds (its own definitions)."""
    q1, q3 = (float(v) for v in np.percentile(step_s, [25, 75]))
    iqr = q3 - q1
    mean = float(step_s.mean())
    stddev = float(step_s.std(ddof=1)) if len(step_s) > 1 else 0.0
    low, high = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    inside = step_s[(step_s >= low) & (step_s <= high)]
    iqr_out = int(len(step_s) - len(inside))
    sd_out = int(np.sum(np.abs(step_s - mean) > stddev))
    return {"min": float(step_s.min()), "max": float(step_s.max()), "mean": mean,
            "stddev": stddev, "rounds": len(step_s), "median": float(np.median(step_s)),
            "iqr": iqr, "q1": q1, "q3": q3, "iqr_outliers": iqr_out,
            "stddev_outliers": sd_out, "outliers": f"{sd_out};{iqr_out}",
            "ld15iqr": float(inside.min()), "hd15iqr": float(inside.max()),
            "ops": 1 / mean, "total": float(step_s.sum()), "iterations": 1,
            "data": step_s.tolist()}


def benchmark_entry(doc: ResultDoc, case: CaseView) -> dict[str, Any]:
    raw = case.case
    step_s = np.asarray(raw["repetitions_s"], dtype=float) / np.asarray(
        raw["steps_per_repetition"], dtype=float)
    extra = {"items_per_s": case.rate.median if case.rate else None,
             "items_per_step": raw.get("items_per_step"), "pct_of_peak": case.pct_of_peak,
             "peak_host_memory_bytes": case.host_memory_bytes,
             "peak_device_memory_bytes": case.device_memory_bytes,
             "energy_per_item_j": case.energy_per_item_j,
             "items_per_joule": case.items_per_joule,
             "source_hash": case.source_hash, "run_id": doc["run_id"]}
    return {"group": case.workload, "name": case.id, "fullname": f"dbnbench::{case.id}",
            "params": case.params, "param": case.tag,
            "extra_info": extra,
            "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds":
                        doc["settings"]["repetitions"], "max_time": None,
                        "min_time": doc["settings"]["min_time_s"], "warmup": True},
            "stats": step_stats(step_s)}


def to_pytest_benchmark(doc: ResultDoc, commit: str | None = None) -> str:
    """Every ok case of a validated result, in pytest-benchmark's saved-run format; its
    commit_info names the commit given, else the run."""
    m = doc["machine"]
    python = m["python"]
    machine_info = {"node": m["hostname"], "processor": m["cpu"]["model"],
                    "machine": m.get("platform", m["os"]), "python_compiler": "",
                    "python_implementation": "CPython", "python_implementation_version": python,
                    "python_version": python, "python_build": [], "release": m["os"],
                    "system": m["os"].split()[0] if m["os"] else "",
                    "cpu": {"brand_raw": m["cpu"]["model"], "count": m["cpu"]["threads"]}}
    benchmarks = [benchmark_entry(doc, c) for c in views(doc)
                  if c.ok and c.case["repetitions_s"] and c.case["steps_per_repetition"]]
    out = {"machine_info": machine_info, "commit_info": {"id": commit or doc["run_id"], "dirty": False,
                                                        "project": "dbnbench", "branch": None},
           "benchmarks": benchmarks, "datetime": doc["finished_at"] or doc["started_at"],
           "version": PYTEST_BENCHMARK_VERSION}
    return json.dumps(out, indent=1, allow_nan=False) + "\n"
