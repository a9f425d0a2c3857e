"""A result in the terminal: one line per case at any width from 80 columns up, grouped by
workload and shape, with a legend for every mark; then failures, warnings counted by kind,
skip reasons, the machine's roofs and the findings, which always stand out.

The layout is chosen when rich renders it, for the width it renders at (a terminal's, or
COLUMNS when piped), so the same object prints a compact table at 80 columns and a richer
one where there is room."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.rule import Rule
from rich.text import Text

from ..format.precisions import LABEL
from ..format.results import ResultDoc
from ..format.view import CaseView, views
from . import format as fmt
from . import summaries
from .columns import Column, Form, Layout, fit
from .history import projection, published_cases
from .history import summary as history_summary
from .scaling import Point, Ratio, analyse, ratio_text
from .serving import serving_rows

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "failed": "bold red", "timeout": "bold red",
                "interrupted": "magenta"}
SEVERITY_STYLE = {"error": "bold red", "warning": "bold red", "info": "bold"}
WORST_SHOWN = 3  # worst cases named per warning kind


@dataclass(frozen=True)
class Row:
    """One configuration: its case in each arm (the arm "" in a run without arms)."""

    cases: dict[str, CaseView]

    @property
    def any(self) -> CaseView:
        return next(iter(self.cases.values()))



def arms_of(doc: ResultDoc) -> list[str]:
    return list(dict.fromkeys(c.get("arm", "") for c in doc["cases"]))


def rows_of(doc: ResultDoc, show_skipped: bool) -> list[Row]:
    """Cases side by side across arms (same id, one row), in the result's order."""
    by_id: dict[str, dict[str, CaseView]] = {}
    for c in views(doc):
        by_id.setdefault(c.id, {})[c.arm] = c
    return [Row(cases) for cases in by_id.values()
            if show_skipped or any(c.status != "skipped" for c in cases.values())]


def status_cell(row: Row) -> Text:
    """The status (each arm's where they differ), '!' for warnings, 'busy' for contention."""
    cases = list(row.cases.values())
    statuses = list(dict.fromkeys(c.status for c in cases))
    text = Text()
    for i, status in enumerate(statuses):
        text.append(("/" if i else "") + status, style=STATUS_STYLE.get(status, ""))
    if any(c.contended for c in cases):
        text.append(" busy", style="bold yellow")
    elif any(c.warnings for c in cases):
        text.append(" !", style="yellow")
    return text


def metric_cell(arm: str, show: Any) -> Any:
    """A cell function reading one arm's case (– where that arm lacks the case)."""
    def cell(row: Row) -> str | Text:
        case = row.cases.get(arm)
        return show(case) if case is not None and case.ok else "–"
    return cell


def rate(case: CaseView) -> str:
    return fmt.si(case.rate.median if case.rate else None)


def interval(case: CaseView) -> str:
    return fmt.interval(case.rate)


def spread(case: CaseView) -> str:
    return fmt.spread(case.rate)


def roof(case: CaseView) -> str:
    if not case.bound:
        return "–"
    return f"{fmt.pct(case.pct_of_roof)} {case.bound}"


def mib(case: CaseView) -> str:
    value = case.memory_bytes
    return "–" if value is None else f"{value / 2**20:.0f}" if value >= 100 * 2**20 \
        else f"{value / 2**20:.1f}"


def per_joule(case: CaseView) -> str:
    return fmt.si(case.items_per_joule)


def quality_cell(case: CaseView) -> Text:
    q = case.quality.raw if case.quality else None
    text = fmt.quality_value(q)
    return Text(text, style="red" if text.endswith("✗") or text == "fail" else "")


