"""A workload from another package, found through the `dbnbench.workloads` entry points:
installed in the test, then discovered, listed, run and reported end to end by the CLI,
with no edit to dbnbench."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "example_plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The fixture package installed (pip, no network) into its own folder; the
    environment that puts that folder on the path."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed: the example package cannot be built")
    if not (importlib.util.find_spec("setuptools.command.bdist_wheel")
            or importlib.util.find_spec("wheel")):
        # setuptools before 70.1 builds wheels only with the separate `wheel` package.
        pytest.skip("this setuptools cannot build a wheel (older than 70.1 and no `wheel` "
                    "package): the example package cannot be installed")
    target = tmp_path_factory.mktemp("site")
    # pip builds in the source tree: build a copy, so the fixture stays clean.
    source = tmp_path_factory.mktemp("src") / "example_plugin"
    shutil.copytree(FIXTURE, source)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(target.glob("dbnbench_example_workload-*.dist-info"))
    path = os.pathsep.join(filter(None, (str(target), os.environ.get("PYTHONPATH"))))
    return {"PYTHONPATH": path}


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
