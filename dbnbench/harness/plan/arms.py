"""Arms from the command line: `NAME=PYTHON` (an interpreter with dbnbench installed) and
`NAME:KEY=VALUE` (a variable for that arm's workers), checked before anything runs."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable

from ..errors import UserError
from ..records import Arm

NAME = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


def parse_arms(specs: Iterable[str], env_specs: Iterable[str]) -> tuple[Arm, ...]:
    """The arms of a run, in the order given; the default single arm when none is."""
    pythons: dict[str, str] = {}
    for spec in specs:
        name, sep, python = spec.partition("=")
        if not sep or not NAME.match(name) or not python:
            raise UserError(f"--arm {spec!r}: expected NAME=PYTHON, e.g. base=.venv-base/bin/python")
        if name in pythons:
            raise UserError(f"--arm: arm {name!r} is given twice")
        found = shutil.which(python) or (python if os.access(python, os.X_OK) else None)
        if found is None:
            raise UserError(f"--arm {name}: {python} is not an executable Python")
        pythons[name] = os.path.abspath(found)
    envs: dict[str, dict[str, str]] = {name: {} for name in pythons}
    for spec in env_specs:
        name, sep, assignment = spec.partition(":")
        key, eq, value = assignment.partition("=")
        if not sep or not eq or not key:
            raise UserError(f"--arm-env {spec!r}: expected NAME:KEY=VALUE")
        if name not in envs:
            raise UserError(f"--arm-env {spec!r}: no arm {name!r} (give it with --arm first)")
        envs[name][key] = value
    if not pythons:
        return (Arm(),)
    return tuple(Arm(name, python, envs[name]) for name, python in pythons.items())
