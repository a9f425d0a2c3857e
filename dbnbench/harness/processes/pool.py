"""The parent's worker processes: one handle per child (spawn, ask, contain, kill) and the
pool that keeps one per (framework, device), replaces a dead one and starts fresh ones on
request (every round)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TypeVar

import psutil

from ..frameworks import FRAMEWORKS
from ..probes.contention import DUET_ENV
from ..probes.oom import counter_files, oom_counts, oom_evidence
from ..records import (
    CPUS_ENV,
    PARENT_ENV,
    Answer,
    Arm,
    ImportRequest,
    RecordError,
    Request,
    RuntimeAnswer,
    RuntimeRequest,
    decode_answer,
    encode,
)

POLL_S = 0.1
IMPORT_ALLOWANCE_S = 120.0  # a fresh worker imports its framework inside its first request
Group = tuple[str, str]  # (framework, device): cases of one group may share a worker
Slot = tuple[str, str, str]  # (arm, framework, device): one live worker each

A = TypeVar("A")
LIVE: set[WorkerProcess] = set()  # every worker not yet reaped, for kill_all()


def kill_all() -> None:
    """SIGKILL every live worker's process group at once, without waiting: for a second
    interrupt, when the parent must be gone in a moment and leave nothing behind."""
    for w in list(LIVE):
        if w.proc.returncode is not None:  # reaped: its pid may belong to another now
            continue
        try:
            os.killpg(w.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def failed(answer_type: type[A], status: str, reason: str) -> A:
    """An answer of the expected type that says the request did not get one."""
    return answer_type(status, reason)  # type: ignore[call-arg]


class WorkerProcess:
    """One child process running `python -m dbnbench.harness.processes.worker`."""

    def __init__(self, threads: int, arm: Arm | None = None,
                 cpus: tuple[int, ...] = (), duet: bool = False) -> None:
        arm = arm or Arm()
        env = dict(os.environ)
        adapters = (v for fw in FRAMEWORKS.values() for v in fw.thread_variables)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", *adapters):
            env[var] = str(threads)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.update(arm.env)  # an arm's own variables win, thread counts included
        env["PYTHONUNBUFFERED"] = "1"
        env[PARENT_ENV] = str(os.getpid())
        if cpus:  # pinned before any thread starts (--pin, --duet)
            env[CPUS_ENV] = ",".join(map(str, cpus))
        if duet:  # the other arm's worker computes beside this one on purpose
            env[DUET_ENV] = "1"
        self.log: IO[bytes] = tempfile.TemporaryFile(mode="w+b")
        # Its own session, so a terminal's Ctrl-C reaches only the parent (which decides);
        # the worker arranges to die with the parent itself (worker.die_with_parent): no
        # preexec_fn, which is unsafe in a parent with threads (the progress display's).
        self.proc = subprocess.Popen(
            [arm.python or sys.executable, "-m", "dbnbench.harness.processes.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, env=env, start_new_session=True)
        LIVE.add(self)
        self.oom_files = counter_files(self.proc.pid)
        self.oom_before = oom_counts(self.oom_files)
        self.last_rss = 0
        self.max_rss: int | None = None
        self.fresh = True
        self.buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> int:
        try:
            p = psutil.Process(self.proc.pid)
            self.last_rss = int(p.memory_info().rss
                                + sum(c.memory_info().rss for c in p.children(True)))
        except psutil.Error:
            return 0
        return self.last_rss

    def last_log_line(self) -> str:
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - 8192))
        lines = [ln.strip() for ln in self.log.read().decode(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith(("WARNING:", "I0000", "W0000"))]
        return lines[-1][:200] if lines else ""

    def ask(self, request: Request, answer_type: type[A], timeout_s: float,
            max_rss: int | None) -> A:
        """Send one request and wait for its answer. A crash, a timeout or a memory cap
        breach becomes a failed answer and leaves the worker dead (`alive()` is False)."""
        gone = self.send(request)
        if gone is not None:
            return failed(answer_type, *gone)
        return self.answer(answer_type, timeout_s, max_rss)

    def send(self, request: Request) -> tuple[str, str] | None:
        """Write one request without waiting for its answer (`answer` waits); (status,
        reason) where the worker is already gone."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((encode(request) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            return self._died()
        return None

    def answer(self, answer_type: type[A], timeout_s: float, max_rss: int | None) -> A:
        """Wait for the answer to the request sent last."""
        line = self._receive(timeout_s, max_rss)
        if isinstance(line, tuple):
            return failed(answer_type, *line)
        try:
            return decode_answer(answer_type, line)
        except (RecordError, json.JSONDecodeError) as exc:
            self.kill()
            return failed(answer_type, "failed", f"unreadable answer from the worker: {exc}")

    def _receive(self, timeout_s: float, max_rss: int | None) -> str | tuple[str, str]:
        """The answer line, or (status, reason) when none came."""
        deadline = time.monotonic() + timeout_s
        self.max_rss = max_rss
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buffer:
                if time.monotonic() > deadline:
                    self.kill()
                    return "timeout", f"no answer within {timeout_s:g} s; worker killed"
                if max_rss is not None and (rss := self.rss()) > max_rss:
                    self.kill()
                    return "failed", (f"out of memory: worker reached {rss / 2**30:.2f} GiB, "
                                      f"over the {max_rss / 2**30:.2f} GiB cap; worker killed")
                if sel.select(POLL_S):
                    chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                    if not chunk:
                        return self._died()
                    self.buffer += chunk
        finally:
            sel.close()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def _died(self) -> tuple[str, str]:
        try:
            code: int | None = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        how = f"killed by {signal_name(code)}" if code is not None and code < 0 \
            else f"exited with code {code}"
        if code == -signal.SIGKILL:
            after = oom_counts(self.oom_files)
            how += f" ({oom_evidence(self.oom_before, after, self.last_rss, self.max_rss)})"
        LIVE.discard(self)
        tail = self.last_log_line()
        return "failed", f"worker crashed: {how}" + (f"; last output: {tail}" if tail else "")

    def kill(self) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        else:
            LIVE.discard(self)

    def close(self) -> None:
        if self.alive():
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        else:
            self.proc.wait()
        LIVE.discard(self)
        self.log.close()


