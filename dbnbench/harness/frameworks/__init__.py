"""The framework adapters by name: each framework is one declared class (a `Framework`).

Built-in adapters are the `*_fw` modules of this package; an outside package adds its own
through the entry-point group `dbnbench.frameworks` (an adapter class, several, or a function
returning them). No other module names a framework: the engine, the reports and the
application look them up here. Importing this imports no ML framework: an adapter imports
its own inside `activate`. An outside adapter that fails to load or to validate is kept in
BROKEN with the reason, never fatal to a command."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

from ...format.precisions import NAMES
from .base import Framework

ENTRY_POINTS = "dbnbench.frameworks"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
REQUIRED = ("name", "module", "distributions", "install_hint", "precisions")

AdapterPlugin = type[Framework] | Iterable[type[Framework]] | Callable[[], object]


def problem(cls: object) -> str | None:
    """Why `cls` is no usable adapter, or None."""
    if not (isinstance(cls, type) and issubclass(cls, Framework)):
        return f"{cls!r} is not a dbnbench.harness.frameworks.base.Framework subclass"
    missing = [a for a in REQUIRED if not hasattr(cls, a)]
    if missing:
        return f"{cls.__name__} declares no {', '.join(missing)}"
    if not NAME.match(cls.name):
        return f"{cls.__name__}: name {cls.name!r} is not a short lower-case identifier"
    unknown = sorted(set(cls.precisions) - set(NAMES))
    if unknown:
        return f"{cls.__name__}: unknown precisions {unknown} (known: {', '.join(NAMES)})"
    return None


def builtin_adapters() -> list[type[Framework]]:
    """Every adapter class defined in this package's `*_fw` modules."""
    found: list[type[Framework]] = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.endswith("_fw"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found += [obj for obj in vars(module).values()
                  if isinstance(obj, type) and issubclass(obj, Framework)
                  and obj.__module__ == module.__name__ and "name" in vars(obj)]
    return found


def plugin_adapters(obj: object) -> list[object]:
    if isinstance(obj, type):
        return [obj]
    if callable(obj):
        return plugin_adapters(obj())
    if isinstance(obj, Iterable):
        return list(obj)
    return [obj]


def catalogue(group: str = ENTRY_POINTS) -> tuple[dict[str, type[Framework]], dict[str, str]]:
    """(adapters by name, in rank order; entry point -> why it did not load)."""
    adapters: dict[str, type[Framework]] = {}
    broken: dict[str, str] = {}
    for cls in builtin_adapters():
        why = problem(cls)
        if why or cls.name in adapters:  # a bug in dbnbench itself: fail loudly, here
            raise RuntimeError(why or f"two built-in adapters named {cls.name!r}")
        adapters[cls.name] = cls
    for ep in importlib.metadata.entry_points(group=group):
        try:
            for obj in plugin_adapters(ep.load()):
                why = problem(obj)
                if why:
                    raise TypeError(why)
                cls = cast(type[Framework], obj)
                if cls.name in adapters:
                    raise ValueError(f"framework {cls.name!r} is already registered by "
                                     f"{adapters[cls.name].__module__}")
                adapters[cls.name] = cls
        except Exception as exc:  # a third party's error must not break dbnbench
            broken[ep.name] = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    ordered = sorted(adapters.values(), key=lambda c: (c.rank, c.name))
    return {c.name: c for c in ordered}, broken


FRAMEWORKS, BROKEN = catalogue()


__all__ = ["BROKEN", "ENTRY_POINTS", "FRAMEWORKS", "Framework", "catalogue"]
