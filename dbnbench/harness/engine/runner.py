"""The parent side of a run: plan, then rounds of calibration and cases through the worker
pool into the journal, then the merge into a result file.

Cases of one (framework, device) share a worker process, so a framework is imported once,
not once per case; a crash, hang or memory blow-up still costs only the case in flight, after
which a fresh worker takes the rest. Every answer is appended to the journal before the next
request, so an interrupted run resumes where it stopped (journal.py); the order of things is
schedule.py's, the processes are pool.py's (worker processes)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shlex
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...format.json_types import JSONScalar
from ...format.output import OutputError
from ...format.precisions import ITEMSIZE
from ...format.results import ResultDoc, SequentialRecord, Stopped, dump
from ...format.shown import visible_all
from ..errors import UserError
from ..frameworks import FRAMEWORKS
from ..measure.calibrate import PATIENCE, START, busy, join, reference_sweep, resweep, settle
from ..plan.cases import MAX_CASES, Case, Suite, check_layouts, load_suite, select, unavailable
from ..plan.registry import Registry
from ..probes.contention import busy_now
from ..probes.system import gpus, machine, usable_cpus
from ..processes.pool import WorkerPool
from ..processes.rendezvous import Host, Nodes
from ..records import (
    Arm,
    CalibrateRequest,
    CalibrationAnswer,
    CalibrationRecord,
    CaseAnswer,
    CaseRecord,
    CaseRequest,
    CaseSpec,
    Header,
    JSONObject,
    RuntimeAnswer,
    RuntimeRecord,
    Settings,
    Work,
)
from .journal import Journal, check_same_plan, open_journal
from .merge import build_result
from .roofline import round_roofs
from .schedule import LOOK_EVERY, Schedule, planned_looks


@dataclass(frozen=True)
class Look:
    """What a sequential run's judge said at one look."""

    decided: frozenset[str]  # case ids with a verdict: later rounds leave them out
    done: bool               # nothing left to decide (or the decision can no longer change)
    line: str                # for the progress display: what is still open, what it could see


@dataclass(frozen=True)
class Sequential:
    """`--until-decided`: rounds go on, ABBA pair after pair, until the judge (the caller's
    statistics: the engine knows none) says every case is decided, `max_rounds` are run or
    the next pair would pass `max_time_s`."""

    max_rounds: int
    max_time_s: float | None
    threshold: float
    judge: Callable[[ResultDoc, list[int]], Look] = field(compare=False)

    def record(self) -> JSONObject:
        return {"max_rounds": self.max_rounds, "max_time_s": self.max_time_s,
                "threshold": self.threshold}


@dataclass(frozen=True)
class RunOptions:
    suite: str
    filters: dict[str, list[str] | None]
    settings: Mapping[str, JSONScalar]  # overrides of the suite's settings; None keeps it
    output: Path
    registry: Registry = field(compare=False)
    max_memory: int | None = None
    cases_per_worker: int | None = None  # None: a worker keeps going; 1: a process per case
    arms: tuple[Arm, ...] = (Arm(),)
    max_cases: int = MAX_CASES
    nodes: Nodes | None = None  # this run spans several machines (node 0 runs the suite)
    sequential: Sequential | None = None
    duet: bool = False  # two arms at the same time, each on its own cores
    pin: bool = False   # every worker on the same cores (the last `threads` CPUs)


@dataclass
class Progress:
    """Callbacks the command line fills in; the runner knows nothing of terminals."""

    start: Callable[[int], None] = lambda total: None
    task: Callable[[str], None] = lambda label: None
    done: Callable[[str, str, str | None], None] = lambda label, status, reason: None
    warn: Callable[[str], None] = lambda text: None
    note: Callable[[str], None] = lambda text: None   # what a sequential look found
    total: Callable[[int], None] = lambda total: None  # the plan shrank (cases decided)


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
    suite = load_suite(options.suite, options.registry, options.max_cases)
    return suite, select(suite.cases, options.registry, **options.filters)


