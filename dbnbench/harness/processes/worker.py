"""The child side: runs the requests its parent sends, one at a time, and answers each.

Protocol: one JSON request per line on stdin, one JSON answer per line on the file
descriptor that was stdout at start (stdout itself is pointed at stderr, so a library that
prints cannot corrupt the channel). Requests and answers are the typed records of
records.py: ImportRequest (import a framework and an implementation up front),
RuntimeRequest (the BLAS/OpenMP pools and library settings), CalibrateRequest (one mode's
GEMM sweep and, if asked, the triad), CaseRequest (one case: product probe, timed window,
roof check, extras, quality). This module imports no ML framework and no workload: the
adapters import theirs when activated, and a case's implementation is imported from the
"module:Class" its request names."""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import math
import os
import signal
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from ..errors import Skip
from ..frameworks import FRAMEWORKS, Framework
from ..frameworks.products import contradiction
from ..measure.calibrate import bandwidth, calibrate, check, reference_rate, shapes_rates
from ..measure.timing import Timing, TimingError, measure
from ..plan.registry import load_impl
from ..plan.workload import ContractError, Impl
from ..probes import heap
from ..probes.contention import ContentionMeter
from ..probes.energy import EnergyMeter
from ..probes.group_energy import RankMeter, total
from ..probes.memory import HostPeak
from ..records import (
    CPUS_ENV,
    JSON,
    PARENT_ENV,
    PROTOCOL,
    Answer,
    CalibrateRequest,
    CalibrationAnswer,
    CaseAnswer,
    CaseRequest,
    Contention,
    ImportRequest,
    JSONObject,
    RecordError,
    Request,
    RuntimeAnswer,
    RuntimeRequest,
    Settings,
    as_json,
    decode_request,
)
from .case_group import CaseGroup

OOM_NAMES = ("OutOfMemoryError", "ResourceExhaustedError", "MemoryError")
LENGTHEN_LIMIT_S = 30.0  # the most an energy window is lengthened by extra steps


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure(exc: BaseException) -> Answer:
    """A Python exception as a status. Out-of-memory is named as such."""
    name = type(exc).__name__
    if isinstance(exc, TimingError):
        return Answer("failed", one_line(f"timing: {exc}"))
    if any(n in name for n in OOM_NAMES) or "out of memory" in str(exc).lower():
        return Answer("failed", one_line(f"out of memory: {name}: {exc}"), restart=True)
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {os.path.basename(frame.filename)}:{frame.lineno})" if frame else ""
    return Answer("failed", one_line(f"{name}: {exc}{where}"))


def make_framework(framework: str, device: str, precision: str, threads: int,
                   seed: int) -> Framework:
    fw = FRAMEWORKS[framework](device, precision, threads, seed)
    fw.activate()
    return fw


@dataclass
class Phases:
    """Wall seconds per named phase of one request: where a round's time goes."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


def do_calibrate(req: CalibrateRequest) -> CalibrationAnswer:
    """One mode's GEMM sweep (or, in a later round, the drift check at one size) and the
    triad if asked, with the machine's contention around them: a roof timed while other
    processes used the CPU is re-measured or flagged by the parent, never used silently."""
    fw = make_framework(req.framework, req.device, req.precision, req.threads, req.seed)
    t0 = time.perf_counter()
    quiet = ContentionMeter(device=req.device)
    quiet.start()
    if req.check is not None:
        sweep = check(fw, req.check, req.expected_flops_per_s)
    else:
        sweep = calibrate(fw, req.start, req.patience)
    triad = bandwidth(fw) if req.bandwidth else None
    return CalibrationAnswer("ok", None, sweep.rate, sweep.best_size, sweep.by_size, sweep.stopped,
                             triad, binary_flops_per_s=sweep.binary_rate,
                             contention=quiet.stop(),
                             roof="checked" if req.check is not None else "swept",
                             seconds=time.perf_counter() - t0)


def observe(impl: Impl, fw: Framework, req: CaseRequest) -> tuple[JSONObject, str | None]:
    """One step probed outside the timed window: the products that ran, and why they
    contradict the case's mode (None when they agree)."""
    hook = getattr(impl, "observe_products", None)
    obs = (hook() if hook is not None else fw.observe_products(impl)).settle(req.case.precision)
    has_flops = req.work.flops_per_step is not None
    return obs.to_dict(), contradiction(req.case.precision, obs, has_flops)


