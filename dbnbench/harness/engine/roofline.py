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
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import median

from ...format.results import Calibration, Roof
from ..plan.cases import Case
from ..records import CalibrationAnswer, CaseAnswer

Key = tuple[str, str, str, str, int]  # (arm, framework, device, precision, round)
CaseKey = tuple[str, str, int]  # (case id, arm, round)


@dataclass(frozen=True)
class Roofs:
    """One round's roofs: GEMM FLOP/s per (device, precision), triad bytes/s per device."""

    gemm: dict[tuple[str, str], float] = field(default_factory=dict)
    bandwidth: dict[str, float] = field(default_factory=dict)


def raise_to(table: dict[tuple[str, str], float] | dict[str, float], key: object,
             value: float | None) -> None:
    if value:
        table[key] = max(table.get(key, 0.0), value)  # type: ignore[index, call-overload]


def best_rate(answer: CalibrationAnswer) -> float | None:
    """A mode's roof in one round: its GEMM on uniform operands, or on 0/1 operands at the
    same size where those were timed and ran faster."""
    rates = [r for r in (answer.gemm_flops_per_s, answer.binary_flops_per_s) if r]
    return max(rates) if rates else None


def round_roofs(calibration: Mapping[Key, CalibrationAnswer], round_: int,
                answers: Mapping[CaseKey, CaseAnswer] | None = None,
                cases: Mapping[str, Case] | None = None) -> Roofs:
    """The best of every framework's calibration in one round (every arm's: the roof is the
    machine's), and of the own-shape GEMMs and local triads cases measured in that round."""
    roofs = Roofs()
    for (_arm, _fw, device, precision, r), answer in calibration.items():
        if r == round_ and answer.status == "ok":
            raise_to(roofs.gemm, (device, precision), best_rate(answer))
            raise_to(roofs.bandwidth, device,
                     answer.bandwidth.bytes_per_s if answer.bandwidth else None)
    for (case_id, _arm, r), a in (answers or {}).items():
        case = (cases or {}).get(case_id)
        if r == round_ and case is not None and a.status == "ok":
            raise_to(roofs.gemm, (case.device, case.precision), a.shape_gemm_flops_per_s)
            raise_to(roofs.bandwidth, case.device, a.local_bytes_per_s)
    return roofs


def machine_roofline(calibration: Mapping[Key, CalibrationAnswer], rounds: int,
                     answers: Mapping[CaseKey, CaseAnswer],
                     cases: Mapping[str, Case]) -> list[Roof]:
    """The result's `roofline`: per (device, precision) the compute roof of every round, its
    best, which framework reached it, and the device's bandwidth roof."""
    per_round = [round_roofs(calibration, r, answers, cases) for r in range(rounds)]
    keys = sorted({k for roofs in per_round for k in roofs.gemm})
    leaders: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (arm, fw, device, precision, _r), answer in calibration.items():
        rate = best_rate(answer)
        if rate:
            best = leaders[(device, precision)]
            name = f"{arm}/{fw}" if arm else fw
            best[name] = max(best.get(name, 0.0), rate)
    out: list[Roof] = []
    for device, precision in keys:
        by_round = [roofs.gemm.get((device, precision)) for roofs in per_round]
        bw = [roofs.bandwidth.get(device) for roofs in per_round]
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


def describe_rounds(entry: Calibration, rounds: list[CalibrationAnswer]) -> None:
    """How each round's roof of one mode came about, into its `calibration[]` entry:
    `roof_by_round` says swept, checked (a drift check at the last quiet sweep's best size
    that agreed with it: the check's own rate) or carried (that sweep's rate, the check
    having been timed on a busy machine); `drift_by_round` each check's rate over the
    sweep's; `busy_by_round` a roof timed while other processes used the CPU even when
    measured again (flagged, not hidden); `notes_by_round` why. The size sweep shown is the
    best swept round's: a check times one size."""
    swept = [a for a in rounds if a.status == "ok" and a.roof in (None, "swept")]
    if swept:
        best = max(swept, key=lambda a: a.gemm_flops_per_s or 0.0)
        entry["by_size"], entry["best_size"] = best.by_size, best.best_size
        entry["stopped"] = best.stopped
    entry["roof_by_round"] = [(a.roof or "swept") if a.status == "ok" else None
                              for a in rounds]
    entry["drift_by_round"] = [a.drift for a in rounds]
    entry["busy_by_round"] = [a.contention.contended if a.contention else None
                              for a in rounds]
    entry["notes_by_round"] = [a.note for a in rounds]


Placed = dict[str, float | str | None]


def place(flops: float | None, size: float | None, step_s: float, roof: float | None,
          bandwidth: float | None) -> Placed:
    """One round of one case against that round's roofs: achieved rates, the bound that
    applies (compute or bandwidth, by arithmetic intensity), and the share of it reached."""
    achieved = flops / step_s if flops else None
    moved = size / step_s if size else None
    out: Placed = {"flops_per_s": achieved, "bytes_per_s": moved,
                   "pct_of_peak": achieved / roof if achieved and roof else None,
                   "pct_of_bandwidth": moved / bandwidth if moved and bandwidth else None}
    if flops and achieved and size and roof and bandwidth:
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


@dataclass(frozen=True)
class Placement:
    """A case against its rounds' roofs: medians over rounds, the per-round % of peak."""

    flops_per_s: float | None
    pct_of_peak: float | None
    pct_of_peak_by_round: list[float | None]
    pct_of_bandwidth: float | None
    pct_of_roof: float | None
    attainable_flops_per_s: float | None
    arithmetic_intensity: float | None
    bytes_per_s: float | None
    bound: str | None


def number(p: Placed, key: str) -> float | None:
    value = p.get(key)
    return value if isinstance(value, float) else None


def summarize_rounds(placed: list[Placed]) -> Placement:
    """Medians over a case's rounds of each placed quantity; the per-round values kept.
    FLOP/s and % of peak are both medians of per-round values, so one is the other over a
    roof (exactly so where the rounds' roofs are equal), never two summaries of the rounds
    that part when the rounds do (a pooled median of two rounds 90× apart did)."""
    def mid(key: str) -> float | None:
        values = [v for p in placed if (v := number(p, key)) is not None]
        return median(values) if values else None

    bounds = [str(p["bound"]) for p in placed if p.get("bound")]
    return Placement(mid("flops_per_s"), mid("pct_of_peak"),
                     [number(p, "pct_of_peak") for p in placed], mid("pct_of_bandwidth"),
                     mid("pct_of_roof"), mid("attainable_flops_per_s"),
                     mid("arithmetic_intensity"), mid("bytes_per_s"),
                     max(set(bounds), key=bounds.count) if bounds else None)


__all__ = ["Placement", "Roofs", "describe_rounds", "machine_roofline", "place", "round_roofs",
           "summarize_rounds"]
