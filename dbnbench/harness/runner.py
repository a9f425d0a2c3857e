"""The parent side of a run: plan, calibrate, interleave rounds, journal, resume, merge.

Cases of one (framework, device) share a worker process, so a framework is imported once,
not once per case; a crash, hang or memory blow-up still costs only the case in flight, after
which a fresh worker takes the rest. Every answer is appended to a journal before the next
request, so an interrupted run resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .calibrate import START
from .cases import Case, Suite, load_suite, select, unavailable
from .errors import UserError
from .merge import build_result, calibration_key
from .probes.contention import busy_now
from .probes.system import gpus, machine, usable_cpus
from .results import dump
from .roofline import round_roofs
from .workers import IMPORT_ALLOWANCE_S, Worker


@dataclass(frozen=True)
class RunOptions:
    suite: str
    filters: dict[str, list[str] | None]
    settings: dict[str, Any]
    output: Path
    max_memory: int | None = None
    cases_per_worker: int | None = None  # None: a worker keeps going; 1: a process per case


@dataclass
class Progress:
    """Callbacks the command line fills in; the runner knows nothing of terminals."""

    start: Callable[[int], None] = lambda total: None
    task: Callable[[str], None] = lambda label: None
    done: Callable[[str, dict[str, Any]], None] = lambda label, answer: None
    warn: Callable[[str], None] = lambda text: None


@dataclass
class Journal:
    path: Path
    header: dict[str, Any]
    # (framework, device, precision, round) -> answer: calibrated anew every round
    calibration: dict[tuple[str, str, str, int], dict[str, Any]] = field(default_factory=dict)
    answers: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    # framework -> its workers' BLAS/OpenMP pools and library facts, read once per run
    runtime: dict[str, dict[str, Any]] = field(default_factory=dict)

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def read(cls, path: Path) -> Journal:
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        journal = cls(path, header)
        for line in lines[1:]:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut short by the interruption: everything before it stands
            if rec["kind"] == "calibration":
                journal.calibration[(*rec["key"], rec.get("round", 0))] = rec["answer"]
            elif rec["kind"] == "case":
                journal.answers[(rec["id"], rec["round"])] = rec["answer"]
            elif rec["kind"] == "runtime":
                journal.runtime[rec["framework"]] = rec["info"]
        return journal


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_id(suite: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{suite}-{secrets.token_hex(2)}"


def check_output_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".dbnbench-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"output directory {path} is not writable ({exc.strerror or exc})") from None


def plan(options: RunOptions) -> tuple[Suite, list[Case]]:
    suite = load_suite(options.suite)
    return suite, select(suite.cases, **{k: v for k, v in options.filters.items()})


class Runner:
    def __init__(self, options: RunOptions, journal: Journal, progress: Progress) -> None:
        self.options, self.journal, self.progress = options, journal, progress
        self.settings = options.settings
        self.workers: dict[tuple[str, str], Worker] = {}
        self.served: dict[tuple[str, str], int] = {}

    def worker(self, group: tuple[str, str]) -> Worker:
        w = self.workers.get(group)
        limit = self.options.cases_per_worker
        if w is None or not w.alive() or (limit and self.served.get(group, 0) >= limit):
            if w is not None:
                w.close()
            w = self.workers[group] = Worker(self.settings["threads"])
            self.served[group] = 0
        self.served[group] += 1
        return w

    def ask(self, group: tuple[str, str], request: dict[str, Any], timeout_s: float
            ) -> dict[str, Any]:
        w = self.worker(group)
        workload = request.get("case", {}).get("workload")
        answer = w.prepare(group[0], workload, self.options.max_memory)
        if answer is None and group[0] not in self.journal.runtime:
            self.read_runtime(w, group[0])
        answer = answer or w.ask(request, timeout_s, self.options.max_memory)
        if answer.pop("restart", False) or not w.alive():
            w.kill()
        return answer

    def read_runtime(self, w: Worker, framework: str) -> None:
        """What the worker runs with (BLAS/OpenMP pools and their kernels, library facts),
        once per framework and run: the evidence behind the kernel findings."""
        reply = w.ask({"op": "runtime", "framework": framework}, IMPORT_ALLOWANCE_S,
                      self.options.max_memory)
        info = reply.get("runtime") or {"framework": framework, "reason": reply.get("reason")}
        self.journal.runtime[framework] = info
        self.journal.append({"kind": "runtime", "framework": framework, "info": info})

    def calibrate(self, cases: Iterable[Case], round_: int) -> None:
        """The roofs, measured again at the start of every round: each mode's GEMM sweep and,
        once per (framework, device), a triad. A case's % of peak is taken against its own
        round's roof, so a machine that was slower in one round is compared with itself."""
        bandwidth_done: set[tuple[str, str]] = set()
        for case in cases:
            key = calibration_key(case)
            if (*key, round_) in self.journal.calibration:
                continue
            label = f"calibrate GEMM peak {'/'.join(key)} (round {round_ + 1})"
            self.progress.task(label)
            fw, device, precision = key
            earlier = [self.journal.calibration.get((*key, r), {}) for r in range(round_)]
            best = max((a.get("best_size") or 0 for a in earlier), default=0)
            request = {"op": "calibrate", "framework": fw, "device": device,
                       "precision": precision, "threads": self.settings["threads"],
                       "seed": self.settings["seed"],
                       # Later rounds start the sweep at the best size found so far.
                       "start": max(START, best), "patience": 1 if best else None,
                       "bandwidth": (fw, device) not in bandwidth_done}
            bandwidth_done.add((fw, device))
            answer = self.ask(case.group, request, self.settings["timeout_s"])
            self.journal.calibration[(*key, round_)] = answer
            self.journal.append({"kind": "calibration", "key": list(key), "round": round_,
                                 "answer": answer})
            self.progress.done(label, answer)

    def run_case(self, case: Case, round_: int) -> None:
        settings = {k: self.settings[k] for k in ("threads", "seed", "warmup_s", "min_time_s",
                                                   "repetitions")}
        roofs = round_roofs(self.journal.calibration, round_)
        request = {"op": "case", "case": case.to_dict() | {"id": case.id}, "settings": settings,
                   "quality": bool(self.settings["quality"]) and round_ == 0,
                   "roof_flops_per_s": roofs["gemm"].get((case.device, case.precision)),
                   "roof_bytes_per_s": roofs["bandwidth"].get(case.device)}
        label = f"{case.id} (round {round_ + 1}/{self.settings['rounds']})"
        self.progress.task(label)
        answer = self.ask(case.group, request, self.settings["timeout_s"])
        self.journal.answers[(case.id, round_)] = answer
        self.journal.append({"kind": "case", "id": case.id, "round": round_, "answer": answer})
        self.progress.done(label, answer)

    def run(self, runnable: list[Case]) -> None:
        rounds = self.settings["rounds"]
        todo = [(c, r) for r in range(rounds) for c in runnable
                if (c.id, r) not in self.journal.answers]
        one_per_mode = list({calibration_key(c): c for c in runnable}.values())
        pending = sum((*calibration_key(c), r) not in self.journal.calibration
                      for c in one_per_mode for r in range(rounds))
        self.progress.start(len(todo) + pending)
        try:
            current = None
            for case, round_ in todo:
                if round_ != current:
                    # Every round in fresh worker processes: a process can settle into a
                    # fast or a slow state (thread placement, which BLAS pool wins), and
                    # rounds only sample that variation if they do not share processes.
                    self.close_workers()
                    current = round_
                self.calibrate(one_per_mode, round_)
                # A case that failed outright in an earlier round is not tried again.
                earlier = [self.journal.answers.get((case.id, r), {}) for r in range(round_)]
                if any(a.get("status") in ("failed", "timeout", "skipped") for a in earlier):
                    self.progress.task(f"{case.id} (round {round_ + 1}/{rounds})")
                    self.progress.done(case.id, {"status": "skipped"})
                    continue
                self.run_case(case, round_)
        finally:
            self.close_workers()

    def close_workers(self) -> None:
        for w in self.workers.values():
            w.close()
        self.workers.clear()


