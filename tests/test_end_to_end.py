"""`dbnbench run` as a user runs it: the ci suite end to end, and a numpy-only machine."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from dbnbench.format import results
from dbnbench.harness.frameworks import FRAMEWORKS
from dbnbench.harness.install import pip_extra

from .conftest import run_cli

pytestmark = pytest.mark.slow  # real `dbnbench run`s of the ci suite


def test_ci_suite_end_to_end(tmp_path):
    history = {"DBNBENCH_HISTORY": str(tmp_path / "home" / "history.sqlite")}
    proc = run_cli("run", "-s", "ci", "--rounds", "1", "-o", str(tmp_path), env=history)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [path] = tmp_path.glob("*.json")
    assert f"results written to {path}" in " ".join(proc.stdout.split())
    doc = results.load(path)
    assert doc["suite"] == "ci" and doc["complete"] is True
    for case in doc["cases"]:
        fw = FRAMEWORKS[case["framework"]]
        if not fw.installed():  # e.g. torch on a numpy-only install: skipped with the hint
            assert (case["status"], case["reason"]) == (
                "skipped", f"{case['framework']} is not installed ({fw.install_hint})"), case["id"]
        elif case["device"] == "cpu":
            assert case["status"] == "ok", (case["id"], case["reason"])
            assert case["metrics"]["quality"]["passed"], case["id"]
            assert case["metrics"]["items_per_s"]["median"] > 0
        else:
            assert case["status"] == "skipped" and case["reason"]
    assert "rbm-cdk" in proc.stdout and "items/s" in proc.stdout
    # Every workload a case names is described, as its spec lays it out, for the readers.
    assert set(doc["workloads"]) == {c["workload"] for c in doc["cases"]}
    assert doc["workloads"]["dbn-inference"]["extras"] == {"latency_ms": "latency",
                                                           "serving": "other"}
    # Beside the result: the HTML report (with batch-1 latency percentiles) and the history.
    html = path.with_suffix(".html").read_text()
    assert re.search(r"<td>[\d.]+ / [\d.]+ / [\d.]+</td>", html), "no latency percentiles"
    # The run is in the user's history whatever -o was: README's history examples work.
    listed = run_cli("history", env=history, cwd=tmp_path.parent)
    assert listed.returncode == 0 and doc["run_id"] in listed.stdout, listed.stderr
    ok = next(c["id"] for c in doc["cases"] if c["status"] == "ok")
    trend = run_cli("history", "--case", ok, env=history, cwd=tmp_path.parent)
    assert trend.returncode == 0 and "trend of" in trend.stdout, trend.stderr
    # The report command reprints the same table from the file.
    again = run_cli("report", str(path))
    assert again.returncode == 0 and doc["run_id"] in again.stdout


BLOCKER = textwrap.dedent("""
    import sys
    BLOCKED = {"torch", "tensorflow", "sklearn"}
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None
    sys.meta_path.insert(0, Block())
""")


def test_numpy_only_machine(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {"PYTHONPATH": f"{site}:{__import__('os').environ.get('PYTHONPATH', '')}"}
    proc = run_cli("run", "-s", "ci", "--workload", "rbm-cdk", "--framework", "numpy,torch,tensorflow",
                   "--rounds", "1", "--no-quality", "-o", str(tmp_path / "r"), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [path] = (tmp_path / "r").glob("*.json")
    cases = {c["framework"]: c for c in json.loads(path.read_text())["cases"]
             if c["device"] == "cpu"}
    assert cases["numpy"]["status"] == "ok"
    assert cases["torch"]["status"] == "skipped"
    assert cases["torch"]["reason"] == f"torch is not installed ({pip_extra('torch')})"
    assert pip_extra("tensorflow") in cases["tensorflow"]["reason"]
