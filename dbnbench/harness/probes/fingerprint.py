"""The environment fingerprint: what explains a number beyond the CPU's model name.

A result's speed depends on more than "AMD EPYC, 2 cores": which instruction set the
kernels use (an AVX2 kernel on an AVX-512 CPU runs at about half speed), environment
variables that force a kernel or a thread count, the frequency governor, time stolen by a
hypervisor, and a GPU's clocks and power limit. This module reads those, parent side, and
imports no ML framework: `runtime_info` (in `runtime.py`) runs inside a worker, after its
framework is imported, and `kernel_findings` (in `kernels.py`) compares the two.

Every item that cannot be read is `None` with a one-line reason: nothing is guessed.
"""

from __future__ import annotations

import glob
import importlib
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import psutil

from .environment import perf_env
from .kernels import isa_name, kernel_findings
from .runtime import runtime_info, why

__all__ = ["cpu_frequency", "cpu_isa", "gpu_details", "gpu_probe", "hypervisor_and_steal",
           "isa_name", "kernel_findings", "machine_fingerprint", "perf_env", "runtime_info"]

CPUINFO = "/proc/cpuinfo"
SYS_CPU = "/sys/devices/system/cpu"

# The flags that decide which kernels ML libraries can run: vector width (SSE4.2, AVX,
# AVX2, AVX-512), fused multiply-add, half/bfloat16 conversion and arithmetic, dot-product
# (VNNI) and matrix (AMX) units. Spelled as Linux's /proc/cpuinfo spells them.
X86_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd",
             "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
             "amx_bf16", "amx_int8", "amx_fp16", "avx_vnni")
ARM_FLAGS = ("asimd", "asimdhp", "fphp", "asimddp", "asimdfhm", "bf16", "i8mm", "sve", "sve2",
             "svebf16", "svei8mm", "sme", "sme2")
# x86-64-v4's AVX-512 subset: OpenBLAS and PyTorch need VL/BW/DQ, not just F (Knights
# Landing has F alone and gets AVX2 kernels), so "avx512" means all of these.
AVX512_LEVEL = ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")
ARM_IMPLEMENTERS = {"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu",
                    "0x48": "HiSilicon", "0x4e": "NVIDIA", "0x50": "Ampere", "0x51": "Qualcomm",
                    "0x61": "Apple", "0xc0": "Ampere"}
ARM_PARTS = {"0xd0c": "Neoverse-N1", "0xd40": "Neoverse-V1", "0xd49": "Neoverse-N2",
             "0xd4f": "Neoverse-V2", "0xd8e": "Neoverse-N3", "0xd84": "Neoverse-V3"}



def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's `key : value` lines (every processor repeats them)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def x86_isa(fields: dict[str, str]) -> dict[str, Any]:
    have = set(fields.get("flags", "").split())
    if all(f in have for f in AVX512_LEVEL):
        level = "avx512"
    elif "avx2" in have and "fma" in have:
        level = "avx2"
    else:
        level = "avx" if "avx" in have else "sse4" if "sse4_2" in have else "sse"
    return {"arch": "x86_64", "vendor": fields.get("vendor_id"), "model": fields.get("model name"),
            "flags": sorted(have.intersection(X86_FLAGS)), "isa_level": level,
            # Native arithmetic, not conversion: F16C only converts half floats.
            "bf16": bool(have & {"avx512_bf16", "amx_bf16"}),
            "fp16": bool(have & {"avx512_fp16", "amx_fp16"}),
            "hypervisor_flag": "hypervisor" in have}


def arm_isa(fields: dict[str, str]) -> dict[str, Any]:
    have = set(fields.get("features", "").split())
    implementer = fields.get("cpu implementer", "").lower()
    part = fields.get("cpu part", "").lower()
    model = fields.get("model name") or " ".join(
        filter(None, (ARM_IMPLEMENTERS.get(implementer), ARM_PARTS.get(part, f"part {part}"))))
    level = "sve" if "sve" in have else "neon" if "asimd" in have else "baseline"
    return {"arch": "aarch64", "vendor": ARM_IMPLEMENTERS.get(implementer, implementer or None),
            "model": model or None, "flags": sorted(have.intersection(ARM_FLAGS)),
            "isa_level": level, "bf16": "bf16" in have,
            "fp16": "fphp" in have and "asimdhp" in have, "hypervisor_flag": None}


