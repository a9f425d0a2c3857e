"""Peak host memory of the current process, resettable per case on Linux."""

from __future__ import annotations

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

    def reset(self) -> None:
        try:
            CLEAR_REFS.write_text("5")
            self.exact = True
        except OSError:
            self.exact = False

    def peak_bytes(self) -> int:
        try:
            match = re.search(r"VmHWM:\s+(\d+)\s+kB", STATUS.read_text())
            if match:
                return int(match.group(1)) * 1024
        except OSError:
            pass
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is kB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
