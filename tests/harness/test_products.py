"""Observed math: the products that really ran, and cases whose products contradict their mode."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.harness.engine.runner import work_of
from dbnbench.harness.frameworks.numpy_probe import ProbeArray, observe
from dbnbench.harness.frameworks.products import Observation, contradiction, dtype_name
from dbnbench.harness.frameworks.tf_probe import hlo_products
from dbnbench.harness.plan.cases import Case
from dbnbench.harness.processes import worker
from dbnbench.harness.records import CaseRequest, CaseSpec, Settings, as_json

from ..conftest import REGISTRY, make_fw, require_framework

SMALL = {"visible": 64, "hidden": 32, "batch": 16, "k": 1, "persistent": False, "lr": 0.05,
         "momentum": 0.5, "weight_decay": 2e-4}
SETTINGS = {"threads": 2, "seed": 0, "warmup_s": 0.01, "min_time_s": 0.005, "repetitions": 3}


def run_case(framework: str, precision: str, workload: str = "rbm-cdk",
             params: dict | None = None) -> dict:
    """One case through the worker's own code path (its request handler), in this process."""
    make_fw(framework, precision)  # skips with the reason where the mode cannot run here
    full = {**REGISTRY.spec(workload).defaults(), **(params or SMALL)}
    case = Case(workload, framework, "cpu", precision,
                tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in full.items())),
                "t")
    request = CaseRequest(CaseSpec(case.id, workload, framework, "cpu", precision, full),
                          str(REGISTRY.impl(workload, framework)), work_of(case, REGISTRY),
                          Settings(**SETTINGS))
    return as_json(worker.handle(request))


def test_dtype_names_from_every_library():
    assert dtype_name("c10::BFloat16") == "bfloat16"
    assert dtype_name("float") == "float32"
    assert dtype_name("c10::Half") == "float16"
    assert dtype_name("f32") == "float32"
    assert dtype_name(np.dtype("float64")) == "float64"


def test_contradiction_names_the_wrong_products():
    obs = Observation("test")
    obs.add("aten::addmm", "bfloat16")
    obs.add("aten::addmm_", "float32")
    why = contradiction("bf16-mixed", obs, has_flops=True)
    assert why and "aten::addmm_ float32 ×1" in why and "bfloat16" in why
    assert contradiction("fp32", Observation("empty"), has_flops=False) is None
    assert "no matrix product observed" in contradiction("fp32", Observation("x"), has_flops=True)


def test_declared_wide_products_are_listed_not_failed():
    obs = Observation("test")
    obs.add("aten::mm", "bfloat16")
    obs.add("aten::bmm", "float32", why_wide="coordinates")
    assert contradiction("bf16-mixed", obs.settle("bf16-mixed"), has_flops=True) is None
    assert obs.to_dict()["wide_products"][0]["why"] == "coordinates"
    same = Observation("test")
    same.add("aten::bmm", "float32", why_wide="coordinates")
    assert same.settle("fp32").to_dict()["observed_products"] == {"float32": 1}


def test_numpy_probe_sees_products_of_intermediates_and_restores_arrays():
    class Model:
        __module__ = "dbnbench.tests"

        def __init__(self):
            self.w = np.ones((4, 3), dtype=np.float32)
            self.x = [np.ones((2, 4), dtype=np.float32)]

        def step(self):
            h = self.x[0] @ self.w          # attribute × attribute
            h2 = np.dot(h, self.w.T)        # intermediate × attribute
            self.out = h2.T @ h2            # intermediate × intermediate
            self.w += 1.0                   # in place: the model really trains

    m = Model()
    obs = observe(m)
    assert obs.to_dict()["observed_ops"] == {"np.dot float32": 1, "np.matmul float32": 2}
    assert type(m.w) is np.ndarray and type(m.x[0]) is np.ndarray and type(m.out) is np.ndarray
    assert not isinstance(m.out, ProbeArray)
    assert float(m.w[0, 0]) == 2.0


@pytest.mark.parametrize("framework,precision,dtype", [
    ("numpy", "fp32", "float32"), ("numpy", "fp64", "float64"), ("sklearn", "fp32", "float32"),
    ("torch", "bf16-mixed", "bfloat16"), ("torch", "fp16-mixed", "float16"),
    ("torch", "fp32", "float32"), ("tensorflow", "bf16-mixed", "bfloat16"),
    ("tensorflow", "fp32", "float32")])
