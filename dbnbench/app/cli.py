"""The command line: run, list, env, report."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click
from click.core import ParameterSource
from rich.text import Text

from ..format import results
from ..format.output import is_stdout
from ..format.results import ResultDoc
from ..harness.errors import UserError
from ..harness.plan.cases import MAX_CASES
from .cli_reports import register_report_commands
from .console import err, out
from .progress import RichProgress
from .run_args import RunArgs

SIZE_RE = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,6})?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
MAX_MEMORY = 2**50  # 1 PiB: beyond any machine's memory
MIN_MEMORY = 2**20  # a worker needs more than a MiB just to start


def parse_size(text: str | None) -> int | None:
    if text is None:
        return None
    m = SIZE_RE.match(text)
    if not m:
        raise UserError(f"--max-memory: cannot read {text[:40]!r} (e.g. 512MiB, 8GiB)")
    unit = (m.group(2) or "B").upper().rstrip("B").rstrip("I")
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[unit]
    size = int(float(m.group(1)) * scale)
    if not MIN_MEMORY <= size <= MAX_MEMORY:
        raise UserError(f"--max-memory: {text.strip()} is not between 1 MiB and 1 PiB")
    return size


class Finite(click.ParamType):
    """A finite number within bounds: click's FloatRange lets nan through."""

    name = "number"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{str(value)[:40]!r} is not a number", param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{str(value)[:40]} is not a number from {self.low:g} to {self.high:g}",
                      param, ctx)
        return number


def filters(workload: str | None, framework: str | None, device: str | None,
            precision: str | None) -> dict[str, list[str] | None]:
    from ..harness.plan.cases import parse_list

    return {"workloads": parse_list("--workload", workload),
            "frameworks": parse_list("--framework", framework),
            "devices": parse_list("--device", device),
            "precisions": parse_list("--precision", precision)}


def case_filters(fn: Any) -> Any:
    """The options every case-selecting command shares."""
    fn = click.option("--max-cases", type=click.IntRange(1, 10**7), default=MAX_CASES,
                      show_default=True,
                      help="refuse a suite that expands to more cases than this")(fn)
    for name, text in reversed((
            ("--suite", "built-in suite name or a .toml path [default: quick]"),
            ("--workload", "comma-separated workloads to keep"),
            ("--framework", "comma-separated frameworks, e.g. numpy,torch"),
            ("--device", "comma-separated devices: cpu, cuda, cuda:N"),
            ("--precision", "comma-separated precisions, e.g. fp32,bf16-mixed"))):
        if name == "--suite":
            fn = click.option(name, "-s", help=text, default="quick", show_default=False)(fn)
        else:
            fn = click.option(name, help=text)(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dbnbench")
def app() -> None:
    """Benchmark RBM/DBN workloads across devices, precisions and frameworks."""


RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# What a run was planned with: a resume takes it all from the run's journal, so giving one
# of these again would be ignored; refused instead, naming it.
PLAN_OPTIONS = ("suite", "workload", "framework", "device", "precision", "max_cases",
                "timeout", "rounds", "repetitions", "min_time", "threads", "seed",
                "no_quality", "arm_specs", "arm_env", "duet", "pin")


def memory_cap(max_memory: str | None) -> int:
    """`--max-memory`, or 90 % of RAM: the cap `run` enforces and `list` judges by."""
    import psutil

    return parse_size(max_memory) or int(psutil.virtual_memory().total * 0.9)


def check_resume(run_id: str, ctx: click.Context) -> None:
    """A resume names a run id and nothing of the plan the run already has."""
    if not RUN_ID_RE.match(run_id):
        raise UserError(f"--resume: {run_id[:60]!r} is not a run id (letters, digits, '.', "
                        "'_' and '-', as in 20261206T044441Z-ci-c0cd)")
    given = [p for p in PLAN_OPTIONS
             if ctx.get_parameter_source(p) in (ParameterSource.COMMANDLINE,
                                                ParameterSource.ENVIRONMENT)]
    if given:
        names = ", ".join("--" + ("arm" if p == "arm_specs" else p.replace("_", "-"))
                          for p in given)
        raise UserError(f"--resume continues the run as it was planned (its journal has the "
                        f"suite and settings): leave out {names}")


@app.command()
@case_filters
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True, help="directory for results")
@click.option("--timeout", type=Finite(1, 604800), help="seconds per case before it is killed")
@click.option("--rounds", type=click.IntRange(1, 100), help="interleaved rounds over all cases")
@click.option("--repetitions", type=click.IntRange(1, 1000), help="timed repetitions per round")
@click.option("--min-time", type=Finite(0.001, 3600), help="seconds per repetition")
@click.option("--threads", type=click.IntRange(1, 1024), help="threads per framework")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="random seed")
@click.option("--no-quality", is_flag=True, help="skip the quality procedures")
@click.option("--max-memory", help="kill a case whose worker exceeds this, e.g. 8GiB "
              "(default: 90%% of RAM)")
