"""How quiet the machine was during a timed window: other processes' CPU and hypervisor steal.

System-wide CPU time comes from psutil.cpu_times() (/proc/stat on Linux); the benchmark's
own share is the worker process tree plus the parent that drives it. What is left of the
busy time was spent by other processes, and it is reported as a share of the CPU time the
machine had in the window (elapsed × logical CPUs). Steal is time the hypervisor gave this
VM's virtual CPUs to someone else: a share of all CPU time, whoever would have used it."""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass
from typing import Any

import psutil

from ...format.results import CaseContention, RoundContention
from ..records import Contention, Load, TopProcess

# A case is contended when other processes used more than this share of the machine's CPU
# time during its timed window (on 2 cores, one busy neighbour is 0.5), or the hypervisor
# stole more than STEAL_LIMIT. Both limits are documented in README ("How quiet").
OTHER_CPU_LIMIT = 0.10
STEAL_LIMIT = 0.05
TICKS_S = 0.03
# Set in a duet's workers: the other arm's worker computes beside this one on purpose, so
# the parent's whole process tree is the run's own CPU, not a neighbour's.
DUET_ENV = "DBNBENCH_DUET"
# Set in node 0's workers when other nodes of the run share this host (loopback nodes, a
# launcher tried on one machine): their dbnbench processes, whose trees are the run's own.
NODES_HERE_ENV = "DBNBENCH_NODES_HERE"


def nodes_here() -> list[int]:
    return [int(p) for p in os.environ.get(NODES_HERE_ENV, "").split(",") if p.isdigit()]


def _busy_and_total(t: Any) -> tuple[float, float, float]:
    """(busy seconds, all seconds, steal seconds) of a psutil cpu_times() sample. Guest time
    is already counted inside user on Linux, so it is not added twice."""
    fields = t._asdict()
    busy = sum(fields.get(f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))
    total = sum(v for k, v in fields.items() if k not in ("guest", "guest_nice"))
    return busy, total, fields.get("steal", 0.0)


def _own_cpu(tree: int, alone: list[int], children: bool = True) -> float:
    """CPU seconds (user + system) of process `tree` with all its children, plus the
    processes in `alone` without theirs (the parent: its children are the workers)."""
    total = 0.0
    procs: list[psutil.Process] = []
    try:
        root = psutil.Process(tree)
        procs += [root, *(root.children(recursive=True) if children else [])]
    except psutil.Error:
        pass
    for pid in alone:
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            continue
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            continue
    return total


@dataclass
class Window:
    start: float
    busy: float
    total: float
    steal: float
    own: float


def nvml_handle(nvml: Any, ordinal: int, visible: str | None) -> Any:
    """NVML's handle of CUDA device `ordinal`. NVML numbers every GPU of the machine; CUDA
    only those CUDA_VISIBLE_DEVICES lists, in its order, by index or by UUID (GPU-…/MIG-…)."""
    if not visible:
        return nvml.nvmlDeviceGetHandleByIndex(ordinal)
    entries = [e.strip() for e in visible.split(",") if e.strip()]
    if ordinal >= len(entries):
        raise LookupError(f"CUDA device {ordinal} is not among CUDA_VISIBLE_DEVICES")
    entry = entries[ordinal]
    if entry.isdigit():
        return nvml.nvmlDeviceGetHandleByIndex(int(entry))
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        uuid = nvml.nvmlDeviceGetUUID(handle)
        uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
        if uuid.startswith(entry) or entry.startswith(uuid):
            return handle
    raise LookupError(f"no GPU with UUID {entry}")


def run_tree(root: int) -> set[int]:
    """The dbnbench process `root` and every process under it: its workers (this one's
    siblings on the same GPU included) and their ranks."""
    try:
        proc = psutil.Process(root)
        return {root, *(c.pid for c in proc.children(recursive=True))}
    except psutil.Error:
        return {root}


def gpu_neighbours(device: str, own: set[int], nvml: Any = None,
                   visible: str | None = None) -> list[int] | None:
    """PIDs of other processes computing on this GPU (NVML), or None where NVML cannot say.
    `visible`: CUDA_VISIBLE_DEVICES as the worker sees it (read from the environment when
    None)."""
    if not device.startswith("cuda"):
        return None
    if visible is None:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        if nvml is None:
            nvml = importlib.import_module("pynvml")
        nvml.nvmlInit()
        handle = nvml_handle(nvml, int(device.partition(":")[2] or 0), visible)
        procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except Exception:  # no library, no driver, not supported: unknown, not "none"
        return None
    return sorted({p.pid for p in procs} - own)


