"""The commands over many runs and other tools: history, publish, export."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..harness.errors import UserError
from .console import out
from .store import DEFAULT_DB


@click.command()
@click.option("--db", type=click.Path(path_type=Path), default=DEFAULT_DB, show_default=True,
              help="the history database")
@click.option("--import", "do_import", is_flag=True, help="record the RESULT.json files given")
@click.option("--case", "case_id", help="show this case's trend across runs")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path), metavar="[RESULT.json]...")
def history(db: Path, do_import: bool, case_id: str | None, files: tuple[Path, ...]) -> None:
    """List recorded runs, or a case's trend (--case ID); --import RESULT.json... records
    existing result files."""
    from ..harness.results import load
    from ..reports import format as fmt
    from . import store

    if bool(files) != do_import:
        raise UserError("history: record result files with --import RESULT.json...")
    docs = [load(f) for f in files]  # all validated before anything is recorded
    for doc in docs:
        store.record(doc, db)
        out.print(f"recorded {doc['run_id']} ({len(doc['cases'])} cases) in {db}")
    if case_id:
        points = store.trend(case_id, db)
        if not points:
            raise UserError(f"history: no case {case_id!r} in {db}")
        table = Table(title=f"trend of {case_id}")
        for name in ("run", "host", "date", "status", "items/s", "95% CI", "% peak", "source"):
            table.add_column(name)
        for p in points:
            table.add_row(p["run_id"], p["hostname"], p["started_at"], p["status"],
                          fmt.si(p["items_per_s"]),
                          f"{fmt.si(p['ci_low'])} – {fmt.si(p['ci_high'])}",
                          fmt.pct(p["pct_of_peak"]), p["source_hash"] or "–")
        out.print(table)
    elif not docs:
        table = Table(title=f"runs in {db}")
        for name in ("run", "suite", "date", "host", "CPU", "GPU", "ok / cases", "dbnbench"):
            table.add_column(name)
        for r in store.runs(db):
            table.add_row(r["run_id"], r["suite"], r["started_at"], r["hostname"], r["cpu"],
                          r["gpus"] or "–", f"{r['ok']} / {r['cases']}", r["tool_version"])
        out.print(table)


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="directory for the site")
def publish(results_dir: Path, output: Path) -> None:
    """Turn a folder of result files into a static HTML site."""
    from ..harness.results import load
    from ..reports.publish import publish as build

    if not results_dir.is_dir():
        raise UserError(f"{results_dir}: no such directory")
    files = sorted(p for p in results_dir.glob("*.json"))
    if not files:
        raise UserError(f"{results_dir}: no result files (*.json)")
    docs = [load(f) for f in files]
    if output.exists() and not output.is_dir():
        raise UserError(f"{output}: exists and is not a directory")
    written = build(docs, output)
    out.print(f"{len(written)} files written; open {output / 'index.html'}")


@click.command()
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--format", "fmt_name", type=click.Choice(["pytest-benchmark"]),
              default="pytest-benchmark", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True)
def export(result: Path, fmt_name: str, output: Path) -> None:
    """Write a result in another tool's format (pytest-benchmark JSON)."""
    from ..harness.results import load, write_atomic
    from ..reports.export import to_pytest_benchmark
    from .cli_reports import writable

    text = to_pytest_benchmark(load(result))
    write_atomic(writable(output), text)
    out.print(f"{fmt_name} JSON written to {output}")
