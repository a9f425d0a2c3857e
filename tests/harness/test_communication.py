"""A multi-process case's communication probe is summarised over its rounds like its other
times: medians, and the share of the median all-reduce in the median step."""

from __future__ import annotations

import pytest

from dbnbench.harness.engine.merge import communication_over


def probe(allreduce_s: float | None, step_s: float, control_s: float = 2e-4) -> dict:
    return {"elements_per_step": 100, "bytes_per_step": 400, "allreduce_s": allreduce_s,
            "control_s": control_s, "step_s": step_s,
            "share": allreduce_s / step_s if allreduce_s is not None else None}


def test_the_summary_is_the_median_of_every_round_not_the_first():
    rounds = [probe(0.010, 0.020), probe(0.002, 0.040), probe(0.004, 0.030, control_s=4e-4)]
    out = communication_over(rounds)
    assert (out["allreduce_s"], out["step_s"], out["control_s"]) == (0.004, 0.030, 2e-4)
    assert out["share"] == pytest.approx(0.004 / 0.030)
    assert out["rounds"] == 3 and out["bytes_per_step"] == 400


def test_a_pipeline_keeps_its_reason_and_has_no_share():
    rounds = [{**probe(None, 0.02), "reason": "point to point"}, {**probe(None, 0.03)}]
    out = communication_over(rounds)
    assert out["allreduce_s"] is None and out["share"] is None
    assert out["reason"] == "point to point" and out["step_s"] == pytest.approx(0.025)


def test_no_probe_stays_no_probe():
    assert communication_over([None, None]) is None
    assert communication_over([]) is None
