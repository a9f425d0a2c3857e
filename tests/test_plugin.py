"""A workload from another package, found through the `dbnbench.workloads` entry points:
installed in the test, then discovered, listed, run and reported end to end by the CLI,
with no edit to dbnbench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import install_package, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "example_plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The fixture package installed (pip, no network) into its own folder; the
    environment that puts that folder on the path."""
    return install_package(FIXTURE, "dbnbench_example_workload", tmp_path_factory)


@pytest.mark.slow
def test_a_plugin_workload_is_listed(installed):
    proc = run_cli("list", "--suite", str(FIXTURE / "example.toml"), env=installed)
    assert proc.returncode == 0, proc.stderr
    assert "example-matmul/numpy/cpu/fp32/n96" in proc.stdout


def test_without_the_plugin_the_workload_is_unknown():
    proc = run_cli("list", "--suite", str(FIXTURE / "example.toml"))
    assert proc.returncode == 2
    assert "unknown workload 'example-matmul'" in proc.stderr


@pytest.mark.slow
def test_a_plugin_workload_runs_and_is_reported(installed, tmp_path):
    proc = run_cli("run", "--suite", str(FIXTURE / "example.toml"), "-o", str(tmp_path),
                   "--db", str(tmp_path / "h.sqlite"), env=installed, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [result] = tmp_path.glob("*-example-*.json")
    doc = json.loads(result.read_text())
    cases = {c["id"]: c for c in doc["cases"]}
    case = cases["example-matmul/numpy/cpu/fp32/n96"]
    assert case["status"] == "ok", case["reason"]
    assert case["metrics"]["items_per_s"]["median"] > 0
    assert case["math"]["observed_products"] == {"float32": 1}  # probed like any workload
    assert 0 < case["metrics"]["pct_of_peak"] <= 1
    assert case["metrics"]["quality"]["passed"] is True
    assert len(case["source_hash"]) == 16
    assert cases["example-matmul/numpy/cpu/fp64/n96"]["math"]["observed_products"] == \
        {"float64": 1}
    report = tmp_path / "r.html"
    proc = run_cli("report", str(result), "-o", str(report), env=installed)
    assert proc.returncode == 0, proc.stderr
    assert "example-matmul" in report.read_text() and "example-matmul" in proc.stdout
