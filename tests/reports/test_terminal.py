"""The terminal view of a result: one line per case at 80 columns and up, honest intervals,
a legend for every mark, warnings counted by kind, findings once each, no markup eaten."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest
from rich.console import Console

from dbnbench.format.results import load
from dbnbench.format.view import Rate
from dbnbench.reports import format as fmt
from dbnbench.reports.terminal import render, rows_of

FIXTURES = Path(__file__).parent.parent / "fixtures"
QUICK = FIXTURES / "quick-cpu.json"      # 14 measured cases, 22 warnings
CI = FIXTURES / "result-v2-ci.json"       # 19 measured, 37 warnings, 8 findings


def text_at(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text().splitlines()


def with_arms(doc: dict, names: tuple[str, str] = ("base", "head")) -> dict:
    """The same cases measured in two arms: the head 10 % faster."""
    d = copy.deepcopy(doc)
    cases = []
    for c in doc["cases"]:
        for arm, scale in zip(names, (1.0, 1.1), strict=True):
            twin = copy.deepcopy(c)
            twin["arm"] = arm
            if rate := twin["metrics"].get("items_per_s"):
                twin["metrics"]["items_per_s"] = {k: v * scale if v else v for k, v in rate.items()}
            cases.append(twin)
    d["cases"] = cases
    d["settings"]["arms"] = [{"name": n, "python": f"/venv-{n}/bin/python", "env": {}}
                             for n in names]
    return d


def table_lines(lines: list[str]) -> list[str]:
    """The lines from the first group's heading (above the header row) to the legend."""
    start = next(i for i, line in enumerate(lines) if "items/s" in line) - 1
    end = next(i for i, line in enumerate(lines) if line.startswith("legend:"))
    return lines[start:end]


@pytest.mark.parametrize("width", [80, 100, 120, 160])
@pytest.mark.parametrize("fixture", [QUICK, CI])
def test_one_line_per_case_at_every_width(fixture, width):
    doc = load(fixture)
    lines = text_at(render(doc), width)
    assert max(map(len, lines)) <= width
    rows = rows_of(doc, show_skipped=False)
    groups = {(r.any.workload, r.any.tag) for r in rows}
    # the header, one heading per workload and shape, one line per case: nothing wraps
    assert len(table_lines(lines)) == 1 + len(groups) + len(rows)


def test_arms_stand_side_by_side_one_line_per_case_at_80():
    doc = with_arms(load(QUICK))
    lines = text_at(render(doc), 80)
    assert max(map(len, lines)) <= 80
    header = table_lines(lines)[1]
    assert "base items/s" in header and "head items/s" in header
    ids = {c["id"] for c in doc["cases"] if c["status"] != "skipped"}
    groups = {i.split("/")[0] + i.rsplit("/", 1)[-1] for i in ids}
    assert len(table_lines(lines)) == 1 + len(groups) + len(ids)
    assert "arms base, head side by side" in "\n".join(lines)


def test_the_wide_layout_shows_intervals_as_measured_and_the_narrow_one_each_side():
    doc = load(QUICK)
    case = next(c for c in doc["cases"] if c["status"] == "ok")
    rate = case["metrics"]["items_per_s"]
    rate.update(median=1370.0, ci_low=550.0, ci_high=121_000.0)  # issue 12's lopsided case
    wide = "\n".join(text_at(render(doc), 160))
    assert "[550, 121 k]" in wide and "roofline" in wide and "±" not in wide
    narrow = "\n".join(text_at(render(doc), 80))
    assert "−60 +8732%" in narrow
    assert "95% CI: −below +above the median" in narrow  # the legend explains the form


def test_every_mark_has_a_legend():
    doc = load(QUICK)
    assert any(c["warnings"] for c in doc["cases"])
    text = "\n".join(text_at(render(doc), 80))
    legend = next(line for line in text.splitlines() if line.startswith("legend:"))
    body = "\n".join(table_lines(text.splitlines()))
    for mark, meaning in (("!", "!: has warnings"), ("✓", "✓/✗ quality"), ("–", "–: not measured")):
        if mark in body:
            assert meaning in text, mark
    assert "%pk" not in body or "%pk: of the machine's GEMM roof" in text
    assert legend