def nothing_to_run(suite: Suite, cases: list[Case], skipped: Mapping[str, str],
                   given: str | None = None) -> UserError:
    """Why no selected case can run here, naming the commonest reason (with its install
    hint, where that is the reason)."""
    reasons = Counter(skipped.values()).most_common()
    top, count = reasons[0]
    more = f"; and {len(reasons) - 1} other reason(s)" if len(reasons) > 1 else ""
    return UserError(f"nothing to run: none of the {len(cases)} selected case(s) of suite "
                     f"{suite.name} can run here: {top} ({count} case(s)){more}; "
                     f"`dbnbench list --suite {shlex.quote(given or suite.name)}` shows every "
                     "case's reason")


def settings_of(suite: Suite, overrides: Mapping[str, JSONScalar]) -> Settings:
    merged = {**suite.settings, **{k: v for k, v in overrides.items() if v is not None}}
    merged.setdefault("threads", usable_cpus())
    return Settings(**merged)  # keys and types checked by the suite schema


def work_of(case: Case, registry: Registry) -> Work:
    spec = registry.spec(case.workload)
    workers, stages = spec.layout(case.params)
    return Work(spec.items_per_step(case.params), spec.flops_per_step(case.params),
                tuple(spec.gemm_shapes(case.params)),
                spec.bytes_per_step(case.params, ITEMSIZE[case.precision]), workers, stages,
                spec.communicated_per_step(case.params) if stages == 1 else 0,
                spec.grouped(case.params))


