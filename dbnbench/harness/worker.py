"""The child side: runs the cases its parent sends, one at a time, and answers each.

Protocol: one JSON request per line on stdin, one JSON answer per line on the file
descriptor that was stdout at start (stdout itself is pointed at stderr, so a library that
prints cannot corrupt the channel). Requests:
  {"op": "import", "framework", "workload"}   import a framework (and workload) up front
  {"op": "calibrate", "framework", "device", "precision", "threads", "seed", "start",
   "bandwidth"}                              GEMM sweep (+ triad bandwidth) of one mode
  {"op": "case", "case": {...}, "settings": {...}, "quality": bool, "roof_flops_per_s",
   "roof_bytes_per_s"}                       one case: probe, timed window, roof check
  {"op": "runtime", "framework"}             import it; answer with its runtime_info
                                             (BLAS/OpenMP pools, library facts)
This module imports no ML framework itself; the adapters import theirs when activated."""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import sys
import time
import traceback
from types import SimpleNamespace
from typing import Any, TextIO

from .calibrate import ITEMSIZE
from .errors import Skip
from .frameworks import FRAMEWORKS
from .probes.contention import ContentionMeter
from .probes.energy import MIN_PERIODS, EnergyMeter
from .probes.memory import HostPeak
from .products import contradiction
from .timing import TimingError, measure

OOM_NAMES = ("OutOfMemoryError", "ResourceExhaustedError", "MemoryError")
LENGTHEN_LIMIT_S = 30.0  # the most an energy window is lengthened by extra steps


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure(exc: BaseException) -> dict[str, Any]:
    """A Python exception as a case status. Out-of-memory is named as such."""
    name = type(exc).__name__
    if isinstance(exc, TimingError):
        return {"status": "failed", "reason": one_line(f"timing: {exc}")}
    if any(n in name for n in OOM_NAMES) or "out of memory" in str(exc).lower():
        return {"status": "failed", "reason": one_line(f"out of memory: {name}: {exc}"),
                "restart": True}
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {os.path.basename(frame.filename)}:{frame.lineno})" if frame else ""
    return {"status": "failed", "reason": one_line(f"{name}: {exc}{where}")}


def make_framework(framework: str, device: str, precision: str, threads: int, seed: int) -> Any:
    fw = FRAMEWORKS[framework](device, precision, threads, seed)
    fw.activate()
    return fw


def do_calibrate(req: dict[str, Any]) -> dict[str, Any]:
    from .calibrate import PATIENCE, START, bandwidth, calibrate

    try:
        fw = make_framework(req["framework"], req["device"], req["precision"], req["threads"],
                            req["seed"])
        answer = {"status": "ok", **calibrate(fw, req.get("start") or START,
                                              req.get("patience") or PATIENCE)}
        if req.get("bandwidth"):
            answer["bandwidth"] = bandwidth(fw)
        return answer
    except Skip as exc:
        return {"status": "skipped", "reason": str(exc)}
    except Exception as exc:  # contained: calibration failure only loses % of peak
        return failure(exc)


def observe(impl: Any, fw: Any, case: Any) -> tuple[dict[str, Any], str | None]:
    """One step probed outside the timed window: the products that ran, and why they
    contradict the case's mode (None when they agree)."""
    from ..suites.registry import SPECS

    hook = getattr(impl, "observe_products", None)
    obs = (hook() if hook is not None else fw.observe_products(impl)).settle(case.precision)
    has_flops = SPECS[case.workload].flops_per_step(case.params) is not None
    return obs.to_dict(), contradiction(case.precision, obs, has_flops)


def roof_check(impl: Any, fw: Any, case: Any, step_s: float, req: dict[str, Any]
               ) -> dict[str, Any]:
    """A case faster than this round's roof is measured again against GEMMs at its own
    shapes (or a triad over its own bytes) before anything is reported: the roof may have
    been measured at a slower moment, or the count of work is wrong (the parent decides)."""
    from ..suites.registry import SPECS
    from .calibrate import bandwidth, shapes_rate

    spec, out = SPECS[case.workload], {}
    flops = spec.flops_per_step(case.params)
    roof = req.get("roof_flops_per_s")
    if flops and roof and flops / step_s > roof:
        out["shape_gemm_flops_per_s"] = shapes_rate(fw, spec.gemm_shapes(case.params))
    size = spec.bytes_per_step(case.params, ITEMSIZE[case.precision])
    roof_bw = req.get("roof_bytes_per_s")
    if size and roof_bw and size / step_s > roof_bw:
        local = bandwidth(fw, int(size))
        out["local_bytes_per_s"] = local["bytes_per_s"] if local else None
    return out


