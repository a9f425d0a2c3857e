"""Suite loading, expansion into cases, filters, and why a case cannot run here."""

from __future__ import annotations

import pytest

from dbnbench.harness.errors import UserError
from dbnbench.harness.plan.cases import Case, expand, load_suite, select, unavailable

from .conftest import REGISTRY, require_framework


def test_builtin_suites_load_and_ids_are_unique():
    for name in REGISTRY.suites:  # every built-in suite, the history and serving ones too
        suite = load_suite(name, REGISTRY)
        ids = [c.id for c in suite.cases]
        assert ids and len(ids) == len(set(ids)), name


def test_grid_expansion_and_ids():
    cases = expand({"workload": "rbm-cdk", "frameworks": ["numpy", "torch"], "devices": ["cuda"],
                    "precisions": ["fp32"], "params": {"hidden": [500, 2000], "batch": 100}}, "t", REGISTRY)
    assert [c.id for c in cases] == [
        "rbm-cdk/numpy/cuda:0/fp32/v784-h500-b100-k1", "rbm-cdk/torch/cuda:0/fp32/v784-h500-b100-k1",
        "rbm-cdk/numpy/cuda:0/fp32/v784-h2000-b100-k1", "rbm-cdk/torch/cuda:0/fp32/v784-h2000-b100-k1"]
    assert cases[0].params["persistent"] is False  # defaults filled in


def test_filters():
    suite = load_suite("quick", REGISTRY)
    kept = select(suite.cases, REGISTRY, frameworks=["numpy"], precisions=["fp32", "fp64"], devices=["cpu"])
    assert {(c.framework, c.precision, c.device) for c in kept} == {
        ("numpy", "fp32", "cpu"), ("numpy", "fp64", "cpu")}
    on_gpus = select(suite.cases, REGISTRY, devices=["cuda"])
    assert on_gpus and all(c.device.startswith("cuda") for c in on_gpus)
    with pytest.raises(UserError, match="unknown precision 'fp8'"):
        select(suite.cases, REGISTRY, precisions=["fp8"])


def case(framework: str, precision: str, device: str = "cpu", k: int = 1) -> Case:
    return expand({"workload": "rbm-cdk", "frameworks": [framework], "devices": [device],
                   "precisions": [precision], "params": {"k": k}}, "t", REGISTRY)[0]


@pytest.mark.parametrize("framework,precision,device,needle", [
    ("numpy", "bf16-mixed", "cpu", "NumPy has no bfloat16"),
    ("numpy", "fp16-mixed", "cpu", "not BLAS-accelerated"),
    ("numpy", "fp32", "cuda:0", "CPU only"),
    ("torch", "tf32", "cpu", "CPUs have no TF32"),
    ("sklearn", "bf16", "cpu", "float64 or float32 only"),
])
def test_skip_reasons(framework, precision, device, needle):
    require_framework(framework)  # else the reason is that it is not installed
    why = unavailable(case(framework, precision, device), 1, REGISTRY)
    assert why is not None and needle in why


def test_gpu_cases_need_a_gpu():
    require_framework("torch")
    assert unavailable(case("torch", "fp32", "cuda:0"), 0, REGISTRY) == "no NVIDIA GPU found on this machine"
    assert "no GPU 1" in unavailable(expand({"workload": "rbm-cdk", "frameworks": ["torch"],
                                             "devices": ["cuda:1"]}, "t", REGISTRY)[0], 1, REGISTRY)


def test_workload_restrictions():
    assert "k=1 only" in unavailable(case("sklearn", "fp64", k=2), 0, REGISTRY)
    assert unavailable(case("sklearn", "fp64", k=1), 0, REGISTRY) is None