class Run:
    """One run's loop: each round, fresh workers, every mode's roofs (in every arm), then
    every case (in every arm, ABBA)."""

    def __init__(self, options: RunOptions, settings: Settings, journal: Journal,
                 progress: Progress) -> None:
        self.options, self.settings, self.journal, self.progress = \
            options, settings, journal, progress
        arms = {a.name: a for a in journal.header.arms}
        self.pool = WorkerPool(settings.threads, options.max_memory, options.cases_per_worker,
                               on_runtime=self.remember_runtime, arms=arms)
        self.partial: Callable[[int], ResultDoc] = lambda rounds: {}  # type: ignore[typeddict-item]
        self.stopped: SequentialRecord | None = None  # a sequential run's record
        self.lock = threading.Lock()

    def remember_runtime(self, arm: str, framework: str, answer: RuntimeAnswer) -> None:
        """What a framework's worker runs with (BLAS/OpenMP pools and their kernels, library
        settings), once per arm and run: the evidence behind the kernel findings."""
        info = answer.runtime or {"framework": framework, "reason": answer.reason}
        self.journal.append(RuntimeRecord(framework, info, arm))

    def label(self, text: str, arm: str) -> str:
        return f"{text} [{arm}]" if arm else text

    def calibrate(self, modes: list[Case], round_: int, arms: tuple[str, ...],
                  todo: Sequence[tuple[int, Case, str]] = ()) -> None:
        """The roofs at the start of every round: each mode's GEMM and, once per (framework,
        device), a triad. A mode is swept in its first round; later rounds check the GEMM
        at the sweep's best size and sweep again only when it moved (`roof`). A case's % of
        peak is taken against its own round's roof, so a machine that was slower in one
        round is compared with itself."""
        pending = [(arm, c) for arm in arms for c in modes
                   if (arm, *c.mode, round_) not in self.journal.calibration]
        if pending:  # the round's start: its workers import side by side, before any timing
            self.pool.start([(arm, *c.mode[:2]) for arm, c in pending]
                            + [(arm, *c.worker_key) for _, c, arm in todo])
        triads: set[tuple[str, str, str]] = set()
        for arm in arms:
            for case in modes:
                fw, device, precision = case.mode
                if (arm, fw, device, precision, round_) in self.journal.calibration:
                    continue
                earlier = [self.journal.calibration.get((arm, fw, device, precision, r))
                           for r in range(round_)]
                label = self.label(f"calibrate GEMM peak {fw}/{device}/{precision} "
                                   f"(round {round_ + 1})", arm)
                self.progress.task(label)
                answer = self.roof(arm, case.mode, earlier, (arm, fw, device) not in triads)
                triads.add((arm, fw, device))
                self.journal.append(CalibrationRecord(fw, device, precision, round_, answer,
                                                      arm))
                if answer.status == "ok" and busy(answer) and answer.roof != "carried":
                    self.progress.warn(f"{label}: timed while other processes used the CPU, "
                                       "also when measured again; flagged in the result "
                                       "(calibration[].busy_by_round)")
                self.progress.done(label, answer.status, answer.reason)

    def roof(self, arm: str, mode: tuple[str, str, str],
             earlier: list[CalibrationAnswer | None], bandwidth: bool) -> CalibrationAnswer:
        """One mode's roof for this round: a sweep where no earlier round has a quiet one
        (from the best size seen so far, as a second look), else a drift check at that
        sweep's best size, settled against it; a check that moved is followed by a sweep
        from that size up."""
        fw, device, precision = mode
        reference = reference_sweep(earlier)

        def request(**kw: Any) -> CalibrateRequest:
            return CalibrateRequest(fw, device, precision, self.settings.threads,
                                    self.settings.seed, **{"bandwidth": bandwidth, **kw})

        if reference is None:
            best = max((a.best_size or 0 for a in earlier if a is not None), default=0)
            return self.measure_roof(arm, request(start=max(START, best),
                                                  patience=1 if best else PATIENCE))
        check = self.measure_roof(arm, request(check=reference[1].best_size,
                                               expected_flops_per_s=reference[1].gemm_flops_per_s))
        settled = settle(check, reference)
        if settled is not None:
            return settled
        # Moved: a second look from that size up (the curve below it was measured), as
        # every later round did before checks; its triad is the check's.
        again = request(bandwidth=False, start=reference[1].best_size, patience=1)
        return resweep(self.measure_roof(arm, again), check, reference)

    def measure_roof(self, arm: str, request: CalibrateRequest) -> CalibrationAnswer:
        """Ask a worker for a sweep or a check; one timed while other processes used the
        CPU is asked again once. The answer says so (`note`; `contention` if still busy)."""
        group = (request.framework, request.device)
        timeout = self.settings.timeout_s
        answer = self.pool.ask(group, None, request, CalibrationAnswer, timeout, arm)
        if answer.status != "ok" or not busy(answer):
            return answer
        first = answer.contention.other_cpu_share if answer.contention else 0.0
        again = self.pool.ask(group, None, request, CalibrationAnswer, timeout, arm)
        if again.status != "ok":
            again = answer  # the busy one, flagged, rather than none
        return replace(again, note=join(again.note, f"measured again: the first try was timed "
                                        f"while other processes used {first:.0%} of the CPU"))

    def case(self, case: Case, round_: int, arm: str) -> None:
        registry = self.options.registry
        impl = registry.impl(case.workload, case.framework)
        assert impl is not None  # unavailable() left out cases without an implementation
        roofs = round_roofs(self.journal.calibration, round_)
        request = CaseRequest(
            CaseSpec(case.id, case.workload, case.framework, case.device, case.precision,
                     case.params.to_json()),
            impl, work_of(case, registry), self.settings,
            quality=self.settings.quality and round_ == 0, first_round=round_ == 0,
            roof_flops_per_s=roofs.gemm.get((case.device, case.precision)),
            roof_bytes_per_s=roofs.bandwidth.get(case.device))
        label = self.label(f"{case.id} (round {round_ + 1}/{self.settings.rounds})", arm)
        self.progress.task(label)
        fresh = request.work.grouped and FRAMEWORKS[case.framework].fresh_group_process
        answer = self.pool.ask(case.worker_key, impl, request, CaseAnswer, self.settings.timeout_s,
                               arm, fresh=fresh)
        with self.lock:  # a duet's two arms answer from two threads
            self.journal.append(CaseRecord(case.id, round_, answer, arm))
            self.progress.done(label, answer.status, answer.reason)

    def loop(self, schedule: Schedule) -> None:
        sequential = self.options.sequential
        looks = set(planned_looks(schedule.rounds)) if sequential else set()
        decided: frozenset[str] = frozenset()
        decided_at: dict[str, int] = {}  # case id → the rounds it ran before a look decided it
        taken: list[int] = []
        self.progress.start(len(schedule.todo(self.journal))
                            + schedule.calibrations_left(self.journal))
        started, spent_rounds = time.monotonic(), 0
        try:
            for round_ in range(schedule.rounds):
                todo = schedule.todo(self.journal, range(round_, round_ + 1), decided)
                if todo:
                    # Every round in fresh worker processes: a process can settle into a
                    # fast or a slow state (thread placement, which BLAS pool wins), and
                    # rounds only sample that variation if they do not share processes.
                    self.pool.close()
                    self.run_round(schedule, round_, todo)
                    spent_rounds += 1
                if sequential is None or round_ + 1 not in looks:
                    continue
                taken.append(round_ + 1)
                look = sequential.judge(self.partial(round_ + 1), taken)
                decided = look.decided
                decided_at.update({c: round_ + 1 for c in decided if c not in decided_at})
                self.progress.note(f"after round {round_ + 1} (look {len(taken)}): {look.line}")
                self.progress.total(self.answered() + len(schedule.todo(self.journal,
                                                                        decided=decided)))
                per_round = (time.monotonic() - started) / max(spent_rounds, 1)
                reason: Stopped | None = "decided" if look.done else "max rounds" \
                    if round_ + 1 == schedule.rounds else "time budget" \
                    if sequential.max_time_s is not None and time.monotonic() - started \
                    + per_round * LOOK_EVERY > sequential.max_time_s else None
                if reason:
                    self.stopped = {"max_rounds": schedule.rounds, "looks": taken,
                                    "rounds": round_ + 1, "stopped": reason,
                                    "max_time_s": sequential.max_time_s,
                                    "decided_after": dict(sorted(decided_at.items()))}
                    return
        except BaseException:
            self.pool.kill()  # stopping: a worker mid-case is not waited for
            raise
        finally:
            self.pool.close()

    def answered(self) -> int:
        return len(self.journal.answers) + len(self.journal.calibration)

    def run_round(self, schedule: Schedule, round_: int, todo: list[tuple[int, Case, str]]
                  ) -> None:
        if self.options.duet:
            self.run_duet(schedule, round_, todo)
            return
        if self.options.pin:
            # One block of cores for every worker: the arms take turns on the same cores,
            # and a neighbour the scheduler places elsewhere leaves them alone.
            cores = tuple(sorted(os.sched_getaffinity(0))[-self.settings.threads:])
            self.pool.pins = {arm: cores for arm in schedule.arms}
        for _, case, arm in todo:
            self.calibrate(modes_of(schedule, todo), round_, schedule.arm_order(round_), todo)
            if schedule.retired(case, arm, round_, self.journal):
                label = self.label(f"{case.id} (round {round_ + 1}/{schedule.rounds})", arm)
                self.progress.task(label)
                self.progress.done(label, "skipped", "failed in an earlier round")
                continue
            self.case(case, round_, arm)


    def run_duet(self, schedule: Schedule, round_: int, todo: list[tuple[int, Case, str]]
                 ) -> None:
        """Duet (Bulej et al., ICPE 2020): both arms of a case run at the same time, each
        worker pinned to its own cores, so both see the same machine moment; the cores swap
        every round, so a core's own speed cancels over a pair of rounds. The roofs are
        measured first, one arm after the other."""
        self.pool.pins = duet_cores(schedule.arms, round_, self.settings.threads)
        self.pool.duet = True
        self.calibrate(modes_of(schedule, todo), round_, schedule.arm_order(round_), todo)
        by_case: dict[str, list[tuple[Case, str]]] = {}
        for _, case, arm in todo:
            by_case.setdefault(case.id, []).append((case, arm))
        for pairs in by_case.values():
            live = [(c, a) for c, a in pairs if not schedule.retired(c, a, round_, self.journal)]
            errors: list[BaseException] = []
            threads = [threading.Thread(target=self.duet_case, args=(c, round_, a, errors),
                                        daemon=True) for c, a in live]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]

    def duet_case(self, case: Case, round_: int, arm: str, errors: list[BaseException]
                  ) -> None:
        try:
            self.case(case, round_, arm)
        except BaseException as exc:  # re-raised on the main thread
            errors.append(exc)


