"""Compare two result files case by case: ratios, bootstrap intervals, rank tests, verdicts.

A throughput change is a regression only when it is both beyond the threshold and
significant after correcting for the number of cases compared (asv's rule: a rank test
plus a minimum factor). Pure: validated documents in, a plain dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..harness.errors import UserError
from ..harness.results import CaseResult, ResultDoc

ALPHA = 0.05      # family-wise (Holm): the threshold and interval keep A/A alarms far below it
RESAMPLES = 2000
MIN_SAMPLES = 3
VERDICTS = ("regressed", "improved", "noisy", "inconclusive", "unchanged", "missing", "new")


@dataclass(frozen=True)
class Thresholds:
    """Relative changes that count: throughput, peak memory, energy per item."""
    speed: float = 0.05
    memory: float = 0.10
    energy: float = 0.10
    alpha: float = ALPHA


def parse_fraction(text: str, option: str = "--threshold") -> float:
    """'5%' or '0.05' → 0.05 (pytest-benchmark's spec strings, reduced to what we need)."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UserError(f"{option}: cannot read {text!r} (e.g. 5% or 0.05)") from None
    if not 0 <= value < 1:
        raise UserError(f"{option}: {text!r} must be between 0% and 100%")
    return value


def rate_samples(case: CaseResult) -> np.ndarray:
    """Items/s of each timed repetition (empty when the case did not record what it needs)."""
    items, steps = case.get("items_per_step"), case.get("steps_per_repetition")
    reps = np.asarray(case.get("repetitions_s") or [], dtype=float)
    if not items or not steps or case["status"] != "ok":
        return np.empty(0)
    return items * np.asarray(steps, dtype=float) / reps


def ratio_ci(base: np.ndarray, cand: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of median(candidate)/median(baseline), samples resampled
    independently (the two runs are not paired)."""
    def ratio(b: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(c, axis=axis) / np.median(b, axis=axis)

    if np.ptp(base) == 0 and np.ptp(cand) == 0:
        value = float(np.median(cand) / np.median(base))
        return value, value
    res = stats.bootstrap((base, cand), ratio, n_resamples=RESAMPLES, vectorized=True,
                          confidence_level=0.95, method="percentile", paired=False,
                          random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def rank_p(base: np.ndarray, cand: np.ndarray) -> float:
    if np.ptp(np.concatenate([base, cand])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(base, cand, alternative="two-sided").pvalue)


def noise_of(samples: np.ndarray) -> float:
    """Robust relative spread of one run's repetitions (normal-scaled MAD over the median).
    Repetitions come in interleaved rounds that drift apart on a shared machine, so this
    spread, not the rank test's iid assumption, is what a change must beat."""
    return float(stats.median_abs_deviation(samples, scale="normal") / np.median(samples))


def round_spread(samples: np.ndarray, per_round: int | None) -> float:
    """Relative spread between the medians of a run's rounds. Rounds run minutes apart (and
    in fresh worker processes), so this is the machine's drift over the time a run takes:
    two runs that differ by no more than one run's rounds differ among themselves show
    nothing a gate can attribute to the code."""
    if not per_round or len(samples) < 2 * per_round or len(samples) % per_round:
        return 0.0
    medians = np.median(samples.reshape(-1, per_round), axis=1)
    return float((medians.max() - medians.min()) / np.median(samples))


def speed_verdict(ratio: float, low: float, high: float, significant: bool,
                  threshold: float, noise: float = 0.0) -> str:
    """Beyond the threshold, beyond the runs' own spread and significant: a change. Beyond the
    threshold otherwise, or an interval too wide to rule out a change past twice the
    threshold: noisy. Otherwise unchanged."""
    change = abs(ratio - 1)
    if change > max(threshold, noise) and significant and (high < 1 or low > 1):
        return "regressed" if ratio < 1 else "improved"
    if change > threshold or low < 1 - 2 * threshold or high > 1 + 2 * threshold:
        return "noisy"
    return "unchanged"


def adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down correction: family-wise error control for a gate that fails on any."""
    if not p_values:
        return []
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p))))
    out = np.empty_like(p)
    out[order] = np.minimum(scaled, 1.0)
    return out.tolist()


def scalar_change(base: float | None, cand: float | None, threshold: float,
                  reason: str | None = None) -> dict[str, Any]:
    """One-value metrics (peak memory, energy per item): lower is better, no samples to test."""
    if base is None or cand is None or base <= 0:
        return {"verdict": "unmeasured", "baseline": base, "candidate": cand, "ratio": None,
                "reason": reason or "not measured in both runs"}
    ratio = cand / base
    verdict = "unchanged" if abs(ratio - 1) <= threshold else \
        "regressed" if ratio > 1 else "improved"
    return {"verdict": verdict, "baseline": base, "candidate": cand, "ratio": ratio}


def peak_memory(case: CaseResult) -> float | None:
    m = case["metrics"]
    return m.get("peak_device_memory_bytes") or m.get("peak_host_memory_bytes")


def speed_change(base: CaseResult, cand: CaseResult,
                 per_round: tuple[int | None, int | None] = (None, None)) -> dict[str, Any]:
    """Ratio, interval and raw p-value of one case; the verdict waits for the correction.
    `per_round`: repetitions per round in each run, to measure the drift between rounds."""
    b, c = rate_samples(base), rate_samples(cand)
    bm, cm = base["metrics"].get("items_per_s"), cand["metrics"].get("items_per_s")
    out: dict[str, Any] = {"baseline_items_per_s": bm["median"] if bm else None,
                           "candidate_items_per_s": cm["median"] if cm else None, "ratio": None,
                           "ci_low": None, "ci_high": None, "p_value": None, "samples":
                           [len(b), len(c)]}
    if len(b) < MIN_SAMPLES or len(c) < MIN_SAMPLES:
        out["note"] = f"fewer than {MIN_SAMPLES} repetitions in a run: no test possible"
        return out
    out["ratio"] = float(np.median(c) / np.median(b))
    out["ci_low"], out["ci_high"] = ratio_ci(b, c)
    out["p_value"] = rank_p(b, c)
    out["noise"] = max(noise_of(b), noise_of(c), round_spread(b, per_round[0]),
                       round_spread(c, per_round[1]))
    return out


def case_flags(base: CaseResult, cand: CaseResult) -> list[str]:
    flags = []
    if base.get("source_hash") != cand.get("source_hash"):
        flags.append(f"workload source changed ({base.get('source_hash')} → "
                     f"{cand.get('source_hash')}): not the same benchmark")
    if base.get("math") != cand.get("math"):
        flags.append("math flags differ")
    return flags


Pair = tuple[dict[str, Any], CaseResult | None, CaseResult | None]


def pair_cases(base: ResultDoc, cand: ResultDoc) -> list[Pair]:
    """One row per case id in either file; cases skipped in both are left out."""
    bcases = {c["id"]: c for c in base["cases"]}
    ccases = {c["id"]: c for c in cand["cases"]}
    rows = []
    for cid in list(bcases) + [i for i in ccases if i not in bcases]:
        b, c = bcases.get(cid), ccases.get(cid)
        if b is not None and c is not None and b["status"] == c["status"] == "skipped":
            continue
        row: dict[str, Any] = {"id": cid, "flags": [], "verdict": None}
        if b is None or b["status"] != "ok":
            row["verdict"] = "new"
            if b is not None:
                row["note"] = f"baseline {b['status']}: {b['reason']}"
        elif c is None or c["status"] != "ok":
            row["verdict"] = "missing"
            row["note"] = "not in the candidate" if c is None else \
                f"candidate {c['status']}: {c['reason']}"
        rows.append((row, b, c))
    return rows


def compare_docs(base: ResultDoc, cand: ResultDoc,
                 limits: Thresholds = Thresholds()) -> dict[str, Any]:
    """The whole comparison of two validated result documents."""
    rows, busy = [], {}
    for row, b, c in pair_cases(base, cand):
        busy[row["id"]] = contended_note(b, c)
        if row["verdict"] is None and b is not None and c is not None:
            row["flags"] = case_flags(b, c)
            row["speed"] = speed_change(b, c, (repetitions(base), repetitions(cand)))
            row["memory"] = scalar_change(peak_memory(b), peak_memory(c), limits.memory)
            row["energy"] = scalar_change(
                b["metrics"].get("energy_per_item_j"), c["metrics"].get("energy_per_item_j"),
                limits.energy, (c["metrics"].get("unmeasured") or {}).get("energy_j"))
        rows.append(row)
    tested = [r for r in rows if r.get("speed", {}).get("p_value") is not None]
    for r, p in zip(tested, adjust([r["speed"]["p_value"] for r in tested]), strict=True):
        s = r["speed"]
        s["p_adjusted"] = p
        r["verdict"] = speed_verdict(s["ratio"], s["ci_low"], s["ci_high"], p < limits.alpha,
                                     limits.speed, s["noise"])
    for r in rows:
        if r["verdict"] is None:
            r["verdict"] = "noisy"  # compared, but too few samples to tell
    for r in rows:
        if busy[r["id"]] and r["verdict"] not in ("new", "missing"):
            # Measured while the machine was busy: the numbers are not the code's, in either
            # direction. Speed and energy say nothing; memory is still the process's own.
            r["verdict"], r["note"] = "inconclusive", busy[r["id"]]
            if r.get("energy", {}).get("verdict") in ("regressed", "improved"):
                r["energy"]["verdict"] = "inconclusive"
    regressions = [r["id"] for r in rows if r["verdict"] == "regressed"
                   or r.get("memory", {}).get("verdict") == "regressed"
                   or r.get("energy", {}).get("verdict") == "regressed"]
    summary = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    return {"baseline": run_info(base), "candidate": run_info(cand),
            "thresholds": {"speed": limits.speed, "memory": limits.memory,
                           "energy": limits.energy, "alpha": limits.alpha},
            "warnings": provenance_warnings(base, cand), "cases": rows, "summary": summary,
            "regressions": regressions}


def repetitions(doc: ResultDoc) -> int | None:
    value = doc["settings"].get("repetitions")
    return value if isinstance(value, int) else None


def contended_note(base: CaseResult | None, cand: CaseResult | None) -> str | None:
    """Why a case's comparison is inconclusive because a side was timed on a busy machine."""
    sides = []
    for label, case in (("baseline", base), ("candidate", cand)):
        contention = case["contention"] if case is not None else None
        if contention and contention["contended"]:
            sides.append(f"{label} contended (other processes used "
                         f"{contention['other_cpu_share']:.0%} of the CPU, steal "
                         f"{contention['steal_share']:.0%})")
    return "; ".join(sides) + ": inconclusive" if sides else None


def run_info(doc: ResultDoc) -> dict[str, Any]:
    m = doc["machine"]
    return {"run_id": doc["run_id"], "suite": doc["suite"], "started_at": doc["started_at"],
            "hostname": m["hostname"], "cpu": m["cpu"]["model"],
            "gpus": [g["name"] for g in m["gpus"]], "tool_version": doc["tool"]["version"]}


def provenance_warnings(base: ResultDoc, cand: ResultDoc) -> list[str]:
    """Different machines or software make a comparison measure more than the code change."""
    out = []
    bm, cm = base["machine"], cand["machine"]
    for label, b, c in (("hostname", bm["hostname"], cm["hostname"]),
                        ("CPU", bm["cpu"]["model"], cm["cpu"]["model"]),
                        ("GPUs", [g["name"] for g in bm["gpus"]], [g["name"] for g in cm["gpus"]]),
                        ("Python", bm["python"], cm["python"]),
                        ("dbnbench", base["tool"]["version"], cand["tool"]["version"]),
                        ("threads", base["settings"]["threads"], cand["settings"]["threads"])):
        if b != c:
            out.append(f"different {label}: {b} vs {c}")
    for name in sorted(set(bm["frameworks"]) | set(cm["frameworks"])):
        b, c = bm["frameworks"].get(name), cm["frameworks"].get(name)
        if b != c:
            out.append(f"different {name} version: {b} vs {c}")
    out += calibration_drift(base, cand)
    if base["suite"] != cand["suite"]:
        out.append(f"different suites: {base['suite']} vs {cand['suite']}")
    return out


def calibration_drift(base: ResultDoc, cand: ResultDoc, limit: float = 0.10
                      ) -> list[str]:
    """Each run measures the machine's GEMM peak first: when that moved, so did the machine
    (load from other processes, clocks), and throughput changes may not be the code's."""
    def peaks(doc: ResultDoc) -> dict[tuple[str, str, str], float]:
        return {(c["framework"], c["device"], c["precision"]): c["gemm_flops_per_s"]
                for c in doc["calibration"] if c["gemm_flops_per_s"]}

    b, c = peaks(base), peaks(cand)
    moved = [f"{'/'.join(k)} {c[k] / b[k]:.2f}×" for k in sorted(b.keys() & c.keys())
             if abs(c[k] / b[k] - 1) > limit]
    return [(f"the machine's measured GEMM peak changed between the runs ({', '.join(moved)}): "
             "it was not equally fast; treat throughput verdicts with care")] if moved else []
