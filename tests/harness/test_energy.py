"""Energy: counters read around the window, windows long enough for the counter, sampling."""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from dbnbench.harness.engine.merge import merge_case
from dbnbench.harness.engine.roofline import round_roofs
from dbnbench.harness.probes import energy
from dbnbench.harness.probes.energy import EnergyMeter, PowerSampler, integrate, update_period
from dbnbench.harness.processes import worker
from dbnbench.harness.records import Settings, as_json

from ..conftest import REGISTRY
from .test_roofline import CASE, answer


def stepped_counter(period_s: float, joules_per_tick: float = 1.0):
    """A counter that moves every `period_s`, as NVML's and RAPL's do."""
    start = time.perf_counter()
    return lambda: joules_per_tick * int((time.perf_counter() - start) / period_s)


def test_trapezoids():
    assert integrate([(0.0, 100.0), (1.0, 100.0), (2.0, 300.0)]) == pytest.approx(300.0)
    assert integrate([(0.0, 5.0)]) == 0.0


def test_update_period_is_measured():
    assert update_period(stepped_counter(0.02), limit_s=0.5) == pytest.approx(0.02, rel=0.3)
    assert update_period(lambda: 1.0, limit_s=0.05) is None  # a counter that never moves


def test_power_sampler_integrates_measured_power():
    sampler = PowerSampler(lambda: 50.0, hz=100)
    sampler.start()
    time.sleep(0.2)
    joules = sampler.stop()
    assert joules == pytest.approx(50.0 * 0.2, rel=0.2)
    assert len(sampler.samples) >= 10


def fake_meter(monkeypatch, period_s: float) -> None:
    def pick(self):
        self.source = "fake counter"
        return stepped_counter(period_s)
    monkeypatch.setattr(EnergyMeter, "_pick", pick)


def window(settings: dict) -> dict:
    impl = SimpleNamespace(step=lambda: time.sleep(0.0005))
    # The reference GEMM beside the window: a framework whose products take 1 µs.
    fw = SimpleNamespace(device="cpu", sync=lambda: None, compiles=lambda: None,
                         gemm_times=lambda m, n, k, repeats, loops, operands="uniform":
                         [1e-6] * repeats)
    return as_json(worker.timed_window(impl, fw, "cpu", Settings(threads=1, **settings)))


SHORT = {"warmup_s": 0.0, "min_time_s": 0.002, "repetitions": 3}


def test_a_short_window_is_lengthened_to_ten_counter_updates(monkeypatch):
    fake_meter(monkeypatch, 0.02)
    out = window(SHORT)
    assert out["window_s"] >= energy.MIN_PERIODS * 0.02 * 0.8
    assert out["energy_j"] is not None and out["energy_j"] >= 7  # about 10 ticks of 1 J
    assert out["energy_reason"] is None


def test_a_window_that_cannot_be_lengthened_is_unmeasured_with_the_reason(monkeypatch):
    fake_meter(monkeypatch, 0.02)
    monkeypatch.setattr(worker, "LENGTHEN_LIMIT_S", 0.0)
    out = window(SHORT)
    assert out["energy_j"] is None
    assert "shorter than 10 updates of the counter" in out["energy_reason"]


def test_no_counter_no_number():
    meter = EnergyMeter("cpu")
    if meter.source is not None:
        pytest.skip(f"this machine has an energy counter ({meter.source})")
    meter.start()
    joules, seconds = meter.stop()
    assert joules is None and seconds > 0
    assert "RAPL" in meter.reason, meter.reason  # the interface that is missing or unreadable


def merged_metrics(rounds: list) -> dict:
    roofs = [round_roofs({}, r) for r in range(len(rounds))]
    return merge_case(CASE, rounds, roofs, {}, REGISTRY)["metrics"]


def test_the_result_carries_the_rounds_joules_per_item_and_power():
    """Two rounds' counter readings: their sum, per item of both windows and over their time."""
    rounds = [replace(answer(1e-3, None), energy_j=e, energy_source="fake counter")
              for e in (2.0, 3.0)]
    m = merged_metrics(rounds)
    assert (m["energy_j"], m["energy_source"]) == (5.0, "fake counter")
    assert m["energy_per_item_j"] == pytest.approx(5.0 / (2 * 40 * 32))  # window steps × batch
    assert m["avg_power_w"] == pytest.approx(5.0 / (2 * 0.5))  # over the two 0.5 s windows
    assert "energy_j" not in m["unmeasured"]
    # A round without a reading voids the sum: no partial energy passed off as the case's.
    gap = merged_metrics([replace(rounds[0], energy_j=None, energy_reason="counter gone"),
                          rounds[1]])
    assert gap["energy_j"] is None and gap["energy_per_item_j"] is None
    assert gap["avg_power_w"] is None and gap["energy_source"] is None
    assert gap["unmeasured"]["energy_j"] == "counter gone"
    # The reason is the round's that lacked the reading, not the first round's.
    late = merged_metrics([rounds[0], replace(rounds[1], energy_j=None,
                                              energy_reason="counter wrapped")])
    assert late["unmeasured"]["energy_j"] == "counter wrapped"


def test_items_per_joule_is_the_windows_items_over_its_joules():
    """A metric added end to end (issue 20: the files it touches are the measure): merge,
    the result's types, its schema and its checks."""
    from dataclasses import replace

    from dbnbench.harness.engine.merge import merge_case
    from dbnbench.harness.engine.roofline import Roofs

    from .test_roofline import CASE, REGISTRY, answer

    measured = [replace(answer(1e-3, None), energy_j=2.0) for _ in range(2)]  # 40 steps × 32
    metrics = merge_case(CASE, measured, [Roofs(), Roofs()], {}, REGISTRY)["metrics"]
    assert metrics["items_per_joule"] == pytest.approx(2 * 40 * 32 / 4.0)
    assert metrics["items_per_joule"] * metrics["energy_per_item_j"] == pytest.approx(1.0)
    unmeasured = merge_case(CASE, [answer(1e-3, None)], [Roofs()], {}, REGISTRY)["metrics"]
    assert unmeasured["items_per_joule"] is None


def test_a_gpu_rank_reads_its_own_board_under_cuda_visible_devices(monkeypatch):
    """CUDA's device 1 under CUDA_VISIBLE_DEVICES=3,1 is NVML's board 1; device 0 is board 3:
    a rank of a group reads the board it computes on, never NVML's same-numbered one."""
    import sys
    import types

    boards = {f"board{i}": 1000.0 * (i + 1) for i in range(4)}  # millijoules, distinct
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: f"board{i}",
        nvmlDeviceGetTotalEnergyConsumption=lambda h: boards[h])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert EnergyMeter("cuda:0")._read() == 4.0  # board 3
    assert EnergyMeter("cuda:1")._read() == 2.0  # board 1
    assert EnergyMeter("cuda:1").method == "counter"
