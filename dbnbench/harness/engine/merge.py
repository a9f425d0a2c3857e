"""From the journal's typed answers to the result document: rounds merged, statistics and
metrics derived, every case placed against its rounds' roofs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import median
from typing import cast

from ... import __version__
from ...format.precisions import ITEMSIZE
from ...format.results import (
    SCHEMA_VERSION,
    Calibration,
    CaseResult,
    EnergyMethod,
    Metrics,
    ResultDoc,
)
from ..measure.stats import summarize
from ..plan.cases import Case
from ..plan.registry import Registry
from ..probes.contention import merge_windows
from ..records import JSON, CalibrationAnswer, CaseAnswer, Header, JSONObject, as_json
from .findings import findings
from .journal import Journal
from .roofline import (
    Key,
    Placed,
    Placement,
    Roofs,
    describe_rounds,
    machine_roofline,
    place,
    round_roofs,
    summarize_rounds,
)

SEVERITY = {"failed": 3, "timeout": 3, "interrupted": 2, "skipped": 1, "ok": 0}
# A case a little faster than every roof of its round is timing noise (the roof and the case
# were measured at different moments): the case's own rate is then the round's roof. Beyond
# this margin no noise explains it, and the count of work is wrong.
NOISE_MARGIN = 1.10


def calibration_list(calibration: Mapping[Key, CalibrationAnswer]) -> list[Calibration]:
    """Each framework's own GEMM rate per mode: the best round, every round's rate, the size
    sweep of the best round and why it stopped, and the triad bandwidth where measured."""
    modes: dict[tuple[str, str, str, str], list[CalibrationAnswer]] = {}
    for (arm, fw, device, precision, _r), answer in sorted(calibration.items()):
        modes.setdefault((arm, fw, device, precision), []).append(answer)
    out: list[Calibration] = []
    for (arm, fw, device, precision), rounds in modes.items():
        best = max(rounds, key=lambda a: a.gemm_flops_per_s or 0.0)
        bandwidth = [a.bandwidth.bytes_per_s if a.bandwidth else None for a in rounds]
        entry: Calibration = {
            "framework": fw, "device": device, "precision": precision,
            "gemm_flops_per_s": best.gemm_flops_per_s, "reason": best.reason,
            "by_round": [a.gemm_flops_per_s for a in rounds], "by_size": best.by_size,
            "best_size": best.best_size, "stopped": best.stopped}
        binary = [a.binary_flops_per_s for a in rounds]
        if any(binary):  # a GPU's roof also on 0/1 operands: the round's roof is the best
            entry["binary_flops_per_s_by_round"] = binary
        if any(bandwidth):
            entry["bandwidth_bytes_per_s"] = max(b for b in bandwidth if b)
            entry["bandwidth_by_round"] = bandwidth
        if arm:
            entry["arm"] = arm
        describe_rounds(entry, rounds)  # swept, checked or carried, and why
        out.append(entry)
    return out


def empty_case(case: Case, status: str, reason: str | None,
               math: JSONObject | None = None) -> CaseResult:
    entry: CaseResult = {
        "id": case.id, "workload": case.workload, "framework": case.framework,
        "device": case.device, "precision": case.precision, "tag": case.tag,
        "params": case.params.to_json(),
        "status": status, "reason": reason, "setup_s": None, "repetitions_s": [],
        "steps_per_repetition": [], "metrics": {"unmeasured": {}}, "warnings": [],
        "contention": None}
    if math:
        entry["math"] = math  # what the product probe saw, when it failed the case
    if case.published:
        entry["published"] = case.published
    return entry


def status_of(rounds: list[CaseAnswer | None]) -> tuple[str, str | None]:
    done = [a for a in rounds if a is not None]
    worst = max(done, key=lambda a: SEVERITY[a.status])
    reason = worst.reason
    if worst.status != "ok" and any(a.status == "ok" for a in done):
        reason = f"round {rounds.index(worst) + 1}: {reason}"
    return worst.status, reason


def step_seconds(answer: CaseAnswer) -> float:
    return median(answer.repetitions_s) / answer.steps_per_repetition


def over_the_roof(placed: list[Placed], warnings: list[str]) -> str | None:
    """Rounds above their roof: within NOISE_MARGIN the case's rate becomes the roof (a
    warning says so); beyond it, why the case is impossible."""
    for p in placed:
        for key, what in (("pct_of_peak", "GEMM"), ("pct_of_bandwidth", "triad")):
            share = p.get(key)
            if not isinstance(share, float) or share <= 1:
                continue
            if share > NOISE_MARGIN:
                unit = "flops_per_step" if what == "GEMM" else "bytes_per_step"
                against = ("its own shapes on uniform and 0/1 operands" if what == "GEMM"
                           else "a triad over its own bytes")
                return (f"impossible rate: {share:.0%} of the best {what} this round, also "
                        f"against {against}; the workload's count of work ({unit}) is wrong")
            p[key] = 1.0
            warnings.append(f"ran {share - 1:.0%} faster than the best {what} of its round "
                            "(timing noise): its own rate is that round's roof")
    return None


def placement(case: Case, arm: str, ok: list[tuple[int, CaseAnswer]], roofs: list[Roofs],
              framework_peaks: Mapping[Key, float], registry: Registry, warnings: list[str]
              ) -> tuple[Placement, float | None, str | None]:
    """Every round of the case against that round's roofs. Returns the placement, the
    median share of its own framework's GEMM, and why the case is impossible (a round far
    above every roof of its round), or None."""
    spec = registry.spec(case.workload)
    flops = spec.flops_per_step(case.params)
    size = spec.bytes_per_step(case.params, ITEMSIZE[case.precision])
    # A case of R processes has R shares of the machine (each rank its own cores with the
    # run's threads, or its own GPU), each like the one process the roofs were measured in.
    ranks = math.prod(spec.layout(case.params))
    placed, own = [], []
    for r, answer in ok:
        step_s = step_seconds(answer)
        gemm, triad = (roofs[r].gemm.get((case.device, case.precision)),
                       roofs[r].bandwidth.get(case.device))
        placed.append(place(flops, size, step_s, gemm and gemm * ranks, triad and triad * ranks))
        fw_peak = framework_peaks.get((arm, *case.mode, r))
        if flops and fw_peak:
            own.append(flops / step_s / (fw_peak * ranks))
    impossible = over_the_roof(placed, warnings)
    for p in placed:  # the roofline's share follows a clamped share
        share = p.get("pct_of_roof")
        if impossible is None and isinstance(share, float) and share > 1:
            p["pct_of_roof"] = 1.0
    return summarize_rounds(placed), median(own) if own else None, impossible


def merge_case(case: Case, rounds: list[CaseAnswer | None], roofs: list[Roofs],
               framework_peaks: Mapping[Key, float], registry: Registry,
               arm: str = "") -> CaseResult:
    if not any(a is not None for a in rounds):
        return empty_case(case, "interrupted", "the run stopped before this case ran")
    status, reason = status_of(rounds)
    ok = [(r, a) for r, a in enumerate(rounds) if a is not None and a.status == "ok"]
    if not ok:
        probed = next((a.math for a in rounds if a is not None and a.math), None)
        return empty_case(case, status, reason, probed)
    roof_notes: list[str] = []
    placed, own, impossible = placement(case, arm, ok, roofs, framework_peaks, registry,
                                        roof_notes)
    if impossible:
        return empty_case(case, "failed", impossible, ok[0][1].math)
    answers = [a for _, a in ok]
    reps = [r for a in answers for r in a.repetitions_s]
    steps = [a.steps_per_repetition for a in answers for _ in a.repetitions_s]
    rounds_of = [r for r, a in ok for _ in a.repetitions_s]
    step_s, items_per_s, warnings = summarize(reps, steps, answers[0].items_per_step,
                                              rounds_of)
    warnings += roof_notes
    done = sum(a is not None for a in rounds)
    if done < len(rounds):
        warnings.append(f"only {done} of {len(rounds)} rounds ran")
    contention = merge_windows([a.contention for a in answers if a.contention])
    if contention and contention["contended"]:
        warnings.append(f"contended: other processes used up to "
                        f"{contention['other_cpu_share']:.0%} of the CPU (steal "
                        f"{contention['steal_share']:.0%}) while it was timed")
    metrics = measured(case, answers, rounds, registry, warnings)
    metrics["items_per_s"], metrics["step_s"] = items_per_s, step_s
    place_metrics(metrics, placed, own)
    if placed.flops_per_s is not None and placed.pct_of_peak is None:
        metrics.setdefault("unmeasured", {})["pct_of_peak"] = \
            "no GEMM roof was measured for this device and precision"
    entry = empty_case(case, status, reason)
    entry["setup_s"] = median(a.setup_s for a in answers if a.setup_s is not None)
    entry["repetitions_s"], entry["steps_per_repetition"] = reps, steps
    entry["metrics"], entry["warnings"], entry["contention"] = metrics, warnings, contention
    entry["items_per_step"] = answers[0].items_per_step
    entry["math"] = answers[0].math
    entry["repetition_rounds"] = rounds_of
    own_shapes = [a.shape_gemm_by_operands for a in answers]
    if any(own_shapes):  # re-measured at its own shapes: this round it passed the roof
        entry["own_shape_gemm_by_round"] = own_shapes
    groups = [a.parallel for a in answers if a.parallel]
    if groups:
        by_round = [g.get("communication") for g in groups]
        entry["parallel"] = {**groups[0], "communication": communication_over(by_round),
                             "communication_by_round": by_round}
    return entry


def communication_over(by_round: list[JSON]) -> JSON:
    """The communication probe over every round, as the case's other times are: the median
    all-reduce, broadcast and step, and the share of the one in the other."""
    probes = [r for r in by_round if isinstance(r, dict)]
    if not probes:
        return by_round[0] if by_round else None
    medians: dict[str, float | None] = {}
    for key in ("allreduce_s", "control_s", "step_s"):
        values = [float(v) for r in probes if isinstance(v := r.get(key), int | float)]
        medians[key] = median(values) if values else None
    allreduce_s, step_s = medians["allreduce_s"], medians["step_s"]
    return {**probes[0], **medians, "rounds": len(probes),
            "share": allreduce_s / step_s if allreduce_s is not None and step_s else None}


def place_metrics(metrics: Metrics, placed: Placement, own: float | None) -> None:
    """The case against its rounds' roofs, into its metrics: FLOP/s and % of peak from the
    same per-round rates, so neither contradicts the other."""
    metrics["flops_per_s"] = placed.flops_per_s
    metrics["pct_of_peak"] = placed.pct_of_peak
    metrics["pct_of_peak_by_round"] = placed.pct_of_peak_by_round
    metrics["pct_of_framework_peak"] = own
    metrics["roofline"] = {"bound": placed.bound, "pct_of_roof": placed.pct_of_roof,
                           "arithmetic_intensity": placed.arithmetic_intensity,
                           "attainable_flops_per_s": placed.attainable_flops_per_s,
                           "bytes_per_s": placed.bytes_per_s,
                           "pct_of_bandwidth": placed.pct_of_bandwidth}


def measured(case: Case, ok: list[CaseAnswer], rounds: list[CaseAnswer | None],
             registry: Registry, warnings: list[str]) -> Metrics:
    """Memory, energy, quality and extras of a case's ok rounds; what could not be measured
    is in `unmeasured` with the reason."""
    unmeasured: dict[str, str] = {}
    if registry.spec(case.workload).flops_per_step(case.params) is None:
        unmeasured["flops_per_s"] = "this workload defines no FLOP count"
    energy = [a.energy_j for a in ok]
    energy_j = sum(e for e in energy if e is not None) if all(e is not None for e in energy) \
        else None
    window_items = sum(a.window_steps for a in ok) * ok[0].items_per_step
    window_s = sum(a.window_s for a in ok)
    if energy_j is None:
        unmeasured["energy_j"] = next((a.energy_reason for a in ok if a.energy_j is None
                                       and a.energy_reason), "no energy counter")
    device_peaks = [a.peak_device_memory_bytes for a in ok]
    device_peak = max(p for p in device_peaks if p is not None) \
        if all(p is not None for p in device_peaks) else None
    if device_peak is None:
        unmeasured["peak_device_memory_bytes"] = ok[0].device_memory_reason or "unmeasured"
    extra_reason = next((a.extra_reason for a in ok if a.extra_reason), None)
    if extra_reason:
        unmeasured["extra"] = extra_reason
    if not all(a.host_peak_exact for a in ok):
        warnings.append("peak host memory is the worker's lifetime peak (could not reset it)")
    quality = next((a.quality for a in rounds if a is not None and a.quality is not None), None)
    if quality is not None and quality.get("passed") is False:
        warnings.append("quality below its bar")
    host = [a.peak_host_memory_bytes for a in ok if a.peak_host_memory_bytes is not None]
    compiled = compile_over([a.compile for a in ok], warnings)
    per_item = [a.energy_j / (a.window_steps * a.items_per_step)
                if a.energy_j is not None and a.window_steps else None for a in ok]
    return {
        "reference_flops_per_s_by_round": [sum(a.reference_flops_per_s) /
                                           len(a.reference_flops_per_s)
                                           if a.reference_flops_per_s else None for a in ok],
        "peak_host_memory_by_round": [a.peak_host_memory_bytes for a in ok],
        "host_memory_at_start_by_round": [a.host_memory_at_start_bytes for a in ok],
        "energy_per_item_by_round": per_item,
        "peak_host_memory_bytes": max(host) if host else None,
        "peak_device_memory_bytes": device_peak, "energy_j": energy_j,
        "energy_per_item_j": energy_j / window_items if energy_j is not None else None,
        # Items per joule: the efficiency figure hardware is compared by (higher is better).
        "items_per_joule": window_items / energy_j if energy_j else None,
        "avg_power_w": energy_j / window_s if energy_j is not None and window_s else None,
        "energy_source": ok[0].energy_source if energy_j is not None else None,
        # What the energy stands on: the method, the window it was read over (every round's
        # summed) and the slowest update period of the meters read (a window spans at least
        # ten of them, or the energy is unmeasured).
        "energy_method": cast(EnergyMethod | None, ok[0].energy_method)
        if energy_j is not None else None,
        "energy_window_s": window_s if energy_j is not None else None,
        "energy_period_s": max((a.energy_period_s for a in ok if a.energy_period_s),
                               default=None) if energy_j is not None else None,
        "quality": quality, "unmeasured": unmeasured,
        "extra": next((a.extra for a in ok if a.extra is not None), None),
        **({"compile": compiled} if compiled else {}),
    }


def compile_over(records: list[JSONObject | None], warnings: list[str]) -> JSONObject | None:
    """A compiling framework's compilations over the rounds (each round is a fresh process,
    so each compiles again): the median seconds before the timed window, every round's
    record, and a warning for any compilation inside a timed window."""
    kept = [r for r in records if isinstance(r, dict)]
    if not kept:
        return None

    def numbers(key: str) -> list[float]:
        return [float(v) for r in kept if isinstance(v := r.get(key), int | float)]

    seconds, inside = numbers("seconds"), int(sum(numbers("in_window")))
    if inside:
        warnings.append(f"compiled {inside} time(s) inside the timed repetitions "
                        f"({sum(numbers('in_window_s')):.3g} s): those steps are not the "
                        "steady state")
    return {"seconds": median(seconds) if seconds else None,
            "count": int(max(numbers("count"), default=0)),
            "in_window": inside, "by_round": list(records)}


def arms_setting(header: Header) -> JSONObject:
    """The arms of a run in its settings (none for a plain run)."""
    named = [a for a in header.arms if a.name]
    out: JSONObject = {"arms": [as_json(a) for a in named]} if named else {}
    if header.options.get("duet"):
        # The arms ran at the same time, each worker pinned to its own block of cores,
        # the blocks swapped every round (runner.duet_cores).
        out["duet"] = True
    if header.options.get("pin"):
        out["pinned"] = True  # every worker on the same block of cores (--pin)
    return out


def build_result(journal: Journal, cases: list[Case], skipped: Mapping[str, str],
                 registry: Registry, *, finished_at: str, complete: bool,
                 rounds: int | None = None, decided_after: Mapping[str, int] | None = None
                 ) -> ResultDoc:
    """The result document of a journal; `rounds`: only the first (a sequential run's
    look, or the rounds it ran before it stopped); `decided_after`: a sequential run's
    cases that a look decided, with the rounds they ran (fewer rounds, by design)."""
    h = journal.header
    rounds = rounds or h.settings.rounds
    by_id = {c.id: c for c in cases}
    roofs = [round_roofs(journal.calibration, r, journal.answers, by_id) for r in range(rounds)]
    framework_peaks = {k: a.gemm_flops_per_s for k, a in journal.calibration.items()
                       if a.gemm_flops_per_s}
    out_cases = []
    for case in cases:
        for arm in (a.name for a in h.arms):
            if case.id in skipped:
                entry = empty_case(case, "skipped", skipped[case.id])
            else:
                answers = [journal.answers.get((case.id, arm, r))
                           for r in range((decided_after or {}).get(case.id, rounds))]
                entry = merge_case(case, answers, roofs, framework_peaks, registry, arm)
            entry["source_hash"] = registry.source_hash(case.workload)
            if arm:
                entry["arm"] = arm
            out_cases.append(entry)
    runtime: JSONObject = {(f"{arm}/{fw}" if arm else fw): info
                           for (arm, fw), info in journal.runtime.items()}
    machine = {**h.machine, "runtime": runtime}
    doc: ResultDoc = {
        "schema_version": SCHEMA_VERSION, "run_id": h.run_id, "suite": h.suite,
        "started_at": h.started_at, "finished_at": finished_at, "complete": complete,
        "tool": {"name": "dbnbench", "version": __version__},
        "machine": machine,  # type: ignore[typeddict-item]  # the fingerprint's JSON
        "settings": {**as_json(h.settings), **arms_setting(h)},
        "start_load": as_json(h.start_load) if h.start_load else None,
        "calibration": calibration_list(journal.calibration),
        "roofline": machine_roofline(journal.calibration, rounds, journal.answers, by_id),
        "findings": [], "cases": out_cases,
        "workloads": {w: registry.spec(w).described()
                      for w in dict.fromkeys(c.workload for c in cases)},
    }
    doc["findings"] = findings(doc)
    return doc