def cpu_isa(cpuinfo_text: str | None = None) -> dict[str, Any]:
    """CPU model, vendor, the ISA flags ML kernels use, a one-word `isa_level` and whether
    bf16/fp16 arithmetic is native. Parses /proc/cpuinfo (or the text given)."""
    text = cpuinfo_text if cpuinfo_text is not None else read_text(CPUINFO)
    fields = cpuinfo_fields(text) if text else {}
    if "flags" in fields:
        return {**x86_isa(fields), "source": "cpuinfo", "reason": None}
    if "features" in fields:
        return {**arm_isa(fields), "source": "cpuinfo", "reason": None}
    why = (f"no {CPUINFO} on {platform.system()}" if text is None
           else "cpuinfo has no flags/Features line")
    return {"arch": platform.machine() or None, "vendor": None,
            "model": platform.processor() or None, "flags": [], "isa_level": None, "bf16": None,
            "fp16": None, "hypervisor_flag": None, "source": "platform",
            "reason": f"{why}: ISA flags not read"}


def khz_to_mhz(text: str | None) -> float | None:
    try:
        return int(text) / 1000 if text is not None else None
    except ValueError:
        return None


def cpufreq_values(sysfs: str, name: str) -> list[str]:
    paths = sorted(glob.glob(os.path.join(sysfs, "cpu[0-9]*", "cpufreq", name)))
    return [v for v in map(read_text, paths) if v is not None]


def mean_mhz(values: list[float]) -> float:
    return round(sum(values) / len(values), 1)


def cpu_frequency(sysfs: str = SYS_CPU) -> dict[str, Any]:
    """Scaling governor(s), driver, min/max/current MHz, boost and intel_pstate no_turbo,
    from sysfs. A VM usually has no cpufreq at all (the host owns the clock): then each is
    None with the reason. `cpuinfo_mhz` is what /proc/cpuinfo says, often nominal in a VM."""
    out: dict[str, Any] = {"reasons": {}}
    governors = cpufreq_values(sysfs, "scaling_governor")
    out["governors"] = sorted(set(governors)) or None  # all CPUs, deduplicated
    drivers = cpufreq_values(sysfs, "scaling_driver")
    out["driver"] = drivers[0] if drivers else None
    # Hybrid CPUs differ per core: the lowest floor, the highest ceiling, the mean now.
    for key, name, pick in (("min_mhz", "scaling_min_freq", min),
                            ("max_mhz", "scaling_max_freq", max),
                            ("current_mhz", "scaling_cur_freq", mean_mhz)):
        values = [v for v in map(khz_to_mhz, cpufreq_values(sysfs, name)) if v is not None]
        out[key] = pick(values) if values else None
    missing = (f"unreadable in {sysfs}/cpu*/cpufreq" if glob.glob(f"{sysfs}/cpu[0-9]*/cpufreq")
               else f"no {sysfs}/cpu*/cpufreq (no cpufreq driver: usual in a VM, "
                    "the host sets clocks)")
    for key in ("governors", "driver", "min_mhz", "max_mhz", "current_mhz"):
        if out[key] is None:
            out["reasons"][key] = missing
    switches = {"boost": (os.path.join(sysfs, "cpufreq", "boost"),
                          "absent (only acpi-cpufreq and amd-pstate offer it)"),
                "no_turbo": (os.path.join(sysfs, "intel_pstate", "no_turbo"),
                             "absent (intel_pstate is not the driver)")}
    for key, (path, absent) in switches.items():
        value = read_text(path)
        out[key] = value == "1" if value in ("0", "1") else None
        if out[key] is None:
            out["reasons"][key] = f"{path} {absent}"
    out["cpuinfo_mhz"] = cpuinfo_mhz()
    return out


