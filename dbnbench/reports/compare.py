"""Compare two sides case by case — two result files, or two arms of one run — and decide.

Pure: validated documents in, a plain dict out. The per-case statistics and verdicts are
verdicts.py's; what is compared is samples.py's: paired round by round for arms of one run
(the strongest comparison: the same machine minutes), per reference GEMM for separate runs
(a machine that got slower between runs is reported as that), as measured otherwise.

The decision over all cases: "regression" when any case regressed (speed, memory or
energy); "no change" only when every compared case could rule out a change as large as the
threshold; "inconclusive" otherwise (noise, drift, contention, too few rounds, a missing
case). `dbnbench compare --fail-on-regression` exits 1, 0 and 3 for these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..harness.errors import UserError
from ..harness.results import CaseResult, ResultDoc
from .samples import Mode, mode_of, run_references
from .verdicts import NORMALISE, adjust, memory_change, sampled_change, speed_change, speed_verdict

ALPHA = 0.05      # family-wise (Holm): the threshold and interval keep A/A alarms far below it
VERDICTS = ("regressed", "improved", "inconclusive", "unchanged", "missing", "new")
EXIT = {"regression": 1, "inconclusive": 3, "no change": 0}


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
    if not 0 < value < 1:
        raise UserError(f"{option}: {text!r} must be between 0% and 100%")
    return value


def peak_memory(case: CaseResult) -> list[float | None]:
    """Peak memory of each round (device memory where measured, else host)."""
    m = case["metrics"]
    by_round = m.get("peak_host_memory_by_round")
    device = m.get("peak_device_memory_bytes")
    if device:
        return [float(device)]
    if by_round:
        return [float(v) if v is not None else None for v in by_round]
    host = m.get("peak_host_memory_bytes")
    return [float(host)] if host else []


def memory_at_start(case: CaseResult) -> list[float | None]:
    """The worker's resident memory before each round's setup (host memory only)."""
    if case["metrics"].get("peak_device_memory_bytes"):
        return []
    return [float(v) if v is not None else None
            for v in case["metrics"].get("host_memory_at_start_by_round") or []]


def energy_per_item(case: CaseResult) -> list[float | None]:
    m = case["metrics"]
    return list(m.get("energy_per_item_by_round") or [m.get("energy_per_item_j")])


def case_flags(base: CaseResult, cand: CaseResult, arms: bool) -> list[str]:
    flags = []
    if not arms and base.get("source_hash") != cand.get("source_hash"):
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


def compare_case(row: dict[str, Any], b: CaseResult, c: CaseResult, limits: Thresholds,
                 arms: bool, normalise: str = "round",
                 levels: tuple[dict[Mode, float], dict[Mode, float]] = ({}, {})) -> None:
    row["flags"] = case_flags(b, c, arms)
    row["speed"] = speed_change(b, c, arms, normalise,
                                (levels[0].get(mode_of(b)), levels[1].get(mode_of(c))))
    row["memory"] = memory_change(peak_memory(b), peak_memory(c), memory_at_start(b),
                                  memory_at_start(c), limits.memory)
    row["energy"] = sampled_change(energy_per_item(b), energy_per_item(c), limits.energy,
                                   (c["metrics"].get("unmeasured") or {}).get("energy_j"))
    busy = None if arms else contended_note(b, c)
    if busy:
        # Measured while the machine was busy: the numbers are not the code's, in either
        # direction. Speed and energy say nothing; memory is still the process's own.
        row["verdict"], row["note"] = "inconclusive", busy
        if row["energy"]["verdict"] in ("regressed", "improved"):
            row["energy"]["verdict"] = "inconclusive"


def decide(rows: list[dict[str, Any]], limits: Thresholds) -> None:
    """Speed verdicts after Holm's correction over every case that could be tested."""
    tested = [r for r in rows if r["verdict"] is None
              and r.get("speed", {}).get("p_value") is not None]
    for r, p in zip(tested, adjust([r["speed"]["p_value"] for r in tested]), strict=True):
        r["speed"]["p_adjusted"] = p
        r["verdict"], why = speed_verdict(r["speed"], p < limits.alpha, limits.speed)
        if why:
            r["note"] = why
    for r in rows:
        if r["verdict"] is None:
            r["verdict"] = "inconclusive"
            r["note"] = r.get("speed", {}).get("note") or "nothing to compare"


