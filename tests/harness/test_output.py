"""The one writer: atomic files, `-` as standard output, streams into FIFOs and devices, and
never a symlink, FIFO or device replaced by a regular file; every failure one OutputError."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbnbench.format.output import OutputError, check_writable, make_directory, write_text


@contextlib.contextmanager
def tmpfs(path: Path, size: str, options: str = "") -> Iterator[Path]:
    """A small tmpfs mounted at `path` (root with CAP_SYS_ADMIN), else the test skips."""
    path.mkdir(exist_ok=True)
    opts = f"size={size}" + (f",{options}" if options else "")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: str) -> None:
    """Take every free byte of the file system."""
    # Unbuffered: a buffered file would raise ENOSPC again when it is closed.
    fd = os.open(os.path.join(directory, "filler"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def device(path: Path, minor: int) -> Path:
    """A character device of our own (1, minor: 3 null, 7 full), never the system's."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc.strerror})")
    return path


def test_a_regular_file_is_replaced_atomically(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_symlink_is_refused_and_left_alone(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("precious")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere" / "x")
    for target in (link, dangling):
        with pytest.raises(OutputError, match="symbolic link"):
            check_writable(target)
        with pytest.raises(OutputError, match="symbolic link"):
            write_text(target, "new")
        assert target.is_symlink()
    assert real.read_text() == "precious"


def test_a_fifo_with_a_reader_is_streamed_into(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    for _ in range(200):  # the reader must have opened its end first
        try:
            write_text(fifo, "through the pipe\n")
            break
        except OutputError:
            threading.Event().wait(0.01)
    reader.join(5)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="no process is reading it"):
        write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_devices_are_streams_never_replaced(tmp_path):
    null = device(tmp_path / "null", 3)
    write_text(null, "gone")
    full = device(tmp_path / "full", 7)
    with pytest.raises(OutputError, match="No space left on device"):
        write_text(full, "x" * 10)
    for node in (null, full):
        assert stat.S_ISCHR(os.lstat(node).st_mode)
    link = tmp_path / "stdout-like"
    link.symlink_to(null)  # /dev/stdout is such a link: written through as a stream
    write_text(link, "fine")
    assert link.is_symlink()


def test_dash_is_standard_output(capfd):
    write_text("-", "to stdout\n")
    assert capfd.readouterr().out == "to stdout\n"


@pytest.mark.parametrize("target,needle", [
    ("folder", "is a directory"),
    ("missing/out.json", "no directory"),
    ("/proc/dbnbench-cannot-be-here.json", "cannot write"),
])
def test_unwritable_targets_are_one_line_errors(tmp_path, target, needle):
    (tmp_path / "folder").mkdir()
    path = Path(target) if target.startswith("/") else tmp_path / target
    with pytest.raises(OutputError, match=needle) as info:
        write_text(path, "x")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_a_read_only_or_full_file_system(tmp_path):
    with tmpfs(tmp_path / "ro", "64k", "ro") as ro:
        with pytest.raises(OutputError, match=r"permission denied|Read-only"):
            check_writable(ro / "r.json")
        with pytest.raises(OutputError, match="Read-only file system"):
            write_text(ro / "r.json", "x")
        with pytest.raises(OutputError, match=r"Read-only|permission"):
            make_directory(ro / "site")
    with tmpfs(tmp_path / "small", "16k") as small:
        old = small / "r.json"
        old.write_text("old")
        with pytest.raises(OutputError, match="No space left on device"):
            write_text(old, "x" * 100_000)
        assert old.read_text() == "old"
        assert [p.name for p in small.iterdir()] == ["r.json"], "temporary file left behind"


def test_a_site_directory(tmp_path):
    make_directory(tmp_path / "site")
    (tmp_path / "link").symlink_to(tmp_path / "site")
    make_directory(tmp_path / "link")  # written through; the link stays a link
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        make_directory(tmp_path / "file")
    with pytest.raises(OutputError, match="file: exists and is not a directory"):
        make_directory(tmp_path / "file" / "deeper")  # a file above, not just at the end
    made = make_directory(tmp_path / "a" / "b" / "c")  # what it made, to remove on failure
    assert made == [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"]
    assert make_directory(tmp_path / "a" / "b") == []


def test_a_temporary_a_killed_writer_left_is_swept_by_the_next_write(tmp_path):
    """SIGKILL during the HTML write left a 0-byte .<id>.html.*.tmp that nothing removed."""
    import subprocess
    import sys

    from dbnbench.format.output import write_atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".run.html.{dead.pid}.abcd1234.tmp"
    stale.write_text("")
    mine = tmp_path / f".run.json.{os.getpid()}.abcd1234.tmp"  # a live writer's: kept
    mine.write_text("")
    users = tmp_path / ".notes.1.tmp"  # not our pattern: kept
    users.write_text("")
    write_atomic(tmp_path / "other.json", "{}")
    assert not stale.exists() and mine.exists() and users.exists()
    assert (tmp_path / "other.json").read_text() == "{}"
    assert [p.name for p in tmp_path.glob(".other.json.*")] == []


def test_a_site_is_written_whole_or_not_at_all(tmp_path):
    """publish onto a full disk left runs/<id>.html and an empty workloads/ with no index."""
    from dbnbench.format.output import OutputError, write_all

    with tmpfs(tmp_path / "disk", "256k") as disk:
        site = disk / "site"
        pages = {site / "index.html": "i" * 1000, site / "runs" / "r.html": "r" * 1000,
                 site / "workloads" / "w.html": "w" * 400_000}  # the last does not fit
        with pytest.raises(OutputError, match="nothing was written"):
            write_all(pages)
        assert not site.exists(), list(site.rglob("*"))
        assert [p.name for p in disk.iterdir()] == []
        small = {p: t for p, t in pages.items() if p.name != "w.html"}
        write_all(small)
        assert (site / "runs" / "r.html").read_text() == "r" * 1000
        assert not list(site.rglob("*.tmp"))
