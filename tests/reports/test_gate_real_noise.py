"""The gate on this project's recorded noise (tests/fixtures/noise: back-to-back `ci` runs of
one commit on the 2-core development VM, quiet and beside a CPU burner, and three A/A arms
runs; see README "How good the gate is"). Identical code must never be called a regression;
a 10 % slowdown of the candidate must be seen by arms, where separate runs mostly cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbnbench.format.results import ResultDoc, load
from dbnbench.reports.gate_validation import SLOWDOWN, real_rates

NOISE = Path(__file__).parents[1] / "fixtures" / "noise"
pytestmark = pytest.mark.slow


def runs(prefix: str) -> list[ResultDoc]:
    docs = [load(p) for p in sorted(NOISE.glob(f"{prefix}-*.json"))]
    assert docs, f"no {prefix} fixtures in {NOISE}"
    return docs


@pytest.fixture(scope="module")
def arms() -> list[ResultDoc]:
    return runs("arms")


@pytest.fixture(scope="module")
def separate() -> list[ResultDoc]:
    return runs("separate")


def test_arms_never_call_identical_code_changed(arms):
    aa = real_rates([], arms, "arms", 0.0)
    assert aa["regressed"] == aa["improved"] == 0.0, aa
    assert aa["decision regression"] == 0.0, aa
    assert aa["unchanged"] > 0.3, aa  # and still rule out a 5 % change in many cases


def test_arms_see_a_ten_percent_slowdown(arms):
    slow = real_rates([], arms, "arms", SLOWDOWN)
    assert slow["improved"] == slow["unchanged"] == 0.0, slow
    assert slow["regressed"] >= 0.4 and slow["decision regression"] == 1.0, slow


@pytest.mark.parametrize("setting", ["separate", "per run reference", "per round reference"])
def test_separate_runs_raise_no_false_alarm_and_say_what_they_cannot_see(separate, arms,
                                                                          setting):
    aa = real_rates(separate, [], setting, 0.0)
    assert aa["regressed"] <= 0.02 and aa["decision regression"] == 0.0, aa
    assert aa["median mde"] > 0.1, aa  # two rounds a side: the drift hides a 10 % change
    slow = real_rates(separate, [], setting, SLOWDOWN)
    assert slow["regressed"] < real_rates([], arms, "arms", SLOWDOWN)["regressed"] - 0.3
