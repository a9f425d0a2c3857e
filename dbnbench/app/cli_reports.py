"""The reporting commands: report, compare, history, publish, export."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..format.output import check_writable, is_stdout
from ..harness.errors import UserError
from .console import err, out


def register_report_commands(app: click.Group) -> None:
    from .cli_history import export, history, publish

    for command in (report, compare, history, publish, export):
        app.add_command(command)


def writable(path: Path) -> Path:
    """Fail before any work when an output file cannot be written (nothing half-done)."""
    check_writable(path)
    return path


def outputs(**paths: Path | None) -> bool:
    """Check every output a command will write; at most one may be standard output (`-`).
    Returns whether one is, so the command's own text goes to stderr instead."""
    given = {name: p for name, p in paths.items() if p is not None}
    to_stdout = [name for name, p in given.items() if is_stdout(p)]
    if len(to_stdout) > 1:
        raise UserError(f"only one output can be standard output (-): {', '.join(to_stdout)}")
    for p in given.values():
        writable(p)
    return bool(to_stdout)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--show-skipped", is_flag=True, help="list skipped cases in the table too")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="also write a self-contained HTML report here")
@click.option("--baseline", default="numpy/cpu/fp32", show_default=True,
              help="framework/device/precision the HTML speedup matrix is relative to")
@click.option("--verbose", "-v", is_flag=True, help="list every warning (default: counts by kind)")
def report(files: tuple[Path, ...], show_skipped: bool, output: Path | None,
           baseline: str, verbose: bool) -> None:
    """Print the table of one or more result files (and write an HTML report with -o;
    -o - writes it to standard output, and the table to standard error)."""
    from ..format.results import load
    from ..reports.terminal import render

    console = err if outputs(output=output) else out
    docs = [load(f) for f in files]
    if output is not None:
        from ..reports.html import write_html

        write_html(docs, output, baseline=baseline)
    for doc in docs:
        console.print(render(doc, show_skipped=show_skipped, verbose=verbose))
    if output is not None and not is_stdout(output):
        console.print(f"HTML report written to {output}", markup=False)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="BASELINE.json CANDIDATE.json | RESULT.json --arms BASE,HEAD")
@click.option("--arms", metavar="BASE,HEAD",
              help="compare two arms of one run (paired round by round: the strongest test)")
@click.option("--normalise", type=click.Choice(["run", "round", "off"]), default="run",
              show_default=True,
              help="two separate runs: divide by each run's reference GEMM level in the case's "
              "mode (run), by the reference timed beside the case in each round (round), or "
              "compare as measured (off)")
@click.option("--threshold", default="5%", show_default=True,
              help="smallest throughput change that counts, e.g. 5% or 0.05")
@click.option("--memory-threshold", default="10%", show_default=True,
              help="smallest peak-memory growth that counts")
@click.option("--energy-threshold", default="10%", show_default=True,
              help="smallest energy-per-item growth that counts")
@click.option("--markdown", "markdown", type=click.Path(path_type=Path),
              help="write a Markdown summary (CI step summary, PR comment); - for stdout")
@click.option("--json", "json_path", type=click.Path(path_type=Path),
              help="write the comparison as JSON; - for stdout")
@click.option("--html", "html_path", type=click.Path(path_type=Path),
              help="write the comparison as a self-contained HTML page; - for stdout")
@click.option("--fail-on-regression", is_flag=True,
              help="exit 1 on a regression, 3 when the data cannot decide at the threshold, "
              "0 only when nothing changed beyond it (the CI gate)")
def compare(files: tuple[Path, ...], arms: str | None, normalise: str, threshold: str,
            memory_threshold: str,
            energy_threshold: str, markdown: Path | None, json_path: Path | None,
            html_path: Path | None, fail_on_regression: bool) -> None:
    """Compare CANDIDATE with BASELINE case by case, or two arms of one run; a regression is
    beyond the threshold and significant (Mann-Whitney U, Holm-corrected, bootstrap CI)."""
    from ..format.results import load, write_atomic
    from ..reports.compare import EXIT, Thresholds, compare_docs, parse_fraction
    from ..reports.compare_render import render_json, render_markdown, render_table
    from ..reports.samples import split_arms

    limits = Thresholds(parse_fraction(threshold), parse_fraction(memory_threshold,
                        "--memory-threshold"), parse_fraction(energy_threshold,
                        "--energy-threshold"))
    console = err if outputs(markdown=markdown, json=json_path, html=html_path) else out
    if arms is not None:
        names = [a.strip() for a in arms.split(",")]
        if len(files) != 1 or len(names) != 2 or not all(names) or names[0] == names[1]:
            raise UserError("compare --arms BASE,HEAD takes one result file and two arm names")
        base, cand = split_arms(load(files[0]), names[0], names[1])
    elif len(files) == 2:
        base, cand = load(files[0]), load(files[1])
    else:
        raise UserError("compare takes BASELINE.json CANDIDATE.json, or RESULT.json --arms "
                        "BASE,HEAD")
    result = compare_docs(base, cand, limits, arms=arms is not None, normalise=normalise)
    console.print(render_table(result))
    if markdown is not None:
        write_atomic(markdown, render_markdown(result))
    if json_path is not None:
        write_atomic(json_path, render_json(result))
    if html_path is not None:
        from ..reports.compare_render import render_html

        write_atomic(html_path, render_html(result))
    if fail_on_regression:
        sys.exit(EXIT[result["decision"]])
