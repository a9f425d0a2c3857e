"""Checks that only a real card can answer, run by ci/gpu-check after its suite
(issue 18 items 15-17). Usage: python ci/gpu_checks.py RESULT.json

Each check prints one line and the script exits 1 if any failed. The checks on the result
file are functions of the document, tested on CPU with faked documents
(tests/test_gpu_checks.py); the measurements need torch with CUDA.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

# A 4096³ product that reached less than this share of the run's own roof in the same mode
# would be timing something other than the card's arithmetic (launches, clocks ramping).
REFERENCE_SHARE = 0.2


def own_processes_problem(doc: Mapping[str, Any]) -> str | None:
    """Item 15: no GPU case counts this run's own processes as a neighbour. On a lent,
    otherwise idle card every GPU case's `other_gpu_processes` must be empty (null where
    NVML could not say is not a pass either: the probe is what is being checked)."""
    for case in doc.get("cases", []):
        if not str(case.get("device", "")).startswith("cuda") or case.get("status") != "ok":
            continue
        others = (case.get("contention") or {}).get("other_gpu_processes")
        if others is None:
            return f"{case['id']}: NVML named no compute processes (probe unavailable)"
        if others:
            return f"{case['id']}: processes {others} counted as neighbours on an idle card"
    return None


def binary_roof_problem(doc: Mapping[str, Any]) -> str | None:
    """Item 17: every GPU mode's roof was also timed on 0/1 operands, and no case failed
    as an impossible rate."""
    gpu = [c for c in doc.get("calibration", []) if str(c.get("device", "")).startswith("cuda")]
    if not gpu:
        return "no GPU mode was calibrated"
    for entry in gpu:
        if entry.get("gemm_flops_per_s") and not any(entry.get("binary_flops_per_s_by_round")
                                                     or []):
            return (f"{entry['framework']} {entry['precision']}: no GEMM on 0/1 operands "
                    "in its roof")
    for case in doc.get("cases", []):
        if "impossible rate" in str(case.get("reason") or ""):
            return f"{case['id']}: {case['reason']}"
    return None


def reference_problem(reference_flops_per_s: float, roof_flops_per_s: float) -> str | None:
    """Item 16: the reference GEMM measures the card, not its launch rate."""
    share = reference_flops_per_s / roof_flops_per_s
    if share < REFERENCE_SHARE:
        return (f"reference GEMM at {reference_flops_per_s:.3g} FLOP/s is {share:.0%} of the "
                f"roof ({roof_flops_per_s:.3g}): launch-bound")
    return None


def measured() -> list[tuple[str, Callable[[], str | None]]]:
    """The checks that time or ask the card itself."""
    import torch

    from dbnbench.harness.frameworks.torch_fw import TorchFramework
    from dbnbench.harness.measure import calibrate
    from dbnbench.harness.probes.contention import nvml_handle

    def same_card() -> str | None:  # item 15: NVML's handle is CUDA's device 0
        import pynvml

        pynvml.nvmlInit()
        handle = nvml_handle(pynvml, 0, os.environ.get("CUDA_VISIBLE_DEVICES"))
        nvml_uuid = pynvml.nvmlDeviceGetUUID(handle)
        nvml_uuid = nvml_uuid.decode() if isinstance(nvml_uuid, bytes) else str(nvml_uuid)
        cuda_uuid = str(torch.cuda.get_device_properties(0).uuid)
        print(f"  NVML {nvml_uuid}, CUDA {cuda_uuid}")
        return None if cuda_uuid in nvml_uuid else "NVML's device is not CUDA's device 0"

    def reference() -> str | None:
        fw = TorchFramework("cuda:0", "fp32", threads=1, seed=0)
        fw.activate()
        sweep = calibrate.calibrate(fw)
        big = calibrate.reference_rate(fw)
        small_n = calibrate.REFERENCE_SIZE
        small = 2.0 * small_n ** 3 / min(fw.gemm_times(small_n, small_n, small_n, 7, 50))
        print(f"  fp32 roof {sweep.rate:.3g}, reference 4096³ {big:.3g}, 256³ {small:.3g} FLOP/s")
        return reference_problem(big, sweep.rate)

    def operands() -> str | None:  # item 17: how far apart the two kinds run on this card
        for precision in ("fp32", "fp16-mixed", "bf16-mixed"):
            fw = TorchFramework("cuda:0", precision, threads=1, seed=0)
            fw.activate()
            sweep = calibrate.calibrate(fw)
            ratio = (sweep.binary_rate or 0.0) / sweep.rate
            print(f"  {precision} at {sweep.best_size}: uniform {sweep.rate:.3g}, "
                  f"0/1 {sweep.binary_rate or 0:.3g} FLOP/s ({ratio:.2f}×)")
        return None

    return [("NVML handle is CUDA's device", same_card),
            ("reference GEMM is not launch-bound", reference),
            ("uniform vs 0/1 operands", operands)]


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("no own process counted as a GPU neighbour", lambda: own_processes_problem(doc)),
        ("roofs timed on 0/1 operands too", lambda: binary_roof_problem(doc))]
    try:
        checks += measured()
    except ImportError as exc:
        print(f"ci/gpu_checks: measured checks not run ({exc})")
    failed = 0
    for name, run in checks:
        try:
            problem = run()
        except Exception as exc:  # one check's crash is its failure, not the script's
            problem = f"{type(exc).__name__}: {exc}"
        print(f"ci/gpu_checks: {name}: {'FAILED: ' + problem if problem else 'ok'}")
        failed += problem is not None
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python ci/gpu_checks.py RESULT.json", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))
