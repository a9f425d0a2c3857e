"""The one writer of every file dbnbench leaves: results, reports, summaries, exports, sites.

A regular file (or a new one) is replaced atomically: a reader sees the old content or the
new, never half of it. `-` is standard output. A FIFO or a character device (`/dev/null`,
`/dev/stdout`, a named pipe a reader waits on) is written to as a stream: naming one says so.
A symbolic link to anything else, a directory, a block device or a socket is refused: it is
never replaced by a regular file. Every failure is an OutputError, one line naming the path."""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

from . import inputs
from .errors import UserError

STDOUT = "-"


class OutputError(UserError):
    """An output that cannot be written: the path, and why, in one line."""


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    return path is not None and os.fspath(path) == STDOUT


def reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def kind_of(path: Path) -> str:
    """'absent', 'file', 'stream' (FIFO or character device, through a link or not), or
    why the path cannot be written."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        raise OutputError(f"{path}: cannot write there ({reason(exc)})") from None
    if stat.S_ISLNK(mode):
        try:
            target = os.stat(path).st_mode
        except OSError:
            target = 0
        if stat.S_ISFIFO(target) or stat.S_ISCHR(target):
            return "stream"
        return "a symbolic link (refusing to replace it; name its target instead)"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return "stream"
    return inputs.kind_of(mode)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail before any work when an output cannot be written (nothing half-done)."""
    if is_stdout(path):
        return
    p = Path(path)
    kind = kind_of(p)
    if kind not in ("absent", "file", "stream"):
        raise OutputError(f"{p}: is {kind}")
    parent = p.parent
    if kind != "stream" and not parent.is_dir():
        raise OutputError(f"{p}: cannot write there (no directory {parent})")
    if kind != "stream" and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{p}: cannot write there ({why_not_writable(parent)})")


def why_not_writable(directory: Path) -> str:
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "Read-only file system"
    except OSError:
        pass
    return "permission denied"


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` by the rules above."""
    if is_stdout(path):
        write_stdout(text)
        return
    p = Path(path)
    kind = kind_of(p)
    if kind == "stream":
        write_stream(p, text.encode("utf-8"))
    elif kind in ("absent", "file"):
        write_atomic(p, text)
    else:
        raise OutputError(f"{p}: is {kind}")


def write_stdout(text: str) -> None:
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): what it wanted it has; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        raise OutputError(f"standard output: cannot write ({reason(exc)})") from None


def write_stream(path: Path, data: bytes) -> None:
    """Into a FIFO or a device, as `> path` would; a FIFO nobody reads is an error, not a
    wait without end."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        why = "no process is reading it" if exc.errno == errno.ENXIO else reason(exc)
        raise OutputError(f"{path}: cannot write ({why})") from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({reason(exc)})") from None
    finally:
        os.close(fd)


TMP_RE = re.compile(r"^\..+\.(\d+)\.[a-z0-9_]{8}\.tmp$")  # .NAME.PID.RANDOM.tmp (mkstemp)


def sweep_stale(directory: Path) -> None:
    """Remove the temporaries a writer killed mid-write (SIGKILL: no cleanup ran) left in
    `directory`: ours by their name, stale because the process named in it is gone."""
    try:
        names = [n for n in os.listdir(directory) if n.endswith(".tmp") and n.startswith(".")]
    except OSError:
        return
    for name in names:
        m = TMP_RE.match(name)
        if m is None or alive(int(m.group(1))):
            continue
        try:
            os.unlink(directory / name)
        except OSError:
            pass  # another sweeper, or not ours to remove


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def staged(path: Path, text: str) -> str:
    """`text` written and synced to a temporary beside `path`; its name (replace it into
    place, or unlink it)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return tmp


def write_all(files: dict[Path, str]) -> None:
    """Many files (a site) all or none: every one is staged first, and only when all are
    written are they moved into place, so a full disk leaves the site as it was (no half
    site, no empty folders it made)."""
    made: list[Path] = []
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            made += make_directory(path.parent)
            temps.append((staged(path, text), path))
    except BaseException as exc:
        for tmp, _ in temps:
            os.unlink(tmp)
        for directory in reversed(made):
            try:
                directory.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(f"{path}: cannot write ({reason(exc)}); nothing was "
                              "written") from None
        raise
    for tmp, path in temps:
        os.replace(tmp, path)


def write_atomic(path: Path, text: str) -> None:
    """A reader sees the old content or the new, never a half-written file; a failure (a
    full disk, a read-only file system) leaves the old file as it was and no temporary.
    The temporary's name carries this process's id, so one a killed writer left is swept
    by the next write into the same directory."""
    sweep_stale(path.parent)
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write there (no directory {path.parent})")
    try:
        # mkstemp makes the file private (0600); results and reports are meant to be read
        # and published, so staged() gives them the mode a plain open() would.
        tmp = staged(path, text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({reason(exc)})") from None
    try:
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise OutputError(f"{path}: cannot write ({reason(exc)})") from None


def make_directory(path: Path) -> list[Path]:
    """A directory to write many files into (a site), refused where it cannot be one; the
    directories it had to create, outermost first (so a failed write can remove them). A
    link to a directory is written through: the files go inside, the link stays."""
    missing: list[Path] = []
    while not path.is_dir():
        if os.path.lexists(path):  # False under a file too: its parent is looked at next
            raise OutputError(f"{path}: exists and is not a directory")
        missing.append(path)
        path = path.parent
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write there ({why_not_writable(path)})")
    made: list[Path] = []
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except OSError as exc:
            for done in reversed(made):
                done.rmdir()
            raise OutputError(f"{directory}: cannot create the directory "
                              f"({reason(exc)})") from None
        made.append(directory)
    return made


__all__ = ["STDOUT", "OutputError", "check_writable", "is_stdout", "make_directory",
           "write_text"]
