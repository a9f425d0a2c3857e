"""The per-case host memory probe: a reset peak, and where the case started."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dbnbench.harness.probes.memory import HostPeak, resident_bytes

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self (Linux)")


def test_a_case_peak_counts_from_its_start_and_not_what_was_freed_before():
    """256 MiB touched and freed before the reset are not the case's; 64 MiB touched after
    are, on top of where the case started."""
    before = np.ones(2**25)  # 256 MiB of float64, resident
    del before
    probe = HostPeak()
    probe.reset()
    assert probe.exact and probe.start_bytes is not None
    start = probe.start_bytes
    assert probe.peak_bytes() < start + 128 * 2**20  # the freed 256 MiB are not in the peak
    grown = np.ones(2**23)  # 64 MiB
    assert probe.peak_bytes() >= start + 60 * 2**20
    assert resident_bytes() >= start + 60 * 2**20
    del grown
