"""One roofline per machine: the GEMM sweep, the roofs of a round, and % of peak that
cannot pass 100 % by construction."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbnbench.harness.engine.merge import NOISE_MARGIN, merge_case
from dbnbench.harness.engine.roofline import machine_roofline, place, round_roofs
from dbnbench.harness.measure import calibrate
from dbnbench.harness.plan.cases import Case
from dbnbench.harness.plan.workload import Params
from dbnbench.harness.records import Bandwidth, CalibrationAnswer, CaseAnswer, Contention
from dbnbench.suites.rbm.spec import RBMSpec

from ..conftest import REGISTRY


class FakeFramework:
    """A framework whose GEMM runs at rate(n) FLOP/s: times are computed, not measured."""

    precision, device = "fp32", "cpu"

    def __init__(self, rate, binary_speedup=1.0):
        self.rate, self.sizes, self.kinds = rate, [], []
        self.binary_speedup = binary_speedup  # a power-capped card: 0/1 operands run faster

    def gemm_times(self, m, n, k, repeats, loops, operands="uniform"):
        self.sizes.append(n)
        self.kinds.append(operands)
        speedup = self.binary_speedup if operands == "binary" else 1.0
        return [2.0 * m * n * k / (self.rate(max(m, n, k)) * speedup)] * repeats

    def device_free_bytes(self):
        return 64 * 2**30


def test_sweep_goes_on_until_the_rate_stops_improving():
    # Rises until 2048, flat after: the sweep must pass 2048 and stop two sizes later,
    # whatever time that takes (no time budget).
    fw = FakeFramework(lambda n: 1e9 * min(n, 2048))
    out = calibrate.calibrate(fw)
    assert out.best_size == 2048
    assert out.rate == pytest.approx(2048e9)
    assert max(int(n) for n in out.by_size) == 4096  # 3072 and 4096: no improvement
    assert out.stopped == "the rate stopped improving"


def test_once_products_are_long_one_flat_size_ends_the_sweep():
    """Flat from 2048 at 205 GFLOP/s: 3072 takes 0.28 s a product (past LONG_PATIENCE_S) and
    does not improve, so 4096 (four products of 0.67 s) is not tried; the roof is the same."""
    fw = FakeFramework(lambda n: 1e8 * min(n, 2048))
    out = calibrate.calibrate(fw)
    assert out.best_size == 2048 and out.rate == pytest.approx(2048e8)
    assert max(fw.sizes) == 3072 and out.stopped == "the rate stopped improving"


def test_a_slow_mode_is_not_cut_short_at_a_small_size():
    """Issue 7's case: an fp16 mode at a few GFLOP/s whose rate keeps rising with size. No
    time budget stops it early; only a single product longer than PRODUCT_LIMIT_S does, and
    the result says so."""
    fw = FakeFramework(lambda n: 2e6 * n)  # 0.26 GFLOP/s at 128, rising
    out = calibrate.calibrate(fw)
    assert out.best_size == 1024  # a 1.07 s product; 1536 would take about 3.6 s
    assert out.stopped.startswith("time: one 1536×1536 product would take about")


def test_later_rounds_start_at_the_best_size():
    fw = FakeFramework(lambda n: 1e9 * min(n, 1024))
    calibrate.calibrate(fw, start=1024, patience=1)
    assert fw.sizes[0] == 1024 and max(fw.sizes) <= 1536


def test_shapes_rates_are_the_rates_over_the_products_per_operand_kind():
    fw = FakeFramework(lambda n: 1e11, binary_speedup=1.25)
    rates = calibrate.shapes_rates(fw, [(2, 100, 500, 784), (1, 784, 500, 200)])
    assert rates == {"uniform": pytest.approx(1e11), "binary": pytest.approx(1.25e11)}


def test_a_gpu_sweep_also_times_binary_operands_at_its_best_size():
    """Issue 18 item 17: a power-capped card may run 0/1 operands (an RBM's) faster than
    the uniform ones the sweep times; on a GPU the best size is timed on both."""
    gpu = FakeFramework(lambda n: 1e12 * min(n, 2048) / 2048, binary_speedup=1.2)
    gpu.device = "cuda:0"
    out = calibrate.calibrate(gpu)
    assert out.binary_rate == pytest.approx(1.2 * out.rate)
    assert gpu.kinds.count("binary") == 1 and gpu.sizes[gpu.kinds.index("binary")] == 2048
    again = calibrate.check(gpu, 2048, out.rate)  # a later round's drift check: both too
    assert again.binary_rate == pytest.approx(1.2 * again.rate)


def test_a_cpu_sweep_times_uniform_operands_only():
    cpu = FakeFramework(lambda n: 1e9 * min(n, 1024), binary_speedup=1.2)
    out = calibrate.calibrate(cpu)
    assert out.binary_rate is None and set(cpu.kinds) == {"uniform"}


def test_roofs_of_a_round_take_the_best_framework_and_own_shape_gemms():
    cal = {("", "numpy", "cpu", "fp32", 0): CalibrationAnswer("ok", gemm_flops_per_s=2e11,
                                                          bandwidth=Bandwidth(2e10, 1 << 27)),
           ("", "torch", "cpu", "fp32", 0): CalibrationAnswer("ok", gemm_flops_per_s=3e11),
           ("", "torch", "cpu", "fp32", 1): CalibrationAnswer("ok", gemm_flops_per_s=1e11)}
    case = Case("rbm-cdk", "torch", "cpu", "fp32", (), "t")
    answers = {("rbm-cdk/torch/cpu/fp32/t", "", 1): CaseAnswer("ok",
                                                               shape_gemm_flops_per_s=1.5e11)}
    r0 = round_roofs(cal, 0, answers, {case.id: case})
    r1 = round_roofs(cal, 1, answers, {case.id: case})
    assert r0.gemm[("cpu", "fp32")] == 3e11 and r0.bandwidth["cpu"] == 2e10
    assert r1.gemm[("cpu", "fp32")] == 1.5e11  # the case's own shapes beat round 1's sweep
    roof = machine_roofline(cal, 2, answers, {case.id: case})[0]
    assert roof["best_framework"] == "torch" and roof["by_round"] == [3e11, 1.5e11]
    assert roof["frameworks"] == {"numpy": 2e11, "torch": 3e11}


def test_place_picks_the_bound_by_arithmetic_intensity():
    # 1 GFLOP over 10 MB: intensity 100 FLOP/B; 20 GB/s × 100 = 2 TFLOP/s > 300 GFLOP/s roof.
    p = place(1e9, 1e7, 0.01, 3e11, 2e10)
    assert p["bound"] == "compute" and p["pct_of_peak"] == pytest.approx(1e11 / 3e11)
    low = place(1e6, 1e7, 1e-4, 3e11, 2e10)  # intensity 0.1: bandwidth-bound
    assert low["bound"] == "bandwidth"
    assert low["attainable_flops_per_s"] == pytest.approx(0.1 * 2e10)
    assert place(None, 1e7, 0.01, None, 2e10)["bound"] == "bandwidth"  # augment


PARAMS = Params(RBMSpec().defaults() | {"visible": 64, "hidden": 64, "batch": 32})
CASE = Case("rbm-cdk", "numpy", "cpu", "fp32", tuple(sorted(PARAMS.items())), "t")
FLOPS = RBMSpec().flops_per_step(PARAMS)


def answer(step_s: float, shape_rate: float | None) -> CaseAnswer:
    return CaseAnswer("ok", None, setup_s=0.1, repetitions_s=(step_s * 10,) * 3,
                      steps_per_repetition=10, items_per_step=32, window_steps=40, window_s=0.5,
                      peak_host_memory_bytes=1 << 20,
                      contention=Contention(0.5, 0.0, 0.0, 0.9, 2, False),
                      shape_gemm_flops_per_s=shape_rate)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(1e8, 1e12), st.floats(1e8, 1e12),
                          st.one_of(st.none(), st.floats(1e8, 1e12)),
                          st.floats(1e-5, 1.0)), min_size=1, max_size=3))
def test_no_calibration_and_case_combination_reports_more_than_the_peak(rounds):
    """Whatever the calibrations (two frameworks), the case's speed and whether its own
    shapes were re-measured, every round of every reported case is at most 100 % of that
    round's roof; a case faster than every roof is failed, with the reason."""
    cal, answers = {}, {}
    for r, (numpy_rate, torch_rate, shape_rate, step_s) in enumerate(rounds):
        cal[("", "numpy", "cpu", "fp32", r)] = CalibrationAnswer("ok", gemm_flops_per_s=numpy_rate)
        cal[("", "torch", "cpu", "fp32", r)] = CalibrationAnswer("ok", gemm_flops_per_s=torch_rate)
        answers[(CASE.id, "", r)] = answer(step_s, shape_rate)
    roofs = [round_roofs(cal, r, answers, {CASE.id: CASE}) for r in range(len(rounds))]
    peaks = {k: a.gemm_flops_per_s for k, a in cal.items()}
    entry = merge_case(CASE, [answers[(CASE.id, "", r)] for r in range(len(rounds))], roofs, peaks,
                       REGISTRY)
    over = [FLOPS / step_s / max(n, t, s or 0) for n, t, s, step_s in rounds]
    if max(over) > NOISE_MARGIN:
        assert entry["status"] == "failed" and "impossible rate" in entry["reason"]
        assert "pct_of_peak" not in entry["metrics"]
    else:
        m = entry["metrics"]
        assert entry["status"] == "ok"
        assert 0 < m["pct_of_peak"] <= 1
        assert all(0 < p <= 1 for p in m["pct_of_peak_by_round"])
        assert 0 < m["roofline"]["pct_of_roof"] <= 1 + 1e-12  # a roof exists in every round
        if max(over) > 1:  # a little over: noise, the case's own rate became the roof
            assert any("timing noise" in w for w in entry["warnings"])


def test_pct_of_peak_is_against_the_round_it_ran_in():
    cal = {("", "numpy", "cpu", "fp32", 0): CalibrationAnswer("ok", gemm_flops_per_s=2 * FLOPS / 1e-3),
           ("", "numpy", "cpu", "fp32", 1): CalibrationAnswer("ok", gemm_flops_per_s=FLOPS / 1e-3)}
    answers = [answer(1e-3, None), answer(2e-3, None)]  # round 2: machine half as fast
    roofs = [round_roofs(cal, r) for r in range(2)]
    entry = merge_case(CASE, answers, roofs, {}, REGISTRY)
    assert entry["metrics"]["pct_of_peak_by_round"] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert math.isclose(entry["metrics"]["pct_of_peak"], 0.5)


GPU_CASE = Case("rbm-cdk", "torch", "cuda:0", "fp16-mixed", tuple(sorted(PARAMS.items())), "t")


def gpu_case(uniform: float, binary: float | None, step_s: float,
             own: dict[str, float] | None = None) -> dict:
    cal = {("", "torch", "cuda:0", "fp16-mixed", 0): CalibrationAnswer(
        "ok", gemm_flops_per_s=uniform, binary_flops_per_s=binary)}
    a = answer(step_s, max(own.values()) if own else None)
    a = replace(a, shape_gemm_by_operands=own)
    roofs = [round_roofs(cal, 0, {(GPU_CASE.id, "", 0): a}, {GPU_CASE.id: GPU_CASE})]
    return merge_case(GPU_CASE, [a], roofs, {}, REGISTRY)


def test_a_case_on_binary_operands_faster_than_the_uniform_roof_is_not_impossible():
    """A power-capped card: uniform 1.0e12, 0/1 operands 1.3e12. A case at 1.2e12 is 120 %
    of the uniform roof (failed as impossible on a uniform-only roof) but 92 % of the
    card's roof on its own kind of operands."""
    step_s = FLOPS / 1.2e12
    entry = gpu_case(1.0e12, 1.3e12, step_s)
    assert entry["status"] == "ok"
    assert entry["metrics"]["pct_of_peak"] == pytest.approx(1.2 / 1.3)
    uniform_only = gpu_case(1.0e12, None, step_s)
    assert uniform_only["status"] == "failed" and "0/1 operands" in uniform_only["reason"]


def test_own_shapes_on_binary_operands_raise_the_round_roof_and_are_recorded():
    step_s = FLOPS / 1.2e12
    own = {"uniform": 0.9e12, "binary": 1.25e12}
    entry = gpu_case(1.0e12, None, step_s, own)
    assert entry["status"] == "ok"
    assert entry["metrics"]["pct_of_peak"] == pytest.approx(1.2 / 1.25)
    assert entry["own_shape_gemm_by_round"] == [own]


def test_a_share_is_not_inflated_by_a_roof_timed_on_the_slower_operands():
    """A case at 0.9e12 on a card whose uniform roof is 1.0e12 and 0/1 roof 1.25e12: its
    share is 72 %, not 90 %."""
    entry = gpu_case(1.0e12, 1.25e12, FLOPS / 0.9e12)
    assert entry["metrics"]["pct_of_peak"] == pytest.approx(0.72)


def test_the_reference_gemm_on_a_gpu_is_large_enough_not_to_time_launches():
    """256³ on a large GPU times kernel launches, not the card (issue 18, item 16)."""
    cpu, gpu = FakeFramework(lambda n: 1e11), FakeFramework(lambda n: 1e14)
    cpu.device, gpu.device = "cpu", "cuda:0"
    calibrate.reference_rate(cpu)
    calibrate.reference_rate(gpu)
    assert set(cpu.sizes) == {256} and set(gpu.sizes) == {4096}
