"""What a comparison compares: a case's per-repetition rates, as measured, normalised by the
reference GEMM timed next to them (two separate runs), or paired round by round with the
baseline arm of the same run (arms)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from ..format.errors import UserError
from ..format.results import CaseResult, ResultDoc


@dataclass(frozen=True)
class Samples:
    rates: np.ndarray   # items/s of each repetition (normalised as `basis` says)
    rounds: np.ndarray  # the round each repetition ran in
    basis: str          # "measured", "per reference GEMM", "paired with the baseline arm"


EMPTY = Samples(np.empty(0), np.empty(0, dtype=int), "measured")


def repetition_rounds(case: CaseResult) -> np.ndarray:
    """The round of each repetition; older files did not record it: equal blocks then."""
    reps = len(case["repetitions_s"])
    recorded = case.get("repetition_rounds")
    if recorded and len(recorded) == reps:
        return np.asarray(recorded, dtype=int)
    steps = case.get("steps_per_repetition") or []
    # Without the record, rounds are runs of equal loop counts (each round chooses its own).
    boundaries = np.cumsum([0] + [int(a != b) for a, b in pairwise(steps)])
    return np.asarray(boundaries if len(boundaries) == reps else np.zeros(reps), dtype=int)


def measured(case: CaseResult | None) -> Samples:
    """Items/s of each timed repetition (empty when the case did not run)."""
    if case is None or case["status"] != "ok":
        return EMPTY
    items, steps = case.get("items_per_step"), case.get("steps_per_repetition")
    reps = np.asarray(case.get("repetitions_s") or [], dtype=float)
    if not items or not steps or not len(reps):
        return EMPTY
    return Samples(items * np.asarray(steps, dtype=float) / reps, repetition_rounds(case),
                   "measured")


def references(case: CaseResult) -> dict[int, float]:
    """Round → the reference GEMM's FLOP/s timed next to the case in that round."""
    values = case["metrics"].get("reference_flops_per_s_by_round") or []
    rounds = sorted(set(repetition_rounds(case).tolist()))
    if len(values) != len(rounds) or not all(values):
        return {}
    return {r: float(v) for r, v in zip(rounds, values, strict=True) if v}


def per_reference(case: CaseResult | None) -> Samples | None:
    """Each repetition's rate over the reference GEMM of its round: how fast the case ran
    relative to how fast the machine was just then. None without references."""
    s = measured(case)
    refs = references(case) if case is not None else {}
    if not len(s.rates) or not refs:
        return None
    scale = np.asarray([refs.get(int(r), np.nan) for r in s.rounds])
    if np.isnan(scale).any():
        return None
    # Items per reference FLOP: the machine's speed at that moment divided out. The unit
    # is odd; only ratios of it are read.
    return replace(s, rates=s.rates / scale, basis="per reference GEMM")


Mode = tuple[str, str, str]  # framework, device, precision


def mode_of(case: CaseResult) -> Mode:
    return case["framework"], case["device"], case["precision"]


def run_references(doc: ResultDoc) -> dict[Mode, float]:
    """Per framework/device/precision, the median reference GEMM over every round of every
    case of the run that was timed on a quiet machine: the machine's speed in that mode for
    the whole run. One timing of the small, multi-threaded reference swings far more than a
    case does (a 2-core VM: 60 to 180 GFLOP/s between rounds while the case held within
    2 %); the median over the run keeps what moved the whole run and drops that scatter."""
    values: dict[Mode, list[float]] = {}
    for case in doc["cases"]:
        if case["status"] != "ok":
            continue
        busy = contended_rounds(case)
        for r, v in references(case).items():
            if not busy.get(r, False):
                values.setdefault(mode_of(case), []).append(v)
    return {mode: float(np.median(v)) for mode, v in values.items() if v}


def per_run_reference(case: CaseResult | None, level: float | None) -> Samples | None:
    """Each repetition's rate over its run's reference level in the case's mode."""
    s = measured(case)
    if not len(s.rates) or not level:
        return None
    return replace(s, rates=s.rates / level, basis="per the run's reference GEMM")


def reference_ratio(base: CaseResult, cand: CaseResult) -> float | None:
    """How much faster the machine was (reference GEMM) in the candidate's run."""
    b, c = references(base), references(cand)
    if not b or not c:
        return None
    return float(np.median(list(c.values())) / np.median(list(b.values())))


def contended_rounds(case: CaseResult | None) -> dict[int, bool]:
    """Round → whether other processes contended while this case was timed in it."""
    if case is None or not case["contention"]:
        return {}
    flags = [r["contended"] for r in case["contention"].get("by_round", [])]
    rounds = sorted(set(repetition_rounds(case).tolist()))
    return dict(zip(rounds, flags, strict=True)) if len(flags) == len(rounds) else {}


def unevenly_busy(base: CaseResult | None, cand: CaseResult | None) -> set[int]:
    """Rounds in which one arm was timed on a busy machine and the other was not: their
    pairing compares a quiet moment with a busy one."""
    b, c = contended_rounds(base), contended_rounds(cand)
    return {r for r in b.keys() & c.keys() if b[r] != c[r]}


def paired(base: CaseResult | None, cand: CaseResult | None, upto: int | None = None
           ) -> tuple[Samples, Samples]:
    """Both arms' repetitions over the baseline arm's median of the same round: the rounds
    ran minutes apart, the arms within a round side by side (ABBA), so the machine's drift
    between rounds cancels. Rounds only one arm finished, or only one arm was timed on a
    busy machine in, are left out; so are rounds from `upto` on (a sequential look)."""
    b, c = measured(base), measured(cand)
    common = sorted(r for r in set(b.rounds.tolist()) & set(c.rounds.tolist())
                    - unevenly_busy(base, cand) if upto is None or r < upto)
    if not common:
        return EMPTY, EMPTY
    medians = {r: float(np.median(b.rates[b.rounds == r])) for r in common}

    def scaled(s: Samples) -> Samples:
        keep = np.isin(s.rounds, common)
        scale = np.asarray([medians[int(r)] for r in s.rounds[keep]])
        return Samples(s.rates[keep] / scale, s.rounds[keep], "paired with the baseline arm")

    return scaled(b), scaled(c)


def split_arms(doc: ResultDoc, base: str, cand: str) -> tuple[ResultDoc, ResultDoc]:
    """Two arms of one run as two documents of plain cases (the arm's name dropped)."""
    arms = {c.get("arm") for c in doc["cases"]} - {None}
    for name in (base, cand):
        if name not in arms:
            known = ", ".join(sorted(a for a in arms if a)) or "none (not a run with arms)"
            raise UserError(f"--arms: no arm {name!r} in {doc['run_id']} (arms: {known})")

    def only(name: str) -> ResultDoc:
        cases = []
        for c in doc["cases"]:
            if c.get("arm") == name:
                plain = dict(c)
                plain.pop("arm", None)
                cases.append(plain)
        return {**doc, "cases": cases}  # type: ignore[typeddict-item]

    return only(base), only(cand)
