"""A comparison as text: a rich table for the terminal, Markdown for CI summaries, JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import format as fmt

STYLE = {"regressed": "bold red", "improved": "green", "noisy": "yellow", "unchanged": "dim",
         "inconclusive": "yellow", "missing": "magenta", "new": "cyan", "unmeasured": "dim"}
ICON = {"regressed": "🔴", "improved": "🟢", "noisy": "🟡", "inconclusive": "🟠", "unchanged": "⚪",
        "missing": "⚫", "new": "🔵"}


def ratio_text(speed: dict[str, Any] | None) -> str:
    if not speed or speed.get("ratio") is None:
        return "–"
    text = f"{speed['ratio']:.3f}×"
    if speed.get("ci_low") is not None:
        text += f" [{speed['ci_low']:.3f}, {speed['ci_high']:.3f}]"
    return text


def p_text(speed: dict[str, Any] | None) -> str:
    p = (speed or {}).get("p_adjusted")
    return "–" if p is None else f"{p:.2g}"


def scalar_text(change: dict[str, Any] | None) -> str:
    if not change:
        return "–"
    if change["verdict"] == "unmeasured":
        return "unmeasured"
    return f"{change['ratio']:.2f}× {change['verdict']}"


def summary_line(result: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {v}" for v, n in result["summary"].items() if n)
    gate = f"{len(result['regressions'])} regression(s)" if result["regressions"] \
        else "no regression"
    return f"{gate}; {counts or 'nothing compared'}"


def case_notes(row: dict[str, Any]) -> list[str]:
    return [*row["flags"], *([row["note"]] if row.get("note") else [])]


def render_table(result: dict[str, Any]) -> Group:
    """The terminal view: warnings first, then one row per case, then the verdict line."""
    b, c, t = result["baseline"], result["candidate"], result["thresholds"]
    table = Table(title=f"compare {b['run_id']} → {c['run_id']}",
                  caption=f"threshold {t['speed']:.0%} (memory {t['memory']:.0%}, energy "
                          f"{t['energy']:.0%}), α {t['alpha']} Holm-corrected")
    table.add_column("case", overflow="fold")
    for name in ("baseline items/s", "candidate items/s", "ratio [95% CI]", "p (adj.)", "memory",
                 "energy/item"):
        table.add_column(name, justify="right", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for row in result["cases"]:
        s = row.get("speed") or {}
        table.add_row(row["id"], fmt.si(s.get("baseline_items_per_s")),
                      fmt.si(s.get("candidate_items_per_s")), ratio_text(s), p_text(s),
                      scalar_text(row.get("memory")), scalar_text(row.get("energy")),
                      Text(row["verdict"] + (" ⚑" if row["flags"] else ""),
                           style=STYLE[row["verdict"]]))
    parts: list[Any] = [Text(f"warning: {w}", style="bold yellow") for w in result["warnings"]]
    parts.append(table)
    for row in result["cases"]:
        for note in case_notes(row):
            parts.append(Text(f"{row['id']}: {note}", style="yellow"))
    parts.append(Text(summary_line(result),
                      style="bold red" if result["regressions"] else "bold green"))
    return Group(*parts)


def md_escape(text: str) -> str:
    """Markdown table cells: no pipes, no raw HTML (a PR comment renders it)."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


def render_markdown(result: dict[str, Any]) -> str:
    """For $GITHUB_STEP_SUMMARY or a PR comment."""
    b, c, t = result["baseline"], result["candidate"], result["thresholds"]
    head = "❌ **Performance regression**" if result["regressions"] else "✅ **No regression**"
    lines = ["## dbnbench compare", "", f"{head}: {md_escape(summary_line(result))}", "",
             (f"Baseline `{md_escape(b['run_id'])}` ({md_escape(b['hostname'])}) → candidate "
              f"`{md_escape(c['run_id'])}` ({md_escape(c['hostname'])}); threshold "
              f"{t['speed']:.0%}, memory {t['memory']:.0%}, energy {t['energy']:.0%}, "
              f"α {t['alpha']} (Holm)."), ""]
    lines += [f"> ⚠️ {md_escape(w)}" for w in result["warnings"]]
    if result["warnings"]:
        lines.append("")
    lines += [("| case | baseline items/s | candidate items/s | ratio [95% CI] | p (adj.) | "
               "memory | energy/item | verdict |"), "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in result["cases"]:
        s = row.get("speed") or {}
        notes = "; ".join(case_notes(row))
        verdict = f"{ICON[row['verdict']]} {row['verdict']}" + \
            (f" — {md_escape(notes)}" if notes else "")
        lines.append(f"| `{md_escape(row['id'])}` | {fmt.si(s.get('baseline_items_per_s'))} | "
                     f"{fmt.si(s.get('candidate_items_per_s'))} | {ratio_text(s)} | "
                     f"{p_text(s)} | {scalar_text(row.get('memory'))} | "
                     f"{scalar_text(row.get('energy'))} | {verdict} |")
    return "\n".join(lines) + "\n"


def render_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=1, allow_nan=False) + "\n"