def cpuinfo_mhz() -> float | None:
    fields = cpuinfo_fields(read_text(CPUINFO) or "")
    try:
        return float(fields["cpu mhz"])
    except (KeyError, ValueError):
        return None


def steal_share(sample_s: float) -> tuple[float | None, str | None]:
    """Stolen time / all CPU time over the sample. Linux counts guest time inside user and
    nice, so guest fields are left out of the total."""
    before = psutil.cpu_times()
    if not hasattr(before, "steal"):
        return None, f"psutil has no steal counter on {platform.system()}"
    time.sleep(sample_s)
    after = psutil.cpu_times()
    total = sum(getattr(after, f) - getattr(before, f) for f in after._fields
                if f not in ("guest", "guest_nice"))
    if total <= 0:
        return None, f"no CPU time counted in the {sample_s:g} s sample"
    return max(0.0, (after.steal - before.steal) / total), None


def hypervisor_and_steal(sample_s: float = 0.25, cpuinfo_text: str | None = None
                         ) -> dict[str, Any]:
    """Whether a hypervisor is present (cpuinfo's `hypervisor` flag, /sys/hypervisor/type)
    and the share of CPU time stolen by it over a short sample."""
    reasons: dict[str, str] = {}
    flag = cpu_isa(cpuinfo_text)["hypervisor_flag"]
    kind = read_text("/sys/hypervisor/type")
    if kind is None:
        reasons["hypervisor_type"] = "/sys/hypervisor/type absent (only Xen-style hosts expose it)"
    present = True if kind else flag
    if present is None:
        reasons["hypervisor"] = "no hypervisor flag in cpuinfo on this architecture"
    share, why = steal_share(sample_s)
    if why:
        reasons["steal_share"] = why
    return {"hypervisor": present, "hypervisor_type": kind or None, "steal_share": share,
            "sample_s": sample_s, "reasons": reasons}


# NVML's clock event (throttle) reason bits, as nvml.h defines them.
CLOCK_EVENTS = {0x1: "gpu_idle", 0x2: "applications_clocks_setting", 0x4: "sw_power_cap",
                0x8: "hw_slowdown", 0x10: "sync_boost", 0x20: "sw_thermal_slowdown",
                0x40: "hw_thermal_slowdown", 0x80: "hw_power_brake_slowdown",
                0x100: "display_clock_setting"}
COMPUTE_MODES = {0: "default", 1: "exclusive_thread", 2: "prohibited", 3: "exclusive_process"}


