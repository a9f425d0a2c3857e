"""From journal answers to the result document: rounds merged, statistics and metrics derived."""

from __future__ import annotations

from statistics import median
from typing import Any

from .. import __version__
from .cases import Case, specs
from .frameworks import FRAMEWORKS
from .results import SCHEMA_VERSION
from .stats import summarize

SEVERITY = {"failed": 3, "timeout": 3, "interrupted": 2, "skipped": 1, "ok": 0}


def best_calibration(calibration: dict[tuple[str, str, str, int], dict[str, Any]]
                     ) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per mode, the round with the highest GEMM rate (the machine's peak is its best
    moment), keeping every round's rate so a reader sees how much the machine moved."""
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    rates: dict[tuple[str, str, str], list[float | None]] = {}
    for (*key, _round), answer in sorted(calibration.items()):
        mode = (key[0], key[1], key[2])
        rate = answer.get("gemm_flops_per_s")
        rates.setdefault(mode, []).append(rate)
        if mode not in best or (rate or 0) > (best[mode].get("gemm_flops_per_s") or 0):
            best[mode] = answer
    return {mode: {**answer, "by_round": rates[mode]} for mode, answer in best.items()}


def calibration_list(best: dict[tuple[str, str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for (fw, device, precision), answer in sorted(best.items()):
        entry = {"framework": fw, "device": device, "precision": precision,
                 "gemm_flops_per_s": answer.get("gemm_flops_per_s"),
                 "reason": answer.get("reason"), "by_round": answer["by_round"]}
        if "by_size" in answer:
            entry["by_size"] = answer["by_size"]
        out.append(entry)
    return out


def empty_case(case: Case, status: str, reason: str | None) -> dict[str, Any]:
    return {"id": case.id, **{k: v for k, v in case.to_dict().items() if k != "tag"},
            "status": status, "reason": reason, "setup_s": None, "repetitions_s": [],
            "steps_per_repetition": None, "metrics": {"unmeasured": {}}, "warnings": []}


def merge_case(case: Case, rounds: list[dict[str, Any] | None], peak: float | None,
               peak_reason: str | None, expected_rounds: int) -> dict[str, Any]:
    done = [a for a in rounds if a is not None]
    if not done:
        return empty_case(case, "interrupted", "the run stopped before this case ran")
    ok = [a for a in done if a["status"] == "ok"]
    worst = max(done, key=lambda a: SEVERITY[a["status"]])
    status = worst["status"]
    reason = worst.get("reason")
    if status != "ok" and ok:
        reason = f"round {rounds.index(worst) + 1}: {reason}"
    if not ok:
        return empty_case(case, status, reason)
    entry = empty_case(case, status, reason)
    steps = ok[0]["steps_per_repetition"]
    reps = [r for a in ok for r in a["repetitions_s"]]
    items = ok[0]["items_per_step"]
    step_s, items_per_s, warnings = summarize(reps, steps, items)
    if len(done) < expected_rounds:
        warnings.append(f"only {len(done)} of {expected_rounds} rounds ran")
    unmeasured: dict[str, str] = {}
    flops = specs()[case.workload].flops_per_step(case.params)
    flops_per_s = flops / step_s["median"] if flops else None
    if flops_per_s is None:
        unmeasured["flops_per_s"] = "this workload defines no FLOP count"
    pct = flops_per_s / peak if flops_per_s and peak else None
    if pct is None and flops_per_s is not None:
        unmeasured["pct_of_peak"] = peak_reason or "no GEMM calibration for this mode"
    if pct is not None and pct > 1.0:
        warnings.append(f"{pct:.0%} of the measured GEMM peak: the calibration under-measured "
                        "the peak, or the workload does less work than its FLOP count says")
    energy = [a.get("energy_j") for a in ok]
    energy_j = sum(energy) if all(e is not None for e in energy) else None
    window_items = sum(a["window_steps"] for a in ok) * items
    window_s = sum(a["window_s"] for a in ok)
    if energy_j is None:
        unmeasured["energy_j"] = ok[0].get("energy_reason") or "no energy counter"
    device_peaks = [a.get("peak_device_memory_bytes") for a in ok]
    device_peak = max(device_peaks) if all(p is not None for p in device_peaks) else None
    if device_peak is None:
        unmeasured["peak_device_memory_bytes"] = ok[0].get("device_memory_reason") or "unmeasured"
    if not all(a.get("host_peak_exact", True) for a in ok):
        warnings.append("peak host memory is the worker's lifetime peak (could not reset it)")
    quality = next((a["quality"] for a in done if a.get("quality") is not None), None)
    if quality is not None and quality.get("passed") is False:
        warnings.append("quality below its bar")
    entry.update({
        "setup_s": median(a["setup_s"] for a in ok), "repetitions_s": reps,
        "steps_per_repetition": steps, "items_per_step": items,
        "math": ok[0].get("math", {}), "warnings": warnings,
        "metrics": {
            "items_per_s": items_per_s, "step_s": step_s, "flops_per_s": flops_per_s,
            "pct_of_peak": pct,
            "peak_host_memory_bytes": max(a["peak_host_memory_bytes"] for a in ok),
            "peak_device_memory_bytes": device_peak, "energy_j": energy_j,
            "energy_per_item_j": energy_j / window_items if energy_j is not None else None,
            "avg_power_w": energy_j / window_s if energy_j is not None and window_s else None,
            "energy_source": ok[0].get("energy_source") if energy_j is not None else None,
            "quality": quality, "unmeasured": unmeasured,
            "extra": next((a["extra"] for a in ok if a.get("extra") is not None), None),
        },
    })
    return entry


def build_result(header: dict[str, Any], settings: dict[str, Any], cases: list[Case],
                 skipped: dict[str, str],
                 calibration: dict[tuple[str, str, str, int], dict[str, Any]],
                 answers: dict[tuple[str, int], dict[str, Any]], *, finished_at: str,
                 complete: bool) -> dict[str, Any]:
    from ..suites.registry import source_hash

    rounds = settings["rounds"]
    peaks = best_calibration(calibration)
    out_cases = []
    for case in cases:
        if case.id in skipped:
            entry = empty_case(case, "skipped", skipped[case.id])
        else:
            fw = FRAMEWORKS[case.framework]
            key = (getattr(fw, "calibrate_as", fw.name), case.device, case.precision)
            cal = peaks.get(key, {})
            entry = merge_case(case, [answers.get((case.id, r)) for r in range(rounds)],
                               cal.get("gemm_flops_per_s"), cal.get("reason"), rounds)
        entry["source_hash"] = source_hash(case.workload)
        out_cases.append(entry)
    return {
        "schema_version": SCHEMA_VERSION, "run_id": header["run_id"], "suite": header["suite"],
        "started_at": header["started_at"], "finished_at": finished_at, "complete": complete,
        "tool": {"name": "dbnbench", "version": __version__},
        "machine": header["machine"],
        "settings": settings,
        "calibration": calibration_list(peaks),
        "cases": out_cases,
    }