def modes_of(schedule: Schedule, todo: list[tuple[int, Case, str]]) -> list[Case]:
    """The modes a round's cases run in: a sequential run's decided cases need no roof."""
    wanted = {case.mode for _, case, _ in todo}
    return [c for c in schedule.modes() if c.mode in wanted]


def duet_cores(arms: tuple[str, ...], round_: int, threads: int) -> dict[str, tuple[int, ...]]:
    """Each arm's cores in a round: consecutive blocks of `threads` usable CPUs, the first
    arm on the first block in even rounds and on the second in odd ones."""
    cpus = sorted(os.sched_getaffinity(0))
    blocks = [tuple(cpus[i * threads:(i + 1) * threads]) for i in range(len(arms))]
    return {arm: blocks[(i + round_) % len(arms)] for i, arm in enumerate(arms)}


def check_duet(options: RunOptions, runnable: tuple[Case, ...], threads: int,
               registry: Registry) -> None:
    """A duet needs two arms, a block of cores for each, and single-process cases."""
    if not options.duet:
        return
    named = [a.name for a in options.arms if a.name]
    if len(named) != 2:
        raise UserError(f"--duet runs two arms side by side: give two --arm (got {len(named)})")
    usable = usable_cpus()
    if usable < 2 * threads:
        raise UserError(f"--duet needs {2 * threads} CPUs ({threads} thread(s) per arm, an arm "
                        f"on cores of its own); this machine lets dbnbench use {usable}: use "
                        "--threads 1, or interleaved arms without --duet")
    grouped = [c.id for c in runnable if registry.spec(c.workload).grouped(c.params)]
    if grouped:
        raise UserError(f"--duet runs single-process cases; {grouped[0]} is a group of "
                        "processes (workers or stages): leave it out with the filters")