def roof_check(fw: Framework, req: CaseRequest, step_s: float
               ) -> tuple[dict[str, float] | None, float | None]:
    """A case faster than this round's roof is measured again against GEMMs at its own
    shapes, on uniform and on 0/1 operands (or a triad over its own bytes), before anything
    is reported: the roof may have been measured at a slower moment or on operands the card
    runs slower, or the count of work is wrong (the parent decides). Returns (own-shape GEMM
    FLOP/s per operand kind, local triad bytes/s), each None when not needed."""
    work, shape_rate, local_rate = req.work, None, None
    ranks = work.workers * work.stages  # the roofs are one process's; each rank has its own
    if work.flops_per_step and req.roof_flops_per_s and \
            work.flops_per_step / step_s > req.roof_flops_per_s * ranks:
        shape_rate = shapes_rates(fw, list(work.gemm_shapes))
    if work.bytes_per_step and req.roof_bytes_per_s and \
            work.bytes_per_step / step_s > req.roof_bytes_per_s * ranks:
        local = bandwidth(fw, int(work.bytes_per_step))
        local_rate = local.bytes_per_s if local else None
    return shape_rate, local_rate


def timed_window(impl: Impl, fw: Framework, device: str, settings: Settings,
                 phases: Phases | None = None, group: CaseGroup | None = None) -> TimedWindow:
    """Warm-up and timed repetitions, with the energy and contention probes around them; in
    a group, every rank's energy meter over the same window, summed (group_energy.py)."""
    phases = phases or Phases()
    meter, quiet = RankMeter(0, device, 0), ContentionMeter(device=device)
    with phases("energy"):
        # Found before the window opens, not inside it; the longest any rank needs.
        needs = [n for n in (meter.need_s, group.meter_need_s() if group else None)
                 if n is not None]
        need_s = max(needs) if needs else None
    with phases("reference"):
        before = reference_rate(fw)
    if group is not None:
        group.meter_start()
    meter.start()
    quiet.start()
    marks: list[tuple[int, float] | None] = []
    timing = measure(impl.step, fw.sync, warmup_s=settings.warmup_s,
                     min_time_s=settings.min_time_s, repetitions=settings.repetitions,
                     on_timed=lambda: marks.append(fw.compiles()))
    marks.append(fw.compiles())
    contention = quiet.stop()
    phases.seconds.update(warmup=timing.warmup_s, timed=timing.timed_s)
    with phases("lengthen"):
        extra = lengthen(impl, fw, meter.meter, need_s)
    own = meter.stop()
    readings = [own]
    joules, source, reason = own.joules, own.source, own.reason
    if group is not None:
        readings += group.meter_stop()
        energy = total(readings)
        joules, source, reason = energy.joules, energy.source, energy.reason
    with phases("reference"):
        after = reference_rate(fw)
    measured = joules is not None
    return TimedWindow(timing, extra, own.window_s, contention, joules, source, reason,
                       (before, after), (marks[0], marks[-1]) if len(marks) == 2 else None,
                       own.method if measured else None,
                       max((r.period_s for r in readings if r.period_s), default=None)
                       if measured else None)


@dataclass(frozen=True)
class TimedWindow:
    timing: Timing
    extra_steps: int
    window_s: float
    contention: Contention
    energy_j: float | None
    energy_source: str | None
    energy_reason: str | None
    reference_flops_per_s: tuple[float, float]  # the reference GEMM before and after
    # The framework's (compilations, seconds) as the timed repetitions began and ended.
    compiles: tuple[tuple[int, float] | None, tuple[int, float] | None] | None = None
    energy_method: str | None = None  # "counter" or "sampled power"
    energy_period_s: float | None = None  # the slowest meter's update (or averaging) period

    @property
    def window_steps(self) -> int:
        t = self.timing
        return t.warmup_steps + self.extra_steps + t.steps_per_repetition * len(t.repetitions_s)


def lengthen(impl: Impl, fw: Framework, meter: EnergyMeter | None, need_s: float | None
             ) -> int:
    """More (untimed) steps inside the energy window until it spans enough counter updates,
    for at most LENGTHEN_LIMIT_S; returns the steps added."""
    if need_s is None or meter is None:
        return 0
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - meter.started < need_s and \
            time.perf_counter() - start < LENGTHEN_LIMIT_S:
        impl.step()
        steps += 1
    fw.sync()
    return steps


def build(req: CaseRequest, fw: Framework) -> Impl:
    """The case's implementation, checked against the workload contract."""
    impl = load_impl(req.impl)(req.case, fw)
    if not isinstance(impl, Impl):
        raise ContractError(f"{req.impl} does not implement the workload contract "
                            "(setup, step, quality, items_per_step)")
    if impl.items_per_step != req.work.items_per_step:
        raise ContractError(f"{req.impl} processes {impl.items_per_step} items per step, its "
                            f"spec says {req.work.items_per_step}")
    return impl


class Steered:
    """Rank 0's view of a multi-rank case: each step is announced to the other ranks first;
    everything else is the implementation's."""

    def __init__(self, impl: Impl, group: CaseGroup) -> None:
        self.impl, self.step = impl, group.stepper(impl.step)

    def __getattr__(self, name: str) -> object:
        return getattr(self.impl, name)


