"""The result file: schema versions, validation on load, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import UserError

SCHEMA_VERSION = 2
# Every schema version this tool has ever written, so old files keep loading: each is
# validated against its own schema, then upgraded step by step to the current one.
SCHEMA_FILES = {1: "result-v1.schema.json", 2: "result-v2.schema.json"}
STATUSES = ("ok", "skipped", "failed", "timeout", "interrupted")


def upgrade_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """v1 → v2. Loop counts became per repetition (each round chooses its own); the machine
    roofline, findings and contention are new, and v1 did not measure them: they stay empty
    (no roofline, no contention record) rather than being guessed."""
    out = {**doc, "schema_version": 2, "roofline": [], "findings": []}
    cases = []
    for case in doc["cases"]:
        steps = case.get("steps_per_repetition")
        cases.append({**case, "steps_per_repetition": [steps] * len(case["repetitions_s"])
                      if steps else [], "contention": None})
    out["cases"] = cases
    return out


UPGRADES = {1: upgrade_v1}


@cache
def schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    text = resources.files("dbnbench.harness").joinpath("schema", SCHEMA_FILES[version]).read_text()
    return json.loads(text)


def validate(doc: Any, origin: str = "result") -> dict[str, Any]:
    """Check that `doc` is a dbnbench result of a known schema version (one-line error if
    not) and return it in the current version."""
    if not isinstance(doc, dict):
        raise UserError(f"{origin}: not a dbnbench result file (top level is not an object)")
    tool = doc.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != "dbnbench":
        raise UserError(f"{origin}: not a dbnbench result file (no tool.name 'dbnbench')")
    version = doc.get("schema_version")
    if version not in SCHEMA_FILES:
        known = ", ".join(map(str, SCHEMA_FILES))
        raise UserError(
            f"{origin}: schema_version {version!r} is not supported (this dbnbench reads {known})"
        )
    check_schema(doc, version, origin)
    while version in UPGRADES:
        doc = UPGRADES[version](doc)
        version = doc["schema_version"]
    return doc


def check_schema(doc: dict[str, Any], version: int, origin: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(version))
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(f"{origin}: invalid at {where}: {error.message[:200]}")


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a result file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read ({exc.__class__.__name__})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        kind = "truncated" if exc.pos >= len(text.rstrip()) else "not valid JSON"
        raise UserError(f"{p}: {kind} (line {exc.lineno}, column {exc.colno})") from None
    return validate(doc, str(p))


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write a file so a reader sees the old content or the new, never a half-written one."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        # mkstemp makes the file private (0600); results and reports are meant to be read
        # and published, so give them the mode a plain open() would, under the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def dump(doc: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Validate against the current schema, then write a result file atomically."""
    check_schema(doc, SCHEMA_VERSION, str(path))
    write_atomic(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")
