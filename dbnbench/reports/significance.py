"""The tests a speed verdict stands on, and the levels a sequential run spends.

Every function works on arrays of draws (the last axis is the rounds), so the simulation
that shows their error rates — tests/reports/test_significance.py and README's table, at
every number of rounds from 3 to 64, under normal, heavy-tailed and disturbed noise — runs
this very code, not a copy of it.

Why Student's t on the rounds' log ratios, with mean and standard deviation. The round is
the unit (each runs in fresh processes). Under identical code and ABBA order a round's log
ratio is symmetric about zero, and for symmetric noise the t statistic's tails are no
heavier than Student's at the usual levels (Efron 1969, "Student's t-test under symmetry
conditions", JASA 64; Benjamini 1983 for long tails): the test is exact for normal noise
and conservative for heavy-tailed noise or a disturbed round, at every n, which the
simulation confirms. The earlier median/MAD statistic with a large-sample scale factor was
not: 17.8 % false alarms at 3 rounds. An exact sign-flip permutation test was the other
candidate; its smallest p-value is 2/2ⁿ, so after Holm over a suite's cases and the
sequential looks' small levels it could not reject below 14 rounds.

Sequential runs (`--until-decided`) look after every pair of rounds and spend α over the
looks with a Pocock-type spending function (Lan & DeMets 1983): look k tests at
α(tₖ) − α(tₖ₋₁), tₖ = rounds/max-rounds. The levels add up to at most α whenever the run
stops (the union bound), so stopping early, by decision or by budget, never raises the
type I error above α; it only leaves α unspent."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.80          # a minimum detectable effect is the change seen with this power


@dataclass(frozen=True)
class Estimate:
    """A change on the log scale: candidate minus baseline, its standard error and the
    degrees of freedom of its t distribution (arrays where given arrays of draws)."""

    centre: np.ndarray
    se: np.ndarray
    df: np.ndarray


def paired(logs: np.ndarray) -> Estimate:
    """Arms of one run: the rounds' log ratios (candidate over baseline, same round)."""
    logs = np.asarray(logs, dtype=float)
    n = logs.shape[-1]
    sd = np.std(logs, axis=-1, ddof=1) if n > 1 else np.full(logs.shape[:-1], np.nan)
    return Estimate(np.mean(logs, axis=-1), sd / math.sqrt(n), np.full(sd.shape, n - 1.0))


def welch(base: np.ndarray, cand: np.ndarray) -> Estimate:
    """Two separate runs: their rounds' log medians, Welch's unequal-variance t."""
    base, cand = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    nb, nc = base.shape[-1], cand.shape[-1]
    vb = np.var(base, axis=-1, ddof=1) / nb
    vc = np.var(cand, axis=-1, ddof=1) / nc
    total = vb + vc
    with np.errstate(invalid="ignore", divide="ignore"):
        df = total ** 2 / (vb ** 2 / (nb - 1) + vc ** 2 / (nc - 1))
    df = np.where(total > 0, df, nb + nc - 2.0)
    return Estimate(np.mean(cand, axis=-1) - np.mean(base, axis=-1), np.sqrt(total), df)


def p_value(e: Estimate) -> np.ndarray:
    """Two-sided p-value of no change. Identical rounds leave nothing to doubt: 1 when the
    change is exactly zero, 0 otherwise."""
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(e.centre) / e.se
    p = 2 * stats.t.sf(t, e.df)
    return np.where(e.se > 0, p, np.where(e.centre == 0, 1.0, 0.0))


def interval(e: Estimate, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided `level` interval of the change on the log scale."""
    half = stats.t.ppf(0.5 + level / 2, e.df) * np.where(e.se > 0, e.se, 0.0)
    return e.centre - half, e.centre + half


def equivalent(e: Estimate, threshold: float, alpha: float) -> np.ndarray:
    """Two one-sided tests, each at `alpha`: the change is shown to lie inside
    [1 − threshold, 1 + threshold] on the ratio scale. A true change exactly at either edge
    passes at most `alpha` of the time (the simulation checks it)."""
    low, high = interval(e, 1 - 2 * alpha)
    return (low > math.log(1 - threshold)) & (high < math.log(1 + threshold))


def detectable(se: float, df: float, level: float, power: float = POWER) -> float | None:
    """The smallest change (relative, e.g. 0.08 for 8 %) that a two-sided t-test at `level`
    detects with `power`, for this standard error and degrees of freedom (noncentral t).
    None where the spread is unknown."""
    if not (se > 0 and df > 0 and math.isfinite(se)):
        return None
    critical = stats.t.ppf(1 - level / 2, df)

    def short(ncp: float) -> float:
        # The far tail is negligible where scipy's series loses it (NaN): it counts as 0.
        far = float(np.nan_to_num(stats.nct.cdf(-critical, df, ncp)))
        return float(stats.nct.sf(critical, df, ncp)) + far - power

    high = critical + 10.0
    while short(high) < 0:
        high *= 2
    ncp = optimize.brentq(short, 0.0, high, xtol=1e-6)
    return float(np.expm1(min(ncp * se, 700.0)))  # beyond, a change no run could show


# ── Sequential looks ────────────────────────────────────────────────────────────────────


def spent(fraction: float, alpha: float = ALPHA) -> float:
    """α spent by `fraction` of the planned rounds (Pocock-type, Lan & DeMets)."""
    return alpha * math.log1p((math.e - 1) * min(max(fraction, 0.0), 1.0))


def look_levels(looks: Sequence[int], planned: int, alpha: float = ALPHA) -> list[float]:
    """The level each look tests at: the α spent since the previous look. A fixed-size
    comparison is one look at its own size, tested at α."""
    levels, before = [], 0.0
    for n in looks:
        now = spent(n / planned, alpha)
        levels.append(now - before)
        before = now
    return levels
