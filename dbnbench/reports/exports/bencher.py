"""Bencher Metric Format (BMF): {benchmark: {measure: {value, lower_value, upper_value}}},
for `bencher run --adapter json`.

The benchmark is the case id (a run's arm after it); every metric of the case is one of its
measures, slugs at most 64 characters. Throughput uses Bencher's built-in `throughput`
measure (operations/second: here items/s) with the 95 % interval as lower and upper value;
latency its built-in `latency` (nanoseconds) for the p50, and `latency-p90`/`latency-p99`
in nanoseconds too; the others are measures Bencher creates on first sight, named with their
unit (`peak-memory-bytes`, `energy-per-item-joules`, `roof-share-percent`, `quality-<metric>`).
Lost: the direction (set on Bencher's thresholds), the machine (Bencher's testbed, given to
`bencher run`), the repetitions."""

from __future__ import annotations

import json
import re
from typing import Any

from ...format.results import ResultDoc
from .metrics import ENERGY, LATENCY, MEMORY, QUALITY, ROOF, THROUGHPUT, Metric, exported

SLUGS = {THROUGHPUT: "throughput", LATENCY[0]: "latency", LATENCY[1]: "latency-p90",
         LATENCY[2]: "latency-p99", MEMORY: "peak-memory-bytes",
         ENERGY: "energy-per-item-joules", ROOF: "roof-share-percent"}
NS_PER_MS = 1e6
MAX_SLUG = 64


def slug(m: Metric) -> str:
    if m.key == QUALITY:
        return ("quality-" + re.sub(r"[^a-z0-9]+", "-", m.unit.lower()).strip("-"))[:MAX_SLUG]
    return SLUGS[m.key]


def measure(m: Metric) -> dict[str, Any]:
    scale = NS_PER_MS if m.key in LATENCY else 1.0
    out: dict[str, Any] = {"value": m.value * scale}
    if m.low is not None and m.high is not None:
        out["lower_value"], out["upper_value"] = m.low * scale, m.high * scale
    return out


def to_bencher(doc: ResultDoc, keys: tuple[str, ...]) -> str:
    out = {c.name: {slug(m): measure(m) for m in c.metrics} for c in exported(doc, keys)}
    return json.dumps(out, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
