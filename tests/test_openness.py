"""Frameworks are open: each is one declared adapter, and no module outside a framework's own
files (its adapter, the adapter's helper modules and its workloads' implementation modules)
names it. The engine, the reports and the application name none, so a new framework is new
files, not edits."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from dbnbench.harness.frameworks import FRAMEWORKS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dbnbench"
ADAPTERS = PACKAGE / "harness" / "frameworks"


def base_dependencies() -> set[str]:
    """Import names of dbnbench's own dependencies: the engine may use those libraries
    (NumPy for statistics, scikit-learn's digits data) without naming a framework."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[; ]", d, maxsplit=1)[0].strip().lower() for d in deps}
    modules = {fw.module for fw in FRAMEWORKS.values() if set(fw.distributions) & names}
    return modules | {n.replace("-", "_") for n in names}


def own_files(name: str) -> set[Path]:
    """A framework's own files: its adapter module, the modules beside it that share the
    adapter's prefix (torch_fw.py → torch_*.py), and every implementation module."""
    cls = FRAMEWORKS[name]
    adapter = Path(__import__(cls.__module__, fromlist=["x"]).__file__ or "")
    prefix = adapter.stem.removesuffix("_fw")
    files = {p for p in ADAPTERS.glob(f"{prefix}_*.py")}
    if cls.impl_module:
        files |= set((PACKAGE / "suites").glob(f"*/{cls.impl_module}.py"))
    return files


def named_in(path: Path, name: str, module: str, allowed_imports: set[str]) -> list[str]:
    """Where `path` names a framework: a string that is its name (or its module's), or an
    import of its module (unless the library is one of dbnbench's own dependencies).
    Docstrings and comments may mention it; code may not."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                    ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and node.value in (name, module):
            hits.append(f"{where}:{node.lineno}: string {node.value!r}")
        imported = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                    else [])
        for mod in imported:
            top = mod.split(".")[0]
            if top == module and module not in allowed_imports:
                hits.append(f"{where}:{node.lineno}: import {mod}")
    return hits


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_no_module_outside_a_frameworks_own_files_names_it(name):
    cls = FRAMEWORKS[name]
    mine = own_files(name)
    allowed = base_dependencies()
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in mine or (path.parent == ADAPTERS and path.stem.endswith(("_fw", "_facts",
                                                                             "_probe", "_dist"))):
            continue  # other adapters may build on this one (scikit-learn on NumPy)
        hits += named_in(path, cls.name, cls.module, allowed)
    assert not hits, "\n".join(hits)


def test_the_check_finds_a_framework_named_in_engine_code(tmp_path):
    """The check itself can fail: a module that names a framework is caught."""
    path = tmp_path / "engine_module.py"
    path.write_text('"""Docstrings may say torch."""\nimport torch\nKIND = "torch"\n')
    hits = named_in(path, "torch", "torch", set())
    assert len(hits) == 2 and "import torch" in hits[0] and "'torch'" in hits[1]


def test_every_framework_is_one_declared_adapter():
    for name, cls in FRAMEWORKS.items():
        assert cls.name == name and cls.install_hint and cls.short()
        assert cls.impl_module is None or (PACKAGE / "suites").glob(f"*/{cls.impl_module}.py")
