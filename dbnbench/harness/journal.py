"""The run's journal: every answer appended (and fsync'd) before the next request, so an
interrupted run resumes where it stopped. The header records the plan — the expanded case
ids and each workload's source hash — and a resume refuses a plan that changed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .records import (
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

    @classmethod
    def start(cls, path: Path, header: Header) -> Journal:
        journal = cls(path, header)
        journal.append(header)
        return journal

    def append(self, record: JournalRecord) -> None:
        self.remember(record)
        with self.path.open("a+b") as fh:
            # A line cut short by a crash must not swallow this record: start a new line.
            fh.seek(0, os.SEEK_END)
            if fh.tell():
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write((encode(record) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())

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
        lines = path.read_text(encoding="utf-8").splitlines()
        header = decode_journal(lines[0]) if lines else None
        if not isinstance(header, Header):
            raise RecordError("the first line is not a journal header")
        journal = cls(path, header)
        for line in lines[1:]:
            try:
                journal.remember(decode_journal(line))
            except (RecordError, ValueError):
                journal.torn += 1  # cut short by an interruption: the others still stand
        return journal


def open_journal(output: Path, run_id: str) -> Journal:
    path = output / f"{run_id}.journal.jsonl"
    if not path.is_file():
        if (output / f"{run_id}.json").is_file():
            raise UserError(f"run {run_id} in {output} finished already: nothing to resume")
        raise UserError(f"no run {run_id} to resume in {output}")
    try:
        return Journal.read(path)
    except (OSError, ValueError, KeyError, IndexError):
        raise UserError(f"{path}: journal unreadable; the run cannot be resumed") from None


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
