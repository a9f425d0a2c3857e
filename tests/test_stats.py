"""Statistics on samples whose answers are known."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from dbnbench.format.checks import case_problem
from dbnbench.harness.engine.merge import merge_case
from dbnbench.harness.engine.roofline import round_roofs
from dbnbench.harness.measure.stats import ONE_ROUND, bootstrap_ci, round_medians, summarize
from dbnbench.harness.measure.timing import loops_for, measure
from dbnbench.harness.plan.cases import Case
from dbnbench.harness.plan.workload import Params
from dbnbench.harness.records import CalibrationAnswer, CaseAnswer
from dbnbench.reports.samples import repetition_rounds
from dbnbench.suites.rbm.spec import RBMSpec

from .conftest import REGISTRY

SAMPLES = Path(__file__).parent.parent / "reports" / "samples"


def test_summary_of_known_samples():
    reps = [1.0, 2.0, 3.0, 4.0, 5.0]  # seconds per repetition of 10 steps
    step_s, items, warnings = summarize(reps, steps_per_repetition=10, items_per_step=100)
    assert step_s["median"] == pytest.approx(0.3)
    assert step_s["min"] == pytest.approx(0.1) and step_s["max"] == pytest.approx(0.5)
    assert step_s["iqr"] == pytest.approx(0.2)  # quartiles 0.2 and 0.4
    assert step_s["cv"] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1) / 3)
    assert items["median"] == pytest.approx(100 / 0.3)
    assert items["ci_low"] <= items["median"] <= items["ci_high"]
    assert any(w.startswith("noisy") for w in warnings)
    assert any("5.0×" in w for w in warnings)


def test_quiet_samples_raise_no_warning():
    rng = np.random.default_rng(0)
    reps = 0.5 + rng.normal(0, 0.002, 30)
    step_s, items, warnings = summarize(reps, 5, 1, rounds=np.arange(30) // 5)
    assert warnings == []
    assert step_s["cv"] < 0.01
    # Six rounds of five draws of a machine without round-to-round drift: the interval is
    # narrow and around the true rate 10/s.
    assert items["ci_low"] < 10.0 < items["ci_high"]
    assert items["ci_high"] - items["ci_low"] < 0.12


def test_bootstrap_coverage_is_about_95_percent():
    rng = np.random.default_rng(1)
    hits, widths = 0, []
    for _ in range(200):
        low, high = bootstrap_ci(rng.normal(100, 5, 25), seed=int(rng.integers(1 << 30)))
        hits += low <= 100 <= high
        widths.append(high - low)
    assert 0.85 <= hits / 200
    # ...and not by being wide: the median's 95 % interval is about 2·1.96·1.2533·σ/√n wide.
    assert np.mean(widths) == pytest.approx(2 * 1.96 * 1.2533 * 5 / 5, rel=0.2)


def test_degenerate_samples():
    assert bootstrap_ci([1.0, 2.0]) == (None, None)
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    _, _, warnings = summarize([1e-4] * 5, 1, 1)
    assert any("under 1 ms" in w for w in warnings)
    _, items, _ = summarize([0.1] * 6, 1, 1, rounds=[0, 0, 1, 1, 2, 2])  # rounds alike
    assert items["ci_low"] == items["ci_high"] == pytest.approx(10.0)


def round_level_runs(rng: np.random.Generator, rounds: int, reps: int = 5,
                     level: float = 0.05, jitter: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """Repetition times of a 1 s step whose worker process of each round has its own speed
    (lognormal, σ `level`) and whose repetitions jitter around it (σ `jitter`): the true
    median rate is 1 item/s. Returns the times and the round of each."""
    process = np.exp(rng.normal(0, level, (rounds, 1)))
    speed = process * np.exp(rng.normal(0, jitter, (rounds, reps)))
    return (1 / speed).ravel(), np.repeat(np.arange(rounds), reps)


def coverage(rounds: int, trials: int, seed: int) -> tuple[float, float]:
    """Share of intervals holding the true rate, and their median width (high/low - 1)."""
    rng = np.random.default_rng(seed)
    hits, widths = 0, []
    for _ in range(trials):
        times, labels = round_level_runs(rng, rounds)
        _, items, _ = summarize(times, 1, 1, rounds=labels)
        hits += items["ci_low"] <= 1.0 <= items["ci_high"]
        widths.append(items["ci_high"] / items["ci_low"] - 1)
    return hits / trials, float(np.median(widths))


@pytest.mark.parametrize("rounds", [2, 3, 8])
def test_interval_over_rounds_covers_despite_process_to_process_variation(rounds):
    """Round level σ 5 %, repetition jitter 3 %, 5 repetitions per round: the interval is
    meant to hold the true rate 95 % of the time. 400 trials put 3.5 binomial standard
    deviations between 95 % and the 0.91 asserted."""
    share, width = coverage(rounds, trials=400, seed=rounds)
    assert share >= 0.91
    if rounds == 8:  # ...and not by being wide: t(7) × the round medians' spread / √8
        spread = np.hypot(0.05, 1.2533 * 0.03 / np.sqrt(5))
        assert width == pytest.approx(np.expm1(2 * stats.t.ppf(0.975, 7) * spread / np.sqrt(8)),
                                      rel=0.25)


def test_a_bootstrap_over_pooled_repetitions_would_not_have_covered():
    """The interval before: repetitions pooled over 3 rounds, as if every one were an
    independent draw. Under the same model it held the true rate about 70 % of the time."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(200):
        times, _ = round_level_runs(rng, 3)
        low, high = bootstrap_ci(1 / times)
        hits += low <= 1.0 <= high
    assert hits / 200 < 0.85