def timed_window(impl: Any, fw: Any, case: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Warm-up and timed repetitions, with the energy and contention probes around them."""
    meter, quiet = EnergyMeter(case.device), ContentionMeter(device=case.device)
    need_s = meter.min_window_s()  # found before the window opens, not inside it
    meter.start()
    quiet.start()
    timing = measure(impl.step, fw.sync, warmup_s=settings["warmup_s"],
                     min_time_s=settings["min_time_s"], repetitions=settings["repetitions"])
    contention = quiet.stop()
    extra = lengthen(impl, fw, meter, need_s)
    joules, window_s = meter.stop()
    reason = meter.reason
    if need_s is not None and window_s < need_s:
        joules, reason = None, (f"energy window {window_s:.3g} s is shorter than "
                                f"{MIN_PERIODS} updates of the counter ({need_s:.3g} s)")
    return {
        "repetitions_s": list(timing.repetitions_s),
        "steps_per_repetition": timing.steps_per_repetition,
        "discarded_repetitions": timing.discarded,
        "window_steps": timing.warmup_steps + extra
        + timing.steps_per_repetition * len(timing.repetitions_s),
        "window_s": window_s, "contention": contention,
        "energy_j": joules, "energy_source": meter.source, "energy_reason": reason,
    }


def lengthen(impl: Any, fw: Any, meter: EnergyMeter, need_s: float | None) -> int:
    """More (untimed) steps inside the energy window until it spans enough counter updates,
    for at most LENGTHEN_LIMIT_S; returns the steps added."""
    if need_s is None:
        return 0
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - meter.started < need_s and \
            time.perf_counter() - start < LENGTHEN_LIMIT_S:
        impl.step()
        steps += 1
    fw.sync()
    return steps


def do_case(req: dict[str, Any]) -> dict[str, Any]:
    from ..suites.registry import impl_class

    spec, settings = req["case"], req["settings"]
    case = SimpleNamespace(**spec)
    host = HostPeak()
    host.reset()
    try:
        fw = make_framework(case.framework, case.device, case.precision, settings["threads"],
                            settings["seed"])
    except Skip as exc:
        return {"status": "skipped", "reason": str(exc)}
    impl = impl_class(case.workload, case.framework)(case, fw)
    fw.seed_all(settings["seed"])
    fw.reset_peak_memory()
    t0 = time.perf_counter()
    impl.setup()
    fw.sync()
    setup_s = time.perf_counter() - t0
    observed, wrong = observe(impl, fw, case)
    math_flags = {**fw.math_flags(), **observed}
    if wrong:
        return {"status": "failed", "reason": one_line(wrong, 400), "math": math_flags}
    out: dict[str, Any] = {"status": "ok", "reason": None, "setup_s": setup_s,
                           **timed_window(impl, fw, case, settings)}
    device_peak, device_reason = fw.peak_device_memory()
    step_s = statistics.median(out["repetitions_s"]) / out["steps_per_repetition"]
    out.update({
        "items_per_step": int(impl.items_per_step),
        "peak_host_memory_bytes": host.peak_bytes(), "host_peak_exact": host.exact,
        "peak_device_memory_bytes": device_peak, "device_memory_reason": device_reason,
        "math": math_flags, **roof_check(impl, fw, case, step_s, req),
    })
    if hasattr(impl, "metrics"):
        # Workload-specific measurements outside the timed window (latency percentiles,
        # per-layer rates, time to target): the impl times these itself, with syncs.
        try:
            out["extra"] = impl.metrics()
        except Exception as exc:
            out["extra"] = {"error": failure(exc)["reason"]}
    if req.get("quality"):
        try:
            out["quality"] = impl.quality()
        except Exception as exc:  # a broken quality run is reported, not fatal to the timing
            out["quality"] = {"error": failure(exc)["reason"], "passed": False}
    return out


def do_import(req: dict[str, Any]) -> dict[str, Any]:
    import importlib

    from ..suites.registry import impl_class

    fw = FRAMEWORKS[req["framework"]]
    if fw.installed():
        importlib.import_module(fw.module)
    if req.get("workload"):
        impl_class(req["workload"], req["framework"])
    return {"status": "ok"}


def do_runtime(req: dict[str, Any]) -> dict[str, Any]:
    """The BLAS/OpenMP pools and library settings this process runs with the framework."""
    import importlib

    from .probes.runtime import runtime_info

    fw = FRAMEWORKS[req["framework"]]
    if not fw.installed():
        raise Skip(f"{fw.name} is not installed ({fw.install_hint})")
    importlib.import_module(fw.module)
    return {"status": "ok", "runtime": runtime_info(fw.name)}


def handle(req: dict[str, Any]) -> dict[str, Any]:
    try:
        if req["op"] == "runtime":
            return do_runtime(req)
        if req["op"] == "import":
            return do_import(req)
        if req["op"] == "calibrate":
            return do_calibrate(req)
        if req["op"] == "case":
            return do_case(req)
        return {"status": "failed", "reason": f"unknown request {req['op']!r}"}
    except Skip as exc:
        return {"status": "skipped", "reason": str(exc)}
    except BaseException as exc:  # includes MemoryError; KeyboardInterrupt ends the worker
        if isinstance(exc, KeyboardInterrupt):
            raise
        return failure(exc)
    finally:
        gc.collect()


def finite(value: Any) -> Any:
    """NaN and infinities become None: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def serve(requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        answer = finite(handle(json.loads(line)))
        answers.write(json.dumps(answer, allow_nan=False, default=str) + "\n")
        answers.flush()


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        serve(sys.stdin, channel)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
