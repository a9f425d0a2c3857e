"""The HTML report's sections, in the order a reader meets them.

A section is one function registered with @section(order): it reads the report's rows and
documents and yields `Section`s, each rendered by its template under templates/sections/
with its data as `d`. A section with nothing to say yields none. What matters leads:
findings and the machine's roofs first, then the headline, each workload, scaling,
serving, the published figures, every case, what went wrong, the machines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..format.results import ResultDoc
from . import charts, scaling_charts, serving_charts
from . import report_data as data
from .history import by_figure, projection, published_cases
from .scaling import analyse
from .serving import by_precision, serving_cases


@dataclass(frozen=True)
class Report:
    """What every section reads: the documents and their rows, built once."""

    docs: Sequence[ResultDoc]
    rows: list[dict[str, Any]]
    baseline: str | None  # the configuration speedups are over, where any matched
    baseline_asked: str

    @property
    def several(self) -> bool:
        return len(self.docs) > 1

    @property
    def ok(self) -> list[dict[str, Any]]:
        return data.ok_rows(self.rows)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    template: str  # under templates/sections/
    data: Mapping[str, Any] = field(default_factory=dict)
    css_class: str = ""


SectionFunction = Callable[[Report], Iterable[Section]]
SECTIONS: list[tuple[int, SectionFunction]] = []


def section(order: int) -> Callable[[SectionFunction], SectionFunction]:
    def register(build: SectionFunction) -> SectionFunction:
        SECTIONS.append((order, build))
        return build
    return register


def sections(report: Report) -> list[Section]:
    return [s for _, build in sorted(SECTIONS, key=lambda e: e[0]) for s in build(report)]


@section(10)
def findings(report: Report) -> Iterable[Section]:
    yield Section("findings", "Findings", "findings.html.j2",
                  {"findings": data.findings(report.docs)})


@section(20)
def roofline(report: Report) -> Iterable[Section]:
    roofs = data.rooflines(report.docs)
    yield Section("roofline", "The machine's roofline", "roofline.html.j2", {
        "rooflines": roofs,
        "roof_frameworks": sorted({fw for r in roofs for fw in r.get("frameworks") or {}}),
        "roofline_charts": charts.roofline_charts(roofs, report.rows)})


@section(30)
def headline(report: Report) -> Iterable[Section]:
    yield Section("headline", "Headline", "headline.html.j2",
                  {"headline": data.headline(report.rows)})


@section(40)
def workloads(report: Report) -> Iterable[Section]:
    for i, name in enumerate(data.workloads(report.ok), start=1):
        yield Section(f"workload-{i}", name, "workload.html.j2", {
            "index": i, "facets": charts.workload_facets(report.rows, name),
            "scaling": charts.workload_scaling(report.rows, name)}, css_class="workload")


@section(50)
def scaling(report: Report) -> Iterable[Section]:
    """Per result with cases over several workers, stages or accumulated micro-batches: its
    figures per workload and the rows of its tables (each result its own baselines)."""
    out = []
    for d in report.docs:
        s = analyse(d)
        if s.present:
            out.append({"machine": data.machine_label(d, report.several),
                        "workloads": [{"name": w, "panels": scaling_charts.workload_panels(s, w)}
                                      for w in scaling_charts.workloads(s)],
                        "workers": s.workers, "stages": s.stages,
                        "accumulation": s.accumulation})
    if out:
        yield Section("scaling", "Scaling", "scaling.html.j2", {"scaling": out})


@section(55)
def serving(report: Report) -> Iterable[Section]:
    """Per result with serving scenarios: p99 against offered load per precision, and one
    row per scenario case."""
    out = []
    for d in report.docs:
        cases = serving_cases(d)
        if cases:
            panels = [p for precision, mine in by_precision(cases).items()
                      if (p := serving_charts.load_panel(precision, mine)) is not None]
            out.append({"machine": data.machine_label(d, report.several), "panels": panels,
                        "cases": cases})
    if out:
        yield Section("serving", "Serving", "serving.html.j2", {"serving": out})


@section(57)
def history(report: Report) -> Iterable[Section]:
    """Per result with published figures: each figure with its source, and under it every
    case that reproduces it, projected."""
    out = []
    for d in report.docs:
        cases = published_cases(d)
        if cases:
            figures = []
            for mine in by_figure(cases):
                rows = [(c, projection(c)) for c in mine]  # each arm's case its own
                figures.append({"published": mine[0].case["published"], "rows": rows,
                                "rate": next((p for _, p in rows if p), None)})
            out.append({"machine": data.machine_label(d, report.several), "figures": figures})
    if out:
        yield Section("history", "Against the published figures", "history.html.j2",
                      {"history": out})


@section(60)
def all_cases(report: Report) -> Iterable[Section]:
    yield Section("all-cases", "All cases", "cases.html.j2", {
        "unmeasured": data.unmeasured(report.docs), "baseline": report.baseline,
        "baseline_asked": report.baseline_asked,
        "rows": [r for r in report.rows if r["status"] != "skipped"],
        "energy": any(r["energy_per_item_j"] is not None for r in report.ok)})


@section(70)
def problems(report: Report) -> Iterable[Section]:
    yield Section("problems", "Failures, skips and warnings", "problems.html.j2",
                  data.problems(report.docs))


@section(80)
def machines(report: Report) -> Iterable[Section]:
    yield Section("machines", "Machines", "machines.html.j2", {"machines": [
        data.machine_summary(d, data.machine_label(d, report.several)) for d in report.docs]})