def decoded(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def nvml_fields(nvml: Any) -> dict[str, Callable[[Any], Any]]:
    """Each field of `gpu_details` as one NVML read of a device handle."""
    sm, mem = getattr(nvml, "NVML_CLOCK_SM", 1), getattr(nvml, "NVML_CLOCK_MEM", 2)
    watts = 1000.0  # NVML reports milliwatts
    return {
        "name": lambda h: decoded(nvml.nvmlDeviceGetName(h)),
        "uuid": lambda h: decoded(nvml.nvmlDeviceGetUUID(h)),
        "sm_clock_mhz": lambda h: nvml.nvmlDeviceGetClockInfo(h, sm),
        "sm_clock_max_mhz": lambda h: nvml.nvmlDeviceGetMaxClockInfo(h, sm),
        "sm_clock_app_mhz": lambda h: nvml.nvmlDeviceGetApplicationsClock(h, sm),
        "mem_clock_mhz": lambda h: nvml.nvmlDeviceGetClockInfo(h, mem),
        "mem_clock_max_mhz": lambda h: nvml.nvmlDeviceGetMaxClockInfo(h, mem),
        "mem_clock_app_mhz": lambda h: nvml.nvmlDeviceGetApplicationsClock(h, mem),
        "power_limit_w": lambda h: nvml.nvmlDeviceGetPowerManagementLimit(h) / watts,
        "power_limit_enforced_w": lambda h: nvml.nvmlDeviceGetEnforcedPowerLimit(h) / watts,
        "power_limit_default_w": lambda h: nvml.nvmlDeviceGetPowerManagementDefaultLimit(h) / watts,
        "power_draw_w": lambda h: nvml.nvmlDeviceGetPowerUsage(h) / watts,
        "ecc_current": lambda h: bool(nvml.nvmlDeviceGetEccMode(h)[0]),
        "ecc_pending": lambda h: bool(nvml.nvmlDeviceGetEccMode(h)[1]),
        "persistence_mode": lambda h: bool(nvml.nvmlDeviceGetPersistenceMode(h)),
        "compute_mode": lambda h: COMPUTE_MODES.get(m := nvml.nvmlDeviceGetComputeMode(h), str(m)),
        "temperature_c": lambda h: nvml.nvmlDeviceGetTemperature(
            h, getattr(nvml, "NVML_TEMPERATURE_GPU", 0)),
        "performance_state": lambda h: f"P{nvml.nvmlDeviceGetPerformanceState(h)}",
        "pcie_gen": lambda h: nvml.nvmlDeviceGetCurrPcieLinkGeneration(h),
        "pcie_width": lambda h: nvml.nvmlDeviceGetCurrPcieLinkWidth(h),
        "pcie_gen_max": lambda h: nvml.nvmlDeviceGetMaxPcieLinkGeneration(h),
        "pcie_width_max": lambda h: nvml.nvmlDeviceGetMaxPcieLinkWidth(h),
        "clock_event_reasons": lambda h: clock_events(nvml, h),
    }


def clock_events(nvml: Any, handle: Any) -> list[str]:
    """Why the clocks are below their maximum now; NVML renamed "throttle" to "event" in
    driver 535, and older pynvml releases have only the old name."""
    read = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) \
        or nvml.nvmlDeviceGetCurrentClocksThrottleReasons
    bits = read(handle)
    return [name for bit, name in CLOCK_EVENTS.items() if bits & bit]


def one_device(nvml: Any, index: int, fields: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """One GPU's fields; a call that raises (unsupported on this card, no permission) gives
    None for its field and a reason naming the error."""
    out: dict[str, Any] = {"index": index}
    reasons: dict[str, str] = {}
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except Exception as exc:  # e.g. a GPU fallen off the bus: the others still count
        return {**out, **dict.fromkeys(fields), "reasons": {"handle": why(exc)}}
    for key, read in fields.items():
        try:
            out[key] = read(handle)
        except Exception as exc:  # NVMLError_NotSupported, _NoPermission, ...
            out[key] = None
            reasons[key] = why(exc)
    out["reasons"] = reasons
    return out


def gpu_probe(nvml: Any | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """(one dict per NVIDIA GPU, None) or ([], why there are none to show)."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError:
            return [], "pynvml (nvidia-ml-py) is not installed"
    try:
        nvml.nvmlInit()
    except Exception as exc:
        return [], f"NVML did not start: {type(exc).__name__}: {exc}"
    try:
        fields = nvml_fields(nvml)
        count = nvml.nvmlDeviceGetCount()
        return [one_device(nvml, i, fields) for i in range(count)], \
            None if count else "NVML sees no GPU"
    except Exception as exc:
        return [], f"NVML failed: {type(exc).__name__}: {exc}"
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:  # a shutdown failure changes nothing already read
            pass


def gpu_details(nvml: Any | None = None) -> list[dict[str, Any]]:
    """Per NVIDIA GPU: clocks, power limits, ECC, persistence and compute mode, temperature,
    performance state, PCIe link and clock event reasons ([] without NVML; see gpu_probe)."""
    return gpu_probe(nvml)[0]


def machine_fingerprint() -> dict[str, Any]:
    """The parent-side fingerprint, no ML framework imported; about 0.3 s (the steal sample)."""
    gpus, gpus_reason = gpu_probe()
    return {"isa": cpu_isa(), "perf_env": perf_env(), "frequency": cpu_frequency(),
            "hypervisor": hypervisor_and_steal(0.25), "gpus": gpus, "gpus_reason": gpus_reason}