def do_case(req: CaseRequest) -> CaseAnswer:
    host, phases = HostPeak(), Phases()
    host.reset()
    c, settings = req.case, req.settings
    with phases("framework"):
        fw = make_framework(c.framework, c.device, c.precision, settings.threads, settings.seed)
    if not req.work.grouped:
        return measure_case(req, fw, host, None, phases)
    from .rendezvous import post_case

    group = CaseGroup(req, fw, post_case)
    try:
        return measure_case(req, fw, host, group, phases)
    except BaseException as exc:
        why = group.dead() or wait_for_death(group)
        group.kill()
        if why is None or isinstance(exc, KeyboardInterrupt):
            raise
        return CaseAnswer("failed", one_line(f"{why}; rank 0 saw {failure(exc).reason}"))


def wait_for_death(group: CaseGroup, wait_s: float = 2.0) -> str | None:
    """A collective fails the moment a peer's socket closes, a little before its process
    is reaped: give the dead rank a moment to be seen."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        why = group.dead()
        if why:
            return why
        time.sleep(0.05)
    return None


def measure_case(req: CaseRequest, fw: Framework, host: HostPeak,
                 group: CaseGroup | None, phases: Phases) -> CaseAnswer:
    c, settings = req.case, req.settings
    with phases("build"):
        impl = build(req, fw)
    fw.seed_all(settings.seed)
    fw.reset_peak_memory()
    compiled_before = fw.compiles()
    t0 = time.perf_counter()
    impl.setup()
    fw.sync()
    setup_s = time.perf_counter() - t0
    phases.seconds["setup"] = setup_s
    run: Impl = impl if group is None else Steered(impl, group)  # type: ignore[assignment]
    observed: JSONObject = {}
    wrong: str | None = None
    if req.first_round:  # what ran is observed once a run: the same code in every round
        with phases("probe"):
            probe_start = fw.compiles()
            observed, wrong = observe(run, fw, req)
            compiled_before = skip_probe(compiled_before, probe_start, fw.compiles())
    math_flags: JSONObject = {**fw.math_flags(), **observed}
    if wrong:
        if group is not None:
            group.stop()
        return CaseAnswer("failed", one_line(wrong, 400), math=math_flags)
    w = timed_window(run, fw, c.device, settings, phases, group)
    device_peak, device_reason = fw.peak_device_memory()
    step_s = statistics.median(w.timing.repetitions_s) / w.timing.steps_per_repetition
    parallel = None
    if group is not None:
        parallel = {**group.describe(), "workers": req.work.workers,
                    "stages": req.work.stages,
                    "communication": group.communication(req.work.communicated, fw.group.dtype,
                                                         step_s),
                    "memory": ("peaks are rank 0's; every rank holds the same replica"
                               if req.work.stages == 1 else
                               "peaks are rank 0's: the first stage's layers and activations")}
        group.stop()  # quality and the roof check run in rank 0 alone
    with phases("roof_check"):
        shape_rates, local_rate = roof_check(fw, req, step_s)
    extra, extra_reason = None, None
    if req.first_round:
        with phases("extra"):
            extra, extra_reason = extra_metrics(impl, grouped=group is not None)
    host_peak = host.peak_bytes()  # quality's memory is not the case's
    measured_quality = None
    if req.quality:
        with phases("quality"):
            measured_quality = quality(impl)
    return CaseAnswer(
        "ok", None, setup_s=setup_s, repetitions_s=w.timing.repetitions_s,
        steps_per_repetition=w.timing.steps_per_repetition,
        discarded_repetitions=w.timing.discarded, items_per_step=impl.items_per_step,
        window_steps=w.window_steps, window_s=w.window_s, contention=w.contention,
        energy_j=w.energy_j, energy_source=w.energy_source, energy_reason=w.energy_reason,
        energy_method=w.energy_method, energy_period_s=w.energy_period_s,
        reference_flops_per_s=w.reference_flops_per_s,
        peak_host_memory_bytes=host_peak, host_peak_exact=host.exact,
        host_memory_at_start_bytes=host.start_bytes,
        peak_device_memory_bytes=device_peak, device_memory_reason=device_reason,
        math=math_flags,
        extra=extra, extra_reason=extra_reason,
        quality=measured_quality, compile=compile_record(compiled_before, w.compiles),
        shape_gemm_flops_per_s=max(shape_rates.values()) if shape_rates else None,
        shape_gemm_by_operands=shape_rates,
        local_bytes_per_s=local_rate, parallel=parallel, phases_s=phases.seconds)


def skip_probe(start: tuple[int, float] | None, before: tuple[int, float] | None,
               after: tuple[int, float] | None) -> tuple[int, float] | None:
    """The compile baseline moved past what the product probe compiled (an eager step's
    products compiled one by one to read them): the probe is the harness's, not the case's."""
    if start is None or before is None or after is None:
        return start
    return start[0] + after[0] - before[0], start[1] + after[1] - before[1]


def compile_record(start: tuple[int, float] | None,
                   window: tuple[tuple[int, float] | None, tuple[int, float] | None] | None
                   ) -> JSONObject | None:
    """Compilations before the timed repetitions (build, setup, the probe, warm-up: the
    cost a user pays once per process) and inside them (each one a timed step that was not
    the steady state)."""
    if start is None or window is None or window[0] is None or window[1] is None:
        return None
    (n0, s0), (n1, s1), (n2, s2) = start, window[0], window[1]
    return {"count": n1 - n0, "seconds": s1 - s0, "in_window": n2 - n1,
            "in_window_s": s2 - s1}


def extra_metrics(impl: Impl, grouped: bool) -> tuple[JSONObject | None, str | None]:
    """Workload-specific measurements outside the timed window (latency percentiles,
    per-layer rates, time to target): the impl times these itself, with syncs. A
    multi-process case has none, and says why."""
    metrics = getattr(impl, "metrics", None)
    if metrics is None:
        return None, None
    if grouped:
        return None, ("not measured: a multi-process case's extras would time rank 0 alone, "
                      "without the other ranks")
    try:
        return finite_object(metrics()), None
    except Exception as exc:
        return {"error": failure(exc).reason}, None


def quality(impl: Impl) -> JSONObject:
    try:
        return finite_object(impl.quality())
    except Exception as exc:  # a broken quality run is reported, not fatal to the timing
        return {"error": failure(exc).reason, "passed": False}


def do_import(req: ImportRequest) -> Answer:
    if req.protocol != PROTOCOL:
        return Answer("failed", f"this worker speaks protocol {PROTOCOL}, its parent {req.protocol}: "
                      "every arm needs a dbnbench of the same protocol")
    fw = FRAMEWORKS[req.framework]
    if fw.installed():
        importlib.import_module(fw.module)
    if req.impl:
        load_impl(req.impl)
    return Answer("ok")


def do_runtime(req: RuntimeRequest) -> RuntimeAnswer:
    """The BLAS/OpenMP pools and library settings this process runs with the framework."""
    from ..probes.runtime import runtime_info

    fw = FRAMEWORKS[req.framework]
    if not fw.installed():
        raise Skip(f"{fw.name} is not installed ({fw.install_hint})")
    importlib.import_module(fw.module)
    return RuntimeAnswer("ok", None, runtime_info(fw.name))


def handle(req: Request) -> object:
    try:
        if isinstance(req, RuntimeRequest):
            return do_runtime(req)
        if isinstance(req, ImportRequest):
            return do_import(req)
        if isinstance(req, CalibrateRequest):
            return do_calibrate(req)
        return do_case(req)
    except Skip as exc:
        return Answer("skipped", str(exc))
    except BaseException as exc:  # includes MemoryError; KeyboardInterrupt ends the worker
        if isinstance(exc, KeyboardInterrupt):
            raise
        return failure(exc)
    finally:
        gc.collect()


def finite(value: JSON) -> JSON:
    """NaN and infinities become None: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def finite_object(value: JSONObject) -> JSONObject:
    return {k: finite(v) for k, v in value.items()}