def arm_columns(arm: str, several: bool, energy: bool) -> list[Column[Row]]:
    """What is measured per arm; headers name the arm where there are several."""
    tag = f"{arm} " if several else ""
    key = f"{arm}:" if several else ""
    cv_of = metric_cell(arm, lambda c: fmt.pct(c.step_cv))
    return [
        Column(key + "rate", (Form(f"{tag}items/s", metric_cell(arm, rate)),), "right"),
        Column(key + "ci", (
            Form("95% CI", metric_cell(arm, interval)),
            Form("95% CI", metric_cell(arm, spread),
                 "95% CI: −below +above the median"))),
        Column(key + "pk", (
            Form("% peak", metric_cell(arm, lambda c: fmt.pct(c.pct_of_peak))),
            Form("%pk", metric_cell(arm, lambda c: fmt.pct(c.pct_of_peak)),
                 "%pk: of the machine's GEMM roof")), "right"),
        Column(key + "roof", (Form("roofline", metric_cell(arm, roof),
                                   "roofline: share of the rate attainable at the case's "
                                   "arithmetic intensity, and what bounds it"),)),
        Column(key + "cv", (Form("CV", cv_of, "CV: of the step times"),), "right"),
        Column(key + "mem", (
            Form("peak mem", metric_cell(arm, lambda c: fmt.bytes_(c.memory_bytes))),
            Form("MiB", metric_cell(arm, mib), "MiB: peak memory")), "right"),

        Column(key + "quality", (Form("quality", metric_cell(arm, quality_cell),
                                      "✓/✗ quality passed/missed its bar (in the group's "
                                      "heading)"),)),
    ] + ([Column(key + "energy", (Form("items/J", metric_cell(arm, per_joule),
                                      "items/J: items per joule over the timed window"),),
                 "right")] if energy else [])


def status_legend(rows: Sequence[Row]) -> str:
    """What the status marks mean, for the marks these rows show."""
    marks = {str(m) for r in rows for m in status_cell(r).plain.split()[1:]}
    return " · ".join(text for mark, text in (
        ("!", "!: has warnings (below)"),
        ("busy", "busy: timed while other processes used the CPU")) if mark in marks)


Labels = dict[str, str]


def labels_of(doc: ResultDoc) -> Labels:
    """Each framework's short label, as the run's machine record gives it (a framework the
    file does not label is shown by its name)."""
    return dict(doc["machine"].get("framework_labels") or {})


def result_columns(arms: Sequence[str], rows: Sequence[Row],
                   labels: Labels | None = None) -> list[Column[Row]]:
    labels = labels or {}

    def short(name: str) -> str:
        return labels.get(name, name)

    several = len(arms) > 1
    present = {c.framework for r in rows for c in r.cases.values()}
    abbreviated = ", ".join(f"{short(n)} {n}" for n in sorted(present) if short(n) != n)
    columns: list[Column[Row]] = [
        Column("framework", (Form("framework", lambda r: r.any.framework),
                             Form("fw", lambda r: short(r.any.framework), abbreviated))),
        Column("device", (Form("device", lambda r: r.any.device),
                          Form("dev", lambda r: r.any.device))),
        Column("precision", (Form("precision", lambda r: r.any.precision),
                             Form("prec", lambda r: LABEL.get(r.any.precision, r.any.precision),
                                  "bf16m/fp16m: bf16-mixed/fp16-mixed")))]
    energy = any(c.items_per_joule for r in rows for c in r.cases.values())
    for arm in arms:
        columns += arm_columns(arm, several, energy)
    columns.append(Column("status", (Form("status", status_cell, status_legend(rows)),)))
    return columns


def steps(arms: Sequence[str]) -> list[tuple[str, str]]:
    """What a narrower terminal gives up first: detail a reader can do without."""
    keys = [f"{a}:" if len(arms) > 1 else "" for a in arms]
    out = [(k + "energy", "drop") for k in keys]
    out += [(k + "roof", "drop") for k in keys] + [(k + "cv", "drop") for k in keys]
    out += [(k + "ci", "next") for k in keys] + [(k + "pk", "next") for k in keys]
    out += [(k + "mem", "next") for k in keys]
    out += [("framework", "next"), ("precision", "next"), ("device", "next")]
    out += [(k + "quality", "drop") for k in keys] + [(k + "mem", "drop") for k in keys]
    out += [(k + "pk", "drop") for k in keys] + [(k + "ci", "drop") for k in keys]
    return out


