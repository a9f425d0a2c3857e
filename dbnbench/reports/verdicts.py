"""One case's change between two sides, and what can honestly be said of it.

A change is a regression only when it is beyond the threshold, beyond the noise the data
shows, significant after correcting for the number of cases (asv's rule: a rank test plus a
minimum factor), and its interval excludes no change. "Unchanged" is said only when the data
rules out a change as large as the threshold (two one-sided tests: the 90 % interval of the
ratio inside ±threshold, and drift between rounds under it). Everything else is inconclusive, with
the smallest change the data could have detected (the minimum detectable effect): a runner
that can only see 18 % changes must not be read as having seen none."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from ..harness.results import CaseResult
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

RESAMPLES = 2000
MIN_SAMPLES = 3
MIN_ROUNDS = 2  # one round cannot show how much the machine drifts between rounds


def ratio_ci(base: np.ndarray, cand: np.ndarray, seed: int = 0,
             level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of median(candidate)/median(baseline), samples resampled
    independently within each side."""
    def ratio(b: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(c, axis=axis) / np.median(b, axis=axis)

    if np.ptp(base) == 0 and np.ptp(cand) == 0:
        value = float(np.median(cand) / np.median(base))
        return value, value
    res = stats.bootstrap((base, cand), ratio, n_resamples=RESAMPLES, vectorized=True,
                          confidence_level=level, method="percentile", paired=False,
                          random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def rank_p(base: np.ndarray, cand: np.ndarray) -> float:
    if np.ptp(np.concatenate([base, cand])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(base, cand, alternative="two-sided").pvalue)


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


def sides(base: CaseResult, cand: CaseResult, arms: bool, normalise: str = "round",
          levels: tuple[float | None, float | None] = (None, None)) -> tuple[Samples, Samples]:
    """The samples a verdict stands on: paired by round for arms of one run. For two runs,
    over each run's reference GEMM level in the case's mode (`run`), or over the reference
    timed beside the case in each round (`round`), where both sides recorded one; as
    measured otherwise."""
    if arms:
        return paired(base, cand)
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


def on_ratio_scale(centre: float, p_value: float,
                   half: Callable[[float], float] | None = None) -> dict[str, float]:
    """Ratio, 95 % and 90 % intervals and p-value from an estimate on the log scale;
    `half(level)` is the interval's half-width there, None where nothing is left to doubt."""
    out = {"ratio": float(np.exp(centre)), "p_value": float(p_value)}
    for level, low, high in ((0.95, "ci_low", "ci_high"), (0.90, "ci90_low", "ci90_high")):
        h = half(level) if half else 0.0
        out[low], out[high] = float(np.exp(centre - h)), float(np.exp(centre + h))
    return out


def unpaired_rounds(base: np.ndarray, cand: np.ndarray) -> dict[str, float]:
    """Ratio, intervals and p-value of two separate runs from their rounds' medians: Welch's
    t-test on the logarithms. As for arms, the round (fresh worker processes, minutes apart)
    is the unit; its drift is the noise a change must beat, not the repetitions' scatter."""
    lb, lc = np.log(base), np.log(cand)
    diff = float(np.mean(lc) - np.mean(lb))
    if np.ptp(lb) == 0 and np.ptp(lc) == 0:
        return on_ratio_scale(diff, 1.0 if diff == 0 else 0.0)
    test = stats.ttest_ind(lc, lb, equal_var=False)

    def half(level: float) -> float:
        ci = test.confidence_interval(confidence_level=level)
        return float(ci.high - ci.low) / 2  # symmetric around the difference of means

    return on_ratio_scale(diff, test.pvalue, half)


def paired_rounds(ratios: np.ndarray) -> dict[str, float]:
    """Ratio, 95 % and 90 % intervals and p-value from the per-round ratios of two arms.

    The round is the unit, not the repetition: each round runs every arm in fresh worker
    processes, and a process keeps its own speed for all its repetitions (A/A arms of
    TensorFlow differed by 8-11 % in three of four rounds while each round's repetitions
    agreed within 1 %), so a test over repetitions counts one process's luck many times
    over. A t-test on the rounds' log ratios, made robust to the odd disturbed round
    (median and normal-scaled MAD; the median's standard error is about 1.25 σ/√n)."""
    logs = np.log(ratios)
    n, centre = len(logs), float(np.median(logs))
    scale = float(stats.median_abs_deviation(logs, scale="normal")) if n > 1 else 0.0
    if n < 2 or scale == 0:
        scale = float(np.std(logs, ddof=1)) if n > 1 else 0.0
    if scale == 0:
        # One round says nothing of the next; identical rounds leave nothing to doubt.
        return on_ratio_scale(centre, 1.0 if centre == 0 or n < 2 else 0.0)
    se = 1.2533 * scale / np.sqrt(n)
    return on_ratio_scale(centre, 2 * stats.t.sf(abs(centre) / se, n - 1),
                          lambda level: float(stats.t.ppf(0.5 + level / 2, n - 1)) * se)


def speed_change(base: CaseResult, cand: CaseResult, arms: bool = False,
                 normalise: str = "round",
                 levels: tuple[float | None, float | None] = (None, None)) -> dict[str, Any]:
    """Ratio, interval, raw p-value, noise and minimum detectable effect of one case; the
    verdict waits for the correction over all cases."""
    raw_b, raw_c = measured(base), measured(cand)
    b, c = sides(base, cand, arms, normalise, levels)
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
    if len(b.rates) < MIN_SAMPLES or len(c.rates) < MIN_SAMPLES:
        out["note"] = f"fewer than {MIN_SAMPLES} repetitions on a side: nothing can be said"
        return out
    rb, rc = round_medians(b), round_medians(c)
    if arms:
        left_out = unevenly_busy(base, cand)
        if left_out:
            out["note"] = (f"{len(left_out)} round(s) left out: one arm was timed on a busy "
                           "machine, the other not")
        ratios = round_ratios(b, c)
        out["round_ratios"] = [float(r) for r in ratios]
        out.update(paired_rounds(ratios))
        out["noise"] = 0.0  # the drift between rounds cancels in the pairing
    elif min(len(rb), len(rc)) >= MIN_ROUNDS:
        out.update(unpaired_rounds(rb, rc))
        # The drift between rounds is the test's variance already: not a floor on top.
        out["drift"] = max(round_spread(b), round_spread(c))
        out["noise"] = 0.0
    else:
        # Too few rounds for a test over rounds: the repetitions' bootstrap and rank test.
        # They cannot see the drift between rounds, which a change must beat instead.
        out["ratio"] = float(np.median(c.rates) / np.median(b.rates))
        out["ci_low"], out["ci_high"] = ratio_ci(b.rates, c.rates)
        # Equivalence (two one-sided tests at 5 % each): the 90 % interval inside ±threshold.
        out["ci90_low"], out["ci90_high"] = ratio_ci(b.rates, c.rates, level=0.90)
        out["p_value"] = rank_p(b.rates, c.rates)
        out["noise"] = max(round_spread(b), round_spread(c))
    out["spread"] = max(noise_of(b.rates), noise_of(c.rates))
    out["mde"] = max((out["ci_high"] - out["ci_low"]) / 2, out["noise"])
    return out


def speed_verdict(s: dict[str, Any], significant: bool, threshold: float) -> tuple[str, str | None]:
    """(verdict, why) for a case whose speed_change has a ratio."""
    ratio, low, high, mde = s["ratio"], s["ci_low"], s["ci_high"], s["mde"]
    change = abs(ratio - 1)
    if change > max(threshold, s["noise"]) and significant and (high < 1 or low > 1):
        return ("regressed" if ratio < 1 else "improved"), None
    if min(s["rounds"]) < MIN_ROUNDS:
        return "inconclusive", (f"{min(s['rounds'])} round(s) on a side: the drift between "
                                "rounds cannot be measured")
    if s["ci90_low"] >= 1 - threshold and s["ci90_high"] <= 1 + threshold and mde <= threshold:
        return "unchanged", None  # equivalence shown: no change as large as the threshold
    return "inconclusive", (f"this comparison can only see changes above {mde:.0%} "
                            f"(threshold {threshold:.0%})")


def sampled_change(base: Sequence[float | None], cand: Sequence[float | None],
                   threshold: float, reason: str | None = None) -> dict[str, Any]:
    """Per-round values of a lower-is-better metric (peak memory, energy per item): a change
    only when every candidate round is beyond every baseline round by the threshold, never
    on one difference of two numbers."""
    b = [v for v in base if v is not None and v > 0]
    c = [v for v in cand if v is not None and v > 0]
    if not b or not c:
        return {"verdict": "unmeasured", "baseline": None, "candidate": None, "ratio": None,
                "reason": reason or "not measured on both sides"}
    ratio = float(np.median(c) / np.median(b))
    out: dict[str, Any] = {"baseline": float(np.median(b)), "candidate": float(np.median(c)),
                           "ratio": ratio, "rounds": [len(b), len(c)]}
    if min(c) > max(b) * (1 + threshold):
        out["verdict"] = "regressed"
    elif max(c) < min(b) * (1 - threshold):
        out["verdict"] = "improved"
    elif max(max(b), max(c)) <= min(min(b), min(c)) * (1 + threshold):
        out["verdict"] = "unchanged"  # every round of both sides within the threshold
    else:
        out["verdict"] = "inconclusive"
        out["reason"] = "the rounds spread wider than the threshold"
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