def check_same_sequence(recorded: object, given: Sequential | None) -> None:
    """A sequential run resumes only as the same sequential run: its looks and levels are
    part of its error rate."""
    if recorded is None and given is None:
        return
    if recorded is None or given is None:
        raise UserError("--resume: this run was started " + (
            "with --until-decided: resume it with --until-decided and the same --threshold"
            if given is None else "without --until-decided: resume it without"))
    assert isinstance(recorded, dict)
    if recorded.get("threshold") != given.threshold or \
            recorded.get("max_rounds") != given.max_rounds:
        raise UserError(f"--resume: this run decides at threshold {recorded.get('threshold')} "
                        f"within {recorded.get('max_rounds')} rounds; give the same")


def start_journal(options: RunOptions, suite: Suite, cases: list[Case],
                  settings: Settings, nodes: list[dict[str, Any]] | None = None) -> Journal:
    run_id = new_run_id(suite.name)
    here = machine()
    if nodes:
        here["nodes"] = nodes  # every node's machine, node 0's first
    hashes = {w: options.registry.source_hash(w) for w in dict.fromkeys(c.workload for c in cases)}
    header = Header(run_id, suite.name, suite.source, options.filters, settings, now(), here,
                    tuple(c.id for c in cases), hashes, busy_now(),
                    {"max_memory": options.max_memory,
                     "cases_per_worker": options.cases_per_worker, "duet": options.duet,
                     "pin": options.pin,
                     **({"sequential": options.sequential.record()}
                        if options.sequential else {})}, options.arms)
    path = options.output / f"{run_id}.journal.jsonl"
    try:
        journal = Journal.start(path, header)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    journal.lock()
    return journal


def warn_if_busy(journal: Journal, progress: Progress) -> None:
    load = journal.header.start_load
    if load is None or not load.contention.contended:
        return
    top = ", ".join(f"{p.name} (pid {p.pid}, {p.cpu:.0%} of a CPU)" for p in load.top)
    progress.warn(f"the machine is busy before the run starts: other processes use "
                  f"{load.contention.other_cpu_share:.0%} of its CPU time"
                  + (f" ({top})" if top else "") + "; cases measured now will be flagged")


def execute(options: RunOptions, progress: Progress | None = None,
            resume_id: str | None = None) -> tuple[ResultDoc, Path]:
    """Run (or resume) a suite; returns the result document and where it was written."""
    progress = progress or Progress()
    held = [open_journal(options.output, resume_id)] if resume_id else []
    try:
        return run_with(options, progress, held)
    finally:
        for journal in held:
            journal.unlock()


