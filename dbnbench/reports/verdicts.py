"""One case's change between two sides, and what can honestly be said of it.

The round is the unit (fresh processes, minutes apart): arms of one run by Student's t on
the rounds' paired log ratios, separate runs by Welch's t on the rounds' log medians
(significance.py says why these and shows their error rates). A change is a regression only
when it is beyond the threshold and significant after Holm's correction over the cases.
"Unchanged" is said only when two one-sided tests put it inside ±threshold. Everything else
is inconclusive, with the smallest change the comparison detects with 80 % power (its
minimum detectable effect): a runner that can only see 18 % changes must not be read as
having seen none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from ..format.results import CaseResult
from . import significance
from .samples import (
    Samples,
    measured,
    paired,
    per_reference,
    per_run_reference,
    reference_ratio,
    unevenly_busy,
)

NORMALISE = ("run", "round", "off")  # how two separate runs' rates are put on one scale
MIN_ROUNDS = 2  # one round cannot show how much the machine drifts between rounds


def noise_of(samples: np.ndarray) -> float:
    """Robust relative spread of one side's repetitions (normal-scaled MAD over the median)."""
    return float(stats.median_abs_deviation(samples, scale="normal") / np.median(samples))


def round_spread(s: Samples) -> float:
    """Relative spread between the medians of a side's rounds: the machine's drift over the
    minutes a run takes (each round also runs in fresh processes)."""
    medians = round_medians(s)
    if len(medians) < 2:
        return 0.0
    return float(np.ptp(medians) / np.median(s.rates))


def adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down correction: family-wise error control for a gate that fails on any."""
    if not p_values:
        return []
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p))))
    out = np.empty_like(p)
    out[order] = np.minimum(scaled, 1.0)
    return [float(v) for v in out]


def sides(base: CaseResult, cand: CaseResult, arms: bool, normalise: str = "run",
          levels: tuple[float | None, float | None] = (None, None), upto: int | None = None
          ) -> tuple[Samples, Samples]:
    """The samples a verdict stands on: paired by round for arms of one run. For two runs,
    over each run's reference GEMM level in the case's mode (`run`), or over the reference
    timed beside the case in each round (`round`), where both sides recorded one; as
    measured otherwise."""
    if arms:
        return paired(base, cand, upto)
    if normalise == "run":
        b, c = per_run_reference(base, levels[0]), per_run_reference(cand, levels[1])
    elif normalise == "round":
        b, c = per_reference(base), per_reference(cand)
    else:
        b = c = None
    return (b, c) if b is not None and c is not None else (measured(base), measured(cand))


def round_ratios(b: Samples, c: Samples) -> np.ndarray:
    """Per round, the candidate arm's median over the baseline arm's: one paired value per
    round, robust to a burst of noise inside a round."""
    rounds = sorted(set(b.rounds.tolist()) & set(c.rounds.tolist()))
    return np.asarray([np.median(c.rates[c.rounds == r]) / np.median(b.rates[b.rounds == r])
                       for r in rounds])


def round_medians(s: Samples) -> np.ndarray:
    return np.asarray([np.median(s.rates[s.rounds == r]) for r in sorted(set(s.rounds.tolist()))])


def estimate_fields(e: significance.Estimate) -> dict[str, float]:
    """Ratio, 95 % interval, p-value and the estimate's log-scale standard error and degrees
    of freedom (kept, so the decision can state its minimum detectable effect)."""
    low, high = significance.interval(e, 0.95)
    return {"ratio": float(np.exp(e.centre)), "ci_low": float(np.exp(low)),
            "ci_high": float(np.exp(high)), "p_value": float(significance.p_value(e)),
            "log_se": float(e.se), "df": float(e.df)}


def estimate_of(s: dict[str, Any]) -> significance.Estimate:
    return significance.Estimate(np.asarray(np.log(s["ratio"])), np.asarray(s["log_se"]),
                                 np.asarray(s["df"]))


def speed_change(base: CaseResult, cand: CaseResult, arms: bool = False,
                 normalise: str = "run",
                 levels: tuple[float | None, float | None] = (None, None),
                 upto: int | None = None) -> dict[str, Any]:
    """Ratio, interval, raw p-value and spread of one case; the verdict waits for the
    correction over all cases. `upto`: only the rounds before it (a sequential look)."""
    raw_b, raw_c = measured(base), measured(cand)
    b, c = sides(base, cand, arms, normalise, levels, upto)
    out: dict[str, Any] = {
        "baseline_items_per_s": float(np.median(raw_b.rates)) if len(raw_b.rates) else None,
        "candidate_items_per_s": float(np.median(raw_c.rates)) if len(raw_c.rates) else None,
        "basis": c.basis, "ratio": None, "ci_low": None, "ci_high": None, "p_value": None,
        "samples": [len(b.rates), len(c.rates)], "mde": None,
        "rounds": [len(set(b.rounds.tolist())), len(set(c.rounds.tolist()))]}
    if len(raw_b.rates) and len(raw_c.rates):
        out["raw_ratio"] = float(np.median(raw_c.rates) / np.median(raw_b.rates))
    if not arms:
        out["reference_ratio"] = reference_ratio(base, cand)
        if levels[0] and levels[1]:
            out["run_reference_ratio"] = levels[1] / levels[0]
    if min(out["rounds"]) < MIN_ROUNDS:
        # One round a side shows nothing of how much a fresh process or a later minute
        # moves the rate; a test over its repetitions would count one process's luck.
        out["note"] = (f"{min(out['rounds'])} round(s) on a side: the variation between "
                       "rounds cannot be measured, nothing can be said")
        return out
    if arms:
        left_out = unevenly_busy(base, cand)
        if left_out:
            out["note"] = (f"{len(left_out)} round(s) left out: one arm was timed on a busy "
                           "machine, the other not")
        ratios = round_ratios(b, c)
        out["round_ratios"] = [float(r) for r in ratios]
        out.update(estimate_fields(significance.paired(np.log(ratios))))
    else:
        out.update(estimate_fields(significance.welch(np.log(round_medians(b)),
                                                      np.log(round_medians(c)))))
        out["drift"] = max(round_spread(b), round_spread(c))
    out["spread"] = max(noise_of(b.rates), noise_of(c.rates))
    return out


def mde_text(mde: float | None) -> str:
    if mde is None:
        return "cannot see any change: the rounds' spread is unknown"
    if mde > 1:
        return "cannot see any change of interest (80 % power only beyond +100 %)"
    return f"can see changes above {mde:.0%} with 80 % power"


def speed_verdict(s: dict[str, Any], significant: bool, threshold: float, level: float
                  ) -> tuple[str, str | None]:
    """(verdict, why) for a case whose speed_change has a ratio: a change beyond the
    threshold and significant at the Holm-adjusted `level`; "unchanged" when two one-sided
    tests at `level` put it inside ±threshold; else inconclusive, saying what it could see."""
    ratio = s["ratio"]
    if significant and abs(ratio - 1) > threshold:
        return ("regressed" if ratio < 1 else "improved"), None
    if bool(significance.equivalent(estimate_of(s), threshold, level)):
        return "unchanged", None
    mde = s.get("mde")
    if mde is not None and mde <= threshold:
        return "inconclusive", (f"the change ({ratio - 1:+.1%}) is neither shown beyond nor "
                                f"within ±{threshold:.0%} yet ({mde_text(mde)})")
    return "inconclusive", f"this comparison {mde_text(mde)} (threshold {threshold:.0%})"


def sampled_change(base: Sequence[float | None], cand: Sequence[float | None],
                   threshold: float, reason: str | None = None) -> dict[str, Any]:
    """Per-round values of a lower-is-better metric (peak memory, energy per item), rounds in
    order: a change only when every round's candidate/baseline ratio is beyond the threshold,
    never on one difference of two numbers. Rounds are paired by position because rounds
    differ by design (the first also runs the quality check and the product probe: a worker
    peak 30 % above later rounds'), and both sides' first rounds did the same work."""
    pairs = [(b, c) for b, c in zip(base, cand, strict=False)
             if b is not None and b > 0 and c is not None and c > 0]
    if not pairs:
        return {"verdict": "unmeasured", "baseline": None, "candidate": None, "ratio": None,
                "reason": reason or "not measured on both sides"}
    b, c = (np.asarray(side, dtype=float) for side in zip(*pairs, strict=True))
    ratios = c / b
    out: dict[str, Any] = {"baseline": float(np.median(b)), "candidate": float(np.median(c)),
                           "ratio": float(np.median(c) / np.median(b)),
                           "rounds": [len(b), len(c)]}
    if ratios.min() > 1 + threshold:
        out["verdict"] = "regressed"
    elif ratios.max() < 1 - threshold:
        out["verdict"] = "improved"
    elif ratios.max() <= 1 + threshold and ratios.min() >= 1 - threshold:
        out["verdict"] = "unchanged"  # every round's pair within the threshold
    else:
        out["verdict"] = "inconclusive"
        out["reason"] = (f"the rounds' ratios spread wider than the threshold "
                         f"({ratios.min():.2f}× to {ratios.max():.2f}×)")
    return out


def memory_change(base: Sequence[float | None], cand: Sequence[float | None],
                  base_start: Sequence[float | None], cand_start: Sequence[float | None],
                  threshold: float) -> dict[str, Any]:
    """Peak memory per round, judged as `sampled_change` does; a change of the peak that the
    worker already carried before the case began (libraries, caches, what earlier work left)
    while the case's own growth stayed within the threshold is not the case's: inconclusive,
    with both numbers."""
    out = sampled_change(base, cand, threshold)
    if out["verdict"] not in ("regressed", "improved"):
        return out
    grown_b = [p - s for p, s in zip(base, base_start, strict=False)
               if p is not None and s is not None]
    grown_c = [p - s for p, s in zip(cand, cand_start, strict=False)
               if p is not None and s is not None]
    if not grown_b or not grown_c:
        return out
    start_shift = float(np.median([s for s in cand_start if s is not None]) -
                        np.median([s for s in base_start if s is not None]))
    growth_shift = float(np.median(grown_c) - np.median(grown_b))
    out["start_shift_bytes"], out["growth_shift_bytes"] = start_shift, growth_shift
    if abs(growth_shift) <= threshold * out["baseline"]:
        out["verdict"] = "inconclusive"
        out["reason"] = (f"the worker held {start_shift / 2**20:+.0f} MiB before the case "
                         f"began; the case's own growth moved {growth_shift / 2**20:+.0f} MiB")
    return out
