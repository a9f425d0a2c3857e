"""Compare two sides case by case — two result files, or two arms of one run — and decide.

Pure: validated documents in, a plain dict out. The per-case statistics and verdicts are
verdicts.py's; what is compared is samples.py's: paired round by round for arms of one run
(the strongest comparison: the same machine minutes), per reference GEMM for separate runs
(a machine that got slower between runs is reported as that), as measured otherwise.

The decision over all cases: "regression" when any case regressed (speed, memory, energy
or quality against its bar: quality_change.py) or broke (measured in the baseline, failed,
timed out or skipped in the candidate); "no change" only when every compared case could
rule out a change as large as the threshold; "inconclusive" otherwise (noise, drift,
contention, too few rounds, a case missing from the candidate). `dbnbench compare
--fail-on-regression` exits 1, 0 and 3 for these."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ..format.errors import UserError
from ..format.results import ResultDoc
from ..format.view import CaseView, views
from .quality_change import quality_change
from .samples import Mode, run_references
from .significance import detectable, look_levels
from .verdicts import NORMALISE, adjust, memory_change, sampled_change, speed_change, speed_verdict

ALPHA = 0.05      # family-wise (Holm over cases, spent over a sequential run's looks)
VERDICTS = ("regressed", "broken", "improved", "inconclusive", "unchanged", "missing", "new")
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


def case_flags(base: CaseView, cand: CaseView, arms: bool) -> list[str]:
    flags = []
    if not arms and base.source_hash != cand.source_hash:
        flags.append(f"workload source changed ({base.source_hash} → "
                     f"{cand.source_hash}): not the same benchmark")
    if base.math != cand.math:
        flags.append("math flags differ")
    return flags


Pair = tuple[dict[str, Any], CaseView | None, CaseView | None]


# A case the baseline measured that the candidate ran and could not measure: the head broke
# it (a crash, an error, a hang), or can no longer run it at all (a skip: a dependency that
# vanished, a precision or device it lost). Either counts as a regression, with its reason:
# a gate that called a broken head "undecided" (exit 3, a warning in most workflows) would
# pass it.
BROKEN = ("failed", "timeout", "skipped")


def pair_cases(base: ResultDoc, cand: ResultDoc) -> list[Pair]:
    """One row per case id in either file; cases skipped in both are left out. Decided here:
    "broken" (ok in the baseline, failed, timed out or skipped in the candidate), "missing"
    (absent from the candidate, or its run was interrupted: nothing was said of the code),
    "new" (not measured in the baseline)."""
    bcases = {c.id: c for c in views(base)}
    ccases = {c.id: c for c in views(cand)}
    rows = []
    for cid in list(bcases) + [i for i in ccases if i not in bcases]:
        b, c = bcases.get(cid), ccases.get(cid)
        if b is not None and c is not None and b.status == c.status == "skipped":
            continue
        row: dict[str, Any] = {"id": cid, "flags": [], "verdict": None}
        if b is None or not b.ok:
            row["verdict"] = "new"
            if b is not None:
                row["note"] = f"baseline {b.status}: {b.reason or 'no reason recorded'}"
        elif c is None:
            row["verdict"], row["note"] = "missing", "not in the candidate"
        elif not c.ok:
            row["verdict"] = "broken" if c.status in BROKEN else "missing"
            row["note"] = f"candidate {c.status}: {c.reason or 'no reason recorded'}"
        rows.append((row, b, c))
    return rows


def compare_case(row: dict[str, Any], b: CaseView, c: CaseView, limits: Thresholds,
                 arms: bool, normalise: str = "run",
                 levels: tuple[dict[Mode, float], dict[Mode, float]] = ({}, {})) -> None:
    row["flags"] = case_flags(b, c, arms)
    row["speed"] = speed_change(b.case, c.case, arms, normalise,
                                (levels[0].get(b.mode), levels[1].get(c.mode)))
    row["memory"] = memory_change(b.memory_by_round(), c.memory_by_round(),
                                  b.memory_at_start_by_round(), c.memory_at_start_by_round(),
                                  limits.memory)
    row["energy"] = sampled_change(b.energy_per_item_by_round(), c.energy_per_item_by_round(),
                                   limits.energy, c.unmeasured.get("energy_j"))
    # Seeded and outside the timed window: quality has no noise to test, only its bar.
    row["quality"] = quality_change(b.quality.raw if b.quality else None,
                                    c.quality.raw if c.quality else None)
    busy = None if arms else contended_note(b, c)
    if busy:
        # Measured while the machine was busy: the numbers are not the code's, in either
        # direction. Speed and energy say nothing; memory is still the process's own.
        row["verdict"], row["note"] = "inconclusive", busy
        if row["energy"]["verdict"] in ("regressed", "improved"):
            row["energy"]["verdict"] = "inconclusive"


Plan = list[tuple[int | None, float]]  # (rounds seen, level) of each look


def look_plan(sequential: Mapping[str, Any] | None, alpha: float) -> Plan:
    """One look over every round at α for a fixed-size comparison; for a sequential run
    (`--until-decided`), each look it took at the level its α spending gave that look."""
    if not sequential or not sequential.get("looks"):
        return [(None, alpha)]
    looks = [int(n) for n in sequential["looks"]]
    return list(zip(looks, look_levels(looks, int(sequential["max_rounds"]), alpha),
                    strict=True))


def decide(rows: list[dict[str, Any]], pairs: dict[str, tuple[CaseView, CaseView]],
           limits: Thresholds, plan: Plan,
           speed_at: Callable[[CaseView, CaseView, int], dict[str, Any]]) -> None:
    """Speed verdicts, look by look: at each, Holm's correction over every tested case (a
    case decided at an earlier look keeps its verdict and enters with p = 1) at the look's
    level; the first decisive verdict of a case stands. `speed_at(b, c, upto)` recomputes a
    case's change over the rounds a look saw."""
    tested = [r for r in rows if r["verdict"] is None and r.get("speed") is not None]
    for k, (upto, level) in enumerate(plan):
        last = k == len(plan) - 1
        open_ = [r for r in tested if r["verdict"] is None]
        if not open_:
            break
        for r in open_:
            if upto is not None:
                r["speed"] = speed_at(*pairs[r["id"]], upto)
        p = [r["speed"]["p_value"] if r["verdict"] is None and r["speed"]["p_value"] is not None
             else 1.0 for r in tested]
        for r, adjusted in zip(tested, adjust(p), strict=True):
            if r["verdict"] is not None:
                continue
            s = r["speed"]
            if s["p_value"] is None:
                if last:
                    r["verdict"], r["note"] = "inconclusive", s.get("note") or "nothing to compare"
                continue
            s["p_adjusted"], s["level"] = adjusted, level
            # 80 % power at Holm's first, strictest step: what this comparison can promise.
            s["mde"] = detectable(s["log_se"], s["df"], level / len(tested))
            verdict, why = speed_verdict(s, adjusted < level, limits.speed, level)
            if verdict != "inconclusive" or last:
                r["verdict"] = verdict
                if upto is not None and verdict != "inconclusive":
                    r["decided_at_round"] = upto
                if why:
                    r["note"] = why
    for r in rows:
        if r["verdict"] is None:
            r["verdict"] = "inconclusive"
            r["note"] = r.get("speed", {}).get("note") or "nothing to compare"


