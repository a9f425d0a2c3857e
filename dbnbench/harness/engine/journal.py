"""The run's journal: every answer appended (and fsync'd) before the next request, so an
interrupted run resumes where it stopped. The header records the plan — the expanded case
ids and each workload's source hash — and a resume refuses a plan that changed."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..records import (
    CalibrationAnswer,
    CalibrationRecord,
    CaseAnswer,
    CaseRecord,
    Header,
    JournalRecord,
    JSONObject,
    RecordError,
    RuntimeRecord,
    decode_journal,
    encode,
)

# (arm, framework, device, precision, round): the roofs are measured per arm and round
ModeRound = tuple[str, str, str, str, int]
CaseRound = tuple[str, str, int]  # (case id, arm, round)


@dataclass
class Journal:
    path: Path
    header: Header
    calibration: dict[ModeRound, CalibrationAnswer] = field(default_factory=dict)
    answers: dict[CaseRound, CaseAnswer] = field(default_factory=dict)
    runtime: dict[tuple[str, str], JSONObject] = field(default_factory=dict)  # (arm, framework)
    torn: int = 0  # lines that did not decode (cut short by an interruption)
    lock_fd: int | None = None

    @classmethod
    def start(cls, path: Path, header: Header) -> Journal:
        journal = cls(path, header)
        journal.append(header)
        return journal

    def append(self, record: JournalRecord) -> None:
        """Append one record as one line, durably, or not at all: a write cut short (a full
        disk, a signal) is cut back off, so the file never holds half a record that the
        next one would be glued to. The OSError still propagates: the run cannot go on."""
        data = (encode(record) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a line torn by an older writer or a crash: start anew
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException:
                os.ftruncate(fd, size)  # needs no space: the file is as it was
                raise
        finally:
            os.close(fd)
        self.remember(record)

    def remember(self, record: JournalRecord) -> None:
        if isinstance(record, CalibrationRecord):
            key = (record.arm, record.framework, record.device, record.precision, record.round)
            self.calibration[key] = record.answer
        elif isinstance(record, CaseRecord):
            self.answers[(record.id, record.arm, record.round)] = record.answer
        elif isinstance(record, RuntimeRecord):
            self.runtime[(record.arm, record.framework)] = record.info

    @classmethod
    def read(cls, path: Path) -> Journal:
        lines = path.read_bytes().split(b"\n")
        header = decode_line(lines[0]) if lines else None
        if not isinstance(header, Header):
            raise RecordError("the first line is not a journal header")
        journal = cls(path, header)
        for line in lines[1:]:
            if not line.strip(b"\0 \t\r"):
                continue
            record = decode_line(line)
            if record is None:
                journal.torn += 1  # cut short by an interruption: the others still stand
            else:
                journal.remember(record)
        return journal

    def lock(self) -> None:
        """Hold the run for this process: a second dbnbench resuming the same run id would
        measure the same cases side by side. The kernel drops the lock when we exit."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"run {self.header.run_id} is in progress in another dbnbench "
                            "process; wait for it or stop it first") from None
        self.lock_fd = fd

    def unlock(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


def decode_line(line: bytes) -> JournalRecord | None:
    """One journal line's record, or None when it is torn. A line a torn record was glued to
    by an older version still gives its last, whole record."""
    text = line.decode("utf-8", errors="replace").strip("\0 \t\r")
    start = 0
    while start >= 0:
        try:
            return decode_journal(text[start:])
        except (RecordError, ValueError, RecursionError):
            start = text.find('{"kind"', start + 1)
    return None


def finished(result: Path) -> bool:
    """Whether a result file says its run finished (`complete`); unreadable: as finished,
    since there is nothing a resume could continue from either way."""
    from ...format.results import read_json

    try:
        doc = read_json(result)
    except UserError:
        return True
    return not isinstance(doc, dict) or doc.get("complete") is not False


def open_journal(output: Path, run_id: str) -> Journal:
    path = output / f"{run_id}.journal.jsonl"
    if not path.is_file():
        result = output / f"{run_id}.json"
        if result.is_file():
            if finished(result):
                raise UserError(f"run {run_id} in {output} finished already: nothing to resume")
            raise UserError(f"run {run_id} in {output} stopped before it finished and its "
                            f"journal is gone: it cannot be resumed ({result} holds what it "
                            "measured)")
        raise UserError(f"no run {run_id} to resume in {output}")
    try:
        journal = Journal.read(path)
    except (OSError, ValueError, KeyError, IndexError):
        raise UserError(f"{path}: journal unreadable; the run cannot be resumed") from None
    journal.lock()
    return journal


def check_same_plan(header: Header, case_ids: list[str], hashes: dict[str, str]) -> None:
    """A resume continues the run it started, or not at all: the same cases, the same
    workload sources. Otherwise the merged result would mix two benchmarks."""
    if header.cases and list(header.cases) != case_ids:
        added = len(set(case_ids) - set(header.cases))
        gone = len(set(header.cases) - set(case_ids))
        raise UserError(f"run {header.run_id}: the suite expands to other cases now ({added} "
                        f"new, {gone} gone) than when it started; start a new run")
    changed = sorted(w for w, h in hashes.items() if header.source_hashes.get(w, h) != h)
    if changed:
        raise UserError(f"run {header.run_id}: the source of {', '.join(changed)} changed since "
                        "the run started; its numbers would mix two versions; start a new run")


__all__ = ["Journal", "check_same_plan", "open_journal"]
