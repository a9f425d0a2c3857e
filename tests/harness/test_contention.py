"""How quiet the machine was: a real CPU-burning process flags a case; without it, none."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbnbench.harness.engine.runner import Progress, RunOptions, execute
from dbnbench.harness.probes.contention import ContentionMeter, busy_now, merge_windows
from dbnbench.harness.records import Contention

from ..conftest import REGISTRY

SUITE = """
name = "quiet"
[settings]
rounds = 1
repetitions = 5
min_time_s = 0.2
warmup_s = 0.05
timeout_s = 60
quality = false
[[cases]]
workload = "harness-selftest"
frameworks = ["numpy"]
params = { size = 128 }
"""
BURN = "import time\nend = time.time() + 60\nwhile time.time() < end: pass\n"


def burner() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BURN])


def run(tmp_path: Path, during_case: bool) -> dict:
    suite = tmp_path / "quiet.toml"
    suite.write_text(SUITE)
    procs: list[subprocess.Popen] = []

    def task(label: str) -> None:
        # Started when the case begins (after calibration), as a neighbour would.
        if during_case and label.startswith("harness-selftest") and not procs:
            procs.extend(burner() for _ in range(2))  # both of a 2-core machine's cores
            time.sleep(0.2)

    try:
        doc, _ = execute(RunOptions(suite=str(suite), filters={}, settings={"threads": 1},
                                    output=tmp_path / "out", registry=REGISTRY,
                                    max_memory=2**31),
                         Progress(task=task))
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return doc["cases"][0]


@pytest.mark.slow
def test_a_cpu_burner_started_during_a_case_flags_it(tmp_path):
    case = run(tmp_path, during_case=True)
    assert case["status"] == "ok"
    assert case["contention"]["contended"] is True
    assert case["contention"]["other_cpu_share"] > 0.3
    assert any(w.startswith("contended") for w in case["warnings"])


@pytest.mark.slow
def test_a_quiet_machine_flags_nothing(tmp_path):
    if busy_now(0.5).contention.contended:
        pytest.skip("this machine is busy with other work right now: a quiet run cannot be had")
    case = run(tmp_path, during_case=False)
    if case["contention"]["contended"] and busy_now(0.5).contention.contended:
        pytest.skip("other work started on this machine during the run")
    assert case["contention"]["contended"] is False
    assert case["contention"]["other_cpu_share"] < 0.1


def test_meter_separates_own_work_from_others():
    if busy_now(0.3).contention.contended:
        pytest.skip("this machine is busy with other work right now: a quiet window cannot be had")
    meter = ContentionMeter(parents=[])
    meter.start()
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:  # this process's own work is not contention
        pass
    own = meter.stop()
    if own.other_cpu_share >= 0.1 and busy_now(0.3).contention.contended:
        pytest.skip("other work started on this machine during the check")
    assert own.own_cpu_share > 0.3  # one of the cores, as this process's own
    assert own.other_cpu_share < 0.1


def test_busy_machine_is_said_before_a_run_starts():
    procs = [burner() for _ in range(2)]
    try:
        time.sleep(0.3)
        load = busy_now(0.5)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert load.contention.contended and load.contention.other_cpu_share > 0.3
    assert any(p.name.startswith("python") for p in load.top)


def test_a_case_is_contended_if_any_round_was():
    quiet = Contention(1.0, 0.01, 0.0, 0.9, 2, False)
    busy = Contention(1.0, 0.45, 0.0, 0.5, 2, True)
    merged = merge_windows([quiet, busy])
    assert merged["contended"] and merged["other_cpu_share"] == 0.45
    assert merge_windows([]) is None


def test_another_process_on_the_gpu_contends():
    """NVML's compute processes on the case's GPU, other than the benchmark's own."""
    from types import SimpleNamespace

    from dbnbench.harness.probes.contention import gpu_neighbours

    class FakeNvml:
        def nvmlInit(self):
            pass

        def nvmlDeviceGetHandleByIndex(self, index):
            return index

        def nvmlDeviceGetComputeRunningProcesses(self, handle):
            return [SimpleNamespace(pid=111), SimpleNamespace(pid=4242)]

    assert gpu_neighbours("cuda:0", {111}, FakeNvml()) == [4242]
    assert gpu_neighbours("cpu", {111}, FakeNvml()) is None
    meter = ContentionMeter(parents=[111], device="cuda:0", nvml=FakeNvml())
    meter.start()
    record = meter.stop()
    assert record.other_gpu_processes == (4242,) and record.contended


def test_a_sibling_worker_on_the_gpu_is_the_runs_own_and_ordinals_follow_visible_devices():
    """Only the worker and its parent counted as own: a sibling worker (TensorFlow's beside
    torch's) made every GPU case contended. And NVML's index is not the CUDA ordinal under
    CUDA_VISIBLE_DEVICES."""
    import os
    import subprocess
    import sys
    from types import SimpleNamespace

    from dbnbench.harness.probes.contention import gpu_neighbours

    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        class FakeNvml:
            asked: list[int] = []

            def nvmlInit(self):
                pass

            def nvmlDeviceGetCount(self):
                return 4

            def nvmlDeviceGetHandleByIndex(self, index):
                self.asked.append(index)
                return index

            def nvmlDeviceGetUUID(self, handle):
                return f"GPU-000{handle}-aaaa".encode()

            def nvmlDeviceGetComputeRunningProcesses(self, handle):
                return [SimpleNamespace(pid=sibling.pid), SimpleNamespace(pid=4242)]

        # The parent is this test process; the sibling is its child: the run's own.
        meter = ContentionMeter(parents=[os.getpid()], device="cuda:0", nvml=FakeNvml())
        meter.start()
        assert meter.stop().other_gpu_processes == (4242,)
        nvml = FakeNvml()
        gpu_neighbours("cuda:1", set(), nvml, visible="2,3")
        assert nvml.asked[-1] == 3  # CUDA's device 1 is the second visible: NVML's 3
        gpu_neighbours("cuda:0", set(), nvml, visible="GPU-0002")
        assert nvml.asked[-1] == 2
        assert gpu_neighbours("cuda:5", set(), nvml, visible="0") is None  # not visible
    finally:
        sibling.kill()
        sibling.wait()