def run_with(options: RunOptions, progress: Progress, held: list[Journal]
             ) -> tuple[ResultDoc, Path]:
    """execute's body; `held` is the resumed journal, if any, and gets the one started."""
    journal = held[0] if held else None
    if journal is not None:
        h = journal.header
        options = replace(options, suite=h.suite_source, filters=h.filters,
                          settings={k: v for k, v in vars(h.settings).items()},
                          duet=bool(h.options.get("duet")), pin=bool(h.options.get("pin")))
        check_same_sequence(h.options.get("sequential"), options.sequential)
    suite, cases = plan(options)
    machine_gpus = journal.header.machine.get("gpus") if journal else None
    gpu_count = len(machine_gpus) if isinstance(machine_gpus, list) else len(gpus())
    skipped = {c.id: why for c in cases
               if (why := unavailable(c, gpu_count, options.registry, options.max_memory))}
    runnable = tuple(c for c in cases if c.id not in skipped)
    if not runnable:
        raise nothing_to_run(suite, cases, skipped, options.suite)
    settings = settings_of(suite, options.settings)
    count = options.nodes.count if options.nodes else 1
    check_duet(options, runnable, settings.threads, options.registry)
    check_layouts(runnable, options.registry, settings.threads, gpu_count, count)
    created = not options.output.exists()
    check_output_dir(options.output)  # after planning: bad input leaves no directory behind
    host = None
    try:
        try:
            host = Host(options.nodes) if options.nodes else None
            nodes = host.gather(machine()) if host else None
        except UserError:
            if created:  # nodes that never met leave no directory behind either
                with contextlib.suppress(OSError):
                    options.output.rmdir()
            raise
        return run_planned(options, progress, held, journal, suite, cases, skipped, runnable,
                           settings, nodes)
    finally:
        if host is not None:
            host.end()


def run_planned(options: RunOptions, progress: Progress, held: list[Journal],
                journal: Journal | None, suite: Suite, cases: list[Case],
                skipped: dict[str, str], runnable: tuple[Case, ...], settings: Settings,
                nodes: list[dict[str, Any]] | None) -> tuple[ResultDoc, Path]:
    """run_with's body once the plan is checked (and, over several nodes, all have joined)."""
    if journal is None:
        journal = start_journal(options, suite, cases, settings, nodes)
        held.append(journal)
    else:
        check_same_plan(journal.header, [c.id for c in cases],
                        {w: options.registry.source_hash(w) for w in {c.workload for c in cases}})
    warn_if_busy(journal, progress)
    interrupted = False
    path = options.output / f"{journal.header.run_id}.json"
    run = Run(options, settings, journal, progress)
    run.partial = lambda rounds: build_result(journal, cases, skipped, options.registry,
                                              finished_at=now(), complete=False, rounds=rounds)
    try:
        arms = tuple(a.name for a in journal.header.arms)
        run.loop(Schedule(runnable, settings.rounds, arms))
    except KeyboardInterrupt:
        interrupted = True
    except OSError as exc:  # the journal could not be written: a full disk, a lost mount
        raise RunIOError(journal.header.run_id, path,
                         f"{journal.path}: cannot write ({exc.strerror or exc})") from None
    # Its strings shown, never obeyed: a library's error text, a CPU model, a variable.
    doc = visible_all(build_result(
        journal, cases, skipped, options.registry, finished_at=now(), complete=not interrupted,
        rounds=run.stopped["rounds"] if run.stopped else None,
        decided_after=run.stopped["decided_after"] if run.stopped else None))
    if run.stopped:
        doc["sequential"] = run.stopped
    try:
        dump(doc, path)
    except OutputError as exc:
        raise RunIOError(journal.header.run_id, path, str(exc)) from None
    if interrupted:
        raise RunInterrupted(journal.header.run_id, path)
    journal.path.unlink(missing_ok=True)
    return doc, path


class RunInterrupted(Exception):
    def __init__(self, run_id: str, path: Path) -> None:
        super().__init__(run_id)
        self.run_id, self.path = run_id, path


class RunIOError(Exception):
    """The run could not write what it measured (journal or result): it stops; what the
    journal holds is kept, so a resume continues once the cause is gone."""

    def __init__(self, run_id: str, path: Path, message: str) -> None:
        super().__init__(message)
        self.run_id, self.path = run_id, path


__all__ = ["Look", "Progress", "RunIOError", "RunInterrupted", "RunOptions", "Sequential",
           "execute"]
