"""pytest-benchmark export: pytest-benchmark itself must read what we write."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from dbnbench.format.results import load
from dbnbench.reports.exports.pytest_benchmark import to_pytest_benchmark

FIXTURE = Path(__file__).parent.parent / "fixtures" / "quick-cpu.json"


def test_every_ok_case_becomes_a_benchmark_with_consistent_stats():
    doc = load(FIXTURE)
    out = json.loads(to_pytest_benchmark(doc))
    ok = [c for c in doc["cases"] if c["status"] == "ok"]
    assert [b["name"] for b in out["benchmarks"]] == [c["id"] for c in ok]
    first, case = out["benchmarks"][0], ok[0]
    step = [r / n for r, n in zip(case["repetitions_s"], case["steps_per_repetition"], strict=True)]
    assert first["stats"]["min"] == min(step) and first["stats"]["rounds"] == len(step)
    assert first["stats"]["ops"] == 1 / first["stats"]["mean"]
    assert out["commit_info"]["id"] == doc["run_id"]
    assert json.loads(to_pytest_benchmark(doc, "abc123"))["commit_info"]["id"] == "abc123"


def test_pytest_benchmark_loads_and_compares_it(tmp_path, cli):
    from pytest_benchmark.logger import Logger
    from pytest_benchmark.storage.file import FileStorage

    target = tmp_path / "0001_dbnbench.json"
    result = cli("export", "--format", "pytest-benchmark", str(FIXTURE), "-o", str(target))
    assert result.returncode == 0, result.stderr
    storage = FileStorage(str(tmp_path), logger=Logger(level=0), default_machine_id="m")
    benches = list(storage.load_benchmarks(str(target)))
    assert len(benches) == 14 and all(b["ops"] > 0 for b in benches)
    exe = shutil.which("pytest-benchmark") or str(Path(sys.executable).parent / "pytest-benchmark")
    shown = subprocess.run([exe, "compare", str(target)], capture_output=True, text=True,
                           timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "rbm-cdk/torch/cpu/fp32" in shown.stdout
