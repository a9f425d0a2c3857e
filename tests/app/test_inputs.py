"""Readers take regular files of bounded size only (format/inputs.py): a FIFO, a device,
a directory or a link to one is refused in one line before a byte is read, never waited on
or read without end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dbnbench.format.inputs import read_bounded
from dbnbench.harness.errors import UserError
from tests.conftest import call

FIXTURE = Path(__file__).parent.parent / "fixtures" / "result-v2-ci.json"
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def one_line(code: int, err: str, *needles: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("dbnbench: error:"), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "result.json"
    os.mkfifo(path)  # no writer ever comes: a blocking open would wait for ever
    return path


@posix_only
@pytest.mark.parametrize("command", [("report",), ("history", "--import"),
                                     ("compare", str(FIXTURE))])
def test_a_fifo_is_refused_not_waited_on(capsys, monkeypatch, tmp_path, fifo, command):
    code, _, err = call(capsys, monkeypatch, *command, str(fifo), "--db",
                        str(tmp_path / "h.sqlite")) if command[0] == "history" else \
        call(capsys, monkeypatch, *command, str(fifo))
    one_line(code, err, "a FIFO, not a file to read")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_an_endless_device_and_a_link_to_it_are_refused(capsys, monkeypatch, tmp_path):
    code, _, err = call(capsys, monkeypatch, "report", "/dev/zero")
    one_line(code, err, "a character device")
    link = tmp_path / "r.json"
    link.symlink_to("/dev/zero")
    code, _, err = call(capsys, monkeypatch, "compare", str(FIXTURE), str(link))
    one_line(code, err, "a character device")


@posix_only
def test_a_suite_that_is_a_fifo_is_refused(capsys, monkeypatch, tmp_path):
    path = tmp_path / "s.toml"
    os.mkfifo(path)
    code, _, err = call(capsys, monkeypatch, "list", "--suite", str(path))
    one_line(code, err, "a FIFO")


def test_a_directory_an_oversized_file_and_bad_bytes(tmp_path):
    with pytest.raises(UserError, match="a directory, not a file to read"):
        read_bounded(tmp_path, "d")
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 600 + "0]")
    with pytest.raises(UserError, match="over the"):
        read_bounded(big, "big", limit=1000)
    assert read_bounded(big, "big", limit=2000).startswith("[0,")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(UserError, match="not UTF-8"):
        read_bounded(bad, "bad")
