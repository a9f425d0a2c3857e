"""Energy counters: NVML's total-energy counter on NVIDIA GPUs (or NVML power sampled at
20 Hz and integrated where a GPU has no such counter), RAPL (powercap) on CPUs.

Nothing is estimated: where no counter can be read, the result is None with the reason. A
counter only moves every so often (RAPL about every millisecond, NVML's every few tens of
milliseconds), so a window shorter than MIN_PERIODS of its measured update period would be
mostly rounding: the worker lengthens such a window with more steps, and if it still cannot,
reports the energy as unmeasured with that reason."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..install import pip_extra
from .contention import nvml_handle

# The powercap tree RAPL is read from. DBNBENCH_POWERCAP names another (a copy, or a test's
# fake counter); the real one is the kernel's.
POWERCAP_ENV = "DBNBENCH_POWERCAP"
RAPL = Path("/sys/class/powercap")
MIN_PERIODS = 10          # a window must span this many counter updates
SAMPLE_HZ = 20            # NVML power sampling where there is no energy counter
# NVML's power reading is an average over up to one second (Ampere and later; earlier
# boards' sensors update slowly too): a sampled window must span MIN_PERIODS of it.
POWER_AVERAGE_S = 1.0
PERIOD_PROBE_S = 0.5      # longest time spent finding a counter's update period


def _rapl_domains() -> list[Path]:
    """Package-level RAPL domains (intel-rapl:N), whose counters include cores and uncore."""
    root = Path(os.environ.get(POWERCAP_ENV) or RAPL)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)


def update_period(read: Callable[[], Any], limit_s: float = PERIOD_PROBE_S) -> float | None:
    """Median seconds between changes of a counter, polled for at most `limit_s`; None when
    it did not change twice in that time (an idle device's counter may not move)."""
    changes: list[float] = []
    last, start = read(), time.perf_counter()
    while time.perf_counter() - start < limit_s and len(changes) < 6:
        value = read()
        if value != last:
            changes.append(time.perf_counter())
            last = value
        time.sleep(0.0002)
    gaps = [b - a for a, b in pairwise(changes)]
    return statistics.median(gaps) if gaps else None


class PowerSampler:
    """NVML power draw sampled at SAMPLE_HZ on a thread and integrated (trapezoids): energy
    for a GPU without the total-energy counter, from measured power, not a nameplate."""

    def __init__(self, read_watts: Callable[[], float], hz: float = SAMPLE_HZ) -> None:
        self.read_watts, self.interval = read_watts, 1.0 / hz
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.read_watts()))
            self._stop.wait(self.interval)

    def start(self) -> None:
        self.samples, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Joules over the sampled window."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append((time.perf_counter(), self.read_watts()))
        return integrate(self.samples)


def integrate(samples: list[tuple[float, float]]) -> float:
    """Trapezoidal integral of (time, watts) samples, in joules."""
    return sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in pairwise(samples))


class EnergyMeter:
    """Reads an energy counter before and after the timed window."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.source: str | None = None
        self.reason: str | None = None
        self.period_s: float | None = None
        self.method: str | None = None  # "counter" or "sampled power"
        self.sampler: PowerSampler | None = None
        self._read = self._pick()

    def _pick(self) -> Any:
        if self.device.startswith("cuda"):
            return self._nvml()
        return self._rapl()

    def _nvml(self) -> Any:
        try:
            import pynvml
        except ImportError:
            self.reason = f"nvidia-ml-py is not installed ({pip_extra('gpu')})"
            return None
        try:
            pynvml.nvmlInit()
            # CUDA's device N under CUDA_VISIBLE_DEVICES, not NVML's N: a rank's own board.
            handle = nvml_handle(pynvml, int(self.device.partition(":")[2] or 0),
                                 os.environ.get("CUDA_VISIBLE_DEVICES"))
        except Exception as exc:  # NVML raises its own error types
            self.reason = f"NVML unavailable: {exc}".strip()
            return None
        try:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except Exception as exc:
            return self._nvml_power(pynvml, handle, exc)
        self.source = "nvml total energy (whole GPU board)"
        self.method = "counter"
        return lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0

    def _nvml_power(self, pynvml: Any, handle: Any, why: Exception) -> Any:
        """No total-energy counter (GPUs before Volta): sample the power reading instead."""
        try:
            pynvml.nvmlDeviceGetPowerUsage(handle)
        except Exception as exc:
            self.reason = (f"NVML has neither a total-energy counter ({why}) nor a power "
                           f"reading ({exc})")
            return None
        self.sampler = PowerSampler(lambda: pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
        self.source = f"nvml power sampled at {SAMPLE_HZ} Hz, integrated (whole GPU board)"
        self.method = "sampled power"
        self.period_s = POWER_AVERAGE_S
        return lambda: None

    def _rapl(self) -> Any:
        domains = _rapl_domains()
        if not domains:
            self.reason = "no RAPL powercap interface on this machine (/sys/class/powercap)"
            return None
        files = [d / "energy_uj" for d in domains]
        try:
            for f in files:
                int(f.read_text())
        except (OSError, ValueError) as exc:
            self.reason = f"RAPL counter not readable ({exc.__class__.__name__}; often root-only)"
            return None
        ranges = [int((d / "max_energy_range_uj").read_text()) if
                  (d / "max_energy_range_uj").exists() else 0 for d in domains]
        self.source = "rapl package (whole CPU, all processes)"
        self.method = "counter"
        self._ranges = ranges
        return lambda: [int(f.read_text()) for f in files]

    def min_window_s(self) -> float | None:
        """The shortest window this counter can measure: MIN_PERIODS of its update period
        (measured once, here). None when there is no counter."""
        if self._read is None:
            return None
        if self.period_s is None and self.sampler is None:
            self.period_s = update_period(self._read)
        # A counter that did not move twice in the probe: assume half the probe's length.
        return MIN_PERIODS * (self.period_s or PERIOD_PROBE_S / 2)

    @property
    def started(self) -> float:
        """perf_counter() at start()."""
        return self._t0

    def start(self) -> None:
        self._t0 = time.perf_counter()
        if self.sampler is not None:
            self.sampler.start()
        self._e0 = self._read() if self._read else None

    def stop(self) -> tuple[float | None, float]:
        """(joules or None, seconds) since start()."""
        seconds = time.perf_counter() - self._t0
        if self.sampler is not None:
            return self.sampler.stop(), seconds
        if self._read is None or self._e0 is None:
            return None, seconds
        e1 = self._read()
        if isinstance(e1, list):  # RAPL: microjoules per package, with wrap-around
            total = 0
            for a, b, rng in zip(self._e0, e1, self._ranges, strict=True):
                total += b - a if b >= a else b + rng - a
            return total / 1e6, seconds
        return e1 - self._e0, seconds