@click.option("--isolate", is_flag=True, help="a fresh process for every case")
@click.option("--resume", metavar="RUN_ID", help="resume an interrupted run by its id")
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="directory with MNIST IDX files (else $DBNBENCH_MNIST_DIR); never downloaded")
@click.option("--no-html", is_flag=True, help="do not write the HTML report beside the result")
@click.option("--db", type=click.Path(path_type=Path),
              help="history database to record the run in [default: $DBNBENCH_HISTORY, else "
              "$XDG_DATA_HOME/dbnbench/history.sqlite, else "
              "~/.local/share/dbnbench/history.sqlite]")
@click.option("--arm", "arm_specs", multiple=True, metavar="NAME=PYTHON",
              help="an arm: this interpreter's workers run every case, interleaved with the "
              "other arms in every round (repeatable; e.g. base=.venv-base/bin/python)")
@click.option("--arm-env", "arm_env", multiple=True, metavar="NAME:KEY=VALUE",
              help="an environment variable for one arm's workers (repeatable)")
@click.option("--nnodes", type=click.IntRange(1, 4096),
              help="machines this run spans (multi-rank cases split their ranks evenly)")
@click.option("--node-rank", type=click.IntRange(0, 4095),
              help="this machine's place: 0 runs the suite and writes the result, the others "
              "run an agent that starts their ranks")
@click.option("--rdzv-endpoint", metavar="HOST:PORT",
              help="node 0's address and a free port: the rendezvous every node meets at")
@click.option("--rdzv-timeout", type=Finite(1, 86400), default=300.0, show_default=True,
              help="seconds to wait for every node to join")
@click.option("--duet", is_flag=True,
              help="with two arms: run both arms of a case at the same time, each on cores of "
              "its own (one thread each unless --threads), cores swapped every round")
@click.option("--pin", is_flag=True,
              help="pin every worker to the last --threads CPUs (arms take turns on them)")
@click.option("--until-decided", is_flag=True,
              help="with two arms: add rounds, pair by pair, until every case is regressed, "
              "improved or unchanged at --threshold (type I error kept at 5 %% however early "
              "it stops), or the budget ends")
@click.option("--max-rounds", type=click.IntRange(4, 100),
              help="--until-decided: at most this many rounds [default: 40]")
@click.option("--max-time", metavar="DURATION",
              help="--until-decided: start no pair of rounds that would end past this (10m, 600s)")
@click.option("--threshold", "gate_threshold", default="5%", show_default=True,
              help="--until-decided: the smallest change of items/s that counts")
@click.option("--verbose", "-v", is_flag=True, help="list every warning (default: counts by kind)")
def run(**given: Any) -> None:
    """Run a suite (default: quick) and write results/<run-id>.json."""
    run_suite(RunArgs(**given))


