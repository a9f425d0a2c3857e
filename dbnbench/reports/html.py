"""The HTML report: validated results in, one self-contained page out (Jinja2 + plotly)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..format.results import ResultDoc
from . import charts, history
from . import format as fmt
from . import report_data as data
from .html_sections import Report, sections
from .scaling import ratio_text

DEFAULT_BASELINE = "numpy/cpu/fp32"


@cache
def environment() -> jinja2.Environment:
    """Autoescape on for every template: hostnames, labels and reasons are user-controlled."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("dbnbench.reports", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(si=fmt.si, pct=fmt.pct, bytes_=fmt.bytes_, joules=joules,
                       ratio=ratio_text, duration=history.duration, times=history.times,
                       projected=history.projected)
    return env


def joules(value: float | None) -> str:
    return fmt.si(value, "J")


def context(docs: Sequence[ResultDoc], baseline: str) -> dict[str, Any]:
    rows = data.all_rows(docs)
    report = Report(docs, rows, data.add_speedups(rows, baseline), baseline)
    several = len(docs) > 1
    return {"machines": [data.machine_summary(d, data.machine_label(d, several)) for d in docs],
            "counts": [data.counts(d) for d in docs], "several": several,
            "sections": [{"id": s.id, "title": s.title, "css_class": s.css_class,
                          "template": f"sections/{s.template}", "data": s.data}
                         for s in sections(report)]}


def render_html(docs: Sequence[ResultDoc], baseline: str = DEFAULT_BASELINE,
                plotly_src: str | None = None, nav: list[tuple[str, str]] | None = None) -> str:
    """The report of one or more validated result documents.

    plotly_src: a URL of a shared plotly.min.js (the published site); by default the
    library is inlined so the file opens offline on its own.
    """
    title = "dbnbench report · " + ", ".join(f"{d['machine']['hostname']} {d['suite']}"
                                             for d in docs)
    return environment().get_template("report.html.j2").render(
        title=title, plotly_src=plotly_src, nav=nav or [],
        plotly_inline="" if plotly_src else charts.plotly_js(), **context(docs, baseline))


def write_html(docs: Sequence[ResultDoc], path: str | Path,
               baseline: str = DEFAULT_BASELINE) -> None:
    """Render, then write atomically (a reader never sees half a report)."""
    from ..format.results import write_atomic

    write_atomic(path, render_html(docs, baseline))
