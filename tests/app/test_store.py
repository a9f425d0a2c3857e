"""The history database: record, list, trend; two writers at once; a corrupt file."""

from __future__ import annotations

import copy
import multiprocessing
from pathlib import Path

import pytest

from dbnbench.app import store
from dbnbench.harness.errors import UserError
from dbnbench.harness.results import load

FIXTURE = Path(__file__).parent.parent / "fixtures" / "quick-cpu.json"
CASE = "rbm-cdk/numpy/cpu/fp32/v784-h500-b100-k1"


def variant(doc: dict, n: int) -> dict:
    d = copy.deepcopy(doc)
    d["run_id"] = f"run-{n:03d}"
    d["started_at"] = f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z"
    return d


def test_record_runs_and_trend(tmp_path):
    doc = load(FIXTURE)
    db = tmp_path / "h.sqlite"
    for n in range(3):
        store.record(variant(doc, n), db)
    store.record(variant(doc, 1), db)  # recording again replaces, never duplicates
    runs = store.runs(db)
    assert [r["run_id"] for r in runs] == ["run-000", "run-001", "run-002"]
    assert runs[0]["ok"] == 14 and runs[0]["cases"] == 48 and runs[0]["hostname"] == "vm"
    points = store.trend(CASE, db)
    assert len(points) == 3 and points[0]["items_per_s"] == pytest.approx(
        next(c for c in doc["cases"] if c["id"] == CASE)["metrics"]["items_per_s"]["median"])
    assert store.documents(db)[2]["run_id"] == "run-002"


def writer(db: str, first: int) -> None:
    doc = load(FIXTURE)
    for n in range(first, first + 15):
        store.record(variant(doc, n), db)


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = str(tmp_path / "h.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=writer, args=(db, first)) for first in (0, 100)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(store.runs(db)) == 30
    assert len(store.trend(CASE, db)) == 30


def test_corrupt_database_is_a_one_line_error(tmp_path, cli):
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UserError, match="not a dbnbench history database"):
        store.runs(db)
    result = cli("history", "--db", str(db))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "dbnbench: error:" in result.stderr
    assert db.read_bytes().startswith(b"this is not sqlite")


def test_history_command_imports_lists_and_shows_a_trend(tmp_path, cli):
    db = str(tmp_path / "h.sqlite")
    assert cli("history", "--db", db, "--import", str(FIXTURE)).returncode == 0
    listed = cli("history", "--db", db)
    assert "20261127T155153Z-quick-e2ac" in listed.stdout
    shown = cli("history", "--db", db, "--case", CASE)
    assert shown.returncode == 0 and "trend of" in shown.stdout
    assert cli("history", "--db", db, "--case", "nope").returncode == 2
