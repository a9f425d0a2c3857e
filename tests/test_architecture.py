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
    assert "3 kept, 0 broken" in proc.stdout


@pytest.mark.slow  # mypy over the package
def test_the_package_type_checks():
    proc = run_tool("mypy")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_lint_clean():
    proc = run_tool("ruff", "check", "dbnbench", "tests")
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_the_engine_imports_no_workload_and_no_report():
    """Checked on the live import graph too: importing the runner loads neither."""
    code = ("import sys, dbnbench.harness.engine.runner, dbnbench.harness.processes.worker; "
            "print(sorted(m for m in sys.modules if m.startswith(('dbnbench.suites', "
            "'dbnbench.reports', 'dbnbench.app', 'torch', 'tensorflow', 'jax'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def import_graph() -> dict[str, set[str]]:
    """Every dbnbench module and the dbnbench modules it imports, at any depth of its code
    (an import inside a function is a dependency too)."""
    import ast

    package = ROOT / "dbnbench"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here.split(".")[:len(here.split(".")) - node.level + 1]) \
                    if node.level else ""
                base = ".".join(filter(None, (base, node.module)))
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import graph's strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere():
    graph = import_graph()
    assert len(graph) > 100 and sum(map(len, graph.values())) > 300  # the graph was read
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
