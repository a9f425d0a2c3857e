"""The gate's tests keep their error rate at every number of rounds they are used with:
20 000 null draws per setting, the rate asserted at most α plus three standard errors.
The seeds are fixed, so the draws (and the verdict of each assertion) are the same every
run; the margin is what chance allows, not a tolerance found by trying."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dbnbench.harness.engine.schedule import planned_looks
from dbnbench.reports import significance
from dbnbench.reports.gate_validation import COMPARISONS, SHAPES, SIZES, false_positive_rate, null_rounds

DRAWS = 20000
ALPHA = 0.05
LIMIT = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / DRAWS)


@pytest.mark.parametrize("comparison", COMPARISONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_type_one_error_is_at_most_alpha_at_every_size(comparison, shape):
    rates = {n: false_positive_rate(comparison, shape, n, DRAWS, ALPHA) for n in SIZES}
    assert max(rates.values()) <= LIMIT, rates
    if shape == "normal":
        # Exact for normal noise: a test far below α would be wasting power.
        assert min(rates.values()) > 0.02, rates


def test_the_old_median_mad_test_was_not_valid():
    """The statistic this replaced (median, normal-scaled MAD, ×1.2533, t with n−1 df)
    rejected a true null 17.8 % of the time at 3 rounds: the simulation sees it."""
    from scipy import stats

    rng = np.random.default_rng(0)
    logs = null_rounds(rng, "normal", DRAWS, 3)
    centre = np.median(logs, axis=1)
    scale = stats.median_abs_deviation(logs, axis=1, scale="normal")
    se = 1.2533 * scale / math.sqrt(3)
    p = 2 * stats.t.sf(np.abs(centre) / se, 2)
    assert np.mean(p < ALPHA) > 0.12


def test_a_real_change_is_found():
    """Power, for scale: a 10 % slowdown with 3 % round noise, 6 rounds, at α/13."""
    rng = np.random.default_rng(1)
    logs = null_rounds(rng, "normal", DRAWS, 6) + math.log(0.9)
    p = significance.p_value(significance.paired(logs))
    assert np.mean(p < ALPHA / 13) > 0.95


def test_spending_adds_up_to_alpha_over_every_plan():
    for max_rounds in (4, 5, 12, 40, 100):
        looks = planned_looks(max_rounds)
        assert looks[-1] == max_rounds and looks == sorted(set(looks))
        levels = significance.look_levels(looks, max_rounds, ALPHA)
        assert all(level > 0 for level in levels)
        assert sum(levels) == pytest.approx(ALPHA)
        # Stopping early spends less, never more.
        assert sum(levels[:len(levels) // 2]) < ALPHA
    assert significance.look_levels([6], 6, ALPHA) == [pytest.approx(ALPHA)]


@pytest.mark.parametrize("shape", SHAPES)
def test_sequential_looks_keep_the_type_one_error(shape):
    """A/A arms looked at after every pair of rounds from 4 to 40, each look at its spent
    level: the chance that any look rejects stays at most α."""
    max_rounds = 40
    looks = planned_looks(max_rounds)
    levels = significance.look_levels(looks, max_rounds, ALPHA)
    rng = np.random.default_rng([7, SHAPES.index(shape)])
    logs = null_rounds(rng, shape, DRAWS, max_rounds)
    rejected = np.zeros(DRAWS, dtype=bool)
    for n, level in zip(looks, levels, strict=True):
        rejected |= significance.p_value(significance.paired(logs[:, :n])) < level
    assert rejected.mean() <= LIMIT


def test_sequential_equivalence_keeps_its_error_at_the_edge():
    max_rounds = 40
    looks = planned_looks(max_rounds)
    levels = significance.look_levels(looks, max_rounds, ALPHA)
    rng = np.random.default_rng(11)
    logs = null_rounds(rng, "normal", DRAWS, max_rounds) + math.log1p(0.05)
    unchanged = np.zeros(DRAWS, dtype=bool)
    for n, level in zip(looks, levels, strict=True):
        unchanged |= significance.equivalent(significance.paired(logs[:, :n]), 0.05, level)
    assert unchanged.mean() <= LIMIT


def test_minimum_detectable_effect_has_the_stated_power():
    se, df, level = 0.01, 7.0, 0.05 / 13
    mde = significance.detectable(se, df, level)
    assert mde is not None and 0.03 < mde < 0.08
    rng = np.random.default_rng(3)
    logs = rng.normal(math.log1p(mde), se * math.sqrt(df + 1), (DRAWS, int(df) + 1))
    e = significance.paired(logs)
    # The spread is estimated in each draw, so power is about, not exactly, 80 %.
    assert 0.70 < np.mean(significance.p_value(e) < level) < 0.90
    assert significance.detectable(float("nan"), 3.0, 0.05) is None
    assert significance.detectable(0.5, 1.0, 1e-4) > 1  # "cannot see any change of interest"


def test_identical_rounds_leave_nothing_to_doubt():
    e = significance.paired(np.zeros(5))
    assert float(significance.p_value(e)) == 1.0
    e = significance.paired(np.full(5, 0.1))
    assert float(significance.p_value(e)) == 0.0
