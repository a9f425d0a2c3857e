"""A comparison as text: a terminal table that fits its width, Markdown for CI summaries, a
small self-contained HTML page, JSON.

The terminal table is laid out when rich renders it, for the width it renders at (as the
report's: columns.py), giving up detail step by step until every case is one line: first
the p-value and the raw ratio, then long headers and words, the absolute rates, the
interval, energy; where the case id still does not fit beside its numbers, it heads them on
a line of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text

from . import format as fmt
from .columns import Column, Form, Layout, fit
from .quality_change import number

Row = dict[str, Any]

STYLE = {"regressed": "bold red", "broken": "bold red", "improved": "green", "unchanged": "dim",
         "inconclusive": "yellow", "missing": "magenta", "new": "cyan", "unmeasured": "dim"}
ICON = {"regressed": "🔴", "broken": "⛔", "improved": "🟢", "inconclusive": "🟠",
        "unchanged": "⚪", "missing": "⚫", "new": "🔵"}
DECISION = {"regression": ("❌", "bold red"), "inconclusive": ("⚠️", "bold yellow"),
            "no change": ("✅", "bold green")}
MARK = {"regressed": " ✗", "improved": " ✓", "inconclusive": " ?"}  # a verdict, compact
MARKS = "✗ regressed · ✓ improved · ? inconclusive"
# An MDE above 100 % is no number to read: "12075 %" says only that nothing could be seen.
BLIND, BLIND_SHORT = "cannot see any change of interest", "can't see"
ASPECTS = ("memory", "energy", "quality")  # judged beside speed, each its own verdict
PERFORMANCE = ("speed", "memory", "energy")


def ratio_text(speed: dict[str, Any] | None, interval: bool = True, raw: bool = True) -> str:
    """The ratio the verdict stands on, its interval, and the raw ratio where it differs
    (normalised per reference GEMM, or paired by round)."""
    if not speed or speed.get("ratio") is None:
        return "–"
    text = f"{speed['ratio']:.3f}×"
    if interval and speed.get("ci_low") is not None and speed.get("ci_high") is not None:
        text += f" [{speed['ci_low']:.3f}, {speed['ci_high']:.3f}]"
    raw_ratio = speed.get("raw_ratio")
    if raw and speed.get("basis") != "measured" and raw_ratio is not None:
        text += f" (raw {raw_ratio:.3f}×)"
    return text


def mde_text(speed: dict[str, Any] | None, short: bool = False) -> str:
    """The smallest change the case could have seen; above 100 % (or none at all, once
    tested) it says so in words."""
    s = speed or {}
    mde = s.get("mde")
    if mde is None:
        tested = s.get("p_adjusted") is not None
        return (BLIND_SHORT if short else BLIND) if tested else "–"
    if mde > 1:
        return BLIND_SHORT if short else BLIND
    return f"{mde:.1%}"


def p_text(speed: dict[str, Any] | None) -> str:
    p = (speed or {}).get("p_adjusted")
    return "–" if p is None else f"{p:.2g}"


def scalar_text(change: dict[str, Any] | None, short: bool = False) -> str:
    """Peak memory or energy per item: '1.02× unchanged', or '1.50× ✗' compact."""
    if not change or change.get("verdict") == "unmeasured" or change.get("ratio") is None:
        return "unmeasured" if change and not short else "–"
    verdict = change["verdict"]
    return f"{change['ratio']:.2f}×" + (MARK.get(verdict, "") if short else f" {verdict}")


def quality_text(q: dict[str, Any] | None, short: bool = False) -> str:
    """'0.0388→0.0612 regressed', or compact the candidate's value and a mark ('0.0612 ✗');
    'not comparable' (≠), 'baseline only' / 'candidate only' (1 side) where no verdict."""
    if not q or q.get("verdict") == "unmeasured":
        return "–"
    verdict = q["verdict"]
    if verdict == "not comparable":
        return "≠" if short else verdict
    if verdict.endswith(" only"):
        return "1 side" if short else verdict
    b, c = number(q.get("baseline")), number(q.get("candidate"))
    if short:
        return f"{c}{MARK.get(verdict, '')}"
    return f"{b}→{c}" + ("" if verdict == "unchanged" else f" {verdict}")


def verdict_text(row: Row) -> Text:
    return Text(row["verdict"] + (" ⚑" if row["flags"] else ""), style=STYLE[row["verdict"]])


def regression_kinds(result: dict[str, Any]) -> dict[str, int]:
    """How many cases regressed in each way: speed, broken, memory, energy, quality."""
    kinds = dict.fromkeys(("speed", "broken", *ASPECTS), 0)
    for row in result["cases"]:
        if row["verdict"] == "regressed":
            kinds["speed"] += 1
        elif row["verdict"] == "broken":
            kinds["broken"] += 1
        for aspect in ASPECTS:
            if (row.get(aspect) or {}).get("verdict") == "regressed":
                kinds[aspect] += 1
    return {k: n for k, n in kinds.items() if n}


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def headline(result: dict[str, Any]) -> str:
    """The decision in words: 'Performance regressions in 2 cases', 'Regression in 1 case:
    1 broken', 'Inconclusive: 1 case undecided', …"""
    decision = result["decision"]
    if decision == "regression":
        n, kinds = len(result["regressions"]), regression_kinds(result)
        if set(kinds) <= set(PERFORMANCE):
            return f"Performance regression{'s' if n != 1 else ''} in {plural(n, 'case')}"
        return (f"{'Regressions' if n != 1 else 'Regression'} in {plural(n, 'case')}: "
                + ", ".join(f"{k} {name}" for name, k in kinds.items()))
    if decision == "inconclusive":
        return f"Inconclusive: {plural(len(result['undecided']), 'case')} undecided"
    return "No change beyond the threshold"


