"""The journal survives a full disk and torn lines without losing the records after them,
and one run is resumed by one process at a time."""

from __future__ import annotations

import os

import pytest

from dbnbench.harness.engine.journal import Journal, open_journal
from dbnbench.harness.errors import UserError
from dbnbench.harness.records import CaseAnswer, CaseRecord, Header, Settings

from .test_output import fill, tmpfs


def header(run_id: str = "r1") -> Header:
    return Header(run_id, "s", "s.toml", {}, Settings(threads=1), "2026-01-01T00:00:00Z",
                  {"hostname": "h"}, ("a", "b"))


def record(case: str, round_: int = 0, size: int = 0) -> CaseRecord:
    return CaseRecord(case, round_, CaseAnswer("ok", "x" * size, 0.1, (0.5, 0.5), 10))


def test_a_full_disk_loses_nothing_and_tears_nothing(tmp_path):
    with tmpfs(tmp_path / "disk", "64k") as disk:
        journal = Journal.start(disk / "r1.journal.jsonl", header())
        journal.append(record("a"))
        fill(str(disk))
        size = journal.path.stat().st_size
        with pytest.raises(OSError) as info:
            journal.append(record("b", size=20_000))
        assert info.value.errno == 28  # ENOSPC
        assert journal.path.stat().st_size == size, "half a record left in the journal"
        os.unlink(disk / "filler")
        journal.append(record("b"))  # room again: the next record is whole, on its own line
        again = Journal.read(journal.path)
        assert again.torn == 0
        assert set(again.answers) == {("a", "", 0), ("b", "", 0)}


def test_a_torn_line_glued_to_the_next_record_keeps_that_record(tmp_path):
    """A journal written by an older version could glue a record onto a torn line."""
    path = tmp_path / "r1.journal.jsonl"
    journal = Journal.start(path, header())
    journal.append(record("a"))
    with path.open("ab") as fh:
        fh.write(b'{"kind": "case", "id": "cut sh')  # torn, no newline
        fh.write(b'{"kind": "case", "id": "b", "round": 0, "answer": {"status": "ok"}}\n')
        fh.write(b"\0\0\0\n")  # a crashed file system's zero-filled tail
        fh.write(b"\xff\xfe garbage that is not UTF-8\n")
    again = Journal.read(path)
    assert set(again.answers) == {("a", "", 0), ("b", "", 0)}
    assert again.torn == 1
    journal.append(record("c"))
    assert ("c", "", 0) in Journal.read(path).answers


def test_one_run_is_resumed_by_one_process_at_a_time(tmp_path):
    journal = Journal.start(tmp_path / "r1.journal.jsonl", header())
    journal.lock()
    with pytest.raises(UserError, match="run r1 is in progress in another dbnbench process"):
        open_journal(tmp_path, "r1")
    journal.unlock()
    second = open_journal(tmp_path, "r1")  # free again
    second.unlock()