def serve(requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        try:
            answer = handle(decode_request(line))
        except RecordError as exc:  # a parent and child of different versions
            answer = Answer("failed", one_line(f"bad request: {exc}"))
        answers.write(json.dumps(finite_object(as_json(answer)), allow_nan=False) + "\n")
        answers.flush()


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the process that started it ends, however it
    ends (kill -9 included). A parent that died before this call is caught by the watchdog."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl to be had: the watchdog alone stands


def watch_parent(interval_s: float = 0.5) -> None:
    """End this worker (and anything it started) when its parent is gone: a case that hangs
    never reads the closed pipe, and the kernel's parent-death signal is Linux-only. This
    thread needs the GIL now and then; the signal does not."""
    expected = os.environ.get(PARENT_ENV, "")
    if not expected.isdigit():
        return
    # The process that started us: dbnbench itself, or a wrapper an arm runs python through.
    parent = os.getppid()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    def watch() -> None:
        while os.getppid() == parent and not gone(int(expected)):
            time.sleep(interval_s)
        if os.getpgrp() == os.getpid():  # our own process group: take it all down
            os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def pin_from_env() -> None:
    """A duet's worker runs on the cores its parent gave it, and so do all the threads its
    libraries start later (they inherit the mask)."""
    cpus = os.environ.get(CPUS_ENV)
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})


def main() -> None:
    heap.fix()  # before any library allocates: every case starts from the same heap policy
    pin_from_env()
    die_with_parent()
    watch_parent()
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        serve(sys.stdin, channel)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
