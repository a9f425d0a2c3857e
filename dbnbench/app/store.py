"""The history database: every run's machine, run, cases and metrics in SQLite.

WAL mode and one transaction per recorded run, so two runs finishing at once both land
(the second waits on the lock, up to BUSY_TIMEOUT_S) and a reader never sees half a run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from ..format.results import Machine, ResultDoc
from ..format.shown import visible_all
from ..format.view import CaseView, views
from ..harness.errors import UserError

HISTORY_ENV = "DBNBENCH_HISTORY"
BUSY_TIMEOUT_S = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS machines (
    id INTEGER PRIMARY KEY, fingerprint TEXT UNIQUE NOT NULL, hostname TEXT NOT NULL,
    cpu TEXT NOT NULL, gpus TEXT NOT NULL, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, machine_id INTEGER NOT NULL REFERENCES machines(id),
    suite TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, tool_version TEXT,
    document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, case_id TEXT NOT NULL,
    workload TEXT, framework TEXT, device TEXT, precision TEXT, status TEXT NOT NULL,
    reason TEXT, items_per_s REAL, ci_low REAL, ci_high REAL, pct_of_peak REAL,
    peak_memory_bytes INTEGER, energy_per_item_j REAL, source_hash TEXT,
    PRIMARY KEY (run_id, case_id));
CREATE INDEX IF NOT EXISTS cases_by_id ON cases(case_id);
"""
# Our tables and their columns: a database that has tables of these names with other
# columns (another program's) is refused before anything is written to it.
COLUMNS = {
    "machines": ["id", "fingerprint", "hostname", "cpu", "gpus", "info"],
    "runs": ["run_id", "machine_id", "suite", "started_at", "finished_at", "tool_version",
             "document"],
    "cases": ["run_id", "case_id", "workload", "framework", "device", "precision", "status",
              "reason", "items_per_s", "ci_low", "ci_high", "pct_of_peak", "peak_memory_bytes",
              "energy_per_item_j", "source_hash"],
}


