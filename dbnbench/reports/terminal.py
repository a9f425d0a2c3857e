"""The terminal table of a result, with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..harness.results import ResultDoc
from . import format as fmt

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "failed": "bold red", "timeout": "bold red",
                "interrupted": "magenta"}


def results_table(doc: ResultDoc, show_skipped: bool = True) -> Table:
    m = doc["machine"]
    gpu = ", ".join(g["name"] for g in m["gpus"]) or "no GPU"
    table = Table(title=f"dbnbench {doc['suite']} · {doc['run_id']}",
                  caption=f"{m['hostname']} · {m['cpu']['model']} · {gpu} · "
                          f"{doc['settings']['threads']} threads", expand=False)
    for name in ("workload", "framework", "device", "precision", "shape"):
        table.add_column(name, overflow="fold")
    for name in ("items/s (95% CI)", "% peak", "peak mem"):
        table.add_column(name, justify="right", overflow="fold")
    for name in ("quality", "status"):
        table.add_column(name, overflow="fold")
    for c in doc["cases"]:
        if c["status"] == "skipped" and not show_skipped:
            continue
        mt = c["metrics"]
        mem = mt.get("peak_device_memory_bytes") or mt.get("peak_host_memory_bytes")
        status = Text(c["status"], style=STATUS_STYLE[c["status"]])
        if (contention := c["contention"]) and contention["contended"]:
            status.append(" busy", style="bold yellow")
        elif c.get("warnings"):
            status.append(" !", style="yellow")
        shape = c["id"].rsplit("/", 1)[-1] + (f" [{c['arm']}]" if c.get("arm") else "")
        table.add_row(c["workload"], c["framework"], c["device"], c["precision"],
                      shape, fmt.rate_with_ci(mt.get("items_per_s")),
                      fmt.pct(mt.get("pct_of_peak")), fmt.bytes_(mem),
                      fmt.quality(mt.get("quality")), status)
    return table


def skipped_summary(doc: ResultDoc) -> list[Text]:
    """Skipped cases grouped by reason: on a CPU-only machine they are most of a suite."""
    by_reason: dict[str, int] = {}
    for c in doc["cases"]:
        if c["status"] == "skipped":
            by_reason[c["reason"] or "?"] = by_reason.get(c["reason"] or "?", 0) + 1
    lines = []
    for reason, n in sorted(by_reason.items(), key=lambda kv: -kv[1]):
        line = Text(f"skipped ×{n}: ", style="yellow")
        line.append(reason, style="dim")
        lines.append(line)
    return lines


def notes(doc: ResultDoc, show_skipped: bool = True) -> list[Text]:
    """Reasons and warnings, one line per case, below the table where they have room."""
    lines = []
    for c in doc["cases"]:
        if c["status"] == "skipped":
            continue
        for text, style in ([(c["reason"], STATUS_STYLE[c["status"]])] if c["reason"] else []) + \
                [(w, "yellow") for w in c.get("warnings", [])]:
            line = Text(f"{c['id']}: ", style="dim")
            line.append(text, style=style)
            lines.append(line)
    return lines


def roofline_table(doc: ResultDoc) -> Table:
    """The machine's roofs: per device and precision the best GEMM any framework reached,
    each framework's own rate beside it, and the triad bandwidth."""
    table = Table(title="the machine's roofs (measured every round; best round shown)")
    for name in ("device", "precision", "GEMM roof", "by", "each framework", "bandwidth"):
        table.add_column(name)
    for r in doc.get("roofline", []):
        each = ", ".join(f"{fw} {rate / r['gemm_flops_per_s']:.0%}"
                         for fw, rate in sorted((r.get("frameworks") or {}).items()))
        table.add_row(r["device"], r["precision"], fmt.si(r["gemm_flops_per_s"], "FLOP/s"),
                      Text(r.get("best_framework") or "–"), Text(each),
                      fmt.si(r.get("bandwidth_bytes_per_s"), "B/s"))
    return table


SEVERITY_STYLE = {"error": "bold red", "warning": "bold red", "info": "bold"}


def finding_lines(doc: ResultDoc) -> list[Text]:
    """The result's findings, each on its own line: what a reader must not miss."""
    return [Text(f"finding: {f['message']}", style=SEVERITY_STYLE.get(f["severity"], "bold"))
            for f in doc.get("findings", [])]


def render(doc: ResultDoc, show_skipped: bool = False) -> Group:
    """The table (skipped cases only when asked), notes, skip reasons, calibration, counts."""
    parts: list[Any] = [results_table(doc, show_skipped), *notes(doc), *skipped_summary(doc)]
    if doc.get("roofline"):
        parts.append(roofline_table(doc))
    parts.extend(finding_lines(doc))
    counts: dict[str, int] = {}
    for c in doc["cases"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if not doc.get("complete", True):
        summary += " — run incomplete"
    parts.append(Text(summary))
    return Group(*parts)