def compare_docs(base: ResultDoc, cand: ResultDoc, limits: Thresholds = Thresholds(),
                 arms: bool = False, normalise: str = "round") -> dict[str, Any]:
    """The whole comparison of two validated result documents (two arms of one run when
    `arms`: paired round by round, contention shared by both; two runs put on one scale as
    `normalise` says)."""
    if normalise not in NORMALISE:
        raise UserError(f"--normalise: {normalise!r} is not one of {', '.join(NORMALISE)}")
    levels = (run_references(base), run_references(cand))
    rows = []
    for row, b, c in pair_cases(base, cand):
        if row["verdict"] is None and b is not None and c is not None:
            compare_case(row, b, c, limits, arms, normalise, levels)
        rows.append(row)
    decide(rows, limits)
    regressions = [r["id"] for r in rows if r["verdict"] == "regressed"
                   or r.get("memory", {}).get("verdict") == "regressed"
                   or r.get("energy", {}).get("verdict") == "regressed"]
    undecided = [r["id"] for r in rows if r["verdict"] in ("inconclusive", "missing")]
    mdes = [r["speed"]["mde"] for r in rows if r.get("speed", {}).get("mde") is not None]
    decision = "regression" if regressions else "inconclusive" if undecided or not mdes \
        else "no change"
    return {"baseline": run_info(base), "candidate": run_info(cand), "arms": arms,
            "normalise": None if arms else normalise,
            "thresholds": {"speed": limits.speed, "memory": limits.memory,
                           "energy": limits.energy, "alpha": limits.alpha},
            "warnings": provenance_warnings(base, cand, arms) +
            ([] if arms else reference_drift(levels, normalise)), "cases": rows,
            "summary": {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS},
            "regressions": regressions, "undecided": undecided, "decision": decision,
            "mde": {"median": float(np.median(mdes)), "max": max(mdes)} if mdes else None}


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


def provenance_warnings(base: ResultDoc, cand: ResultDoc, arms: bool = False) -> list[str]:
    """Different machines or software make a comparison measure more than the code change."""
    out: list[str] = []
    if arms:
        return out  # one run: one machine, one time; the arms differ on purpose
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
    out += calibration_drift(base, cand) + unreferenced(base, cand)
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


def unreferenced(base: ResultDoc, cand: ResultDoc) -> list[str]:
    """Files without the reference GEMM (written before it existed) compare raw rates."""
    def has(doc: ResultDoc) -> bool:
        return any(c["metrics"].get("reference_flops_per_s_by_round") for c in doc["cases"]
                   if c["status"] == "ok")

    if has(base) and has(cand):
        return []
    return ["no reference GEMM beside the cases of one of the files: a machine that changed "
            "between the runs cannot be told from a code change (compare arms of one run, or "
            "files of this dbnbench)"]


def reference_drift(levels: tuple[dict[Mode, float], dict[Mode, float]], normalise: str,
                    limit: float = 0.10) -> list[str]:
    """Modes whose reference GEMM level moved between the runs: the machine changed."""
    moved = {m: levels[1][m] / levels[0][m] for m in levels[0].keys() & levels[1].keys()}
    far = {m: r for m, r in sorted(moved.items()) if abs(r - 1) > limit}
    if not far:
        return []
    modes = ", ".join(f"{'/'.join(m)} {r:.2f}×" for m, r in far.items())
    then = {"run": "verdicts are on rates per each run's reference level, raw ratios beside "
                   "them",
            "round": "verdicts are on rates per the reference beside each case, raw ratios "
                     "beside them",
            "off": "verdicts are on raw rates (--normalise off): the machine's change reads "
                   "as the code's"}[normalise]
    return [f"the machine changed between the runs: the reference GEMM ran {modes} as fast "
            f"in the candidate run; {then}"]