def run_suite(a: RunArgs) -> None:
    """`dbnbench run` from its options, one typed object (app/run_args.py)."""
    rounds, threads, db = a.rounds, a.threads, a.db  # settled below from the others
    from ..harness.processes.rendezvous import agent, parse_nodes

    nodes = parse_nodes(a.nnodes, a.node_rank, a.rdzv_endpoint, a.rdzv_timeout)
    if nodes is not None and nodes.count == 1:
        nodes = None  # one node is the plain run
    if nodes is not None and nodes.rank > 0:
        from ..harness.probes.system import machine

        sys.exit(agent(nodes, dict(machine()), say=err.print))

    from ..harness.engine.runner import RunInterrupted, RunIOError, RunOptions, execute
    from ..harness.plan.arms import parse_arms
    from ..reports.compare import parse_fraction
    from ..reports.terminal import render
    from ..suites.builtin import default_registry
    from . import store
    from .sequential import sequential_of

    if is_stdout(a.output):
        raise UserError("run: -o is the directory for results; standard output cannot be one")
    if a.resume is not None:
        check_resume(a.resume, click.get_current_context())
    if a.data_dir is not None:
        from ..suites.data import MNIST_ENV, mnist_dir

        os.environ[MNIST_ENV] = str(mnist_dir(a.data_dir))  # workers inherit it
    arms = parse_arms(a.arm_specs, a.arm_env)
    sequential = sequential_of(a.until_decided, arms, a.max_rounds, a.max_time,
                               parse_fraction(a.gate_threshold), rounds, a.resume is not None)
    if sequential is not None and a.resume is None:
        rounds = sequential.max_rounds
    if a.duet and a.pin:
        raise UserError("--duet pins each arm to cores of its own already; leave out --pin")
    if a.duet and threads is None:
        threads = 1  # a duet's arms each get cores of their own: one each by default
    settings = {"timeout_s": a.timeout, "rounds": rounds, "repetitions": a.repetitions,
                "min_time_s": a.min_time, "threads": threads, "seed": a.seed,
                "quality": False if a.no_quality else None}
    cap = memory_cap(a.max_memory)
    db = db or store.default_db()
    store.check(db)  # a database that is not ours is refused before the suite runs
    options = RunOptions(suite=a.suite, filters=filters(a.workload, a.framework, a.device, a.precision),
                         registry=default_registry(),
                         settings=settings, output=a.output, max_memory=cap,
                         cases_per_worker=1 if a.isolate else None,
                         arms=arms, max_cases=a.max_cases, nodes=nodes,
                         sequential=sequential, duet=a.duet, pin=a.pin)
    if a.resume is not None and finish_finished(a.resume, a.output, html=not a.no_html, db=db):
        return
    progress = RichProgress(err)
    with StopOnSignals(a.output) as stopping:
        try:
            doc, path = execute(options, progress, resume_id=a.resume)  # type: ignore[arg-type]
        except RunInterrupted as exc:
            progress.stop()
            finish(results.load(exc.path), exc.path, html=not a.no_html, db=None)
            err.print(Text(f"interrupted{stopping.by()}: partial results in {exc.path}; "
                           "continue with ").append(
                f"dbnbench run --resume {exc.run_id} -o {a.output}", style="bold"))
            sys.exit(stopping.exit_code())
        except RunIOError as exc:
            progress.stop()
            run_failed(f"{exc}; the run stopped (no HTML report written, not recorded in the "
                       "history), what it measured is kept: once that is fixed, continue with "
                       f"dbnbench run --resume {exc.run_id} -o {a.output}")
    progress.stop()
    out.print(render(doc, verbose=a.verbose))
    out.print(Text("results written to ").append(str(path), style="bold"))
    finish(doc, path, html=not a.no_html, db=db)
    bad = [c for c in doc["cases"] if c["status"] in ("failed", "timeout")]
    if bad:
        sys.exit(1)


