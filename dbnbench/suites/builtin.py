"""The built-in workloads and suite files, and the registry the application hands the engine.

Specs import only NumPy; implementations are found per framework by their module's name (the
adapter's `impl_module`) and named as "module:Class" strings, imported inside the worker
(their modules import no ML framework themselves), so listing cases never imports one. A
workload's source hash covers its folder and every sibling module it imports (transitively):
a change to the RBM code changes the hash of the DBN workloads built on it."""

from __future__ import annotations

import ast
import re
from functools import cache
from importlib import resources
from pathlib import Path

from ..harness.frameworks import FRAMEWORKS
from ..harness.plan.registry import Registry, Workload
from ..harness.plan.workload import Spec
from .augment.spec import AugmentSpec
from .dbn.spec import DBNPretrainSpec
from .finetune.spec import FinetuneSpec
from .inference.spec import InferenceSpec
from .rbm.spec import RBMSpec
from .selftest.spec import SelftestSpec

PACKAGE = "dbnbench.suites"
# workload -> (spec, folder). Its implementations are found in the folder: per framework, the
# module its adapter names (`impl_module`), holding one `*Bench` class.
BUILTIN: dict[str, tuple[Spec, str]] = {
    "rbm-cdk": (RBMSpec(), "rbm"),
    "dbn-pretrain": (DBNPretrainSpec(), "dbn"),
    "dbn-finetune": (FinetuneSpec(), "finetune"),
    "dbn-inference": (InferenceSpec(), "inference"),
    "augment": (AugmentSpec(), "augment"),
    "harness-selftest": (SelftestSpec(), "selftest"),
}
SIBLING_IMPORT = re.compile(r"^from \.\.(\w+)", re.MULTILINE)


def source_files(folder: str) -> tuple[Path, ...]:
    """A workload folder's files and every sibling module or folder they import."""
    suites = Path(__file__).parent
    seen, todo, files = {suites / folder}, [suites / folder], set()
    while todo:
        current = todo.pop()
        for path in current.glob("*.py"):
            files.add(path)
            for name in SIBLING_IMPORT.findall(path.read_text(encoding="utf-8")):
                if (suites / f"{name}.py").is_file():
                    files.add(suites / f"{name}.py")
                elif (suites / name).is_dir() and suites / name not in seen:
                    seen.add(suites / name)
                    todo.append(suites / name)
    return tuple(sorted(files))


def bench_class(path: Path) -> str:
    """The one top-level `*Bench` class an implementation module defines, read from its
    source (nothing is imported): none or several is an error in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name.endswith("Bench")]
    if len(names) != 1:
        raise RuntimeError(f"{path}: an implementation module defines exactly one top-level "
                           f"*Bench class, this one {len(names)} ({', '.join(names) or 'none'})")
    return names[0]


def implementations(folder: str) -> dict[str, str]:
    """Per framework, "module:Class" of its implementation in a workload folder."""
    root = Path(__file__).parent / folder
    out = {}
    for name, fw in FRAMEWORKS.items():
        path = root / f"{fw.impl_module}.py" if fw.impl_module else None
        if path is not None and path.is_file():
            out[name] = f"{PACKAGE}.{folder}.{fw.impl_module}:{bench_class(path)}"
    return out


def builtin_workloads() -> list[Workload]:
    return [Workload(spec, implementations(folder), source_files(folder))
            for spec, folder in BUILTIN.values()]


def builtin_suites() -> dict[str, Path]:
    root = resources.files(PACKAGE)
    return {Path(p.name).stem: Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml")}


@cache
def default_registry() -> Registry:
    """The built-in workloads and suites, and every installed plugin's workloads."""
    registry = Registry(suites=builtin_suites())
    for workload in builtin_workloads():
        registry.add(workload)
    registry.load_plugins()
    registry.add_implementations(FRAMEWORKS)
    return registry


__all__ = ["builtin_workloads", "default_registry", "source_files"]