@dataclass
class WorkerPool:
    """One live worker per group. A worker that died, or served `cases_per_worker` requests,
    is replaced; a fresh worker first imports its framework (and the implementation) under
    its own deadline, so a case's timeout measures the case, not the import."""

    threads: int
    max_rss: int | None = None
    cases_per_worker: int | None = None  # None: a worker keeps going; 1: a process per case
    # (arm, framework, answer) from the first worker of each framework in each arm
    on_runtime: Callable[[str, str, RuntimeAnswer], None] | None = None
    arms: dict[str, Arm] = field(default_factory=lambda: {"": Arm()})
    workers: dict[Slot, WorkerProcess] = field(default_factory=dict)
    served: dict[Slot, int] = field(default_factory=dict)
    runtime_seen: set[tuple[str, str]] = field(default_factory=set)
    pins: dict[str, tuple[int, ...]] = field(default_factory=dict)  # arm → cores
    duet: bool = False

    def worker(self, slot: Slot) -> WorkerProcess:
        w = self.workers.get(slot)
        limit = self.cases_per_worker
        if w is None or not w.alive() or (limit and self.served.get(slot, 0) >= limit):
            if w is not None:
                w.close()
            w = self.workers[slot] = WorkerProcess(self.threads, self.arms[slot[0]],
                                                   self.pins.get(slot[0], ()), self.duet)
            self.served[slot] = 0
        self.served[slot] += 1
        return w

    def start(self, slots: list[Slot]) -> None:
        """Start the workers of these slots that are not running, all at once, each
        importing its framework, and wait for every import: a round's imports overlap
        instead of queueing one behind another, and nothing is timed while they run (the
        first measurement waits for the last import; no worker starts during a case). A
        worker whose import failed is dropped: `ask` starts it again and reports why."""
        started = []
        for slot in dict.fromkeys(slots):
            w = self.workers.get(slot)
            if w is not None and w.alive():
                continue
            w = self.worker(slot)
            self.served[slot] -= 1  # started, not yet asked anything
            w.fresh = False
            gone = w.send(ImportRequest(slot[1]))
            started.append((slot, w, gone))
        for slot, w, gone in started:
            ready = failed(Answer, *gone) if gone else \
                w.answer(Answer, IMPORT_ALLOWANCE_S, self.max_rss)
            if ready.status != "ok":
                w.kill()
                w.close()
                del self.workers[slot]

    def ask(self, group: Group, impl: str | None, request: Request, answer_type: type[A],
            timeout_s: float, arm: str = "", fresh: bool = False) -> A:
        """`fresh`: in a worker started for this request alone (TensorFlow's process groups
        must form before its runtime starts), retired after it."""
        framework = group[0]
        slot = (arm, *group)
        if fresh and slot in self.workers:
            self.workers.pop(slot).close()
        w = self.worker(slot)
        try:
            return self._ask(w, framework, impl, request, answer_type, timeout_s, arm)
        finally:
            if fresh:
                self.workers.pop(slot).close()

    def _ask(self, w: WorkerProcess, framework: str, impl: str | None, request: Request,
             answer_type: type[A], timeout_s: float, arm: str) -> A:
        if w.fresh:
            w.fresh = False
            ready = w.ask(ImportRequest(framework, impl), Answer, IMPORT_ALLOWANCE_S,
                          self.max_rss)
            if ready.status != "ok":
                return failed(answer_type, ready.status, ready.reason or "import failed")
        if (arm, framework) not in self.runtime_seen and self.on_runtime is not None:
            self.runtime_seen.add((arm, framework))
            self.on_runtime(arm, framework, w.ask(RuntimeRequest(framework), RuntimeAnswer,
                                                  IMPORT_ALLOWANCE_S, self.max_rss))
        answer = w.ask(request, answer_type, timeout_s, self.max_rss)
        if getattr(answer, "restart", False) or not w.alive():
            w.kill()
        return answer

    def close(self) -> None:
        for w in self.workers.values():
            w.close()
        self.workers.clear()

    def kill(self) -> None:
        """Stop every worker now (an interrupt): a worker in a case is not waited for."""
        kill_all()
        for w in self.workers.values():
            w.kill()
