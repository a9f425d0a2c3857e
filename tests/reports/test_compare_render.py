"""How a comparison reads: one line per case at 80 columns and at 160, broken cases and
quality verdicts with their reasons in the terminal, Markdown and HTML, an MDE that sees
nothing said in words, every string from a result file escaped."""

from __future__ import annotations

import copy
import io
import json
import re

import numpy as np
import pytest
from rich.console import Console

from dbnbench.format.results import validate
from dbnbench.reports.compare import compare_docs
from dbnbench.reports.compare_render import (
    BLIND,
    SUMMARY_LIMIT,
    is_alarm,
    render_html,
    render_markdown,
    render_table,
    summary_line,
)
from dbnbench.reports.gate_validation import Noise, noisy_times, synthetic_case, synthetic_doc

from ..conftest import call, run_cli

QUIET = Noise(jitter=0.01, round_shift=0, run_shift=0, outlier_rate=0, process_shift=0)
REFS = [1e11, 1e11]
EVIL = "<script>window.pwned=1</script>\"'&"
IDS = ["rbm-cdk/numpy/cpu/fp32/v784-h500-b100-k1",
       "rbm-cdk/torch/cpu/bf16-mixed/v784-h500-b100-k1",
       "dbn-inference/tensorflow/cpu/fp32/l784-500-500-2000-c10-b1024-graph",
       "dbn-finetune/torch/cpu/fp32/l784-500-500-2000-c10-b100",
       "augment/numpy/cpu/fp32/28px-b256"]


def quality(value: float, data: str = "MNIST test split") -> dict:
    return {"metric": "recon_ratio", "recon_ratio": value, "bar": 0.75, "lower_is_better": True,
            "passed": value <= 0.75, "model": "RBM 784×500, CD-1", "data": data,
            "fallback": None}


def case(case_id: str, seed: int, slower: float = 1.0, **metrics: object) -> dict:
    rng = np.random.default_rng(seed)
    return synthetic_case(case_id, noisy_times(rng, 0.01 * slower, QUIET), REFS,
                          energy_per_item_j=1e-3, **metrics)


@pytest.fixture(scope="module")
def result() -> dict:
    """Every kind of row: fast but wrong, broken, slower (flagged), unchanged, missing."""
    base = [case(IDS[0], 1, quality=quality(0.5)), case(IDS[1], 2), case(IDS[2], 3),
            case(IDS[3], 4, quality=quality(0.5)), case(IDS[4], 5)]
    broken = synthetic_case(IDS[1], [0.01] * 4, REFS)
    broken.update(status="failed", reason="products ran in float32 under bf16-mixed",
                  metrics={"unmeasured": {}})
    slower = dict(case(IDS[2], 3, slower=1.25), source_hash="def")
    cand = [case(IDS[0], 1, quality=quality(0.9)), broken, slower,
            case(IDS[3], 4, quality=quality(0.5, data="sklearn digits 8x8"))]
    return compare_docs(validate(synthetic_doc(base)), validate(synthetic_doc(cand)))