def sensitivity(mde: dict[str, Any] | None) -> str:
    """What the least and the median sensitive case could see ('' where nothing was tested)."""
    if not mde or mde.get("max") is None:
        return ""
    worst, median = mde["max"], mde.get("median")
    if worst <= 1:
        middle = f" (median case {median:.0%})" if median is not None else ""
        return f"this comparison can see changes above {worst:.0%}{middle}"
    if median is not None and median <= 1:
        return f"the median case can see changes above {median:.0%}; the least sensitive {BLIND}"
    return f"this comparison {BLIND}"


def details(result: dict[str, Any]) -> str:
    """The counts, quality's verdicts, and the smallest change the data could have seen."""
    counts = ", ".join(f"{n} {v}" for v, n in result["summary"].items() if n)
    tally: dict[str, int] = {}
    for row in result["cases"]:
        verdict = (row.get("quality") or {}).get("verdict")
        if verdict and verdict != "unmeasured":
            tally[verdict] = tally.get(verdict, 0) + 1
    quality = ("; quality " + ", ".join(f"{n} {v}" for v, n in tally.items())) if tally else ""
    sees = sensitivity(result.get("mde"))
    return f"{counts or 'nothing compared'}{quality}{'; ' + sees if sees else ''}"


def looks_text(result: dict[str, Any]) -> str:
    """A sequential run's looks, and after how many rounds its cases were decided ('' for a
    comparison at a fixed size)."""
    looks = result.get("looks") or []
    if not looks:
        return ""
    at: dict[int, int] = {}
    for row in result["cases"]:
        if row.get("decided_at_round") is not None:
            at[row["decided_at_round"]] = at.get(row["decided_at_round"], 0) + 1
    undecided = sum(r.get("decided_at_round") is None for r in result["cases"])
    decided = ", ".join(f"{n} after {k} rounds" for k, n in sorted(at.items()))
    return (f"sequential: {plural(len(looks), 'look')} (after rounds "
            f"{', '.join(str(lk['rounds']) for lk in looks)}, α spent over them); decided: "
            f"{decided or 'none'}{f'; {undecided} not decided' if undecided else ''}")


def summary_line(result: dict[str, Any]) -> str:
    """The decision, the counts, and the smallest change the data could have seen."""
    head = headline(result)
    return f"{head[0].lower()}{head[1:]}; {details(result)}"


def case_notes(row: Row) -> list[str]:
    """The flags, the verdict's reason, and each other aspect's where it is not plain."""
    notes = [*row["flags"], *([row["note"]] if row.get("note") else [])]
    for aspect in ASPECTS:
        change = row.get(aspect) or {}
        if change.get("reason") and change.get("verdict") not in ("unmeasured", "unchanged"):
            notes.append(f"{aspect} {change['verdict']}: {change['reason']}")
    return notes


def is_alarm(row: Row) -> bool:
    return row["verdict"] in ("regressed", "broken") or any(
        (row.get(a) or {}).get("verdict") == "regressed" for a in ASPECTS)


# ── The terminal ────────────────────────────────────────────────────────────────────────


def speed_of(row: Row) -> dict[str, Any]:
    return row.get("speed") or {}


def rates(row: Row) -> str:
    s = speed_of(row)
    if s.get("baseline_items_per_s") is None and s.get("candidate_items_per_s") is None:
        return "–"
    return f"{fmt.si(s.get('baseline_items_per_s'))} → {fmt.si(s.get('candidate_items_per_s'))}"


def case_text(row: Row) -> Text:
    """The case's id, in red where anything about it regressed."""
    return Text(row["id"], style="bold red" if is_alarm(row) else "")


