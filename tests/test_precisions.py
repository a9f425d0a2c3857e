"""Precision modes are declared once (format/precisions.py): every other table of them, and
the JSON Schemas, agree with that one."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from dbnbench.format import precisions
from dbnbench.harness.frameworks import FRAMEWORKS
from dbnbench.suites.augment import spec as augment
from dbnbench.suites.inference import spec as inference


def enums_of(node: object, key: str = "precision") -> list[list[str]]:
    """Every enum a schema gives a property named `key`."""
    found: list[list[str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, dict) and "enum" in v:
                found.append(v["enum"])
            found += enums_of(v, key)
    elif isinstance(node, list):
        for v in node:
            found += enums_of(v, key)
    return found


@pytest.mark.parametrize("schema", ["result-v1.schema.json", "result-v2.schema.json"])
def test_the_schemas_enumerate_exactly_the_declared_precisions(schema):
    doc = json.loads((resources.files("dbnbench.format") / "schema" / schema).read_text())
    enums = enums_of(doc)
    assert enums, f"{schema} enumerates no precision"
    assert all(e == list(precisions.NAMES) for e in enums), enums


def test_every_adapter_answers_for_every_precision_and_no_other():
    for name, fw in FRAMEWORKS.items():
        assert set(fw.precisions) == set(precisions.NAMES), name


def test_workload_bars_are_keyed_by_declared_precisions():
    for table in (augment.TOLERANCE, augment.IDENTITY_TOLERANCE, inference.REL_ERROR_BAR):
        assert set(table) <= set(precisions.NAMES), table


def test_the_derived_tables_follow_the_declaration():
    assert precisions.ITEMSIZE["bf16"] == 2 and precisions.ITEMSIZE["bf16-mixed"] == 4
    assert precisions.PRODUCT_DTYPE["fp16-mixed"] == "float16"
    assert "fp32" not in precisions.REDUCED and "tf32" in precisions.REDUCED
    assert len(set(precisions.LABEL.values())) == len(precisions.NAMES)  # labels tell apart
    assert len(set(precisions.COLOUR.values())) == len(precisions.NAMES)
