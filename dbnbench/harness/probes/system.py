"""The machine fingerprint: what a reader needs to know to trust or compare a result."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
from typing import Any

import psutil

from ..frameworks import FRAMEWORKS
from .fingerprint import machine_fingerprint


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs through NVML, else nvidia-smi, else none. Never imports an ML framework."""
    try:
        import pynvml

        pynvml.nvmlInit()
        driver = pynvml.nvmlSystemGetDriverVersion()
        cuda = pynvml.nvmlSystemGetCudaDriverVersion()
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            out.append({"name": name.decode() if isinstance(name, bytes) else name,
                        "memory_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(h).total),
                        "driver": driver.decode() if isinstance(driver, bytes) else driver,
                        "cuda": f"{cuda // 1000}.{cuda % 1000 // 10}"})
        return out
    except Exception:  # no library, no driver, no device: fall through to nvidia-smi
        pass
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        text = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
             "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=20,
            check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    out = []
    for line in text.strip().splitlines():
        name, mem, driver = (s.strip() for s in line.split(","))
        out.append({"name": name, "memory_bytes": int(float(mem)) * 2**20, "driver": driver,
                    "cuda": None})
    return out


def machine() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpu": {"model": cpu_model(), "cores": psutil.cpu_count(logical=False),
                "threads": psutil.cpu_count(logical=True)},
        "memory_bytes": int(psutil.virtual_memory().total),
        "gpus": gpus(),
        "frameworks": {name: fw.version() for name, fw in FRAMEWORKS.items()},
        "framework_labels": {name: fw.short() for name, fw in FRAMEWORKS.items()},
        "usable_cpus": usable_cpus(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "fingerprint": machine_fingerprint(),
    }