def measured(rows: list[Row], aspect: str) -> bool:
    return any((r.get(aspect) or {}).get("verdict") not in (None, "unmeasured") for r in rows)


def compare_columns(rows: list[Row]) -> list[Column[Row]]:
    """Every column from its richest form to its most compact; energy only where measured."""
    columns: list[Column[Row]] = [
        Column("case", (Form("case", case_text),)),
        Column("rates", (Form("baseline → candidate items/s", rates),
                         Form("items/s", rates, "items/s: baseline → candidate, as measured")),
               "right"),
        Column("ratio", (
            Form("ratio [95% CI]", lambda r: ratio_text(speed_of(r))),
            Form("ratio [95% CI]", lambda r: ratio_text(speed_of(r), raw=False)),
            Form("ratio", lambda r: ratio_text(speed_of(r), interval=False, raw=False),
                 "ratio: candidate over baseline items/s")), "right"),
        Column("p", (Form("p (adj.)", lambda r: p_text(speed_of(r))),), "right"),
        Column("mde", (Form("min. detectable", lambda r: mde_text(speed_of(r))),
                       Form("MDE", lambda r: mde_text(speed_of(r), short=True),
                            f"MDE: smallest change it could see (can't see: {BLIND})")), "right"),
        Column("memory", (Form("memory", lambda r: scalar_text(r.get("memory"))),
                          Form("mem", lambda r: scalar_text(r.get("memory"), True), MARKS)),
               "right")]
    if measured(rows, "energy"):
        columns.append(Column("energy", (
            Form("energy/item", lambda r: scalar_text(r.get("energy"))),
            Form("J/item", lambda r: scalar_text(r.get("energy"), True), MARKS)), "right"))
    if measured(rows, "quality"):
        columns.append(Column("quality", (
            Form("quality", lambda r: quality_text(r.get("quality"))),
            Form("quality", lambda r: quality_text(r.get("quality"), True),
                 "quality: the candidate's (≠: not comparable, 1 side: on one side only)"))))
    columns.append(Column("verdict", (Form("verdict", verdict_text),)))
    return columns


# What a narrower terminal gives up first: detail a reader can do without. Tried with the
# case id in its row; where even the last step leaves it too wide, the id heads its row on
# a line of its own and the numbers start again from their richest forms.
STEPS = (("p", "drop"), ("ratio", "next"), ("rates", "next"), ("mde", "next"),
         ("energy", "next"), ("memory", "next"), ("rates", "drop"), ("quality", "next"),
         ("ratio", "next"), ("energy", "drop"))


def case_table(rows: list[Row], width: int) -> Iterator[RenderableType]:
    """One line per case; where the id does not fit beside the numbers it heads them."""
    columns = compare_columns(rows)
    layout: Layout[Row] = fit(columns, rows, width, STEPS)
    if layout.width <= width:
        yield layout.table(rows)
    else:
        layout = fit([c for c in columns if c.key != "case"], rows, width, STEPS)
        yield layout.table([])
        for row in rows:
            yield Text(row["id"], style="bold red" if is_alarm(row) else "bold")
            yield layout.table([row], show_header=False)
    legend = list(dict.fromkeys(layout.legend()))
    if any(r["flags"] for r in rows):
        legend.append("⚑: flagged (below)")
    yield Text("legend: " + " · ".join([*legend, "–: not measured or not compared"]),
               style="dim")


@dataclass(frozen=True)
class CompareView:
    """A comparison laid out for the width it is printed at."""

    result: dict[str, Any]

    def parts(self, width: int) -> Iterator[RenderableType]:
        result = self.result
        b, c, t = result["baseline"], result["candidate"], result["thresholds"]
        yield Text(f"compare {b['run_id']} → {c['run_id']}", style="bold")
        yield from (Text(f"warning: {w}", style="bold yellow") for w in result["warnings"])
        if result["cases"]:
            yield from case_table(result["cases"], width)
        yield Text(f"threshold {t['speed']:.0%} (memory {t['memory']:.0%}, energy "
                   f"{t['energy']:.0%}), α {t['alpha']} Holm-corrected", style="dim")
        if looks_text(result):
            yield Text(looks_text(result), style="dim")
        for row in result["cases"]:
            for note in case_notes(row):
                yield Text(f"{row['id']}: {note}", style="red" if is_alarm(row) else "yellow")
        yield Text(summary_line(result), style=DECISION[result["decision"]][1])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts(options.max_width)


def render_table(result: dict[str, Any]) -> CompareView:
    """The terminal view: warnings first, then one line per case at any width from 80
    columns up, the legend, each case's notes, then the verdict line."""
    return CompareView(result)


# ── Markdown, HTML, JSON ────────────────────────────────────────────────────────────────


