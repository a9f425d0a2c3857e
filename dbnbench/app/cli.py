"""The command line: run, list, env, report."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ..harness import results
from ..harness.errors import UserError
from ..harness.results import ResultDoc
from .cli_reports import register_report_commands
from .console import err, out
from .progress import RichProgress

SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)


def parse_size(text: str | None) -> int | None:
    if text is None:
        return None
    m = SIZE_RE.match(text)
    if not m:
        raise UserError(f"--max-memory: cannot read {text!r} (e.g. 512MiB, 8GiB)")
    unit = (m.group(2) or "B").upper().rstrip("B").rstrip("I")
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[unit]
    return int(float(m.group(1)) * scale)


def filters(workload: str | None, framework: str | None, device: str | None,
            precision: str | None) -> dict[str, list[str] | None]:
    from ..harness.cases import parse_list

    return {"workloads": parse_list("--workload", workload),
            "frameworks": parse_list("--framework", framework),
            "devices": parse_list("--device", device),
            "precisions": parse_list("--precision", precision)}


def case_filters(fn: Any) -> Any:
    """The options every case-selecting command shares."""
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


@app.command()
@case_filters
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True, help="directory for results")
@click.option("--timeout", type=click.FloatRange(min=1), help="seconds per case before it is killed")
@click.option("--rounds", type=click.IntRange(min=1), help="interleaved rounds over all cases")
@click.option("--repetitions", type=click.IntRange(min=1), help="timed repetitions per round")
@click.option("--min-time", type=click.FloatRange(min=0.001), help="seconds per repetition")
@click.option("--threads", type=click.IntRange(min=1), help="threads per framework")
@click.option("--seed", type=int, help="random seed")
@click.option("--no-quality", is_flag=True, help="skip the quality procedures")
@click.option("--max-memory", help="kill a case whose worker exceeds this, e.g. 8GiB "
              "(default: 90%% of RAM)")
@click.option("--isolate", is_flag=True, help="a fresh process for every case")
@click.option("--resume", metavar="RUN_ID", help="resume an interrupted run by its id")
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="directory with MNIST IDX files (else $DBNBENCH_MNIST_DIR); never downloaded")
@click.option("--no-html", is_flag=True, help="do not write the HTML report beside the result")
@click.option("--db", type=click.Path(path_type=Path),
              help="history database to record the run in [default: OUTPUT/history.sqlite]")
@click.option("--arm", "arm_specs", multiple=True, metavar="NAME=PYTHON",
              help="an arm: this interpreter's workers run every case, interleaved with the "
              "other arms in every round (repeatable; e.g. base=.venv-base/bin/python)")
@click.option("--arm-env", "arm_env", multiple=True, metavar="NAME:KEY=VALUE",
              help="an environment variable for one arm's workers (repeatable)")
@click.option("--verbose", "-v", is_flag=True, help="list every warning (default: counts by kind)")
def run(suite: str, workload: str | None, framework: str | None, device: str | None,
        precision: str | None, output: Path, timeout: float | None, rounds: int | None,
        repetitions: int | None, min_time: float | None, threads: int | None,
        seed: int | None, no_quality: bool, max_memory: str | None, isolate: bool,
        resume: str | None, data_dir: Path | None, no_html: bool, db: Path | None,
        arm_specs: tuple[str, ...], arm_env: tuple[str, ...], verbose: bool) -> None:
    """Run a suite (default: quick) and write results/<run-id>.json."""
    import psutil

    from ..harness.arms import parse_arms
    from ..harness.runner import RunInterrupted, RunOptions, execute
    from ..reports.terminal import render
    from ..suites.registry import default_registry

    if data_dir is not None:
        from ..suites.data import MNIST_ENV, mnist_dir

        os.environ[MNIST_ENV] = str(mnist_dir(data_dir))  # workers inherit it
    settings = {"timeout_s": timeout, "rounds": rounds, "repetitions": repetitions,
                "min_time_s": min_time, "threads": threads, "seed": seed,
                "quality": False if no_quality else None}
    cap = parse_size(max_memory) or int(psutil.virtual_memory().total * 0.9)
    options = RunOptions(suite=suite, filters=filters(workload, framework, device, precision),
                         registry=default_registry(),
                         settings=settings, output=output, max_memory=cap,
                         cases_per_worker=1 if isolate else None,
                         arms=parse_arms(arm_specs, arm_env))
    progress = RichProgress(err)
    try:
        doc, path = execute(options, progress, resume_id=resume)  # type: ignore[arg-type]
    except RunInterrupted as exc:
        progress.stop()
        after_run(results.load(exc.path), exc.path, html=not no_html, db=None)
        err.print(Text(f"interrupted: partial results in {exc.path}; continue with ").append(
            f"dbnbench run --resume {exc.run_id} -o {output}", style="bold"))
        sys.exit(130)
    progress.stop()
    out.print(render(doc, verbose=verbose))
    out.print(Text("results written to ").append(str(path), style="bold"))
    after_run(doc, path, html=not no_html, db=db or output / "history.sqlite")
    bad = [c for c in doc["cases"] if c["status"] in ("failed", "timeout")]
    if bad:
        sys.exit(1)


def after_run(doc: ResultDoc, path: Path, *, html: bool, db: Path | None) -> None:
    """The HTML report beside the result file, and the run recorded in the history."""
    if html:
        from ..reports.html import write_html

        write_html([doc], path.with_suffix(".html"))
        out.print(Text("report written to ").append(str(path.with_suffix(".html")), style="bold"))
    if db is not None:
        from . import store

        store.record(doc, db)


@app.command("list")
@case_filters
def list_cases(suite: str, workload: str | None, framework: str | None, device: str | None,
               precision: str | None) -> None:
    """List the cases of a suite and whether each can run here (with the reason if not)."""
    from .listing import case_list

    out.print(case_list(suite, filters(workload, framework, device, precision)))


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


def main() -> None:
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