def test_two_rounds_give_a_t_interval_with_one_degree_of_freedom():
    times = [1 / 100] * 3 + [1 / 110] * 3  # round medians 100 and 110 items/s
    _, items, warnings = summarize(times, 1, 1, rounds=[0, 0, 0, 1, 1, 1])
    logs = np.log([100.0, 110.0])
    half = stats.t.ppf(0.975, 1) * np.std(logs, ddof=1) / np.sqrt(2)
    assert items["ci_low"] == pytest.approx(np.exp(logs.mean() - half))
    assert items["ci_high"] == pytest.approx(np.exp(logs.mean() + half))
    assert ONE_ROUND not in warnings


def test_one_round_falls_back_to_the_repetitions_bootstrap_and_says_so():
    rng = np.random.default_rng(3)
    times = 0.5 + rng.normal(0, 0.01, 10)
    for rounds in (None, [4] * 10):
        _, items, warnings = summarize(times, 5, 1, rounds=rounds)
        assert (items["ci_low"], items["ci_high"]) == bootstrap_ci(5 / times)
        assert ONE_ROUND in warnings
    _, items, warnings = summarize([0.5, 0.6], 5, 1, rounds=[0, 0])
    assert items["ci_low"] is None and ONE_ROUND not in warnings  # no interval to qualify


PARAMS = Params(RBMSpec().defaults() | {"visible": 64, "hidden": 64, "batch": 32})
CASE = Case("rbm-cdk", "numpy", "cpu", "fp32", tuple(sorted(PARAMS.items())), "t")
FLOPS = RBMSpec().flops_per_step(PARAMS)


def answer(step_s: float) -> CaseAnswer:
    jitter = (0.99, 1.0, 1.02, 1.01, 0.995)
    return CaseAnswer("ok", None, setup_s=0.1, repetitions_s=tuple(step_s * 10 * j for j in jitter),
                      steps_per_repetition=10, items_per_step=32, window_steps=40, window_s=0.5,
                      peak_host_memory_bytes=1 << 20)


def merged(step_times: list[float], roof: float) -> dict:
    cal = {("", "numpy", "cpu", "fp32", r): CalibrationAnswer("ok", gemm_flops_per_s=roof)
           for r in range(len(step_times))}
    roofs = [round_roofs(cal, r) for r in range(len(step_times))]
    return merge_case(CASE, [answer(s) for s in step_times], roofs, {}, REGISTRY)


@pytest.mark.parametrize("step_times", [[1e-3, 9e-2], [1e-3, 9e-2, 2e-3], [1e-3]])
def test_flops_per_s_and_pct_of_peak_are_one_summary(step_times):
    """A burner beside the run made one round 90× slower: FLOP/s and % of peak were 18×
    apart (a pooled median against a median over rounds). Against equal roofs, one is now
    the other over the roof."""
    roof = 4 * FLOPS / 1e-3
    m = merged(step_times, roof)["metrics"]
    assert m["pct_of_peak"] == pytest.approx(m["flops_per_s"] / roof)


