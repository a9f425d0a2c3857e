"""The reporting commands: report (and, as they arrive, compare, history, publish, export)."""

from __future__ import annotations

from pathlib import Path

import click

from .console import out


def register_report_commands(app: click.Group) -> None:
    app.add_command(report)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--show-skipped", is_flag=True, help="list skipped cases in the table too")
def report(files: tuple[Path, ...], show_skipped: bool) -> None:
    """Print the table of one or more result files."""
    from ..reports.terminal import render
    from .results import load

    docs = [load(f) for f in files]
    for doc in docs:
        out.print(render(doc, show_skipped=show_skipped))
