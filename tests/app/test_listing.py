"""`dbnbench list`: whole case ids, each reason once as a note, settings in words."""

from __future__ import annotations

import io
import os

from rich.console import Console

from dbnbench.app.listing import CaseList, setting_text
from dbnbench.harness.install import pip_extra

from ..test_end_to_end import BLOCKER

HINT = "torch is not installed (pip install 'dbnbench[torch]')"
LONG = "dbn-finetune/tensorflow/cpu/bf16-mixed/l784-500-500-2000-c10-b100"


def shown(listing: CaseList, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, markup=True, file=io.StringIO())
    console.print(listing)
    return console.export_text().splitlines()


def test_ids_are_whole_and_reasons_are_notes_shown_as_written():
    listing = CaseList("suite quick: test", [
        (LONG, None), ("rbm-cdk/torch/cpu/fp32/v784-h500-b100-k1", HINT),
        ("rbm-cdk/torch/cpu/bf16/v784-h500-b100-k1", HINT)],
        {"rounds": 2, "min_time_s": 0.1, "quality": True})
    lines = shown(listing)
    assert max(map(len, lines)) <= 80
    assert any(LONG in line for line in lines), "a case id was cut"
    assert sum("no [1]" in line for line in lines) == 2
    assert f"[1] {HINT} (2 case(s))" in lines
    assert "3 cases, 1 can run here" in lines
    assert "settings: rounds 2, min time 0.1 s, quality on" in lines


def test_setting_text():
    assert setting_text("timeout_s", 300.0) == "timeout 300 s"
    assert setting_text("seed", 0) == "seed 0"
    assert setting_text("quality", False) == "quality off"


def test_list_command_prints_the_install_hint_whole(cli, tmp_path):
    """Without torch (blocked), its cases say how to install it: '[torch]' not eaten."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    proc = cli("list", "--suite", "ci", "--workload", "rbm-cdk",
               env={"COLUMNS": "80", "PYTHONPATH": f"{site}:{os.environ.get('PYTHONPATH', '')}"})
    assert proc.returncode == 0, proc.stderr
    assert max(map(len, proc.stdout.splitlines())) <= 80
    assert "rbm-cdk/numpy/cpu/fp32/v64-h64-b32-k1" in proc.stdout
    assert pip_extra("torch") in proc.stdout  # '[torch]' shown, not eaten as markup
    assert "settings: rounds" in proc.stdout and "{" not in proc.stdout
