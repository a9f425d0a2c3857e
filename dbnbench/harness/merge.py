"""From journal answers to the result document: rounds merged, statistics and metrics derived."""

from __future__ import annotations

from statistics import median
from typing import Any

from .. import __version__
from .calibrate import ITEMSIZE
from .cases import Case, specs
from .findings import findings
from .frameworks import FRAMEWORKS
from .probes.contention import merge_windows
from .results import SCHEMA_VERSION
from .roofline import Key, machine_roofline, place, round_roofs, summarize_rounds
from .stats import summarize

SEVERITY = {"failed": 3, "timeout": 3, "interrupted": 2, "skipped": 1, "ok": 0}
# A case is above its round's roof only if it beats it by more than the timing noise a
# median of repetitions still carries; beyond this it is a wrong count of work.
ROOF_SLACK = 1.0


def calibration_key(case: Case) -> tuple[str, str, str]:
    fw = FRAMEWORKS[case.framework]
    return getattr(fw, "calibrate_as", fw.name), case.device, case.precision


def calibration_list(calibration: dict[Key, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each framework's own GEMM rate per mode: the best round, every round's rate, the size
    sweep of the best round and why it stopped, and the triad bandwidth where measured."""
    modes: dict[tuple[str, str, str], list[tuple[int, dict[str, Any]]]] = {}
    for (fw, device, precision, r), answer in sorted(calibration.items()):
        modes.setdefault((fw, device, precision), []).append((r, answer))
    out = []
    for (fw, device, precision), rounds in modes.items():
        rates = [a.get("gemm_flops_per_s") for _, a in rounds]
        best = max(rounds, key=lambda ra: ra[1].get("gemm_flops_per_s") or 0.0)[1]
        bandwidth = [(a.get("bandwidth") or {}).get("bytes_per_s") for _, a in rounds]
        entry = {"framework": fw, "device": device, "precision": precision,
                 "gemm_flops_per_s": best.get("gemm_flops_per_s"), "reason": best.get("reason"),
                 "by_round": rates, "by_size": best.get("by_size", {}),
                 "best_size": best.get("best_size"), "stopped": best.get("stopped")}
        if any(bandwidth):
            entry["bandwidth_bytes_per_s"] = max(b for b in bandwidth if b)
            entry["bandwidth_by_round"] = bandwidth
        out.append(entry)
    return out


def empty_case(case: Case, status: str, reason: str | None) -> dict[str, Any]:
    return {"id": case.id, **{k: v for k, v in case.to_dict().items() if k != "tag"},
            "status": status, "reason": reason, "setup_s": None, "repetitions_s": [],
            "steps_per_repetition": [], "metrics": {"unmeasured": {}}, "warnings": [],
            "contention": None}


def status_of(case: Case, rounds: list[dict[str, Any] | None]) -> tuple[str, str | None]:
    done = [a for a in rounds if a is not None]
    worst = max(done, key=lambda a: SEVERITY[a["status"]])
    reason = worst.get("reason")
    if worst["status"] != "ok" and any(a["status"] == "ok" for a in done):
        reason = f"round {rounds.index(worst) + 1}: {reason}"
    return worst["status"], reason


def roof_metrics(case: Case, ok: list[tuple[int, dict[str, Any]]],
                 roofs: list[dict[str, dict[Any, float]]],
                 framework_peaks: dict[Key, float]) -> tuple[dict[str, Any], str | None]:
    """Every round of the case against that round's roofs; the medians over rounds. Returns
    (metrics, why the case is impossible) — the second is set when a round beat every roof."""
    spec = specs()[case.workload]
    flops = spec.flops_per_step(case.params)
    size = spec.bytes_per_step(case.params, ITEMSIZE[case.precision])
    placed, own = [], []
    for r, answer in ok:
        step_s = median(answer["repetitions_s"]) / answer["steps_per_repetition"]
        roof = roofs[r]["gemm"].get((case.device, case.precision))
        placed.append(place(flops, size, step_s, roof, roofs[r]["bandwidth"].get(case.device)))
        fw_peak = framework_peaks.get((*calibration_key(case), r))
        own.append(flops / step_s / fw_peak if flops and fw_peak else None)
    out = summarize_rounds(placed)
    own_values = [v for v in own if v is not None]
    out["pct_of_framework_peak"] = median(own_values) if own_values else None
    over = [p for p in placed if (p.get("pct_of_peak") or 0) > ROOF_SLACK
            or (p.get("pct_of_bandwidth") or 0) > ROOF_SLACK]
    if over:
        p = over[0]
        what = (f"{p['flops_per_s'] / 1e9:.3g} GFLOP/s, {p['pct_of_peak']:.0%} of the best GEMM "
                "this round, also at the case's own shapes" if (p.get("pct_of_peak") or 0) > 1
                else f"{p['bytes_per_s'] / 1e9:.3g} GB/s, {p['pct_of_bandwidth']:.0%} of the best "
                "triad this round, also over the case's own bytes")
        return out, (f"impossible rate: {what}; the workload's count of work "
                     "(flops_per_step / bytes_per_step) is wrong")
    return out, None


def merge_case(case: Case, rounds: list[dict[str, Any] | None],
               roofs: list[dict[str, dict[Any, float]]], framework_peaks: dict[Key, float],
               expected_rounds: int) -> dict[str, Any]:
    if not any(a is not None for a in rounds):
        return empty_case(case, "interrupted", "the run stopped before this case ran")
    status, reason = status_of(case, rounds)
    ok = [(r, a) for r, a in enumerate(rounds) if a is not None and a["status"] == "ok"]
    failed_math = next((a.get("math") for a in rounds if a and a.get("math")), None)
    if not ok:
        entry = empty_case(case, status, reason)
        if failed_math:
            entry["math"] = failed_math  # what the probe saw, when it failed the case
        return entry
    placed, impossible = roof_metrics(case, ok, roofs, framework_peaks)
    if impossible:
        entry = empty_case(case, "failed", impossible)
        entry["math"] = ok[0][1].get("math", {})
        return entry
    entry = empty_case(case, status, reason)
    answers = [a for _, a in ok]
    reps = [r for a in answers for r in a["repetitions_s"]]
    steps = [a["steps_per_repetition"] for a in answers for _ in a["repetitions_s"]]
    items = answers[0]["items_per_step"]
    step_s, items_per_s, warnings = summarize(reps, steps, items)
    done = sum(a is not None for a in rounds)
    if done < expected_rounds:
        warnings.append(f"only {done} of {expected_rounds} rounds ran")
    contention = merge_windows([a["contention"] for a in answers if a.get("contention")])
    if contention and contention["contended"]:
        warnings.append(f"contended: other processes used up to {contention['other_cpu_share']:.0%}"
                        f" of the CPU (steal {contention['steal_share']:.0%}) while it was timed")
    entry.update({
        "setup_s": median(a["setup_s"] for a in answers), "repetitions_s": reps,
        "steps_per_repetition": steps, "items_per_step": items,
        "math": answers[0].get("math", {}), "warnings": warnings, "contention": contention,
        "metrics": measured_metrics(case, answers, rounds, step_s, items_per_s, placed, warnings),
    })
    return entry


def measured_metrics(case: Case, ok: list[dict[str, Any]], rounds: list[dict[str, Any] | None],
                     step_s: dict[str, Any], items_per_s: dict[str, Any],
                     placed: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    unmeasured: dict[str, str] = {}
    flops = specs()[case.workload].flops_per_step(case.params)
    if flops is None:
        unmeasured["flops_per_s"] = "this workload defines no FLOP count"
    if flops and placed["pct_of_peak"] is None:
        unmeasured["pct_of_peak"] = "no GEMM roof was measured for this device and precision"
    energy = [a.get("energy_j") for a in ok]
    energy_j = sum(energy) if all(e is not None for e in energy) else None
    window_items = sum(a["window_steps"] for a in ok) * ok[0]["items_per_step"]
    window_s = sum(a["window_s"] for a in ok)
    if energy_j is None:
        unmeasured["energy_j"] = ok[0].get("energy_reason") or "no energy counter"
    device_peaks = [a.get("peak_device_memory_bytes") for a in ok]
    device_peak = max(device_peaks) if all(p is not None for p in device_peaks) else None
    if device_peak is None:
        unmeasured["peak_device_memory_bytes"] = ok[0].get("device_memory_reason") or "unmeasured"
    if not all(a.get("host_peak_exact", True) for a in ok):
        warnings.append("peak host memory is the worker's lifetime peak (could not reset it)")
    quality = next((a["quality"] for a in rounds if a and a.get("quality") is not None), None)
    if quality is not None and quality.get("passed") is False:
        warnings.append("quality below its bar")
    return {
        "items_per_s": items_per_s, "step_s": step_s,
        "flops_per_s": flops / step_s["median"] if flops else None,
        "pct_of_peak": placed["pct_of_peak"], "pct_of_peak_by_round": placed["pct_of_peak_by_round"],
        "pct_of_framework_peak": placed["pct_of_framework_peak"],
        "roofline": {k: placed[k] for k in ("bound", "pct_of_roof", "arithmetic_intensity",
                                            "attainable_flops_per_s", "bytes_per_s",
                                            "pct_of_bandwidth")},
        "peak_host_memory_bytes": max(a["peak_host_memory_bytes"] for a in ok),
        "peak_device_memory_bytes": device_peak, "energy_j": energy_j,
        "energy_per_item_j": energy_j / window_items if energy_j is not None else None,
        "avg_power_w": energy_j / window_s if energy_j is not None and window_s else None,
        "energy_source": ok[0].get("energy_source") if energy_j is not None else None,
        "quality": quality, "unmeasured": unmeasured,
        "extra": next((a["extra"] for a in ok if a.get("extra") is not None), None),
    }


def build_result(header: dict[str, Any], settings: dict[str, Any], cases: list[Case],
                 skipped: dict[str, str], calibration: dict[Key, dict[str, Any]],
                 answers: dict[tuple[str, int], dict[str, Any]], *, finished_at: str,
                 complete: bool) -> dict[str, Any]:
    from ..suites.registry import source_hash

    rounds = settings["rounds"]
    by_id = {c.id: c for c in cases}
    roofs = [round_roofs(calibration, r, answers, by_id) for r in range(rounds)]
    framework_peaks = {k: a["gemm_flops_per_s"] for k, a in calibration.items()
                       if a.get("gemm_flops_per_s")}
    out_cases = []
    for case in cases:
        if case.id in skipped:
            entry = empty_case(case, "skipped", skipped[case.id])
        else:
            entry = merge_case(case, [answers.get((case.id, r)) for r in range(rounds)],
                               roofs, framework_peaks, rounds)
        entry["source_hash"] = source_hash(case.workload)
        out_cases.append(entry)
    doc = {
        "schema_version": SCHEMA_VERSION, "run_id": header["run_id"], "suite": header["suite"],
        "started_at": header["started_at"], "finished_at": finished_at, "complete": complete,
        "tool": {"name": "dbnbench", "version": __version__},
        "machine": header["machine"],
        "settings": settings,
        "start_load": header.get("start_load"),
        "calibration": calibration_list(calibration),
        "roofline": machine_roofline(calibration, rounds, answers, by_id),
        "cases": out_cases,
    }
    doc["findings"] = findings(doc)
    return doc