def run_failed(message: str) -> NoReturn:
    """A run's own I/O failure (not bad input): one line, exit 1."""
    err.print(f"dbnbench: error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(1)


def finish_finished(run_id: str, output: Path, *, html: bool, db: Path) -> bool:
    """`--resume` of a run whose result was written but whose HTML report or history record
    is missing (the process was killed between them): those are done now, and True. A run
    with both already is 'finished already' (exit 2); without a complete result, False."""
    from ..harness.engine.journal import finished
    from . import store

    path = output / f"{run_id}.json"
    if (output / f"{run_id}.journal.jsonl").is_file() or not path.is_file() \
            or not finished(path):
        return False
    doc = results.load(path)
    if doc["run_id"] != run_id:
        raise UserError(f"run {run_id} in {output} finished already ({path.name} holds run "
                        f"{doc['run_id']}): nothing to resume")
    recorded = any(r["run_id"] == run_id for r in store.runs(db))
    page = path.with_suffix(".html")
    if recorded and (page.is_file() or not html):
        raise UserError(f"run {run_id} in {output} finished already: nothing to resume")
    finish(doc, path, html=html and not page.is_file(), db=None if recorded else db)
    out.print(Text(f"run {run_id} had finished; its missing report or history record is "
                   "written now"))
    return True


def finish(doc: ResultDoc, path: Path, *, html: bool, db: Path | None) -> None:
    """after_run, where a failure to write is the run's I/O failure (exit 1), not bad input."""
    try:
        after_run(doc, path, html=html, db=db)
    except UserError as exc:
        run_failed(f"{exc} (the result itself is in {path})")


class StopOnSignals:
    """SIGTERM and SIGHUP stop a run as Ctrl-C does: the cases so far become a partial result
    and the resume hint is printed. A second signal while it stops ends it at once: every
    worker is killed and the process exits; the journal still holds what was measured."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, output: Path) -> None:
        self.output, self.first = output, 0
        self.before: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignals:
        for sig in self.SIGNALS:
            self.before[sig] = signal.signal(sig, self.handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.before.items():
            signal.signal(sig, handler)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.first:
            self.first = signum
            raise KeyboardInterrupt
        from ..harness.processes.pool import kill_all

        kill_all()
        journals = sorted(self.output.glob("*.journal.jsonl"), key=lambda p: p.stat().st_mtime)
        hint = (f"; continue with dbnbench run --resume "
                f"{journals[-1].name.removesuffix('.journal.jsonl')} -o {self.output}"
                if journals else "")
        os.write(2, f"dbnbench: stopped at once{hint}\n".encode())
        os._exit(128 + signum)

    def by(self) -> str:
        return f" by {signal.Signals(self.first).name}" if self.first not in (0, signal.SIGINT) \
            else ""

    def exit_code(self) -> int:
        return 128 + (self.first or signal.SIGINT)


def after_run(doc: ResultDoc, path: Path, *, html: bool, db: Path | None) -> None:
    """The HTML report beside the result file, and the run recorded in the history."""
    if html:
        from ..reports.html import write_html

        write_html([doc], path.with_suffix(".html"))
        out.print(Text("report written to ").append(str(path.with_suffix(".html")), style="bold"))
    if db is not None:
        from . import store

        store.record(doc, db)
        out.print(Text("recorded in the history ").append(str(db), style="bold"))


@app.command("list")
@case_filters
@click.option("--max-memory", help="the memory cap `run` would have, e.g. 8GiB (default: 90%% "
              "of RAM): cases whose buffers pass it are listed as not runnable, as run skips them")
def list_cases(suite: str, workload: str | None, framework: str | None, device: str | None,
               precision: str | None, max_cases: int, max_memory: str | None) -> None:
    """List the cases of a suite and whether each can run here (with the reason if not)."""
    from .listing import case_list

    out.print(case_list(suite, filters(workload, framework, device, precision), max_cases,
                        memory_cap(max_memory)))


@app.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def env(as_json: bool) -> None:
    """Show what explains a number here: CPU and ISA, memory, performance variables,
    frequency, steal, GPUs, and each framework's BLAS/OpenMP pools and settings."""
    from .cli_env import WIDTH, env_document, render_env

    doc = env_document()
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    for part in render_env(doc):
        out.print(part, width=min(out.width, WIDTH))


# Reporting commands (report, compare, history, publish, export) live in their own module.
register_report_commands(app)


def survive_encoding() -> None:
    """An output that cannot encode a character (PYTHONIOENCODING=ascii, LC_ALL=C without
    UTF-8 mode) gets it as a backslash escape, not a UnicodeEncodeError halfway through a
    table or between a run's result and its record in the history."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
            reconfigure(errors="backslashreplace")


def main() -> None:
    survive_encoding()
    try:
        app(standalone_mode=False)
    except UserError as exc:
        err.print(f"dbnbench: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.UsageError as exc:
        err.print(f"dbnbench: error: {exc.format_message()}", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        err.print(f"dbnbench: error: {exc.format_message()}", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("dbnbench: interrupted")
        sys.exit(130)
