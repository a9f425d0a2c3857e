"""How to install an optional part of dbnbench, said the way that works where it runs.

`pip install 'dbnbench[torch]'` asks the package index; from a clone (an editable install,
or the source tree on the path) what works is `pip install -e '.[torch]'` in the clone, so
the hint names the clone: `.` when it is the working directory, its path otherwise."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def clone() -> Path | None:
    """The source tree dbnbench runs from, or None for an installed package (a wheel in
    site-packages has no pyproject.toml beside it)."""
    root = Path(__file__).resolve().parents[2]
    project = root / "pyproject.toml"
    try:
        text = project.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "dbnbench"' in text else None


def pip_extra(extra: str, cwd: Path | None = None) -> str:
    """The pip command that adds `extra` (an optional-dependency group) here."""
    where = clone()
    if where is None:
        return f"pip install 'dbnbench[{extra}]'"
    try:
        here = (cwd or Path.cwd()).resolve()
    except OSError:  # a working directory that was removed
        here = None
    return f"pip install -e '{'.' if here == where else where}[{extra}]'"