def md_escape(text: str) -> str:
    """Markdown table cells: no pipes, no raw HTML (a PR comment renders it)."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


# GitHub refuses a job's step summary over 1 MiB (1 048 576 bytes): the gate's stays under
# this, leaving room for a line another step appends.
SUMMARY_LIMIT = 1_000_000
COLLAPSE_AFTER = 25  # more cases than this: the unalarming ones fold under <details>
TABLE_HEAD = [("| case | baseline items/s | candidate items/s | ratio [95% CI] | p (adj.) | "
               "min. detectable | memory | energy/item | quality | verdict |"),
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]


def markdown_row(row: Row) -> str:
    s = speed_of(row)
    notes = "; ".join(case_notes(row))
    verdict = f"{ICON[row['verdict']]} {row['verdict']}" + \
        (f" — {md_escape(notes)}" if notes else "")
    return (f"| `{md_escape(row['id'])}` | {fmt.si(s.get('baseline_items_per_s'))} | "
            f"{fmt.si(s.get('candidate_items_per_s'))} | {ratio_text(s)} | "
            f"{p_text(s)} | {mde_text(s)} | {scalar_text(row.get('memory'))} | "
            f"{scalar_text(row.get('energy'))} | "
            f"{md_escape(quality_text(row.get('quality')))} | {verdict} |")


def size(lines: list[str]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


def tables(rows: list[Row], budget: int) -> list[str]:
    """The cases as Markdown tables within `budget` bytes: all in one table when few; else
    the alarming ones open and the rest folded under <details>. Rows past the budget are
    left out, the folded ones first, with a line saying how many."""
    alarms = [r for r in rows if is_alarm(r)]
    rest = [r for r in rows if not is_alarm(r)] if len(rows) > COLLAPSE_AFTER else []
    shown = alarms if rest else rows
    note_room = 300
    out = [*TABLE_HEAD] if shown else []
    left = budget - note_room - size(out)
    kept = 0
    for row in shown:
        line = markdown_row(row)
        if size([line]) > left:
            break
        out.append(line)
        left -= size([line])
        kept += 1
    dropped = len(shown) - kept
    if rest:
        fold = ["", f"<details><summary>{plural(len(rest), 'other case')} (no regression)"
                "</summary>", "", *TABLE_HEAD]
        closing = ["", "</details>"]
        if dropped or size(fold + closing) > left:
            dropped += len(rest)
        else:
            left -= size(fold + closing)
            for i, row in enumerate(rest):
                line = markdown_row(row)
                if size([line]) > left:
                    dropped += len(rest) - i
                    break
                fold.append(line)
                left -= size([line])
            out += fold + closing
    if dropped:
        out += ["", f"> ✂️ {plural(dropped, 'case')} left out here: a GitHub step summary "
                "holds at most 1 MiB. Every case is in the comparison's JSON (`--json`)."]
    return out


def render_markdown(result: dict[str, Any], limit: int = SUMMARY_LIMIT) -> str:
    """For $GITHUB_STEP_SUMMARY or a PR comment: under `limit` bytes, whatever the number of
    cases (the alarming ones kept first)."""
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
    if looks_text(result):
        lines += [md_escape(looks_text(result)), ""]
    lines += [f"> ⚠️ {md_escape(w)}" for w in result["warnings"]]
    if result["warnings"]:
        lines.append("")
    lines += tables(result["cases"], limit - size(lines))
    return "\n".join(lines) + "\n"


def html_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The table's cells as plain strings: the template escapes every one."""
    return [{"id": row["id"], "base": fmt.si(speed_of(row).get("baseline_items_per_s")),
             "cand": fmt.si(speed_of(row).get("candidate_items_per_s")),
             "ratio": ratio_text(speed_of(row)), "p": p_text(speed_of(row)),
             "mde": mde_text(speed_of(row)), "memory": scalar_text(row.get("memory")),
             "energy": scalar_text(row.get("energy")),
             "quality": quality_text(row.get("quality")), "verdict": row["verdict"],
             "flagged": bool(row["flags"]), "alarm": is_alarm(row), "notes": case_notes(row)}
            for row in result["cases"]]


def render_html(result: dict[str, Any]) -> str:
    """One self-contained page of the comparison (nothing fetched: no CDN, no plotly); every
    string from a result file is escaped by the template (autoescape)."""
    from .html import environment

    b, c = result["baseline"], result["candidate"]
    return environment().get_template("compare.html.j2").render(
        title=f"dbnbench compare · {b['run_id']} → {c['run_id']}", plotly_src=None,
        plotly_inline="", nav=[], result=result, headline=headline(result),
        details=details(result), icon=DECISION[result["decision"]][0], rows=html_rows(result),
        looks=looks_text(result))


def render_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=1, allow_nan=False) + "\n"
