"""Findings drawn from a result: each kind from the evidence it needs, none without it."""

from __future__ import annotations

from dbnbench.harness.engine.findings import findings


def case(framework: str, precision: str, rate: float, *, workload: str = "rbm-cdk",
         contended: bool = False, status: str = "ok", reason: str | None = None) -> dict:
    return {"id": f"{workload}/{framework}/cpu/{precision}/v784-h500-b100-k1",
            "workload": workload, "framework": framework, "device": "cpu",
            "precision": precision, "status": status, "reason": reason,
            "contention": {"other_cpu_share": 0.5 if contended else 0.0, "steal_share": 0.0,
                           "contended": contended},
            "metrics": {"items_per_s": {"median": rate, "ci_low": rate * 0.98,
                                        "ci_high": rate * 1.02}}}


def doc(cases: list[dict], calibration: list[dict] | None = None,
        roofline: list[dict] | None = None, machine: dict | None = None) -> dict:
    return {"cases": cases, "calibration": calibration or [], "roofline": roofline or [],
            "machine": machine or {}}


def kinds(d: dict) -> list[str]:
    return [f["kind"] for f in findings(d)]


def test_a_reduced_precision_slower_than_fp32_on_a_workload():
    d = doc([case("torch", "fp32", 30000), case("torch", "fp16-mixed", 2000),
             case("torch", "bf16-mixed", 40000)])
    found = [f for f in findings(d) if f["kind"] == "precision-slower"]
    assert len(found) == 1 and "fp16-mixed runs at 0.07× fp32" in found[0]["message"]
    assert "(2,000 vs 30,000 items/s)" in found[0]["message"]  # never 2e+03
    assert kinds(doc([case("torch", "fp32", 30000), case("torch", "bf16", 29900)])) == []


def test_a_framework_far_below_the_machines_roof():
    roof = {"device": "cpu", "precision": "fp32", "gemm_flops_per_s": 4.4e11,
            "best_framework": "tensorflow", "frameworks": {"tensorflow": 4.4e11,
                                                           "numpy": 2.0e11, "torch": 3.9e11}}
    found = [f for f in findings(doc([], roofline=[roof])) if f["kind"] == "below-roof"]
    assert [f["framework"] for f in found] == ["numpy"]
    assert "45% of the machine's best (tensorflow" in found[0]["message"]


def test_a_slow_gemm_mode_and_slow_fp64():
    cal = [{"framework": "torch", "device": "cpu", "precision": p, "gemm_flops_per_s": r}
           for p, r in (("fp32", 2e11), ("fp16-mixed", 3e9), ("bf16", 4e11), ("fp64", 1e11))]
    found = [f for f in findings(doc([], calibration=cal)) if f["kind"] == "gemm-slower"]
    assert [f["precision"] for f in found] == ["fp16-mixed"]
    cal[3]["gemm_flops_per_s"] = 2e10
    assert "fp64" in [f["precision"] for f in findings(doc([], calibration=cal))
                      if f["kind"] == "gemm-slower"]


def test_contended_cases_and_wrong_products_are_findings():
    wrong = case("torch", "bf16-mixed", 1, status="failed",
                 reason="observed products contradict bf16-mixed: ...")
    d = doc([case("numpy", "fp32", 100, contended=True), wrong])
    assert kinds(d)[:1] == ["products-contradict-mode"]
    assert "contended" in kinds(d)
    assert findings(d)[0]["severity"] == "error"


def test_a_framework_far_behind_the_fastest_on_the_same_case():
    d = doc([case("numpy", "fp32", 30000), case("tensorflow", "fp32", 5000)])
    assert kinds(d) == ["far-behind"]


def test_a_downgraded_blas_kernel_from_the_machine_record():
    machine = {"fingerprint": {"isa": {"isa_level": "avx512"},
                               "perf_env": {"OPENBLAS_CORETYPE": "Haswell"}},
               "runtime": {"numpy": {"pools": [{"user_api": "blas", "internal_api": "openblas",
                                                "architecture": "Haswell",
                                                "package": "numpy"}]}}}
    found = [f for f in findings(doc([], machine=machine)) if f["kind"] == "downgraded-kernel"]
    assert found and "OPENBLAS_CORETYPE=Haswell" in found[0]["message"]


def test_with_arms_each_arm_is_compared_within_itself_and_named():
    def arm(c: dict, name: str) -> dict:
        return {**c, "arm": name}

    d = doc([arm(case("numpy", "fp32", 30000), "base"), arm(case("tensorflow", "fp32", 5000),
                                                            "base"),
             arm(case("numpy", "fp32", 60000), "head"), arm(case("tensorflow", "fp32", 15000),
                                                            "head")])
    found = findings(d)
    # mixed, head's numpy (60 k) would be every case's fastest (base's tensorflow 0.08×);
    # within its arm each case meets its own arm's numpy, and the finding names the arm
    assert [(f["kind"], f.get("arm")) for f in found] == [("far-behind", "base"),
                                                          ("far-behind", "head")]
    assert "0.17× numpy" in found[0]["message"] and "0.25× numpy" in found[1]["message"]


def test_a_mode_without_any_measured_roof_is_a_finding():
    """--timeout 5 timed the sweep out in every round; the run said so on stderr only."""
    cal = [{"framework": "numpy", "device": "cpu", "precision": "fp32", "gemm_flops_per_s": None,
            "reason": "timeout: the sweep passed 5 s"},
           {"framework": "torch", "device": "cpu", "precision": "fp32", "gemm_flops_per_s": 2e11}]
    found = [f for f in findings(doc([case("numpy", "fp32", 1000), case("torch", "fp32", 900)],
                                     calibration=cal)) if f["kind"] == "no-roof"]
    assert len(found) == 1 and found[0]["framework"] == "numpy"
    assert "timeout: the sweep passed 5 s" in found[0]["message"]
    assert found[0]["cases"] == ["rbm-cdk/numpy/cpu/fp32/v784-h500-b100-k1"]
