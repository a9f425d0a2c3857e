"""Strings from a result file, the history database or the environment are shown, never
obeyed (format/shown.py): a terminal escape, a NUL or a bidi override in a case id or a CPU
model reaches no terminal, Markdown or HTML as itself, only written out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.text import Text

from dbnbench.app.console import ShownConsole
from dbnbench.format.shown import visible, visible_all

from .conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "result-v2-ci.json"
RAW = ("\x1b", "\x00", "\u202e", "\x9b", "\x07")
EVIL_ID = "\x1b[2J\u202eevil\x00"
EVIL_CPU = "EPYC\x1b]8;;http://example.invalid\x07link\x1b]8;;\x07"


def clean(text: str) -> None:
    found = [repr(c) for c in RAW if c in text]
    assert not found, f"raw control characters reached the output: {found}"


@pytest.fixture
def evil(tmp_path: Path) -> Path:
    doc = json.loads(FIXTURE.read_text())
    doc["cases"][0]["id"] += EVIL_ID
    doc["cases"][0]["warnings"].append("slow\x1b[31m red")
    doc["machine"]["cpu"]["model"] = EVIL_CPU
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    return path


def test_visible_writes_out_controls_and_keeps_text():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x00\x9b\u202e\u2066\ufeff") == "\\x00\\x9b\\u202e\\u2066\\ufeff"
    assert visible("line\n\ttab café 中文 ±5 %") == "line\n\ttab café 中文 ±5 %"
    assert visible_all({"k\x1b": ["v\x07", 1, None, {"x": "\x1b"}]}) == \
        {"k\\x1b": ["v\\x07", 1, None, {"x": "\\x1b"}]}


@pytest.mark.parametrize("command", ["report", "compare", "history"])
def test_no_command_prints_a_result_files_escapes(evil, tmp_path, command):
    db = str(tmp_path / "h.sqlite")
    if command == "report":
        proc = run_cli("report", str(evil), "--verbose", timeout=120)
    elif command == "compare":
        proc = run_cli("compare", str(FIXTURE), str(evil), "--markdown", "-", timeout=120)
    else:
        assert run_cli("history", "--import", str(evil), "--db", db, timeout=120).returncode == 0
        case_id = json.loads(FIXTURE.read_text())["cases"][0]["id"] + visible(EVIL_ID)
        proc = run_cli("history", "--db", db, "--case", case_id, timeout=120)
    assert proc.returncode in (0, 3), proc.stderr
    clean(proc.stdout + proc.stderr)
    assert "\\x1b[2J\\u202eevil\\x00" in proc.stdout, proc.stdout[-2000:]


def test_the_html_report_writes_them_out_too(evil, tmp_path):
    page = tmp_path / "r.html"
    proc = run_cli("report", str(evil), "-o", str(page), timeout=120)
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    clean(html)
    assert "\\x1b]8;;http://example.invalid\\x07link" in html


def test_the_console_guard_keeps_riches_own_styles_and_writes_out_the_rest():
    buffer = io.StringIO()
    console = ShownConsole(file=buffer, force_terminal=True, color_system="standard",
                           width=80, markup=False)
    console.print(Text("ok", style="red"), Text("a\x1b[2Jb"))
    text = buffer.getvalue()
    assert "\x1b[31m" in text, "rich's own colour still reaches the terminal"
    assert "a\\x1b[2Jb" in text and "\x1b[2J" not in text
