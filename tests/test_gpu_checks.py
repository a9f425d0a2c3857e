"""ci/gpu_checks.py's checks on a result document, tested with faked documents: on a card
they decide whether issue 18's items 15-17 hold, so each must be able to fail."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gpu_checks", ROOT / "ci" / "gpu_checks.py")
assert spec is not None and spec.loader is not None
gpu_checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_checks)


def doc(others=(), binary=(1.2e14,), reason=None) -> dict:
    case = {"id": "rbm-cdk/torch/cuda:0/fp32/x", "device": "cuda:0", "status": "ok",
            "reason": reason, "contention": {"other_gpu_processes": others}}
    cpu = {"id": "rbm-cdk/numpy/cpu/fp32/x", "device": "cpu", "status": "ok",
           "contention": {"other_gpu_processes": None}}
    cal = {"framework": "torch", "device": "cuda:0", "precision": "fp32",
           "gemm_flops_per_s": 1e14, "binary_flops_per_s_by_round": list(binary)}
    return {"cases": [case, cpu], "calibration": [cal]}


def test_an_idle_card_passes_and_an_own_sibling_counted_fails():
    assert gpu_checks.own_processes_problem(doc()) is None
    assert "counted as neighbours" in gpu_checks.own_processes_problem(doc(others=[4242]))
    assert "probe unavailable" in gpu_checks.own_processes_problem(doc(others=None))


def test_a_roof_without_binary_operands_or_an_impossible_case_fails():
    assert gpu_checks.binary_roof_problem(doc()) is None
    assert "0/1 operands" in gpu_checks.binary_roof_problem(doc(binary=[None]))
    assert "impossible" in gpu_checks.binary_roof_problem(doc(reason="impossible rate: 130%"))
    assert gpu_checks.binary_roof_problem({"cases": [], "calibration": []}) is not None


def test_a_launch_bound_reference_fails():
    assert gpu_checks.reference_problem(5e13, 1e14) is None
    assert "launch-bound" in gpu_checks.reference_problem(1e12, 1e14)


def test_without_a_card_the_document_checks_still_run_and_decide(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc(others=[7])))
    assert gpu_checks.main(str(path)) == 1
    out = capsys.readouterr().out
    assert "counted as neighbours" in out and "roofs timed on 0/1 operands too: ok" in out


@pytest.mark.skipif(not importlib.util.find_spec("torch"), reason="torch is not installed")
def test_the_measured_checks_fail_with_their_reason_where_cuda_is_absent(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: ci/gpu-check runs the measured checks there")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc()))
    assert gpu_checks.main(str(path)) == 1  # no card: the measured checks cannot pass
    assert "reference GEMM is not launch-bound: FAILED" in capsys.readouterr().out