class ContentionMeter:
    """Samples system and own CPU time at the start and end of a window; on a GPU, also
    which other processes compute on it."""

    def __init__(self, parents: list[int] | None = None, device: str = "cpu",
                 nvml: Any = None, children: bool = True) -> None:
        # This process with its children, and the parent that drives it: their CPU is the
        # benchmark's own.
        self.parents = parents if parents is not None else [os.getppid()]
        self.cpus = psutil.cpu_count(logical=True) or 1
        self.device, self.nvml, self.children = device, nvml, children
        self.family = parents is None and bool(os.environ.get(DUET_ENV))
        self.nodes = nodes_here() if parents is None else []
        self._w: Window | None = None

    def _sample(self) -> Window:
        busy, total, steal = _busy_and_total(psutil.cpu_times())
        own = _own_cpu(self.parents[0], [], True) if self.family else \
            _own_cpu(os.getpid(), self.parents, self.children)
        own += sum(_own_cpu(pid, [], True) for pid in self.nodes)
        return Window(time.perf_counter(), busy, total, steal, own)

    def start(self) -> None:
        self._w = self._sample()

    def stop(self) -> Contention:
        """The window's contention record (see module doc); `contended` by the limits."""
        if self._w is None:
            raise RuntimeError("ContentionMeter.stop() before start()")
        a, b = self._w, self._sample()
        elapsed = b.start - a.start
        capacity = elapsed * self.cpus
        busy, total = b.busy - a.busy, b.total - a.total
        own = max(0.0, b.own - a.own)
        other = max(0.0, busy - own)
        other_share = min(1.0, other / capacity) if capacity > 0 else 0.0
        steal_share = (b.steal - a.steal) / total if total > 0 else 0.0
        # /proc/stat counts in 10 ms ticks: a few ticks of others' time in a short window
        # is rounding, not a neighbour.
        busy_neighbour = other_share > OTHER_CPU_LIMIT and other > TICKS_S
        # The whole run's tree is its own on the GPU: a sibling worker (torch beside
        # TensorFlow, the other arm) holds a context there without computing in this window.
        own_pids = {os.getpid(), *self.parents, *(run_tree(self.parents[0]) if
                                                  self.device.startswith("cuda") else ())}
        gpu = gpu_neighbours(self.device, own_pids, self.nvml)
        return Contention(
            window_s=elapsed, other_cpu_share=other_share, steal_share=max(0.0, steal_share),
            own_cpu_share=min(1.0, own / capacity) if capacity > 0 else 0.0, cpus=self.cpus,
            contended=busy_neighbour or steal_share > STEAL_LIMIT or bool(gpu),
            other_gpu_processes=tuple(gpu) if gpu is not None else None)


def busy_now(sample_s: float = 0.5) -> Load:
    """Before a run starts: how busy the machine is without us, and the busiest processes."""
    procs = []
    for p in psutil.process_iter(["pid", "name"]):
        try:
            p.cpu_percent(None)
            procs.append(p)
        except psutil.Error:
            continue
    meter = ContentionMeter([], children=False)  # before a run, none of the load is ours
    meter.start()
    time.sleep(sample_s)
    record = meter.stop()
    top: list[TopProcess] = []
    for p in procs:
        try:
            share = p.cpu_percent(None) / 100.0
        except psutil.Error:
            continue
        if share > 0.05 and p.pid != os.getpid():
            top.append(TopProcess(p.pid, str(p.info["name"]), share))
    return Load(record, tuple(sorted(top, key=lambda t: -t.cpu)[:3]))


def merge_windows(windows: list[Contention]) -> CaseContention | None:
    """A case's contention over its rounds: the worst round decides `contended`."""
    if not windows:
        return None
    gpu = sorted({p for w in windows for p in (w.other_gpu_processes or ())})
    by_round: list[RoundContention] = [
        {"other_cpu_share": w.other_cpu_share, "steal_share": w.steal_share,
         "contended": w.contended} for w in windows]
    return {"other_cpu_share": max(w.other_cpu_share for w in windows),
            "steal_share": max(w.steal_share for w in windows),
            "other_gpu_processes": gpu, "contended": any(w.contended for w in windows),
            "by_round": by_round,
            "limits": {"other_cpu_share": OTHER_CPU_LIMIT, "steal_share": STEAL_LIMIT}}


__all__ = ["OTHER_CPU_LIMIT", "STEAL_LIMIT", "ContentionMeter", "busy_now",
           "merge_windows"]