def test_warnings_are_counted_by_kind_with_the_worst_named_and_listed_with_verbose():
    doc = load(CI)
    total = sum(len(c["warnings"]) for c in doc["cases"])
    short = "\n".join(text_at(render(doc), 80))
    assert f"warnings: {total} on " in short and "--verbose lists each" in short
    lines = short.splitlines()
    noisy = next(i for i, line in enumerate(lines) if line.startswith("  noisy: CV over 10% ×"))
    assert lines[noisy].endswith(", the worst:")
    cvs = [float(line.split()[1].rstrip("%")) for line in lines[noisy + 1:noisy + 4]]
    assert all(line.startswith("    CV ") for line in lines[noisy + 1:noisy + 4])
    assert cvs == sorted(cvs, reverse=True)  # worst first
    assert short.count("treat with care") == 0  # the kind, not each sentence
    full = "\n".join(text_at(render(doc, verbose=True), 200))
    assert full.count("treat with care") == sum(
        "treat with care" in w for c in doc["cases"] for w in c["warnings"])


def test_findings_stand_out_once_each_naming_the_arm():
    doc = with_arms(load(QUICK))
    message = "numpy's OpenBLAS runs its Haswell kernel on a CPU with AVX-512"
    doc["findings"] = [{"kind": "downgraded-kernel", "severity": "warning", "message": message,
                        "cases": [], "framework": f"{arm}/numpy"} for arm in ("base", "head")]
    lines = text_at(render(doc), 80)
    text = " ".join(" ".join(lines).split())
    assert text.count(message) == 1
    assert f"finding: {message} (in arms base and head)" in text
    assert any("1 finding(s)" in line for line in lines)


def test_a_finding_of_one_arm_names_it():
    doc = with_arms(load(QUICK))
    doc["findings"] = [{"kind": "far-behind", "severity": "warning", "cases": [], "arm": arm,
                        "message": f"rbm-cdk cpu fp32: tensorflow runs at {r}× numpy"}
                       for arm, r in (("base", "0.15"), ("head", "0.16"))]
    text = " ".join(" ".join(text_at(render(doc), 120)).split())
    assert "tensorflow runs at 0.15× numpy (in arm base)" in text
    assert "tensorflow runs at 0.16× numpy (in arm head)" in text


def test_library_and_user_text_is_never_read_as_markup():
    doc = load(QUICK)
    failed = next(c for c in doc["cases"] if c["status"] == "ok")
    failed.update(status="failed", reason="needs pip install 'dbnbench[torch]' [bold]now[/bold]")
    doc["machine"]["hostname"] = "box[red]"
    console = Console(width=200, record=True, markup=True, file=io.StringIO())
    console.print(render(doc))
    text = console.export_text()
    assert "pip install 'dbnbench[torch]' [bold]now[/bold]" in text and "box[red]" in text


def test_numbers_round_into_the_next_prefix():
    assert fmt.si(999.6e3) == "1.00 M" and fmt.si(999.6) == "1.00 k"
    assert fmt.si(17_574.9) == "17.6 k" and fmt.si(120_000) == "120 k"
    assert fmt.si(2.2e11, "FLOP/s") == "220 GFLOP/s" and fmt.si(0.5) == "0.500"
    assert fmt.si(None) == "–" and fmt.si(0) == "0"


def test_intervals_keep_their_sides():
    assert fmt.spread(Rate(100.0, 98.0, 102.0)) == "±2.0%"
    assert fmt.spread(Rate(100.0, 99.0, 103.3)) == "−1.0 +3.3%"
    assert fmt.interval(Rate(100.0, 99.0, 103.3)) == "[99.0, 103]"
    assert fmt.spread(Rate(100.0, None, None)) == "–"


@pytest.mark.parametrize("columns", ["80", "120"])
def test_report_command_honours_COLUMNS_when_piped(cli, columns):
    proc = cli("report", str(QUICK), env={"COLUMNS": columns})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= int(columns)
    assert ("[" in table_lines(lines)[2]) == (columns == "120")  # [low, high] where it fits
