"""The structure holds: layers import downward only, the types check, the code is lint-clean.
Each tool runs as CI runs it; a tool that is not installed skips with the reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The tool of this interpreter's environment (found beside it even when that environment
    is not activated: `.venv/bin/python -m pytest`), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    tool = str(beside) if beside.is_file() else shutil.which(name)
    if tool is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return subprocess.run([tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_layers_import_downward_only():
    """application → reports | workloads → engine (pyproject's import-linter contract)."""
    proc = run_tool("lint-imports")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
    assert "1 kept, 0 broken" in proc.stdout


@pytest.mark.slow  # mypy over the package
def test_the_package_type_checks():
    proc = run_tool("mypy")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_lint_clean():
    proc = run_tool("ruff", "check", "dbnbench", "tests")
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_the_engine_imports_no_workload_and_no_report():
    """Checked on the live import graph too: importing the runner loads neither."""
    code = ("import sys, dbnbench.harness.runner, dbnbench.harness.worker; "
            "print(sorted(m for m in sys.modules if m.startswith(('dbnbench.suites', "
            "'dbnbench.reports', 'dbnbench.app', 'torch', 'tensorflow', 'jax'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