def execute(options: RunOptions, progress: Progress | None = None,
            resume_id: str | None = None) -> tuple[dict[str, Any], Path]:
    """Run (or resume) a suite; returns the result document and where it was written."""
    progress = progress or Progress()
    if resume_id:
        journal = open_journal(options.output, resume_id)
        h = journal.header
        options = replace(options, suite=h["suite_source"], filters=h["filters"],
                          settings=h["settings"])
    suite, cases = plan(options)
    check_output_dir(options.output)  # after planning: bad input leaves no directory behind
    settings = {**suite.settings, **{k: v for k, v in options.settings.items() if v is not None}}
    settings.setdefault("threads", usable_cpus())
    options = replace(options, settings=settings)
    if not resume_id:
        run_id = new_run_id(suite.name)
        journal = Journal(options.output / f"{run_id}.journal.jsonl", {
            "kind": "header", "run_id": run_id, "suite": suite.name, "suite_source": suite.source,
            "filters": options.filters, "settings": settings, "started_at": now(),
            "machine": machine(), "start_load": busy_now()})
        journal.append(journal.header)
    load = journal.header.get("start_load")
    if load and load["contended"]:
        top = ", ".join(f"{p['name']} (pid {p['pid']}, {p['cpu']:.0%} of a CPU)" for p in load["top"])
        progress.warn(f"the machine is busy before the run starts: other processes use "
                      f"{load['other_cpu_share']:.0%} of its CPU time"
                      + (f" ({top})" if top else "") + "; cases measured now will be flagged")
    gpu_count = len(journal.header["machine"]["gpus"]) if resume_id else len(gpus())
    skipped = {c.id: why for c in cases if (why := unavailable(c, gpu_count))}
    runnable = [c for c in cases if c.id not in skipped]
    runner = Runner(options, journal, progress)
    interrupted = False
    try:
        runner.run(runnable)
    except KeyboardInterrupt:
        interrupted = True
    header = {**journal.header, "machine": {**journal.header["machine"],
                                            "runtime": journal.runtime}}
    doc = build_result(header, settings, cases, skipped, journal.calibration,
                       journal.answers, finished_at=now(), complete=not interrupted)
    path = options.output / f"{journal.header['run_id']}.json"
    dump(doc, path)
    if interrupted:
        raise RunInterrupted(journal.header["run_id"], path)
    journal.path.unlink(missing_ok=True)
    return doc, path


class RunInterrupted(Exception):
    def __init__(self, run_id: str, path: Path) -> None:
        super().__init__(run_id)
        self.run_id, self.path = run_id, path


def open_journal(output: Path, run_id: str) -> Journal:
    path = output / f"{run_id}.journal.jsonl"
    if not path.is_file():
        if (output / f"{run_id}.json").is_file():
            raise UserError(f"run {run_id} in {output} finished already: nothing to resume")
        raise UserError(f"no run {run_id} to resume in {output}")
    try:
        return Journal.read(path)
    except (OSError, ValueError, KeyError, IndexError):
        raise UserError(f"{path}: journal unreadable; the run cannot be resumed") from None


__all__ = ["Progress", "RunInterrupted", "RunOptions", "execute"]
