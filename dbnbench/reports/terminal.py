"""The terminal table of a result, with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import format as fmt

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "failed": "bold red", "timeout": "bold red",
                "interrupted": "magenta"}


def results_table(doc: dict[str, Any], show_skipped: bool = True) -> Table:
    m = doc["machine"]
    gpu = ", ".join(g["name"] for g in m["gpus"]) or "no GPU"
    table = Table(title=f"dbnbench {doc['suite']} · {doc['run_id']}",
                  caption=f"{m['hostname']} · {m['cpu']['model']} · {gpu} · "
                          f"{doc['settings']['threads']} threads", expand=False)
    for name, justify in (("workload", "left"), ("framework", "left"), ("device", "left"),
                          ("precision", "left"), ("shape", "left"), ("items/s (95% CI)", "right"),
                          ("% peak", "right"), ("peak mem", "right"), ("quality", "left"),
                          ("status", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for c in doc["cases"]:
        if c["status"] == "skipped" and not show_skipped:
            continue
        mt = c["metrics"]
        mem = mt.get("peak_device_memory_bytes") or mt.get("peak_host_memory_bytes")
        status = Text(c["status"], style=STATUS_STYLE[c["status"]])
        if c.get("warnings"):
            status.append(" !", style="yellow")
        table.add_row(c["workload"], c["framework"], c["device"], c["precision"],
                      c["id"].rsplit("/", 1)[-1], fmt.rate_with_ci(mt.get("items_per_s")),
                      fmt.pct(mt.get("pct_of_peak")), fmt.bytes_(mem),
                      fmt.quality(mt.get("quality")), status)
    return table


def skipped_summary(doc: dict[str, Any]) -> list[Text]:
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


def notes(doc: dict[str, Any], show_skipped: bool = True) -> list[Text]:
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


def peak_vs_fp32(doc: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """Each calibrated mode's GEMM peak as a multiple of fp32's on the same framework and
    device: where a CPU lacks native bf16/fp16 units a 'faster' mode can be far slower, and
    the reader should see that before any workload number."""
    peaks = {(c["framework"], c["device"], c["precision"]): c["gemm_flops_per_s"]
             for c in doc["calibration"] if c["gemm_flops_per_s"]}
    return {key: value / peaks[(key[0], key[1], "fp32")] for key, value in peaks.items()
            if (key[0], key[1], "fp32") in peaks}


def calibration_table(doc: dict[str, Any]) -> Table:
    table = Table(title="GEMM peak (this machine, measured)")
    for name in ("framework", "device", "precision", "peak FLOP/s", "× fp32"):
        table.add_column(name, justify="right" if name == "× fp32" else "left")
    ratios = peak_vs_fp32(doc)
    for cal in doc["calibration"]:
        value = fmt.si(cal["gemm_flops_per_s"], "FLOP/s") if cal["gemm_flops_per_s"] \
            else f"– ({cal.get('reason')})"
        key = (cal["framework"], cal["device"], cal["precision"])
        ratio = Text("–") if key not in ratios else Text(
            f"{ratios[key]:.2f}×", style="bold" if ratios[key] > 1.2 else "")
        table.add_row(cal["framework"], cal["device"], cal["precision"], value, ratio)
    return table


SEVERITY_STYLE = {"error": "bold red", "warning": "bold red", "info": "bold"}


def finding_lines(doc: dict[str, Any]) -> list[Text]:
    """The result's findings, each on its own line: what a reader must not miss."""
    return [Text(f"finding: {f['message']}", style=SEVERITY_STYLE.get(f["severity"], "bold"))
            for f in doc.get("findings", [])]


def render(doc: dict[str, Any], show_skipped: bool = False) -> Group:
    """The table (skipped cases only when asked), notes, skip reasons, calibration, counts."""
    parts: list[Any] = [results_table(doc, show_skipped), *notes(doc), *skipped_summary(doc)]
    if doc["calibration"]:
        parts.append(calibration_table(doc))
    parts.extend(finding_lines(doc))
    counts: dict[str, int] = {}
    for c in doc["cases"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if not doc.get("complete", True):
        summary += " — run incomplete"
    parts.append(Text(summary))
    return Group(*parts)
