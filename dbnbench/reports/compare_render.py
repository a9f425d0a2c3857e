"""A comparison as text: a rich table for the terminal, Markdown for CI summaries, JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import format as fmt

STYLE = {"regressed": "bold red", "improved": "green", "unchanged": "dim",
         "inconclusive": "yellow", "missing": "magenta", "new": "cyan", "unmeasured": "dim"}
ICON = {"regressed": "🔴", "improved": "🟢", "inconclusive": "🟠", "unchanged": "⚪",
        "missing": "⚫", "new": "🔵"}
DECISION = {"regression": ("❌", "bold red"), "inconclusive": ("⚠️", "bold yellow"),
            "no change": ("✅", "bold green")}


def ratio_text(speed: dict[str, Any] | None) -> str:
    """The ratio the verdict stands on, its interval, and the raw ratio where it differs
    (normalised per reference GEMM, or paired by round)."""
    if not speed or speed.get("ratio") is None:
        return "–"
    text = f"{speed['ratio']:.3f}×"
    if speed.get("ci_low") is not None:
        text += f" [{speed['ci_low']:.3f}, {speed['ci_high']:.3f}]"
    raw = speed.get("raw_ratio")
    if speed.get("basis") != "measured" and raw is not None:
        text += f" (raw {raw:.3f}×)"
    return text


def mde_text(speed: dict[str, Any] | None) -> str:
    mde = (speed or {}).get("mde")
    return "–" if mde is None else f"{mde:.1%}"


def p_text(speed: dict[str, Any] | None) -> str:
    p = (speed or {}).get("p_adjusted")
    return "–" if p is None else f"{p:.2g}"


def scalar_text(change: dict[str, Any] | None) -> str:
    if not change:
        return "–"
    if change["verdict"] == "unmeasured":
        return "unmeasured"
    return f"{change['ratio']:.2f}× {change['verdict']}"


def headline(result: dict[str, Any]) -> str:
    """The decision in words: '2 regressions', 'Inconclusive: 1 case undecided', …"""
    decision = result["decision"]
    if decision == "regression":
        n = len(result["regressions"])
        return f"Performance regression{'s' if n != 1 else ''} in {n} case{'s' if n != 1 else ''}"
    if decision == "inconclusive":
        n = len(result["undecided"])
        return f"Inconclusive: {n} case{'s' if n != 1 else ''} undecided"
    return "No change beyond the threshold"


def details(result: dict[str, Any]) -> str:
    """The counts, and the smallest change the data could have seen."""
    counts = ", ".join(f"{n} {v}" for v, n in result["summary"].items() if n)
    mde = result.get("mde")
    sees = (f"; this comparison can see changes above {mde['max']:.0%} "
            f"(median case {mde['median']:.0%})") if mde else ""
    return f"{counts or 'nothing compared'}{sees}"


def summary_line(result: dict[str, Any]) -> str:
    """The decision, the counts, and the smallest change the data could have seen."""
    head = headline(result)
    return f"{head[0].lower()}{head[1:]}; {details(result)}"


def case_notes(row: dict[str, Any]) -> list[str]:
    return [*row["flags"], *([row["note"]] if row.get("note") else [])]


def render_table(result: dict[str, Any]) -> Group:
    """The terminal view: warnings first, then one row per case, then the verdict line."""
    b, c, t = result["baseline"], result["candidate"], result["thresholds"]
    table = Table(title=Text(f"compare {b['run_id']} → {c['run_id']}"),
                  caption=f"threshold {t['speed']:.0%} (memory {t['memory']:.0%}, energy "
                          f"{t['energy']:.0%}), α {t['alpha']} Holm-corrected")
    table.add_column("case", overflow="fold")
    for name in ("baseline items/s", "candidate items/s", "ratio [95% CI]", "p (adj.)",
                 "min. detectable", "memory", "energy/item"):
        table.add_column(name, justify="right", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for row in result["cases"]:
        s = row.get("speed") or {}
        table.add_row(Text(row["id"]), fmt.si(s.get("baseline_items_per_s")),
                      fmt.si(s.get("candidate_items_per_s")), ratio_text(s), p_text(s),
                      mde_text(s), scalar_text(row.get("memory")), scalar_text(row.get("energy")),
                      Text(row["verdict"] + (" ⚑" if row["flags"] else ""),
                           style=STYLE[row["verdict"]]))
    parts: list[Any] = [Text(f"warning: {w}", style="bold yellow") for w in result["warnings"]]
    parts.append(table)
    for row in result["cases"]:
        for note in case_notes(row):
            parts.append(Text(f"{row['id']}: {note}", style="yellow"))
    parts.append(Text(summary_line(result), style=DECISION[result["decision"]][1]))
    return Group(*parts)


def md_escape(text: str) -> str:
    """Markdown table cells: no pipes, no raw HTML (a PR comment renders it)."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


def render_markdown(result: dict[str, Any]) -> str:
    """For $GITHUB_STEP_SUMMARY or a PR comment."""
    b, c, t = result["baseline"], result["candidate"], result["thresholds"]
    icon, _ = DECISION[result["decision"]]
    # The decision once, in bold, then what stands behind it (no "No change: no change").
    lines = ["## dbnbench compare", "",
             f"{icon} **{md_escape(headline(result))}** — {md_escape(details(result))}",
             "",
             (f"Baseline `{md_escape(b['run_id'])}` ({md_escape(b['hostname'])}) → candidate "
              f"`{md_escape(c['run_id'])}` ({md_escape(c['hostname'])}); threshold "
              f"{t['speed']:.0%}, memory {t['memory']:.0%}, energy {t['energy']:.0%}, "
              f"α {t['alpha']} (Holm)."), ""]
    lines += [f"> ⚠️ {md_escape(w)}" for w in result["warnings"]]
    if result["warnings"]:
        lines.append("")
    lines += [("| case | baseline items/s | candidate items/s | ratio [95% CI] | p (adj.) | "
               "min. detectable | memory | energy/item | verdict |"),
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in result["cases"]:
        s = row.get("speed") or {}
        notes = "; ".join(case_notes(row))
        verdict = f"{ICON[row['verdict']]} {row['verdict']}" + \
            (f" — {md_escape(notes)}" if notes else "")
        lines.append(f"| `{md_escape(row['id'])}` | {fmt.si(s.get('baseline_items_per_s'))} | "
                     f"{fmt.si(s.get('candidate_items_per_s'))} | {ratio_text(s)} | "
                     f"{p_text(s)} | {mde_text(s)} | {scalar_text(row.get('memory'))} | "
                     f"{scalar_text(row.get('energy'))} | {verdict} |")
    return "\n".join(lines) + "\n"


def render_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=1, allow_nan=False) + "\n"
