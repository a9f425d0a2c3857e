"""The CI gate on real processes: arms interleaved in one run, separate runs on a machine
that got busy, and a run too short to decide. Exit codes: 1 regression, 3 inconclusive,
0 only when nothing changed beyond the threshold."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import run_cli

SLOW_WORKER = Path(__file__).parent / "fixtures" / "slow_worker"
SUITE = """
name = "gate"
[settings]
rounds = {rounds}
repetitions = 5
min_time_s = 0.05
warmup_s = 0.02
timeout_s = 60
quality = false
[[cases]]
workload = "harness-selftest"
frameworks = ["numpy"]
params = {{ size = 128 }}
"""
BURN = "import time\nend = time.time() + 120\nwhile time.time() < end: pass\n"
pytestmark = pytest.mark.slow


def suite(tmp_path: Path, rounds: int) -> str:
    path = tmp_path / f"gate{rounds}.toml"
    path.write_text(SUITE.format(rounds=rounds))
    return str(path)


def run(tmp_path: Path, name: str, *args: str, rounds: int = 6) -> Path:
    out = tmp_path / name
    proc = run_cli("run", "--suite", suite(tmp_path, rounds), "-o", str(out), "--no-html",
                   "--threads", "1", *args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [result] = out.glob("*.json")
    return result


def gate(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("compare", *args, "--fail-on-regression")


def test_arms_a_a_with_a_busy_neighbour_for_part_of_the_run_pass(tmp_path):
    """Two arms on the same interpreter: identical code. A CPU burner runs during the first
    part of the run; both arms see it within the same rounds, so the paired comparison
    holds."""
    burner = subprocess.Popen([sys.executable, "-c", BURN.replace("120", "8")])
    try:
        time.sleep(0.3)
        result = run(tmp_path, "aa", "--arm", f"base={sys.executable}",
                     "--arm", f"head={sys.executable}", rounds=16)
    finally:
        burner.kill()
        burner.wait()
    # 10 %: what this 2-core VM (hypervisor steal of up to 10 %) resolves in 16 rounds; in 10,
    # one run in four (2026-12-04) could only see changes above 18 % and was inconclusive.
    decided = gate(str(result), "--arms", "base,head", "--threshold", "10%")
    assert decided.returncode == 0, decided.stdout[-3000:]
    assert "no change beyond the threshold" in decided.stdout


def test_arms_with_a_really_slower_head_fail(tmp_path):
    result = run(tmp_path, "ab", "--arm", f"base={sys.executable}",
                 "--arm", f"head={sys.executable}", "--arm-env", f"head:PYTHONPATH={SLOW_WORKER}")
    doc = json.loads(result.read_text())
    assert {c.get("arm") for c in doc["cases"]} == {"base", "head"}
    assert [a["name"] for a in doc["settings"]["arms"]] == ["base", "head"]
    decided = gate(str(result), "--arms", "base,head")
    assert decided.returncode == 1, decided.stdout[-3000:]
    assert "regressed" in decided.stdout


def test_separate_runs_with_a_busy_second_run_never_call_a_regression(tmp_path):
    quiet = run(tmp_path, "quiet", rounds=3)
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2)]
    try:
        time.sleep(0.3)
        busy = run(tmp_path, "busy", rounds=3)
    finally:
        for b in burners:
            b.kill()
            b.wait()
    decided = gate(str(quiet), str(busy))
    assert decided.returncode in (0, 3), decided.stdout[-3000:]


def test_one_round_against_a_third_slower_copy_is_never_a_pass(tmp_path):
    result = run(tmp_path, "one", rounds=1)
    doc = json.loads(result.read_text())
    slower = json.loads(result.read_text())
    for case in slower["cases"]:
        case["repetitions_s"] = [t * 1.5 for t in case["repetitions_s"]]  # 33 % fewer items/s
        case["metrics"]["items_per_s"] = {k: v / 1.5 if v else v for k, v in
                                          case["metrics"]["items_per_s"].items()}
    copy = tmp_path / "slower.json"
    copy.write_text(json.dumps(slower))
    assert doc["settings"]["rounds"] == 1
    decided = gate(str(result), str(copy))
    assert decided.returncode in (1, 3), decided.stdout[-3000:]
