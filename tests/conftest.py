"""Shared fixtures: framework adapters that skip when a framework is absent, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

from dbnbench.harness.errors import Skip
from dbnbench.harness.frameworks import FRAMEWORKS
from dbnbench.suites.builtin import default_registry

REGISTRY = default_registry()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    from hypothesis import settings
except ImportError:  # not installed (it is in the test extra): nothing to configure
    pass
else:
    # The property tests draw the same examples on every run, so a CI result can be
    # reproduced; HYPOTHESIS_PROFILE=explore draws new ones each time (to hunt for bugs).
    settings.register_profile("reproducible", derandomize=True)
    settings.register_profile("explore", derandomize=False)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


@pytest.fixture(autouse=True, scope="session")
def throwaway_history(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every run a test makes records in a throw-away history, never in the user's own
    (~/.local/share/dbnbench/history.sqlite); tests that care set their own."""
    os.environ["DBNBENCH_HISTORY"] = str(tmp_path_factory.mktemp("history") / "history.sqlite")


def require_framework(name: str) -> None:
    """Skip, naming the install hint, where framework `name` is not installed (looked up
    without importing it): a test of an absent framework skips, it never fails."""
    cls = FRAMEWORKS[name]
    if not cls.installed():
        pytest.skip(f"{name} is not installed ({cls.install_hint})")


def make_fw(name: str, precision: str = "fp32", device: str = "cpu", threads: int = 2,
            seed: int = 0) -> Any:
    """An activated adapter, or a pytest skip naming why it cannot be had here."""
    require_framework(name)
    fw = FRAMEWORKS[name](device, precision, threads, seed)
    try:
        fw.activate()
    except Skip as exc:
        pytest.skip(str(exc))
    return fw


@pytest.fixture
def fw_factory():
    return make_fw


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`dbnbench ARGS` in a subprocess, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "dbnbench", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})})


def install_package(folder: Path, dist: str, tmp_path_factory: pytest.TempPathFactory
                    ) -> dict[str, str]:
    """An example package (a test fixture) installed with pip, no network, into its own
    folder; returns the environment that puts that folder on the path."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed: the example package cannot be built")
    if not (importlib.util.find_spec("setuptools.command.bdist_wheel")
            or importlib.util.find_spec("wheel")):
        # setuptools before 70.1 builds wheels only with the separate `wheel` package.
        pytest.skip("this setuptools cannot build a wheel (older than 70.1 and no `wheel` "
                    "package): the example package cannot be installed")
    target = tmp_path_factory.mktemp("site")
    # pip builds in the source tree: build a copy, so the fixture stays clean.
    source = tmp_path_factory.mktemp("src") / folder.name
    shutil.copytree(folder, source)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(target.glob(f"{dist}-*.dist-info"))
    path = os.pathsep.join(filter(None, (str(target), os.environ.get("PYTHONPATH"))))
    return {"PYTHONPATH": path}


@pytest.fixture
def cli():
    return run_cli


def call(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """`dbnbench ARGS` in this process: (exit code, stdout, stderr). An exception that
    escapes main() is a traceback a user would see: the test fails showing it."""
    # Imported here: pytest-benchmark's own CLI loads this conftest without our dependencies.
    from dbnbench.app.cli import main

    monkeypatch.setattr(sys, "argv", ["dbnbench", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        pytest.fail(f"dbnbench {' '.join(a[:60] for a in args)}: traceback\n"
                    + traceback.format_exc())
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="session")
def slurm() -> Any:
    """This machine's SLURM, or a throwaway one started for the session (tests/slurm_cluster.py);
    skips with the reason where neither can be had."""
    from tests.slurm_cluster import start

    found = start()
    if isinstance(found, str):
        pytest.skip(found)
    yield found
    found.stop()
