"""Energy counters: NVML's total-energy counter on NVIDIA GPUs, RAPL (powercap) on CPUs.

Nothing is estimated: where no counter can be read, the result is None with the reason."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

RAPL = Path("/sys/class/powercap")


def _rapl_domains() -> list[Path]:
    """Package-level RAPL domains (intel-rapl:N), whose counters include cores and uncore."""
    if not RAPL.is_dir():
        return []
    return sorted(p for p in RAPL.glob("intel-rapl:*") if p.name.count(":") == 1)


class EnergyMeter:
    """Reads an energy counter before and after the timed window."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.source: str | None = None
        self.reason: str | None = None
        self._read = self._pick()

    def _pick(self) -> Any:
        if self.device.startswith("cuda"):
            return self._nvml()
        return self._rapl()

    def _nvml(self) -> Any:
        try:
            import pynvml
        except ImportError:
            self.reason = "nvidia-ml-py is not installed (pip install 'dbnbench[gpu]')"
            return None
        try:
            pynvml.nvmlInit()
            index = int(self.device.partition(":")[2] or 0)
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except Exception as exc:  # NVML raises its own error types; any means no counter
            self.reason = f"NVML total-energy counter unavailable: {exc}".strip()
            return None
        self.source = "nvml total energy (whole GPU board)"
        return lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0

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
        self._ranges = ranges
        return lambda: [int(f.read_text()) for f in files]

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._e0 = self._read() if self._read else None

    def stop(self) -> tuple[float | None, float]:
        """(joules or None, seconds) since start()."""
        seconds = time.perf_counter() - self._t0
        if self._read is None or self._e0 is None:
            return None, seconds
        e1 = self._read()
        if isinstance(e1, list):  # RAPL: microjoules per package, with wrap-around
            total = 0
            for a, b, rng in zip(self._e0, e1, self._ranges, strict=True):
                total += b - a if b >= a else b + rng - a
            return total / 1e6, seconds
        return e1 - self._e0, seconds
