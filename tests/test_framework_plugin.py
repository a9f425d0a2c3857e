"""A framework from another package, found through the `dbnbench.frameworks` entry points with
its own implementation of a built-in workload: installed in the test, then listed, run and
reported end to end by the CLI, with no edit to dbnbench. Misdeclared adapters and
implementations are refused when the registry is built, with the reason, not in a worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbnbench.harness import frameworks
from dbnbench.harness.frameworks.numpy_fw import NumpyFramework
from dbnbench.harness.plan.registry import Registry, Workload, impl_problem
from dbnbench.suites.builtin import bench_class
from dbnbench.suites.selftest.spec import SelftestSpec

from .conftest import install_package, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "example_framework"
TOY_CASE = "rbm-cdk/toy/cpu/fp32/v64-h32-b16-k1"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_package(FIXTURE, "dbnbench_toy_framework", tmp_path_factory)


def test_without_the_package_the_framework_is_unknown():
    proc = run_cli("list", "--suite", str(FIXTURE / "toy.toml"))
    assert proc.returncode == 2
    assert "unknown framework 'toy'" in proc.stderr


@pytest.mark.slow
def test_an_outside_framework_is_listed_run_and_reported(installed, tmp_path):
    listed = run_cli("list", "--suite", str(FIXTURE / "toy.toml"), env=installed)
    assert listed.returncode == 0, listed.stderr
    said = " ".join(listed.stdout.split())
    assert f"{TOY_CASE} yes" in said, said
    assert "the toy framework computes in float32 only" in said  # its fp64 case, refused
    # A suite entry that names no frameworks means every one that implements the workload.
    quick = run_cli("list", "--suite", "quick", "--workload", "rbm-cdk", env=installed)
    assert "rbm-cdk/toy/cpu/" in quick.stdout

    proc = run_cli("run", "--suite", str(FIXTURE / "toy.toml"), "-o", str(tmp_path),
                   "--db", str(tmp_path / "h.sqlite"), env=installed, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [result] = tmp_path.glob("*-toy-*.json")
    doc = json.loads(result.read_text())
    case = {c["id"]: c for c in doc["cases"]}[TOY_CASE]
    assert case["status"] == "ok", case["reason"]
    assert case["metrics"]["items_per_s"]["median"] > 0
    assert case["math"]["observed_products"] == {"float32": 4}  # probed like any framework
    assert doc["machine"]["frameworks"]["toy"] == "0.1.0"
    assert any(c["framework"] == "toy" for c in doc["calibration"])  # its own GEMM roof
    report = run_cli("report", str(result), env=installed)
    assert report.returncode == 0 and "toy" in report.stdout


def entry_points_giving(monkeypatch, obj) -> None:
    class EntryPoint:
        name, value = "outside", "somewhere:thing"

        def load(self):
            return obj

    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group: [EntryPoint()] if group == frameworks.ENTRY_POINTS else [])


class Misnamed(NumpyFramework):
    name = "Not A Name"


class OddPrecision(NumpyFramework):
    name = "odd"
    precisions = {"fp8": None}


@pytest.mark.parametrize("obj, why", [
    (object, "is not a dbnbench.harness.frameworks.base.Framework subclass"),
    (Misnamed, "is not a short lower-case identifier"),
    (OddPrecision, "unknown precisions ['fp8']"),
    (NumpyFramework, "framework 'numpy' is already registered"),
])
def test_a_misdeclared_outside_adapter_is_recorded_not_fatal(monkeypatch, obj, why):
    entry_points_giving(monkeypatch, obj)
    adapters, broken = frameworks.catalogue()
    assert "numpy" in adapters and why in broken["outside"]


def test_a_misspelt_implementation_is_refused_when_the_registry_is_built():
    assert impl_problem("dbnbench.suites.rbm.numpy_impl:NumpyRBMBench") is None
    assert "defines no NumpyRBMBnech" in impl_problem(
        "dbnbench.suites.rbm.numpy_impl:NumpyRBMBnech")
    assert "no Python module" in impl_problem("dbnbench.suites.rbm.nowhere:X")

    class Brings(NumpyFramework):
        name = "brings"
        implementations = {"harness-selftest": "dbnbench.suites.rbm.numpy_impl:Typo",
                           "no-such-workload": "dbnbench.suites.rbm.numpy_impl:NumpyRBMBench"}

    registry = Registry()
    registry.add(Workload(SelftestSpec(), {"numpy": "x:Y"}))
    registry.add_implementations({"brings": Brings})
    assert "defines no Typo" in registry.broken["brings:harness-selftest"]
    assert "no workload 'no-such-workload'" in registry.broken["brings:no-such-workload"]
    assert "brings" not in registry.workloads["harness-selftest"].impls


def test_a_builtin_implementation_module_has_one_bench_class(tmp_path):
    path = tmp_path / "two_impl.py"
    path.write_text("class ABench: pass\nclass BBench: pass\n")
    with pytest.raises(RuntimeError, match="exactly one top-level \\*Bench class"):
        bench_class(path)
    path.write_text("class Helper: pass\nclass OneBench: pass\n")
    assert bench_class(path) == "OneBench"