def default_db() -> Path:
    """The user's history database, whatever directory results are written to:
    $DBNBENCH_HISTORY, else $XDG_DATA_HOME/dbnbench/history.sqlite, else
    ~/.local/share/dbnbench/history.sqlite."""
    if os.environ.get(HISTORY_ENV):
        return Path(os.environ[HISTORY_ENV]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(xdg):  # the XDG specification: a relative path is to be ignored
        return Path(xdg) / "dbnbench" / "history.sqlite"
    home = os.environ.get("HOME") if "HOME" in os.environ else str(Path.home())
    if not home or not os.path.isabs(home):
        # HOME='' (or relative) would put the database at the file system's root or under
        # whatever folder the command ran in: say so rather than guess.
        raise UserError("no history database: HOME is empty or relative and neither "
                        f"XDG_DATA_HOME (absolute) nor {HISTORY_ENV} is set; give --db PATH")
    return Path(home) / ".local" / "share" / "dbnbench" / "history.sqlite"


def check(path: str | Path) -> None:
    """Fail now, before a run, if `path` is not (and cannot become) our database."""
    p = Path(path)
    if p.exists():
        reader(p).close()  # ours, readable: else its own one-line reason
        try:
            with closing(connect(p)) as conn:
                # A write lock, taken and given back: an immutable file or a read-only
                # mount fails here, before the run rather than after it.
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
        except (UserError, sqlite3.DatabaseError) as exc:
            why = str(exc).split("(", 1)[-1].rstrip(")") if isinstance(exc, UserError) else exc
            raise UserError(f"{p}: the history database cannot be written ({why}); give "
                            "another with --db") from None
        return
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{p}: cannot create the history database there ({parent} is not a "
                        "writable directory)")


def connect(path: str | Path | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the database (default: default_db()); a file that is not
    ours is a one-line error."""
    p = Path(path) if path else default_db()
    if p.is_dir():
        raise UserError(f"{p}: is a directory, not a history database")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{p}: cannot open ({exc.strerror})") from None
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return _open(p)
        except sqlite3.OperationalError as exc:
            # Two processes creating the file at once: switching to WAL can answer "locked"
            # without waiting on the busy timeout, so wait and try again ourselves.
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise UserError(f"{p}: not a dbnbench history database ({exc})") from None
            if time.monotonic() > deadline:
                raise UserError(f"{p}: database stayed locked for {BUSY_TIMEOUT_S:g} s") from None
            time.sleep(0.05)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{p}: not a dbnbench history database ({exc})") from None
        except OSError as exc:
            raise UserError(f"{p}: cannot open ({exc.strerror})") from None


def foreign_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables named as ours whose columns are not ours; or, in a database that holds none
    of ours but other tables, those (another program's database)."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    if names and not set(names) & set(COLUMNS):
        return names[:1]
    out = []
    for table, columns in COLUMNS.items():
        found = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if found and found != columns:
            out.append(table)
    return out


def _open(p: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        foreign = foreign_tables(conn)  # reads the header first: garbage fails here
        if foreign:
            raise UserError(f"{p}: not a dbnbench history database (its table "
                            f"{foreign[0]!r} is not ours); give another with --db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def machine_fingerprint(machine: Machine) -> str:
    gpus = ",".join(g["name"] for g in machine["gpus"])
    return f"{machine['hostname']}|{machine['cpu']['model']}|{gpus}"


def case_row(run_id: str, case: CaseView) -> tuple[Any, ...]:
    rate = case.rate
    # An arm's case is its own series: the id with the arm's name after an @.
    case_id = f"{case.id}@{case.arm}" if case.arm else case.id
    return (run_id, case_id, case.workload, case.framework, case.device, case.precision,
            case.status, case.reason, rate.median if rate else None,
            rate.ci_low if rate else None, rate.ci_high if rate else None, case.pct_of_peak,
            case.memory_bytes, case.energy_per_item_j, case.source_hash)


def other_run(held: dict[str, Any], doc: ResultDoc) -> str:
    """How the run the history holds differs from this one, briefly."""
    machine = held.get("machine")
    machine = machine if isinstance(machine, dict) else {}
    for name, there, here in (("host", machine.get("hostname"), doc["machine"]["hostname"]),
                              ("started", held.get("started_at"), doc["started_at"]),
                              ("suite", held.get("suite"), doc["suite"])):
        if there != here:
            return f"{name} {str(there)[:60]} there, {str(here)[:60]} here"
    return "same host, start and suite, other measurements"


def record(doc: ResultDoc, path: str | Path | None = None) -> None:
    """Store one validated run. Recording the same run again changes nothing; another
    document under a run id the history holds is refused: a run id names one run."""
    path = Path(path) if path else default_db()
    m = doc["machine"]
    with closing(connect(path)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO machines (fingerprint, hostname, cpu, gpus, info) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET "
                         "info=excluded.info", (machine_fingerprint(m), m["hostname"],
                                                m["cpu"]["model"],
                                                ",".join(g["name"] for g in m["gpus"]),
                                                json.dumps(m)))
            (machine_id,) = conn.execute("SELECT id FROM machines WHERE fingerprint=?",
                                         (machine_fingerprint(m),)).fetchone()
            held = conn.execute("SELECT document FROM runs WHERE run_id=?",
                                (doc["run_id"],)).fetchone()
            if held is not None and json.loads(held[0]) != json.loads(json.dumps(doc)):
                raise UserError(f"{path}: the history holds another run under the id "
                                f"{doc['run_id']} ({other_run(json.loads(held[0]), doc)}); "
                                "a run id names one run: record this one in another --db")
            conn.execute("DELETE FROM runs WHERE run_id=?", (doc["run_id"],))
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (doc["run_id"], machine_id, doc["suite"], doc["started_at"],
                          doc["finished_at"], doc["tool"]["version"], json.dumps(doc)))
            conn.executemany("INSERT INTO cases VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             [case_row(doc["run_id"], c) for c in views(doc)])
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):  # a full disk, a read-only file
                raise UserError(f"{path}: cannot record the run ({exc})") from None
            raise


def reader(p: Path) -> sqlite3.Connection:
    """A database opened to read only (a read-only mount, an immutable file): nothing is
    created, no journal mode switched; one that does not exist yet is created as usual."""
    if not p.is_file():
        return connect(p)
    last: Exception | None = None
    for mode in ("ro", "ro&immutable=1"):  # immutable: no -shm needed beside a WAL file
        try:
            conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode={mode}", uri=True,
                                   timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            last = exc
            continue
        try:
            foreign = foreign_tables(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            last = exc
            continue
        if foreign:
            conn.close()
            raise UserError(f"{p}: not a dbnbench history database (its table "
                            f"{foreign[0]!r} is not ours); give another with --db")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='runs'").fetchone():
            conn.close()
            return connect(p)  # an empty file: ours to set up, as a new one is
        return conn
    raise UserError(f"{p}: not a dbnbench history database ({last})")


def query(path: str | Path | None, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    path = Path(path) if path else default_db()
    with closing(reader(path)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, args)]
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{path}: cannot read the history database ({exc})") from None


def runs(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Every run, oldest first, with its machine and case counts."""
    return query(path, """
        SELECT r.run_id, r.suite, r.started_at, r.finished_at, r.tool_version, m.hostname,
               m.cpu, m.gpus, SUM(c.status = 'ok') AS ok, COUNT(c.case_id) AS cases
        FROM runs r JOIN machines m ON m.id = r.machine_id
        LEFT JOIN cases c ON c.run_id = r.run_id
        GROUP BY r.run_id ORDER BY r.started_at, r.run_id""")


def trend(case_id: str, path: str | Path | None = None) -> list[dict[str, Any]]:
    """One case across runs, oldest first (every machine; `hostname` tells them apart)."""
    return query(path, """
        SELECT r.run_id, r.started_at, m.hostname, c.status, c.reason, c.items_per_s,
               c.ci_low, c.ci_high, c.pct_of_peak, c.peak_memory_bytes, c.energy_per_item_j,
               c.source_hash
        FROM cases c JOIN runs r ON r.run_id = c.run_id JOIN machines m ON m.id = r.machine_id
        WHERE c.case_id = ? ORDER BY r.started_at, r.run_id""", (case_id,))


def documents(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The stored result documents, oldest first."""
    rows = query(path, "SELECT document FROM runs ORDER BY started_at, run_id")
    # Shown, never obeyed: a document recorded before strings were made visible keeps its own.
    return [visible_all(json.loads(r["document"])) for r in rows]
