"""One roofline per machine: per (device, precision) the best GEMM rate any framework reached
in a round, per device the best triad bandwidth, and every case placed against its own
round's roofs.

A case's FLOP/s is compared with the compute roof of the round it ran in (machine drift
between rounds cancels), and its arithmetic intensity (FLOPs per byte of least traffic)
decides whether the compute roof or the bandwidth roof bounds it. A roof also takes in the
GEMMs measured at a case's own shapes in that round: the machine did reach that rate, so it
is part of the machine's roof. A case above every roof of its round is impossible, and is
reported as a wrong count of work, not as a number."""

from __future__ import annotations

from collections import defaultdict
from statistics import median
from typing import Any

Key = tuple[str, str, str, int]  # (framework, device, precision, round)


def round_roofs(calibration: dict[Key, dict[str, Any]], round_: int,
                answers: dict[tuple[str, int], dict[str, Any]] | None = None,
                cases: dict[str, Any] | None = None) -> dict[str, dict[Any, float]]:
    """{"gemm": {(device, precision): FLOP/s}, "bandwidth": {device: bytes/s}} of one round:
    the best of every framework's calibration, and of the own-shape GEMMs and local triads
    cases measured in that round (`answers` by (case id, round), `cases` by id)."""
    gemm: dict[tuple[str, str], float] = {}
    bw: dict[str, float] = {}
    for (_fw, device, precision, r), answer in calibration.items():
        if r != round_ or answer.get("status") != "ok":
            continue
        rate = answer.get("gemm_flops_per_s")
        if rate:
            gemm[(device, precision)] = max(gemm.get((device, precision), 0.0), rate)
        bytes_per_s = (answer.get("bandwidth") or {}).get("bytes_per_s")
        if bytes_per_s:
            bw[device] = max(bw.get(device, 0.0), bytes_per_s)
    for (case_id, r), answer in (answers or {}).items():
        case = (cases or {}).get(case_id)
        if r != round_ or case is None or answer.get("status") != "ok":
            continue
        if answer.get("shape_gemm_flops_per_s"):
            key = (case.device, case.precision)
            gemm[key] = max(gemm.get(key, 0.0), answer["shape_gemm_flops_per_s"])
        if answer.get("local_bytes_per_s"):
            bw[case.device] = max(bw.get(case.device, 0.0), answer["local_bytes_per_s"])
    return {"gemm": gemm, "bandwidth": bw}


def machine_roofline(calibration: dict[Key, dict[str, Any]], rounds: int,
                     answers: dict[tuple[str, int], dict[str, Any]],
                     cases: dict[str, Any]) -> list[dict[str, Any]]:
    """The result's `roofline`: per (device, precision) the compute roof of every round, its
    best, which framework reached it, and the device's bandwidth roof."""
    per_round = [round_roofs(calibration, r, answers, cases) for r in range(rounds)]
    keys = sorted({k for roofs in per_round for k in roofs["gemm"]})
    leaders: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (fw, device, precision, _r), answer in calibration.items():
        rate = answer.get("gemm_flops_per_s")
        if rate:
            best = leaders[(device, precision)]
            best[fw] = max(best.get(fw, 0.0), rate)
    out = []
    for device, precision in keys:
        by_round = [roofs["gemm"].get((device, precision)) for roofs in per_round]
        bw = [roofs["bandwidth"].get(device) for roofs in per_round]
        frameworks = leaders.get((device, precision), {})
        out.append({
            "device": device, "precision": precision,
            "gemm_flops_per_s": max(r for r in by_round if r),
            "by_round": by_round,
            "best_framework": max(frameworks, key=frameworks.__getitem__) if frameworks else None,
            "frameworks": frameworks,
            "bandwidth_bytes_per_s": max((b for b in bw if b), default=None),
            "bandwidth_by_round": bw,
        })
    return out


def place(flops: float | None, size: float | None, step_s: float, roof: float | None,
          bandwidth: float | None) -> dict[str, Any]:
    """One round of one case against that round's roofs: achieved rates, the bound that
    applies (compute or bandwidth, by arithmetic intensity), and the share of it reached."""
    achieved = flops / step_s if flops else None
    moved = size / step_s if size else None
    out: dict[str, Any] = {"flops_per_s": achieved, "bytes_per_s": moved,
                           "pct_of_peak": achieved / roof if achieved and roof else None,
                           "pct_of_bandwidth": moved / bandwidth if moved and bandwidth else None}
    if achieved and size and roof and bandwidth:
        intensity = flops / size
        attainable = min(roof, intensity * bandwidth)
        out.update(arithmetic_intensity=intensity, attainable_flops_per_s=attainable,
                   bound="compute" if roof <= intensity * bandwidth else "bandwidth",
                   pct_of_roof=achieved / attainable)
    elif achieved and roof:
        out.update(bound="compute", pct_of_roof=out["pct_of_peak"])
    elif moved and bandwidth:
        out.update(bound="bandwidth", pct_of_roof=out["pct_of_bandwidth"])
    return out


def summarize_rounds(placed: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over a case's rounds of each placed quantity; the per-round values kept."""
    out: dict[str, Any] = {}
    for key in ("pct_of_peak", "pct_of_bandwidth", "pct_of_roof", "attainable_flops_per_s",
                "arithmetic_intensity", "bytes_per_s"):
        values = [p[key] for p in placed if p.get(key) is not None]
        out[key] = median(values) if values else None
    bounds = [p["bound"] for p in placed if p.get("bound")]
    out["bound"] = max(set(bounds), key=bounds.count) if bounds else None
    out["pct_of_peak_by_round"] = [p.get("pct_of_peak") for p in placed]
    return out


__all__ = ["machine_roofline", "place", "round_roofs", "summarize_rounds"]