def test_every_rbm_product_runs_in_the_modes_dtype(framework, precision, dtype):
    answer = run_case(framework, precision)
    assert answer["status"] == "ok", answer.get("reason")
    products = answer["math"]["observed_products"]
    assert set(products) == {dtype}
    # CD-1: p(h|v0), p(v|h), p(h|v1) and the fused weight statistic (scikit-learn: two).
    assert sum(products.values()) == (5 if framework == "sklearn" else 4)


def test_torch_mixed_case_with_a_product_forced_to_fp32_fails(monkeypatch):
    """The weight statistic through in-place addmm_, which autocast does not cast: the case
    must fail with the reason instead of reporting a bf16-mixed number."""
    require_framework("torch")
    from dbnbench.suites.rbm.torch_impl import TorchRBM

    def apply_in_fp32(self, n):
        self.vw.addmm_(self.x.t(), self.p, beta=self.momentum, alpha=self.lr / n)
        self.w.add_(self.vw)

    monkeypatch.setattr(TorchRBM, "_apply", apply_in_fp32)
    answer = run_case("torch", "bf16-mixed")
    assert answer["status"] == "failed"
    assert "observed products contradict bf16-mixed" in answer["reason"]
    assert "aten::addmm_ float32 ×1" in answer["reason"]
    assert answer["repetitions_s"] == [] and answer["setup_s"] is None  # no number reported


def test_tensorflow_mixed_case_with_a_product_forced_to_fp32_fails(monkeypatch):
    require_framework("tensorflow")
    from dbnbench.suites.rbm.tf_impl import TensorflowRBM

    original = TensorflowRBM._mm

    def mm(self, a, b, transpose_a=False, transpose_b=False):
        if transpose_a:  # the weight statistic, left in float32
            tf = self.tf
            return tf.cast(tf.linalg.matmul(tf.cast(a, tf.float32), tf.cast(b, tf.float32),
                                            transpose_a=True), self.fw.dtype)
        return original(self, a, b, transpose_a, transpose_b)

    monkeypatch.setattr(TensorflowRBM, "_mm", mm)
    answer = run_case("tensorflow", "bf16-mixed")
    assert answer["status"] == "failed"
    assert "observed products contradict bf16-mixed" in answer["reason"]
    assert "MatMul float32 ×1" in answer["reason"]


def test_hlo_products_read_operand_types():
    hlo = """
HloModule m
ENTRY %main (p0: bf16[4,8], p1: bf16[8,2]) -> f32[4,2] {
  %p0 = bf16[4,8]{1,0} parameter(0)
  %p1 = bf16[8,2]{1,0} parameter(1)
  %convert.1 = f32[4,8]{1,0} convert(%p0)
  %convert.2 = f32[8,2]{1,0} convert(%p1)
  ROOT %dot.3 = f32[4,2]{1,0} dot(%convert.1, %convert.2), lhs_contracting_dims={1}
  %dot.4 = bf16[4,2]{1,0} dot(bf16[4,8]{1,0} %p0, bf16[8,2]{1,0} %p1), lhs_contracting_dims={1}
  %cc = (bf16[4,2]{1,0}, s8[0]{0}) custom-call(%p0, %p1), custom_call_target="__cublas$gemm"
}
"""
    obs = Observation("hlo")
    hlo_products(hlo, obs)
    assert obs.ops == {"HLO dot float32": 1, "HLO dot bfloat16": 1,
                       "HLO __cublas$gemm bfloat16": 1}


def test_xla_bf16_on_the_cpu_is_caught():
    """XLA's CPU backend computes bf16 dots in float32: TF's graph says bfloat16, the HLO
    that runs says otherwise, and the compiled bf16-mixed case fails."""
    require_framework("tensorflow")
    params = {"layers": [64, 32], "classes": 10, "batch": 8, "mode": "compiled"}
    answer = run_case("tensorflow", "bf16-mixed", "dbn-inference", params)
    if answer["status"] == "skipped":
        pytest.skip(answer["reason"])
    assert answer["status"] == "failed", answer
    assert "HLO dot float32" in answer["reason"]
    assert run_case("tensorflow", "fp32", "dbn-inference", params)["status"] == "ok"
