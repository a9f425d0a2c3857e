"""The commands over many runs and other tools: history, publish, export."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..format.output import is_stdout
from ..format.results import ResultDoc
from ..harness.errors import UserError
from .console import err, out

DB_HELP = ("the history database [default: $DBNBENCH_HISTORY, else "
           "$XDG_DATA_HOME/dbnbench/history.sqlite, else ~/.local/share/dbnbench/history.sqlite]")


@click.command()
@click.option("--db", type=click.Path(path_type=Path), help=DB_HELP)
@click.option("--import", "do_import", is_flag=True, help="record the RESULT.json files given")
@click.option("--case", "case_id", help="show this case's trend across runs")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path), metavar="[RESULT.json]...")
def history(db: Path | None, do_import: bool, case_id: str | None, files: tuple[Path, ...]
            ) -> None:
    """List recorded runs, or a case's trend (--case ID); --import RESULT.json... records
    existing result files."""
    from ..format.results import load
    from ..reports import format as fmt
    from . import store

    db = db or store.default_db()
    if bool(files) != do_import:
        raise UserError("history: record result files with --import RESULT.json...")
    docs = [load(f) for f in files]  # all validated before anything is recorded
    if not docs and not db.exists():  # looking creates nothing
        if case_id:
            raise UserError(f"history: no case {case_id!r}: no runs recorded in {db} yet")
        out.print(f"no runs recorded in {db} yet", markup=False)
        return
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
@click.argument("results_dir", type=click.Path(path_type=Path), required=False)
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="directory for the site")
@click.option("--db", type=click.Path(path_type=Path),
              help="without RESULTS_DIR, publish the runs of this history database "
              "[default: the one `run` records in]")
def publish(results_dir: Path | None, output: Path, db: Path | None) -> None:
    """Turn a folder of result files (or, without one, the runs recorded in the history
    database) into a static HTML site. JSON files that are not results are skipped."""
    from ..reports.publish import publish as build

    if is_stdout(output):
        raise UserError("publish: -o is the site's directory; standard output cannot be one")
    docs = history_docs(db) if results_dir is None else folder_docs(results_dir)
    written = build(docs, output)  # twin run ids refused before the site's folder is made
    out.print(f"{len(written)} files written; open {output / 'index.html'}",
              markup=False)


def folder_docs(results_dir: Path) -> list[ResultDoc]:
    """Every result file of a folder, each validated; other JSON (an export, a comparison)
    is skipped with a note, a corrupt result file refused."""
    from ..format.results import is_result, read_json, validate

    if not results_dir.is_dir():
        raise UserError(f"{results_dir}: no such directory")
    docs, others = [], []
    for path in sorted(results_dir.glob("*.json")):
        data = read_json(path)
        if is_result(data):
            docs.append(validate(data, str(path)))
        else:
            others.append(path.name)
    if not docs:
        also = f"; {len(others)} other JSON file(s) skipped" if others else ""
        raise UserError(f"{results_dir}: no result files (*.json){also}")
    for name in others:
        err.print(f"note: skipped {name}: not a dbnbench result file", markup=False,
                  highlight=False)
    return docs


def history_docs(db: Path | None) -> list[ResultDoc]:
    from ..format.results import validate
    from . import store

    db = db or store.default_db()
    if not db.exists():
        raise UserError(f"{db}: no history database (give RESULTS_DIR, or run a suite first)")
    docs = [validate(d, f"{db}: run {d.get('run_id')}") for d in store.documents(db)]
    if not docs:
        raise UserError(f"{db}: no runs recorded")
    return docs


# reports.exports.FORMATS and metrics.KEYS, named here so the CLI starts without importing
# the exporters (a test keeps the lists equal).
EXPORT_FORMATS = ("pytest-benchmark", "github-action-benchmark", "bencher", "openmetrics",
                  "google-benchmark")
EXPORT_METRICS = ("throughput", "latency_p50", "latency_p90", "latency_p99", "peak_memory",
                  "energy_per_item", "roof_share", "quality")
MAX_COMMIT = 200


@click.command()
@click.argument("result", type=click.Path(path_type=Path))
@click.option("--format", "fmt_name", type=click.Choice(EXPORT_FORMATS),
              default="pytest-benchmark", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("-"),
              show_default=True, help="file to write; - is standard output")
@click.option("--metric", "metrics", metavar="LIST",
              help=f"only these metrics, comma-separated ({', '.join(EXPORT_METRICS)}); "
                   "not for pytest-benchmark, which has its own")
@click.option("--direction", type=click.Choice(["bigger", "smaller"]),
              help="github-action-benchmark: the file's metrics where bigger is better "
                   "(tool: customBiggerIsBetter; the default) or smaller (customSmallerIsBetter)")
@click.option("--commit", metavar="SHA", help="the commit measured, where the format has a "
              "place for it (pytest-benchmark, github-action-benchmark, OpenMetrics, Google "
              "Benchmark)")
def export(result: Path, fmt_name: str, output: Path, metrics: str | None,
           direction: str | None, commit: str | None) -> None:
    """Write a result in another tool's format, to standard output or a file:
    pytest-benchmark, github-action-benchmark (one file per direction), Bencher Metric
    Format, OpenMetrics text, Google Benchmark JSON."""
    from ..format.output import check_writable
    from ..format.results import load, write_atomic
    from ..harness.plan.cases import parse_list
    from ..reports.exports import FORMATS, Options

    keys = tuple(parse_list("--metric", metrics) or EXPORT_METRICS)
    unknown = [k for k in keys if k not in EXPORT_METRICS]
    if unknown:
        raise UserError(f"--metric: unknown metric {unknown[0][:60]!r} (known: "
                        f"{', '.join(EXPORT_METRICS)})")
    if metrics and fmt_name == "pytest-benchmark":
        raise UserError("--metric: pytest-benchmark's format holds step times, not a choice "
                        "of metrics")
    if direction and fmt_name != "github-action-benchmark":
        raise UserError("--direction: only github-action-benchmark splits its files by "
                        "direction")
    if commit is not None and (not commit or len(commit) > MAX_COMMIT
                               or not commit.isprintable()):
        raise UserError(f"--commit: 1 to {MAX_COMMIT} printable characters")
    check_writable(output)  # before any work: nothing half-done
    fmt = FORMATS[fmt_name]
    text = fmt.render(load(result), Options(keys, direction or "bigger", commit))
    write_atomic(output, text)
    if not is_stdout(output):
        out.print(f"{fmt.what} written to {output}", markup=False)
