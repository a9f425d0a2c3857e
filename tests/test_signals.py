"""No worker outlives its run: SIGTERM (stopped like Ctrl-C: partial result and the resume
hint), SIGKILL of the parent, a second Ctrl-C while it stops, a parent that vanishes while
the worker is stuck. And a full disk mid-run: one line, exit 1, then a resume completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from dbnbench.format import results
from dbnbench.harness.records import PARENT_ENV

from .harness.test_output import fill, tmpfs

pytestmark = pytest.mark.slow  # real runs with real workers

HANG = """
name = "hang"
[settings]
rounds = 1
repetitions = 2
min_time_s = 0.01
warmup_s = 0.01
timeout_s = 120
quality = false
[[cases]]
workload = "harness-selftest"
frameworks = ["numpy"]
params = {{ size = 16, mode = {modes}, where = "step" }}
"""


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Whatever a test asserted, its runs and their workers are gone after it: a failing
    signal test must not leave a hanging worker on the machine."""
    yield
    for proc in STARTED:
        proc.kill()
        proc.wait()
        for worker in workers_of(proc.pid):
            worker.kill()
    STARTED.clear()


def workers_of(parent: int) -> list[psutil.Process]:
    """Worker processes started by the run with pid `parent`, reparented or not (each
    carries its parent's pid in its environment)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "dbnbench.harness.processes.worker" in (p.info["cmdline"] or []) \
                    and p.environ().get(PARENT_ENV) == str(parent):
                found.append(p)
        except psutil.Error:
            pass
    return found


def start(tmp_path: Path, modes: str = '["hang"]', out: Path | None = None
          ) -> tuple[subprocess.Popen[str], Path]:
    suite = tmp_path / "hang.toml"
    suite.write_text(HANG.format(modes=modes))
    out = out or tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "dbnbench", "run", "--suite", str(suite),
                             "-o", str(out), "--no-html", "--db", str(tmp_path / "h.sqlite")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    STARTED.append(proc)
    return proc, out


def workers_in_the_case(proc: subprocess.Popen[str], out: Path) -> list[psutil.Process]:
    """Wait until the run is inside its hanging case (calibrated, request sent), and
    return its worker processes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        journals = list(out.glob("*.journal.jsonl"))
        if journals and '"kind": "calibration"' in journals[0].read_text():
            time.sleep(2)  # the case request is on its way; the step hangs
            workers = psutil.Process(proc.pid).children(recursive=True)
            assert workers, "no worker process"
            return workers
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("the run never reached its case")


def gone(processes: list[psutil.Process], within_s: float = 10) -> list[psutil.Process]:
    """Those of `processes` still alive (not zombies) after `within_s`."""
    deadline = time.monotonic() + within_s
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    return alive


def test_sigterm_stops_like_ctrl_c_and_no_worker_survives(tmp_path):
    proc, out = start(tmp_path)
    workers = workers_in_the_case(proc, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err and "--resume" in err and "Traceback" not in err
    assert not gone(workers)
    [partial] = out.glob("*.json")
    assert results.load(partial)["complete"] is False


def test_sigkill_of_the_parent_takes_the_workers_with_it(tmp_path):
    proc, out = start(tmp_path)
    workers = workers_in_the_case(proc, out)
    proc.kill()
    proc.communicate(timeout=30)
    assert not gone(workers, within_s=5), "a worker outlived its killed parent"


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    proc, out = start(tmp_path)
    workers = workers_in_the_case(proc, out)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not gone(workers)


def test_a_worker_dies_with_whatever_started_it(tmp_path):
    """The worker itself asks for the parent-death signal: started by a plain process that
    then exits (no dbnbench parent to kill it, and no parent pid for its watchdog), it dies
    too, though its stdin stays open."""
    read_end, write_end = os.pipe()  # held open here: the worker never sees EOF
    spawner = (
        "import os, subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'dbnbench.harness.processes.worker'], "
        f"stdin={read_end}, pass_fds=({read_end},), start_new_session=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, "  # our pipe closes with it
        f"env={{k: v for k, v in os.environ.items() if k != {PARENT_ENV!r}}})\n"
        "print(p.pid, flush=True)\n"
        "import time; time.sleep(1.5)\n"  # the worker is up and reading
    )
    proc = subprocess.run([sys.executable, "-c", spawner], capture_output=True, text=True,
                          pass_fds=(read_end,), timeout=60)
    worker = psutil.Process(int(proc.stdout.split()[0]))
    try:
        assert not gone([worker], within_s=5), "the worker outlived its parent"
    finally:
        os.close(write_end)
        os.close(read_end)
        if worker.is_running():
            worker.kill()


def test_the_watchdog_ends_a_worker_whose_run_vanished():
    """A wrapper between run and worker (an arm's interpreter script) outlives the run: no
    parent-death signal reaches the worker, so its watchdog must see the run is gone."""
    run = subprocess.Popen(["sleep", "1.5"])  # stands for the dbnbench that is killed
    worker = subprocess.Popen([sys.executable, "-m", "dbnbench.harness.processes.worker"],
                              stdin=subprocess.PIPE, start_new_session=True,
                              env={**os.environ, PARENT_ENV: str(run.pid)})
    try:
        time.sleep(1)
        assert worker.poll() is None, "the worker did not start"
        run.wait()  # reaped: the pid is gone, while the worker's own parent (we) lives on
        assert not gone([psutil.Process(worker.pid)], within_s=5), "the worker outlived its run"
    finally:
        worker.kill()
        worker.communicate()


def test_a_full_disk_mid_run_is_one_line_and_resumable(tmp_path):
    with tmpfs(tmp_path / "disk", "256k") as disk:
        proc, out = start(tmp_path, modes='["ok"]', out=disk / "out")
        filled = threading.Event()

        def fill_after_calibration() -> None:
            while proc.poll() is None:
                journals = list(out.glob("*.journal.jsonl"))
                if journals and '"kind": "calibration"' in journals[0].read_text():
                    fill(str(disk))
                    filled.set()
                    return
                time.sleep(0.05)

        filler = threading.Thread(target=fill_after_calibration)
        filler.start()
        _, err = proc.communicate(timeout=120)
        filler.join()
        assert filled.is_set()
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning")]
        assert proc.returncode == 1, err
        assert "Traceback" not in err
        assert "No space left on device" in lines[-1] and "--resume" in lines[-1], err
        assert "no HTML report written, not recorded in the history" in lines[-1], err
        run_id = lines[-1].split("--resume ")[1].split()[0]
        os.unlink(disk / "filler")
        resumed = subprocess.run([sys.executable, "-m", "dbnbench", "run", "--resume", run_id,
                                  "-o", str(out), "--no-html", "--db", str(tmp_path / "h.sqlite")],
                                 capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        [case] = results.load(out / f"{run_id}.json")["cases"]
        assert case["status"] == "ok"