def text_at(renderable: object, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text().splitlines()


def table_lines(lines: list[str]) -> list[str]:
    """From the header row (the first line naming the verdict column) to the legend."""
    start = next(i for i, line in enumerate(lines) if "verdict" in line)
    end = next(i for i, line in enumerate(lines) if line.startswith("legend:"))
    return lines[start:end]


def test_at_80_columns_every_case_is_its_id_then_one_line_of_numbers(result):
    lines = text_at(render_table(result), 80)
    assert max(map(len, lines)) <= 80
    table = table_lines(lines)
    assert len(table) == 1 + 2 * len(result["cases"])  # header, then id and numbers per case
    assert [table[1 + 2 * i] for i in range(len(IDS))] == IDS  # the ids whole, never folded
    numbers = {i: table[2 + 2 * k] for k, i in enumerate(IDS)}
    assert numbers[IDS[0]].rstrip().endswith("unchanged")  # speed: the quality regressed
    assert re.search(r"0\.900( ✗|\s+regressed)", numbers[IDS[0]])
    assert numbers[IDS[1]].rstrip().endswith("broken")
    assert numbers[IDS[2]].rstrip().endswith("regressed ⚑")
    assert re.search("≠|not comparable", numbers[IDS[3]])
    assert numbers[IDS[4]].rstrip().endswith("missing")


def test_at_160_columns_the_id_stands_in_its_row_with_the_interval(result):
    lines = text_at(render_table(result), 160)
    assert max(map(len, lines)) <= 160
    table = table_lines(lines)
    assert table[0].startswith("case") and len(table) == 1 + len(result["cases"])
    row = next(line for line in table if line.startswith(IDS[2]))
    assert re.search(r"0\.\d{3}× \[0\.\d{3}, 0\.\d{3}\]", row) and "regressed ⚑" in row
    wrong = next(line for line in table if line.startswith(IDS[0]))
    assert "0.500→0.900 regressed" in wrong


def test_the_notes_say_why_each_case_is_broken_or_wrong(result):
    text = "\n".join(text_at(render_table(result), 200))
    assert (f"{IDS[1]}: candidate failed: products ran in float32 under bf16-mixed" in text)
    assert (f"{IDS[0]}: quality regressed: recon_ratio 0.500 → 0.900 crossed its bar (≤ 0.75)"
            in text)
    assert f"{IDS[3]}: quality not comparable: measured on different data" in text
    assert f"{IDS[4]}: not in the candidate" in text
    assert "source changed" in text
    assert summary_line(result).startswith(
        "regressions in 3 cases: 1 speed, 1 broken, 1 quality;")


def blind(result: dict) -> dict:
    """The same comparison where one case could only have seen a 12 075 % change and
    another none at all."""
    r = copy.deepcopy(result)
    speeds = [row["speed"] for row in r["cases"] if row.get("speed")]
    speeds[0]["mde"] = 120.75
    speeds[1]["mde"] = None
    speeds[1]["p_adjusted"] = speeds[1].get("p_adjusted") or 0.5
    r["mde"] = {"median": 120.75, "max": 120.75}
    return r


@pytest.mark.parametrize("width", [80, 160, 240])
def test_an_mde_above_100_percent_or_none_is_said_in_words_never_as_a_number(result, width):
    r = blind(result)
    lines = text_at(render_table(r), width)
    text = "\n".join(lines)
    assert "12075" not in text and "12,075" not in text
    rows = table_lines(lines)
    in_rows = sum(BLIND in line for line in rows), sum("can't see" in line for line in rows)
    assert in_rows == ((2, 0) if width == 240 else (0, 2))  # in words, or short with a legend
    legend = " ".join(" ".join(lines[lines.index(rows[-1]) + 1:]).split())  # unwrapped
    assert width == 240 or f"can't see: {BLIND}" in legend
    assert f"this comparison {BLIND}" in summary_line(r)
    md = render_markdown(r)
    assert "12075" not in md and md.count(BLIND) >= 3  # two cells and the summary
    mixed = copy.deepcopy(r)
    mixed["mde"] = {"median": 0.08, "max": 120.75}
    assert summary_line(mixed).endswith(
        f"the median case can see changes above 8%; the least sensitive {BLIND}")


def test_markdown_has_the_quality_column_and_the_broken_verdict(result):
    md = render_markdown(result)
    assert "❌ **Regressions in 3 cases: 1 speed, 1 broken, 1 quality**" in md
    header = next(line for line in md.splitlines() if line.startswith("| case"))
    assert "| quality | verdict |" in header
    broken = next(line for line in md.splitlines() if IDS[1] in line)
    assert "⛔ broken — candidate failed: products ran in float32 under bf16-mixed" in broken
    wrong = next(line for line in md.splitlines() if IDS[0] in line)
    assert "0.500→0.900 regressed" in wrong and "crossed its bar (≤ 0.75)" in wrong
    assert all(line.count("|") - line.count("\\|") == 11 for line in md.splitlines()
               if line.startswith("| `"))


def evil(result: dict) -> dict:
    r = copy.deepcopy(result)
    r["baseline"]["hostname"] = r["candidate"]["run_id"] = EVIL
    r["cases"][0]["id"] = EVIL
    r["cases"][1]["note"] = f"candidate failed: {EVIL}"
    r["cases"][0]["quality"]["reason"] = EVIL
    r["warnings"] = [EVIL]
    return r


def test_markdown_and_html_escape_every_string_from_a_result_file(result):
    md = render_markdown(evil(result))
    assert "<script>" not in md and "&lt;script&gt;" in md
    page = render_html(evil(result))
    assert "<script>window.pwned" not in page and "&lt;script&gt;window.pwned=1" in page
    assert page.count("&lt;script&gt;window.pwned=1") >= 5


def test_html_page_shows_the_decision_the_cases_and_their_reasons(result):
    page = render_html(result)
    assert page.startswith("<!DOCTYPE html>") and "cdn" not in page.lower()
    assert "Regressions in 3 cases: 1 speed, 1 broken, 1 quality" in page
    assert page.count('<tr class="verdict-') == len(result["cases"])
    assert 'class="verdict-broken alarm"' in page
    assert "candidate failed: products ran in float32 under bf16-mixed" in page
    assert "crossed its bar (≤ 0.75)" in page and "0.500→0.900 regressed" in page


def test_compare_writes_html_through_the_one_writer(tmp_path, capsys, monkeypatch, result):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(validate(synthetic_doc([case(IDS[0], 1)]))))
    page = tmp_path / "compare.html"
    code, out, _ = call(capsys, monkeypatch, "compare", str(base), str(base), "--html",
                        str(page))
    assert code == 0 and "compare synthetic → synthetic" in out
    assert "No change beyond the threshold" in page.read_text()
    code, _, err = call(capsys, monkeypatch, "compare", str(base), str(base), "--html", "-",
                        "--json", "-")
    assert code == 2 and "only one output can be standard output" in err
    (tmp_path / "dir").mkdir()
    code, _, err = call(capsys, monkeypatch, "compare", str(base), str(base), "--html",
                        str(tmp_path / "dir"))
    assert code == 2 and "is a directory" in err


