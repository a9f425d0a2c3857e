"""The workers' heap policy (harness/probes/heap.py): fixed where glibc's would move, the user's
kept, and a block that a fresh process would mmap served from the heap instead."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from dbnbench.app.cli_env import ask_runtime
from dbnbench.harness.probes import heap
from tests.harness.test_fingerprint import child_env

GLIBC = platform.libc_ver()[0] == "glibc"
needs_glibc = pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")

# A child that reports how many blocks malloc has mmapped before and after taking 1 MiB:
# glibc's default (128 KiB) serves it with an mmap; the fixed threshold from the heap.
PROBE = """
import ctypes, json, sys
from dbnbench.harness.probes import heap
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
record = heap.fix() if sys.argv[1] == "fix" else None
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)
print(json.dumps({"mmapped": libc.mallinfo2().hblks - before, "record": record}))
"""


def probe(mode: str, **env: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          timeout=60, env=child_env(**env))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("env, chosen", [
    ({}, None),
    ({"MALLOC_MMAP_THRESHOLD_": "131072"}, "MALLOC_MMAP_THRESHOLD_"),
    ({"MALLOC_ARENA_MAX": "2"}, "MALLOC_ARENA_MAX"),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, "GLIBC_TUNABLES"),
    ({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2"}, None),
    ({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"}, "LD_PRELOAD"),
    ({"LD_PRELOAD": "/usr/lib/libfaketime.so"}, None),
])
def test_a_users_heap_setting_is_recognised(env, chosen):
    assert heap.users_setting(env) == chosen


def test_a_users_setting_is_kept_and_said():
    record = heap.fix({"MALLOC_TRIM_THRESHOLD_": "0"})
    assert record["set"] is False and "MALLOC_TRIM_THRESHOLD_" in record["reason"]


@needs_glibc
def test_the_fixed_threshold_serves_a_mebibyte_from_the_heap():
    fresh, fixed = probe("leave"), probe("fix")
    assert fresh["mmapped"] == 1, "glibc's start threshold (128 KiB) mmaps 1 MiB"
    assert fixed["mmapped"] == 0 and fixed["record"]["set"] is True
    assert fixed["record"]["mmap_threshold_bytes"] == heap.MMAP_CEILING


@needs_glibc
def test_with_the_users_variable_the_process_keeps_glibcs_behaviour():
    kept = probe("fix", MALLOC_MMAP_THRESHOLD_="131072")
    assert kept["mmapped"] == 1 and kept["record"]["set"] is False


@needs_glibc
def test_a_worker_reports_the_heap_it_runs_with():
    runtime = ask_runtime("numpy", threads=1)
    assert runtime["heap"]["set"] is True, runtime["heap"]
