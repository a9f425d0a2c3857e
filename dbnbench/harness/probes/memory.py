"""Peak host memory of the current process, resettable per case on Linux."""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import resource
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


class HostPeak:
    """Peak resident set size since `reset()`.

    On Linux, writing 5 to /proc/self/clear_refs resets the kernel's high-water mark
    (VmHWM), so a worker that runs several cases in turn still reports each case's own peak.
    Where that is not possible, the peak is the process's lifetime peak, and `exact` says so."""

    def __init__(self) -> None:
        self.exact = False
        self.start_bytes: int | None = None

    def reset(self) -> None:
        """Start a case: hand freed heap back to the system first, so that what earlier work
        in this worker left in the allocator's free lists (a calibration sweep's large
        matrices, an earlier case) does not count as this case's memory, then note where
        the case starts."""
        trim_heap()
        try:
            CLEAR_REFS.write_text("5")
            self.exact = True
        except OSError:
            self.exact = False
        self.start_bytes = resident_bytes()

    def peak_bytes(self) -> int:
        try:
            match = re.search(r"VmHWM:\s+(\d+)\s+kB", STATUS.read_text())
            if match:
                return int(match.group(1)) * 1024
        except OSError:
            pass
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is kB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def resident_bytes() -> int | None:
    """The process's resident set now (Linux), else None."""
    try:
        match = re.search(r"VmRSS:\s+(\d+)\s+kB", STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def trim_heap() -> None:
    """glibc's malloc_trim(0) where there is one; elsewhere nothing to do."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:
        pass