@pytest.mark.slow
@pytest.mark.parametrize("columns", ["80", "160"])
def test_compare_command_fits_COLUMNS_when_piped(tmp_path, columns):
    base = [case(i, k) for k, i in enumerate(IDS)]
    cand = [case(i, k, slower=1.2 if k == 2 else 1.0) for k, i in enumerate(IDS)]
    files = []
    for name, cases in (("a.json", base), ("b.json", cand)):
        (tmp_path / name).write_text(json.dumps(validate(synthetic_doc(cases))))
        files.append(str(tmp_path / name))
    proc = run_cli("compare", *files, env={"COLUMNS": columns})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= int(columns)
    per_case = 2 if columns == "80" else 1
    assert len(table_lines(lines)) == 1 + per_case * len(IDS)


def many(result: dict, n: int, pad: int) -> dict:
    """The comparison's rows repeated to `n` cases, each id made unique (and `pad` long)."""
    big = copy.deepcopy(result)
    rows = result["cases"]
    big["cases"] = []
    for i in range(n):
        row = copy.deepcopy(rows[i % len(rows)])
        row["id"] = f"{row['id']}-n{i}-" + "x" * pad
        big["cases"].append(row)
    return big


def case_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| `")]


@pytest.mark.parametrize("pad, cut", [(0, "none"), (300, "folded"), (1000, "alarms")])
def test_a_2000_case_summary_stays_under_githubs_step_summary_limit(result, pad, cut):
    big = many(result, 2000, pad)
    md = render_markdown(big)
    assert len(md.encode()) <= SUMMARY_LIMIT < 2**20
    shown = [line.split("`")[1] for line in case_lines(md)]
    alarming = [r["id"] for r in big["cases"] if is_alarm(r)]
    assert 0 < len(alarming) < 2000
    # The alarming cases first, in the open table, as many as fit; the others after them,
    # folded under <details>, only once every alarming case is shown.
    assert shown[:len(alarming)] == alarming[:len(shown)]
    left_out = re.search(r"✂️ (\d+) cases? left out", md)
    if cut == "none":
        assert len(shown) == 2000 and not left_out and "<details>" in md
        assert md.index("</summary>") > md.index(f"`{alarming[-1]}`")
    else:
        assert len(shown) + int(left_out.group(1)) == 2000
        assert len(md.encode()) > SUMMARY_LIMIT - 5000  # cut near the limit, not far below
        assert (len(shown) > len(alarming)) == (cut == "folded")


def test_few_cases_stay_one_table(result):
    md = render_markdown(result)
    assert "<details>" not in md and len(case_lines(md)) == len(result["cases"])
