"""The registry the engine is handed: workloads by name, each a spec with its implementations
per framework, and the suite files that can name them.

The engine never imports a workload by name. The application builds a Registry from the
built-in workloads (dbnbench.suites) and from any installed package that declares workloads
in the entry-point group `dbnbench.workloads`, and passes it down. Implementations are named
as "module:Class" strings and imported only inside a worker, so listing cases never imports
an ML framework."""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UserError
from ..frameworks.base import Framework
from .workload import Spec

ENTRY_POINTS = "dbnbench.workloads"


@dataclass(frozen=True)
class Workload:
    """One workload: its spec, its implementations ("module:Class" per framework), and the
    source files whose content is its identity (hashed, so a changed workload is never
    silently compared with its old self). Without `sources`, the spec's own folder."""

    spec: Spec
    impls: Mapping[str, str]
    sources: tuple[Path, ...] = ()
    origin: str = "dbnbench"

    @property
    def name(self) -> str:
        return self.spec.name

    def source_files(self) -> list[Path]:
        if self.sources:
            return sorted(set(self.sources))
        module = importlib.import_module(type(self.spec).__module__)
        return sorted(Path(str(module.__file__)).parent.glob("*.py"))


# What an entry point may load: a Workload, several, or a function returning them.
Plugin = Workload | Iterable[Workload] | Callable[[], Workload | Iterable[Workload]]


@dataclass
class Registry:
    workloads: dict[str, Workload] = field(default_factory=dict)
    suites: dict[str, Path] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # entry point -> why it did not load
    _hashes: dict[str, str] = field(default_factory=dict, repr=False)

    def add(self, workload: Workload) -> None:
        if workload.name in self.workloads:
            other = self.workloads[workload.name].origin
            raise UserError(f"workload '{workload.name}' from {workload.origin} is already "
                            f"registered by {other}")
        self.workloads[workload.name] = workload

    @property
    def specs(self) -> dict[str, Spec]:
        return {name: w.spec for name, w in self.workloads.items()}

    def spec(self, name: str) -> Spec:
        if name not in self.workloads:
            raise UserError(f"unknown workload '{name}' (known: {', '.join(self.workloads)})")
        return self.workloads[name].spec

    def impl(self, workload: str, framework: str) -> str | None:
        """The "module:Class" implementing this workload in this framework, or None."""
        w = self.workloads.get(workload)
        return None if w is None else w.impls.get(framework)

    def source_hash(self, workload: str) -> str:
        if workload not in self._hashes:
            digest = hashlib.sha256()
            for path in self.workloads[workload].source_files():
                digest.update("/".join(path.parts[-2:]).encode())
                digest.update(path.read_bytes())
            self._hashes[workload] = digest.hexdigest()[:16]
        return self._hashes[workload]

    def load_plugins(self, group: str = ENTRY_POINTS) -> None:
        """Add every workload that installed packages declare in the entry-point group. A
        plugin that fails to load, or names an implementation class its module does not
        define, is recorded in `broken`, not fatal to the command."""
        for ep in importlib.metadata.entry_points(group=group):
            try:
                for workload in plugin_workloads(ep.load()):
                    for path in workload.impls.values():
                        if why := impl_problem(path):
                            raise LookupError(why)
                    self.add(Workload(workload.spec, workload.impls, workload.sources,
                                      origin=f"entry point {ep.name} ({ep.value})"))
            except Exception as exc:  # a third party's import error must not break dbnbench
                self.broken[ep.name] = one_line(exc)

    def add_implementations(self, frameworks: Mapping[str, type[Framework]]) -> None:
        """Implementations a framework's package brings for workloads defined elsewhere
        (`Framework.implementations`), each checked before it is used: an unknown workload or
        a class its module does not define is recorded in `broken`."""
        for name, fw in frameworks.items():
            for workload, path in fw.implementations.items():
                w = self.workloads.get(workload)
                why = (f"no workload '{workload}'" if w is None else
                       f"'{workload}' already has a {name} implementation" if name in w.impls
                       else impl_problem(path))
                if why:
                    self.broken[f"{name}:{workload}"] = why
                    continue
                assert w is not None
                self.workloads[workload] = replace(w, impls={**w.impls, name: path})


def plugin_workloads(obj: Plugin) -> list[Workload]:
    if isinstance(obj, Workload):
        return [obj]
    if callable(obj):
        return plugin_workloads(obj())
    items = list(obj)
    if not all(isinstance(w, Workload) for w in items):
        raise TypeError("an entry point must give dbnbench.harness.plan.registry.Workload objects")
    return items


def one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def impl_problem(path: str) -> str | None:
    """Why "module:Class" names no class, found without importing the module (its source is
    read): a misspelt implementation is refused when the registry is built, not in a worker."""
    module, _, name = path.partition(":")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        return f"{path}: {one_line(exc)}"
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return f"{path}: no Python module {module}" if spec is None else None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"), spec.origin)
    defined = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    return None if name in defined else f"{path}: {module} defines no {name}"


def load_impl(path: str) -> type:
    """Import "module:Class" (inside a worker)."""
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not isinstance(cls, type):
        raise TypeError(f"{path} is not a class")
    return cls


__all__ = ["ENTRY_POINTS", "Registry", "Workload", "load_impl"]
