"""Helpers shared by the DBN workload tests: building an Impl, loading a one-case suite."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dbnbench.harness.plan.cases import load_suite
from dbnbench.harness.plan.registry import load_impl

from .conftest import REGISTRY

# Every framework that implements the DBN workloads, in rank order (NumPy, the reference,
# first): a framework added later is tested here without an edit.
FRAMEWORKS = tuple(REGISTRY.workloads["dbn-pretrain"].impls)


def make_impl(workload: str, fw: Any, **params: Any) -> Any:
    """The workload's Impl for an activated adapter, with the spec's defaults under `params`."""
    full = {**REGISTRY.spec(workload).defaults(), **params}
    return load_impl(str(REGISTRY.impl(workload, fw.name)))(SimpleNamespace(params=full), fw)


def write_suite(tmp_path: Path, workload: str, params: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\n[[cases]]\nworkload = "{workload}"\n'
                    f'frameworks = ["numpy"]\nparams = {params}\n')
    return str(path)


def assert_rejected(tmp_path: Path, workload: str, params: str, field: str) -> None:
    """Loading a suite with these parameters fails with one line naming the case and field."""
    from dbnbench.harness.errors import UserError

    try:
        load_suite(write_suite(tmp_path, workload, params), REGISTRY)
    except UserError as exc:
        message = str(exc)
        assert f"case {workload} #1" in message and field in message, message
        assert "\n" not in message
        return
    raise AssertionError("suite loaded without error")