def compare_docs(base: ResultDoc, cand: ResultDoc, limits: Thresholds = Thresholds(),
                 arms: bool = False, normalise: str = "run",
                 sequential: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole comparison of two validated result documents (two arms of one run when
    `arms`: paired round by round, contention shared by both; two runs put on one scale as
    `normalise` says). Arms of a sequential run are judged at the looks it took (its
    `sequential` record, or the one given)."""
    if normalise not in NORMALISE:
        raise UserError(f"--normalise: {normalise!r} is not one of {', '.join(NORMALISE)}")
    levels = (run_references(base), run_references(cand))
    sequential = sequential if sequential is not None else \
        cast(Mapping[str, Any] | None, cand.get("sequential")) if arms else None
    rows, pairs = [], {}
    for row, b, c in pair_cases(base, cand):
        if row["verdict"] is None and b is not None and c is not None:
            compare_case(row, b, c, limits, arms, normalise, levels)
            pairs[row["id"]] = (b, c)
        rows.append(row)

    def speed_at(b: CaseView, c: CaseView, upto: int) -> dict[str, Any]:
        return speed_change(b.case, c.case, arms, normalise,
                            (levels[0].get(b.mode), levels[1].get(c.mode)), upto)

    plan = look_plan(sequential if arms else None, limits.alpha)
    decide(rows, pairs, limits, plan, speed_at)
    regressions = [r["id"] for r in rows if r["verdict"] in ("regressed", "broken")
                   or any((r.get(aspect) or {}).get("verdict") == "regressed"
                          for aspect in ("memory", "energy", "quality"))]
    undecided = [r["id"] for r in rows if r["verdict"] in ("inconclusive", "missing")]
    mdes = [r["speed"]["mde"] for r in rows if r.get("speed", {}).get("mde") is not None]
    decision = "regression" if regressions else "inconclusive" if undecided or not mdes \
        else "no change"
    return {"baseline": run_info(base), "candidate": run_info(cand), "arms": arms,
            "normalise": None if arms else normalise,
            "thresholds": {"speed": limits.speed, "memory": limits.memory,
                           "energy": limits.energy, "alpha": limits.alpha},
            "looks": [{"rounds": n, "level": lv} for n, lv in plan if n is not None],
            "warnings": provenance_warnings(base, cand, arms) +
            ([] if arms else reference_drift(levels, normalise)), "cases": rows,
            "summary": {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS},
            "regressions": regressions, "undecided": undecided, "decision": decision,
            "mde": {"median": float(np.median(mdes)), "max": max(mdes)} if mdes else None}


def contended_note(base: CaseView | None, cand: CaseView | None) -> str | None:
    """Why a case's comparison is inconclusive because a side was timed on a busy machine."""
    sides = []
    for label, case in (("baseline", base), ("candidate", cand)):
        if case is not None and case.contended:
            sides.append(f"{label} contended (other processes used "
                         f"{case.other_cpu_share or 0:.0%} of the CPU, steal "
                         f"{case.steal_share or 0:.0%})")
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
