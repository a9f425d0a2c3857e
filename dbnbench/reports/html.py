"""The HTML report: validated results in, one self-contained page out (Jinja2 + plotly)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..format.results import ResultDoc
from . import charts, scaling_charts
from . import format as fmt
from . import report_data as data
from .scaling import analyse, ratio_text

DEFAULT_BASELINE = "numpy/cpu/fp32"


@cache
def environment() -> jinja2.Environment:
    """Autoescape on for every template: hostnames, labels and reasons are user-controlled."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("dbnbench.reports", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(si=fmt.si, pct=fmt.pct, bytes_=fmt.bytes_, joules=joules,
                       ratio=ratio_text)
    return env


def joules(value: float | None) -> str:
    return fmt.si(value, "J")


def scaling_sections(docs: Sequence[ResultDoc]) -> list[dict[str, Any]]:
    """Per result with cases over several workers, stages or accumulated micro-batches: its
    figures per workload and the rows of its tables (each result its own baselines)."""
    out = []
    for d in docs:
        s = analyse(d)
        if s.present:
            out.append({"machine": data.machine_label(d, len(docs) > 1),
                        "workloads": [{"name": w, "panels": scaling_charts.workload_panels(s, w)}
                                      for w in scaling_charts.workloads(s)],
                        "workers": s.workers, "stages": s.stages,
                        "accumulation": s.accumulation})
    return out


def context(docs: Sequence[ResultDoc], baseline: str) -> dict[str, Any]:
    rows = data.all_rows(docs)
    several = len(docs) > 1
    ok = data.ok_rows(rows)
    rooflines = data.rooflines(docs)
    sections = [{"name": w, "index": i, "facets": charts.workload_facets(rows, w),
                 "scaling": charts.workload_scaling(rows, w)}
                for i, w in enumerate(data.workloads(ok), start=1)]
    return {"machines": [data.machine_summary(d, data.machine_label(d, several)) for d in docs],
            "counts": [data.counts(d) for d in docs],
            "findings": data.findings(docs), "rooflines": rooflines,
            "roof_frameworks": sorted({fw for r in rooflines for fw in r.get("frameworks") or {}}),
            "roofline_charts": charts.roofline_charts(rooflines, rows),
            "headline": data.headline(rows), "workload_sections": sections,
            "baseline": data.add_speedups(rows, baseline), "baseline_asked": baseline,
            "scaling": scaling_sections(docs),
            "unmeasured": data.unmeasured(docs), "problems": data.problems(docs),
            "rows": [r for r in rows if r["status"] != "skipped"],
            "energy": any(r["energy_per_item_j"] is not None for r in ok),
            "several": several}


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
