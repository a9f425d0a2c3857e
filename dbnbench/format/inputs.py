"""The one reader of user-named input files (results, suites): a regular file of bounded
size, or a one-line reason. A FIFO would block a reader until some writer came, a device
such as /dev/zero never ends, and a file of gigabytes would be parsed into many times its
size in memory; each is refused before a byte is read (a link is followed, then judged)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UserError

MAX_INPUT_BYTES = 512 * 2**20  # a 60 000-case result is about 50 MB

KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR,
         "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def read_bounded(path: str | os.PathLike[str], label: str,
                 limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes. Opened without blocking
    (a FIFO with no writer opens at once) and judged by the opened file's own status, so a
    path swapped between a check and the open cannot slip through."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"{label}: no such file") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL, no permission
        raise UserError(f"{label}: cannot read "
                        f"({getattr(exc, 'strerror', None) or exc.__class__.__name__})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{label}: {kind_of(info.st_mode)}, not a file to read")
        raise UserError(f"{label}: {info.st_size / 2**20:.0f} MiB, over the "
                        f"{limit / 2**20:.0f} MiB an input may have")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)  # a file that grew since fstat is still cut off
        except OSError as exc:
            raise UserError(f"{label}: cannot read ({exc.strerror or 'I/O error'})") from None
    if len(data) > limit:
        raise UserError(f"{label}: over the {limit / 2**20:.0f} MiB an input may have")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{label}: not UTF-8 text") from None
