"""A worker killed by SIGKILL is blamed on the OOM killer only on evidence."""

from __future__ import annotations

import os
import signal

import pytest

from dbnbench.harness.probes.oom import counter_files, oom_counts, oom_evidence
from dbnbench.harness.processes.pool import WorkerProcess


def test_evidence_decides_the_reason():
    assert "out-of-memory killer ran" in oom_evidence({"/proc/vmstat": 3}, {"/proc/vmstat": 4},
                                                      0, None)
    assert "near the" in oom_evidence({"/proc/vmstat": 3}, {"/proc/vmstat": 3},
                                      95 * 2**20, 100 * 2**20)
    assert "no out-of-memory kill was recorded" in oom_evidence({"/proc/vmstat": 3},
                                                                {"/proc/vmstat": 3}, 10, 100)
    assert "no out-of-memory counter" in oom_evidence({}, {}, 10, None)


def test_the_machine_counter_is_read_here():
    counts = oom_counts(counter_files())
    lines = dict(line.split() for line in open("/proc/vmstat", encoding="ascii"))
    if "oom_kill" not in lines:
        pytest.skip("this kernel's /proc/vmstat has no oom_kill line")
    assert counts["/proc/vmstat"] == int(lines["oom_kill"])  # the line read, not a default


def test_a_worker_killed_from_outside_is_not_called_out_of_memory():
    w = WorkerProcess(threads=1)
    try:
        os.kill(w.proc.pid, signal.SIGKILL)
        status, reason = w._died()
    finally:
        w.close()
    assert status == "failed" and "killed by SIGKILL" in reason
    assert "out-of-memory killer ran" not in reason and "often" not in reason
    assert "no out-of-memory kill was recorded" in reason \
        or "no out-of-memory counter" in reason
