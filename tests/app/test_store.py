"""The history database: record, list, trend; two writers at once; a corrupt file."""

from __future__ import annotations

import copy
import json
import multiprocessing
from pathlib import Path

import pytest

from dbnbench.app import store
from dbnbench.format.results import load
from dbnbench.harness.errors import UserError

from ..conftest import call

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


@pytest.mark.parametrize("schema", ["CREATE TABLE runs (id INTEGER, name TEXT)",
                                    "CREATE TABLE users (name TEXT)"])
def test_another_programs_database_is_refused_untouched(tmp_path, schema):
    import sqlite3

    db = tmp_path / "theirs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute(schema)
    before = db.read_bytes()
    with pytest.raises(UserError, match="not a dbnbench history database"):
        store.record(load(FIXTURE), db)
    with pytest.raises(UserError, match="not a dbnbench history database"):
        store.check(db)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.sqlite"]


def test_one_database_per_user_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("DBNBENCH_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert store.default_db() == tmp_path / "xdg" / "dbnbench" / "history.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store.default_db() == tmp_path / "home" / ".local/share/dbnbench/history.sqlite"
    monkeypatch.setenv("DBNBENCH_HISTORY", str(tmp_path / "mine.sqlite"))
    assert store.default_db() == tmp_path / "mine.sqlite"
    store.record(load(FIXTURE))  # the default, wherever the command runs
    assert [r["run_id"] for r in store.runs()] == [load(FIXTURE)["run_id"]]


def test_looking_at_an_empty_history_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DBNBENCH_HISTORY", str(tmp_path / "home" / "history.sqlite"))
    code, out, _ = call(capsys, monkeypatch, "history")
    assert code == 0 and "no runs recorded in" in out
    code, _, err = call(capsys, monkeypatch, "history", "--case", "x")
    assert code == 2 and "no runs recorded" in err
    assert not (tmp_path / "home").exists()


def test_the_default_database_never_lands_at_the_root_or_in_the_working_folder(monkeypatch,
                                                                                tmp_path):
    from dbnbench.app.store import HISTORY_ENV, default_db
    from dbnbench.harness.errors import UserError

    monkeypatch.delenv(HISTORY_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")  # ignored, as XDG says
    assert default_db() == tmp_path / ".local" / "share" / "dbnbench" / "history.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db() == tmp_path / "xdg" / "dbnbench" / "history.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    for home in ("", "somewhere"):
        monkeypatch.setenv("HOME", home)
        with pytest.raises(UserError, match="give --db PATH"):
            default_db()


def test_a_twin_under_the_same_run_id_is_refused_and_the_first_kept(tmp_path):
    """history --import R twin.json recorded both and then listed only the twin."""
    from dbnbench.app import store
    from dbnbench.format.results import load
    from dbnbench.harness.errors import UserError

    fixture = Path(__file__).parent.parent / "fixtures" / "result-v2-ci.json"
    doc = load(fixture)
    twin = json.loads(json.dumps(doc))
    twin["machine"]["hostname"] = "other-host"
    db = tmp_path / "h.sqlite"
    store.record(doc, db)
    store.record(doc, db)  # the same run again: nothing changes
    with pytest.raises(UserError, match=r"another run under the id .*host vm there, other-host"):
        store.record(twin, db)
    [kept] = store.documents(db)
    assert kept["machine"]["hostname"] == doc["machine"]["hostname"]


def test_a_database_on_a_read_only_mount_is_listed_and_refused_for_a_run(tmp_path):
    """Listing called it 'not a dbnbench history database'; a run found it unwritable only
    after it had measured everything."""
    import subprocess

    from tests.conftest import run_cli
    from tests.harness.test_output import tmpfs

    fixture = Path(__file__).parent.parent / "fixtures" / "result-v2-ci.json"
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        db = mnt / "h.sqlite"
        assert run_cli("history", "--import", str(fixture), "--db", str(db)).returncode == 0
        remount = subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True)
        if remount.returncode != 0:
            pytest.skip("cannot remount read-only here")
        listed = run_cli("history", "--db", str(db), timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert load(fixture)["run_id"] in " ".join(listed.stdout.split())
        ran = run_cli("run", "--suite", "ci", "--db", str(db), "-o", str(tmp_path / "r"),
                      timeout=120)
        lines = [ln for ln in ran.stderr.splitlines() if ln.strip()]
        assert ran.returncode == 2 and len(lines) == 1, ran.stderr
        assert "cannot be written" in lines[0] and not (tmp_path / "r").exists()
