"""The parent's handle on one worker process: spawn, ask, contain, kill."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import psutil

POLL_S = 0.1
IMPORT_ALLOWANCE_S = 120.0  # a fresh worker imports its framework inside its first request


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


class Worker:
    """One child process running `python -m dbnbench.harness.worker`."""

    def __init__(self, threads: int) -> None:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
            env[var] = str(threads)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONUNBUFFERED"] = "1"
        self.log = tempfile.TemporaryFile(mode="w+b")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dbnbench.harness.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, env=env, start_new_session=True)
        self.fresh = True
        self.buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> int:
        try:
            p = psutil.Process(self.proc.pid)
            return p.memory_info().rss + sum(c.memory_info().rss for c in p.children(True))
        except psutil.Error:
            return 0

    def last_log_line(self) -> str:
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - 8192))
        lines = [ln.strip() for ln in self.log.read().decode(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith(("WARNING:", "I0000", "W0000"))]
        return lines[-1][:200] if lines else ""

    def prepare(self, framework: str, workload: str | None, max_rss: int | None
                ) -> dict[str, Any] | None:
        """Import the framework (and workload) once, under its own generous deadline, so a
        case's timeout measures the case and not the import. None when all went well."""
        if not self.fresh:
            return None
        self.fresh = False
        answer = self.ask({"op": "import", "framework": framework, "workload": workload},
                          IMPORT_ALLOWANCE_S, max_rss)
        return None if answer.get("status") == "ok" else answer

    def ask(self, request: dict[str, Any], timeout_s: float, max_rss: int | None) -> dict[str, Any]:
        """Send one request and wait for its answer. A crash, a timeout or a memory cap
        breach becomes a failed answer and leaves the worker dead (`alive()` is False)."""
        deadline = time.monotonic() + timeout_s
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._died()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buffer:
                if time.monotonic() > deadline:
                    self.kill()
                    return {"status": "timeout", "reason": f"no answer within {timeout_s:g} s; "
                            "worker killed"}
                if max_rss is not None:
                    rss = self.rss()
                    if rss > max_rss:
                        self.kill()
                        return {"status": "failed", "reason": (
                            f"out of memory: worker reached {rss / 2**30:.2f} GiB, over the "
                            f"{max_rss / 2**30:.2f} GiB cap; worker killed")}
                if sel.select(POLL_S):
                    chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                    if not chunk:
                        return self._died()
                    self.buffer += chunk
        finally:
            sel.close()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def _died(self) -> dict[str, Any]:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        how = f"killed by {signal_name(code)}" if code is not None and code < 0 \
            else f"exited with code {code}"
        if code == -signal.SIGKILL:
            how += " (often the kernel's out-of-memory killer)"
        tail = self.last_log_line()
        return {"status": "failed", "reason": f"worker crashed: {how}" + (f"; last output: {tail}"
                                                                           if tail else "")}

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

    def close(self) -> None:
        if self.alive():
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self.log.close()
