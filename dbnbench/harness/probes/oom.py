"""Evidence of the kernel's out-of-memory killer: its kill counters, read before a worker
starts and after it died of SIGKILL. A SIGKILL alone says nothing about memory (anyone may
send one), so a crash reason names the OOM killer only when a counter moved or the worker's
memory was near its cap."""

from __future__ import annotations

import re
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
NEAR_CAP = 0.9  # memory this close to the cap when the worker died counts as evidence


def read_count(path: Path, key: str) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    m = re.search(rf"^{key}\s+(\d+)\s*$", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def counter_files(pid: int | str = "self") -> list[tuple[Path, str]]:
    """(file, key) of every OOM-kill counter that covers process `pid`: the machine's
    (/proc/vmstat) and its memory cgroup's (v2 memory.events, v1 memory.oom_control)."""
    files = [(Path("/proc/vmstat"), "oom_kill")]
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return files
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":
            candidates = [CGROUP_ROOT / rel / "memory.events", CGROUP_ROOT / "memory.events"]
            key = "oom_kill"
        elif "memory" in controllers.split(","):
            candidates = [CGROUP_ROOT / "memory" / rel / "memory.oom_control",
                          CGROUP_ROOT / "memory" / "memory.oom_control"]
            key = "oom_kill"
        else:
            continue
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            files.append((found, key))
    return files


def oom_counts(files: list[tuple[Path, str]]) -> dict[str, int]:
    """Counter file → OOM kills so far, for each of `files` readable here."""
    counts = {}
    for path, key in files:
        n = read_count(path, key)
        if n is not None:
            counts[str(path)] = n
    return counts


def oom_evidence(before: dict[str, int], after: dict[str, int], last_rss: int,
                 cap: int | None) -> str:
    """What a SIGKILL's cause was, as far as the evidence goes, for the crash reason."""
    moved = [f"{path} oom_kill +{after[path] - n}" for path, n in before.items()
             if path in after and after[path] > n]
    if moved:
        return "the kernel's out-of-memory killer ran meanwhile (" + ", ".join(moved) + ")"
    if cap and last_rss >= NEAR_CAP * cap:
        return (f"its memory was {last_rss / 2**30:.2f} GiB, near the {cap / 2**30:.2f} GiB "
                "cap: likely out of memory")
    if not before:
        return "no out-of-memory counter is readable here to tell why"
    return "no out-of-memory kill was recorded: sent by another process"