def groups(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    """Rows by workload and shape, in the result's order."""
    out: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        out.setdefault((r.any.workload, r.any.tag), []).append(r)
    return out


def group_heading(workload: str, tag: str, rows: Sequence[Row]) -> Text:
    bar = next((b for r in rows for c in r.cases.values()
                if c.quality and (b := fmt.quality_bar(c.quality.raw))), "")
    text = Text(f"{workload} {tag}", style="bold")
    if bar:
        text.append(f"  quality: {bar}", style="dim")
    return text


def header(doc: ResultDoc) -> list[Text]:
    m = doc["machine"]
    gpu = ", ".join(g["name"] for g in m["gpus"]) or "no GPU"
    arms = arms_of(doc)
    title = Text(f"dbnbench {doc['suite']} · {doc['run_id']}", style="bold")
    about = Text(f"{m['hostname']} · {m['cpu']['model']} · {gpu} · "
                 f"{doc['settings'].get('threads')} threads", style="dim")
    if len(arms) < 2:
        return [title, about]
    return [title, about, Text(f"arms {', '.join(arms)} side by side", style="dim")]


def case_table(doc: ResultDoc, rows: Sequence[Row], width: int) -> Iterator[RenderableType]:
    arms = arms_of(doc)
    layout: Layout[Row] = fit(result_columns(arms, rows, labels_of(doc)), rows, width,
                              steps(arms))
    for i, ((workload, tag), members) in enumerate(groups(rows).items()):
        yield group_heading(workload, tag, members)
        yield layout.table(members, show_header=i == 0)
    legend = [*layout.legend(), "–: not measured"]
    yield Text("legend: " + " · ".join(legend), style="dim")


def scaled_line(point: Point, tag: str, numbers: str, width: int) -> Text:
    """'  workload configuration batch tag  numbers', the name shortened with '…' so the line fits."""
    name = f"{point.workload} {point.group}"
    tag = (f"b{point.batch} " if point.batch is not None else "") + tag
    room = max(width - 2 - len(tag) - 1 - 2 - len(numbers), 8)
    if len(name) > room:
        name = name[:room - 1] + "…"
    return Text("  ").append(f"{name} {tag}", style="bold").append(f"  {numbers}")


def why_line(**missing: Ratio) -> list[Text]:
    """Under a line, the reason of each ratio that has no value."""
    return [Text(f"    {name}: {r.reason}", style="dim")
            for name, r in missing.items() if r.value is None and r.reason]


def scaling_lines(doc: ResultDoc, width: int) -> list[Text]:
    """One line per case over several workers (speedup, strong and weak efficiency, share of
    a step in communication), per case over several stages and per accumulated case."""
    s = analyse(doc)
    if not s.present:
        return []
    legend = []
    if s.workers:
        legend.append("W workers: speedup over 1 worker at the same global batch, strong = "
                      "speedup/W, weak = over W × 1 worker at batch/W, comm = share of a step "
                      "communicating")
    if s.stages:
        legend.append("stages: speedup over 1 stage, efficiency = speedup/stages")
    if s.accumulation:
        legend.append("acc: micro-batches per update; items/s and peak memory over acc 1's")
    out = [Text("scaling", style="bold").append(" (each case against its baseline in this "
                                                "run)", style="dim")]
    out += [Text(line, style="dim") for line in legend]
    for w in s.workers:
        numbers = (f"{ratio_text(Ratio(w.speedup.value))}  strong {ratio_text(Ratio(w.strong.value), True)}  "
                   f"weak {ratio_text(Ratio(w.weak.value), True)}  comm "
                   f"{fmt.pct(w.communication_share)}")
        out.append(scaled_line(w.point, f"W{w.point.n}", numbers, width))
        out += why_line(speedup=w.speedup, weak=w.weak)
    for r in s.stages:
        numbers = f"{ratio_text(Ratio(r.speedup.value))}  efficiency " \
                  f"{ratio_text(Ratio(r.efficiency.value), True)}"
        out.append(scaled_line(r.point, f"stages {r.point.n}", numbers, width))
        out += why_line(speedup=r.speedup)
    for a in s.accumulation:
        if a.point.n == 1:
            continue
        memory = f"{a.memory_ratio:.2f}× {a.memory_kind}" if a.memory_ratio is not None else "–"
        numbers = f"items/s {ratio_text(Ratio(a.speed.value))}  memory {memory}"
        out.append(scaled_line(a.point, f"acc {a.point.n}", numbers, width))
        out += why_line(speed=a.speed)
    return out


def serving_lines(doc: ResultDoc) -> list[Text]:
    """Each serving scenario's outcome (dbn-inference's single-stream, server, offline)."""
    rows = serving_rows(doc)
    if not rows:
        return []
    out = [Text("serving", style="bold").append(" (scenarios after each case's timed window; "
                                                "latency from the scheduled arrival)", style="dim")]
    for case_id, line in rows:
        out.append(Text("  ").append(case_id, style="cyan"))
        out.append(Text("    " + line))
    return out


def history_lines(doc: ResultDoc) -> list[Text]:
    """The history suite's cases against their published figures, each with its source."""
    cases = published_cases(doc)
    if not cases:
        return []
    out = [Text("against the published figures", style="bold").append(
        " (the whole run projected from the timed steps: epochs × examples ÷ items/s)",
        style="dim")]
    for c in cases:
        out.append(Text("  ").append(c.id, style="cyan"))
        p = projection(c)
        out.append(Text("    " + (history_summary(p) if p else
                                  f"{c.status}: nothing to project ({c.reason or 'no rate'})")))
        if (source := c.case.get("published")) is not None:
            out.append(Text(f"    source: {source['source']} — {source['url']}", style="dim"))
    return out


def failures(doc: ResultDoc) -> list[Text]:
    """Every failed, timed-out or interrupted case with its reason (never summarised)."""
    out = []
    for c in doc["cases"]:
        if c["status"] in ("ok", "skipped"):
            continue
        line = Text(f"{c['status']}: ", style=STATUS_STYLE.get(c["status"], ""))
        line.append(summaries.case_name(c), style="bold")
        line.append(f": {c['reason'] or 'no reason recorded'}")
        out.append(line)
    return out


def warning_lines(doc: ResultDoc, verbose: bool) -> list[Text]:
    """Counts per kind with the worst cases named; every warning with --verbose."""
    if verbose:
        return [Text(f"{summaries.case_name(c)}: ", style="dim").append(w, style="yellow")
                for c in doc["cases"] for w in c.get("warnings", [])]
    kinds = summaries.warning_kinds(doc)
    if not kinds:
        return []
    total = sum(len(k.cases) for k in kinds)
    cases = len({name for k in kinds for _, name, _ in k.cases})
    out = [Text(f"warnings: {total} on {cases} case(s), by kind (--verbose lists each):",
                style="yellow")]
    for kind in kinds:
        worst = kind.worst(WORST_SHOWN)
        ranked = any(value for _, value in worst)
        more = len(kind.cases) - len(worst)
        lead = ", the worst:" if ranked and more > 0 else ", for example:" if more > 0 else ":"
        out.append(Text(f"  {kind.label} ×{len(kind.cases)}", style="yellow").append(lead))
        # One case a line, how bad first: ids are long, and run together they wrap at 80.
        pad = max(len(value) for _, value in worst)
        out += [Text(f"    {value:>{pad}}{' ' if pad else ''}", style="yellow").append(
            name, style="dim") for name, value in worst]
    return out


def skip_lines(doc: ResultDoc) -> list[Text]:
    return [Text(f"skipped ×{n}: ", style="yellow").append(reason, style="dim")
            for reason, n in summaries.skip_reasons(doc["cases"])]


def roof_columns(frameworks: Sequence[str], labels: Labels | None = None
                 ) -> list[Column[dict[str, Any]]]:
    labels = labels or {}

    def short(name: str) -> str:
        return labels.get(name, name)

    def share(fw: str) -> Any:
        def cell(r: dict[str, Any]) -> str:
            rate = (r.get("frameworks") or {}).get(fw)
            return fmt.pct(rate / r["gemm_flops_per_s"]) if rate else "–"
        return cell

    columns: list[Column[dict[str, Any]]] = [
        Column("device", (Form("device", lambda r: r["device"]),)),
        Column("precision", (Form("precision", lambda r: r["precision"]),)),
        Column("roof", (Form("GEMM roof", lambda r: fmt.si(r["gemm_flops_per_s"], "FLOP/s")),),
               "right"),
        Column("by", (Form("reached by", lambda r: r.get("best_framework") or "–"),
                      Form("by", lambda r: short(r.get("best_framework") or "–"))))]
    for fw in frameworks:
        columns.append(Column(f"fw:{fw}", (Form(fw, share(fw)),
                                           Form(short(fw), share(fw))), "right"))
    columns.append(Column("bandwidth", (Form("bandwidth", lambda r: fmt.si(
        r.get("bandwidth_bytes_per_s"), "B/s")),), "right"))
    return columns


def roof_table(doc: ResultDoc, width: int) -> Iterator[RenderableType]:
    """The machine's roofs: per device and precision the best GEMM any framework reached,
    each framework's own GEMM as a share of it, and the triad bandwidth."""
    roofs: list[dict[str, Any]] = [dict(r) for r in doc.get("roofline", [])]
    if not roofs:
        return
    frameworks = sorted({fw for r in roofs for fw in r.get("frameworks") or {}})
    shrink = [("by", "next"), *((f"fw:{fw}", "next") for fw in frameworks)]
    layout = fit(roof_columns(frameworks, labels_of(doc)), roofs, width, shrink)
    yield Text("the machine's roofs (best round; each framework's own GEMM as a share of the "
               "roof)", style="bold")
    yield layout.table(roofs)


def finding_lines(doc: ResultDoc) -> list[Text]:
    """The result's findings, each once, on its own line: what a reader must not miss."""
    return [Text(f"finding: {summaries.finding_text(f)}",
                 style=SEVERITY_STYLE.get(f.severity, "bold"))
            for f in summaries.findings(doc)]


def counts(doc: ResultDoc) -> Text:
    tally: dict[str, int] = {}
    for c in doc["cases"]:
        tally[c["status"]] = tally.get(c["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in tally.items())
    if not doc.get("complete", True):
        summary += " — run incomplete"
    return Text(summary, style="bold")


@dataclass(frozen=True)
class ResultView:
    """A result laid out for the width it is printed at."""

    doc: ResultDoc
    show_skipped: bool = False
    verbose: bool = False

    def parts(self, width: int) -> Iterator[RenderableType]:
        doc = self.doc
        yield from header(doc)
        rows = rows_of(doc, self.show_skipped)
        if rows:
            yield from case_table(doc, rows, width)
        yield from scaling_lines(doc, width)
        yield from serving_lines(doc)
        yield from history_lines(doc)
        yield from failures(doc)
        yield from warning_lines(doc, self.verbose)
        yield from skip_lines(doc)
        yield from roof_table(doc, width)
        found = finding_lines(doc)
        if found:
            yield Rule(Text(f"{len(found)} finding(s)", style="bold"), style="red")
            yield from found
        yield counts(doc)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts(options.max_width)


def render(doc: ResultDoc, show_skipped: bool = False, verbose: bool = False) -> ResultView:
    """The table (skipped cases only when asked), the legend, failures, warnings by kind
    (each with `verbose`), skip reasons, the roofs, the findings, the counts."""
    return ResultView(doc, show_skipped, verbose)