def test_result_checks_accept_what_merge_writes_and_refuse_an_edited_interval():
    entry = merged([1e-3, 1.1e-3, 0.95e-3], 4 * FLOPS / 1e-3)
    rate = entry["metrics"]["items_per_s"]
    assert rate["ci_low"] < rate["median"] < rate["ci_high"]
    assert case_problem(entry, "cases/0", 2) is None
    rate["ci_low"], rate["ci_high"] = 1e12, 2e12
    assert "ci_low" in case_problem(entry, "cases/0", 2)
    rate["ci_low"], rate["ci_high"] = 1.0, rate["median"] / 2
    assert "ci_high" in case_problem(entry, "cases/0", 2)


def sample_rounds(doc: dict, case: dict) -> np.ndarray:
    """The round of each repetition. Files older than `repetition_rounds` ran rounds of
    `settings.repetitions` repetitions in order; where the count says every round finished,
    those blocks are the rounds (runs of equal loop counts merge two rounds that chose the
    same count)."""
    per_round, reps = doc["settings"].get("repetitions"), len(case["repetitions_s"])
    if case.get("repetition_rounds") or not per_round or reps % per_round:
        return repetition_rounds(case)
    return np.arange(reps) // per_round


def rounds_outside(doc: dict, recompute: bool = False) -> tuple[int, int]:
    """(ok cases with a round whose median lies outside the case's 95 % interval of items/s,
    ok cases with an interval): the interval as stored, or recomputed from the stored
    repetitions with this version's statistics."""
    outside = total = 0
    for case in doc["cases"]:
        rate = case["metrics"].get("items_per_s") if case["status"] == "ok" else None
        if not rate or rate["ci_low"] is None:
            continue
        rounds = sample_rounds(doc, case)
        if recompute:
            _, rate, _ = summarize(case["repetitions_s"], case["steps_per_repetition"],
                                   case["items_per_step"], rounds)
        rates = case["items_per_step"] * np.asarray(case["steps_per_repetition"]) / \
            np.asarray(case["repetitions_s"])
        medians = round_medians(rates, rounds)
        outside += bool(np.any((medians < rate["ci_low"]) | (medians > rate["ci_high"])))
        total += 1
    return outside, total


def test_rounds_of_the_standard_sample_fall_inside_the_interval_over_rounds():
    """The stored intervals (repetitions pooled) left a round outside in 46 of 56 cases.
    With 2 to 4 rounds a t interval holds every round's median by construction (none of k
    values lies more than (k-1)/√k standard deviations from their mean, Samuelson's
    inequality, and the interval reaches t(k-1)/√k of them, t(k-1) ≥ k-1 for k ≤ 4), so the
    0 here is arithmetic, not luck: the evidence of coverage is the simulation above."""
    doc = json.loads((SAMPLES / "standard-rbm-cpu-2core-epyc.json").read_text())
    assert rounds_outside(doc) == (46, 56)
    assert rounds_outside(doc, recompute=True) == (0, 56)


def test_loop_count_reaches_min_time_with_margin():
    assert loops_for(0.01, 0.1) == 11
    assert loops_for(1.0, 0.1) == 1
    assert loops_for(0.0, 0.1) == 1


def test_measure_counts_steps_and_syncs():
    calls = {"step": 0, "sync": 0}

    def step():
        calls["step"] += 1

    def sync():
        calls["sync"] += 1

    t = measure(step, sync, warmup_s=0.0, min_time_s=1e-4, repetitions=4)
    assert len(t.repetitions_s) == 4
    assert calls["step"] == t.warmup_steps + 4 * t.steps_per_repetition
    assert calls["sync"] >= 2 * 4  # every repetition is synchronised before and after


def test_a_slow_warm_up_never_yields_short_repetitions():
    """The warm-up's steps are slow (a cold cache, a first-call compilation), the timed ones
    fast: the loop count chosen from the warm-up is too small, and every repetition that
    falls short of min_time_s is thrown away and the loop count raised until they all last."""
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        time.sleep(0.02 if calls["n"] <= 5 else 0.0002)

    t = measure(step, lambda: None, warmup_s=0.0, min_time_s=0.01, repetitions=5)
    assert len(t.repetitions_s) == 5
    assert min(t.repetitions_s) >= 0.01
    assert t.steps_per_repetition > 10  # the warm-up alone suggested 1
    assert t.discarded >= 1
