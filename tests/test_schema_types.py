"""The result file's TypedDicts (format/results.py) and its current JSON Schema
(format/schema/result-v2.schema.json) are one description, checked here against each other.

The schema is what `load` and `dump` enforce; the TypedDicts are what mypy holds every reader
and writer to. Nothing else ties them: a field added to one alone passes mypy and passes
validation, and the two drift apart until a report reads a key that no file has. So every
TypedDict reachable from ResultDoc is walked beside its schema node, recursively: the same
keys, the same required keys, the same JSON type at every level.

What the walk reports is a list of "path: what differs" lines (path as in `cases[].metrics`,
`[]` an array's items, `{}` an object's values), all of them at once, so one run shows every
disagreement rather than the first."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, NotRequired, Required, Union, cast, get_args, get_origin

from dbnbench.format import results
from dbnbench.format.json_types import JSON

Node = Mapping[str, object]  # a schema node, read only
Annotation = object  # what typing.get_type_hints gives: classes, generic aliases, unions

SCHEMA_VERSION = results.SCHEMA_VERSION
JSON_TYPES = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
PYTHON_SCALARS: dict[object, str] = {
    type(None): "null", None: "null", bool: "boolean", int: "integer", float: "number",
    str: "string"}

# Keywords that constrain values, not shape: ranges, formats, patterns are meaning, which
# format/checks.py checks and a type cannot say. Annotations say nothing to check.
NOT_SHAPE = frozenset({
    "description", "title", "$comment", "examples", "default", "format", "pattern",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "$schema", "$id", "$defs", "definitions"})
# Keywords the walk reads. Any other (allOf, if/then, prefixItems, ...) is reported rather
# than passed over, since the walk could not say whether the types agree with it.
SHAPE = frozenset({
    "$ref", "type", "enum", "const", "anyOf", "oneOf", "properties", "required",
    "additionalProperties", "patternProperties", "items"})

# The schema's deliberate departures from the types, each with its reason. Keyed by path and
# kind; `test_every_allowed_departure_still_exists` keeps each entry honest.
OPAQUE = "schema names fields of an object the types keep as open JSON"
ALLOWED: dict[tuple[str, str], str] = {
    # The engine builds these as open JSON (JSONObject) and hands them over whole; typing them
    # here would mean retyping their writers in the engine. The schema pins the fields that
    # readers rely on, and leaves the rest open.
    ("settings", OPAQUE): "records.Settings as JSON, plus the arms: typed in the engine",
    ("cases[].parallel", OPAQUE): "a worker's process-group record, built as JSON",
    ("cases[].metrics.compile", OPAQUE): "merge.compile_over's record, built as JSON",
}


@dataclass
class Walk:
    """What comparing the types with the schema found."""

    problems: list[str] = field(default_factory=list)
    allowed: set[tuple[str, str]] = field(default_factory=set)  # departures met and excused
    compared: set[type] = field(default_factory=set)  # TypedDicts compared with a node
    stack: list[type] = field(default_factory=list)  # being compared, outermost first

    def depart(self, path: str, kind: str, detail: str) -> None:
        if (path, kind) in ALLOWED:
            self.allowed.add((path, kind))
        else:
            self.problems.append(f"{shown(path)}: {kind}: {detail}")

    def differ(self, path: str, what: str) -> None:
        self.problems.append(f"{shown(path)}: {what}")


def shown(path: str) -> str:
    return path or "(top level)"


def child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def listed(values: Iterable[object]) -> str:
    return "{" + ", ".join(sorted(map(repr, values))) + "}"


# --- the types' side -------------------------------------------------------------------

def unwrapped(annotation: Annotation) -> Annotation:
    """The type of a field without its presence marker (NotRequired, Required)."""
    while get_origin(annotation) in (NotRequired, Required):
        annotation = get_args(annotation)[0]
    return annotation


def members(annotation: Annotation) -> list[Annotation]:
    """The alternatives of a union (`X | None` included), or the type itself."""
    annotation = unwrapped(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in members(arg)]
    return [annotation]


def is_typeddict(annotation: Annotation) -> bool:
    return isinstance(annotation, type) and typing.is_typeddict(annotation)


def json_types(annotation: Annotation) -> frozenset[str]:
    """The JSON types a value of this type can be."""
    out: set[str] = set()
    for member in members(annotation):
        origin = get_origin(member)
        if member in PYTHON_SCALARS:
            out.add(PYTHON_SCALARS[member])
        elif origin is Literal:
            out.update(PYTHON_SCALARS[type(v)] for v in get_args(member))
        elif origin is list or member is list:
            out.add("array")
        elif origin is dict or member is dict or is_typeddict(member):
            out.add("object")
        else:  # a type the format has no JSON for: the walk must learn it, not guess
            raise TypeError(f"no JSON type for {member!r}")
    return frozenset(out)


def any_json(annotation: Annotation) -> bool:
    """Whether the type is any JSON value (json_types.JSON): nothing below it to compare."""
    return json_types(annotation) == JSON_TYPES


def field_types(td: type) -> dict[str, Annotation]:
    return typing.get_type_hints(td, include_extras=True)


def required_keys(td: type) -> frozenset[str]:
    """The keys a TypedDict requires. results.py postpones its annotations, and CPython then
    files every key of a total TypedDict in __required_keys__, NotRequired ones too
    (python/cpython#97727); the evaluated hints keep the marker, so they correct it."""
    hints = field_types(td)
    marked = {k: get_origin(v) for k, v in hints.items()}
    keys: frozenset[str] = td.__required_keys__  # type: ignore[attr-defined]
    return frozenset(k for k in hints if marked[k] is Required
                     or (k in keys and marked[k] is not NotRequired))


def all_keys(td: type) -> frozenset[str]:
    keys = td.__required_keys__ | td.__optional_keys__  # type: ignore[attr-defined]
    return cast(frozenset[str], keys)


def reachable(root: type) -> set[type]:
    """Every TypedDict a value of `root` can hold, at any depth, by the types alone."""
    seen: set[type] = set()

    def visit(annotation: Annotation) -> None:
        for member in members(annotation):
            if is_typeddict(member):
                td = cast(type, member)
                if td not in seen:
                    seen.add(td)
                    for hint in field_types(td).values():
                        visit(hint)
            elif get_origin(member) in (list, dict) and not any_json(member):
                for arg in get_args(member):
                    visit(arg)

    visit(root)
    return seen


def defined_typeddicts() -> set[type]:
    return {v for v in vars(results).values()
            if is_typeddict(v) and getattr(v, "__module__", None) == results.__name__}


# --- the schema's side -----------------------------------------------------------------

def resolved(node: object, root: Node) -> Node:
    """A schema node with its `$ref` followed (local references only: the file has no other)."""
    assert isinstance(node, Mapping), f"not a schema node: {node!r}"
    seen: list[str] = []
    while "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str) and ref.startswith("#/"), f"not a local $ref: {ref!r}"
        assert ref not in seen, f"$ref loop through {ref}"
        seen.append(ref)
        # 2020-12 lets a $ref sit beside other keywords; only annotations do here, and the
        # walk would drop any other, so it is refused rather than ignored.
        assert set(node) - {"$ref"} <= NOT_SHAPE, f"keywords beside {ref}: {sorted(node)}"
        target: object = root
        for part in ref[2:].split("/"):
            assert isinstance(target, Mapping), f"{ref} does not resolve"
            target = target[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(target, Mapping), f"{ref} is not a schema node"
        node = target
    return node


def value_type(value: object) -> str:
    return PYTHON_SCALARS[bool if isinstance(value, bool) else type(value)]


def schema_types(node: Node, root: Node) -> frozenset[str] | None:
    """The JSON types the node admits, or None where it leaves the type open."""
    if "type" in node:
        named = node["type"]
        return frozenset([named] if isinstance(named, str) else cast(list[str], named))
    if "const" in node:
        return frozenset({value_type(node["const"])})
    if "enum" in node:
        return frozenset(value_type(v) for v in cast(list[object], node["enum"]))
    branches = node.get("anyOf", node.get("oneOf"))
    if isinstance(branches, list):
        out: set[str] = set()
        for branch in branches:
            kinds = schema_types(resolved(branch, root), root)
            if kinds is None:
                return None
            out |= kinds
        return frozenset(out)
    return None


def schema_values(node: Node) -> frozenset[object] | None:
    if "const" in node:
        return frozenset({node["const"]})
    if "enum" in node:
        return frozenset(cast(list[object], node["enum"]))
    return None


def branch(node: Node, kind: str, root: Node, path: str, walk: Walk) -> Node | None:
    """The part of a node that describes values of one JSON type: the node itself, or the
    one anyOf/oneOf branch of that type (`{"anyOf": [{"$ref": ...}, {"type": "null"}]}`)."""
    branches = node.get("anyOf", node.get("oneOf"))
    if not isinstance(branches, list):
        return node
    fitting = [b for b in (resolved(x, root) for x in branches)
               if kind in (schema_types(b, root) or JSON_TYPES)]
    if len(fitting) != 1:
        walk.differ(path, f"{len(fitting)} schema branches of type {kind}, expected one")
        return None
    return fitting[0]


# --- the comparison --------------------------------------------------------------------

def compare(annotation: Annotation, raw: object, root: Node, path: str, walk: Walk) -> None:
    """One field's type against its schema node, then everything below it."""
    node = resolved(raw, root)
    unknown = set(node) - SHAPE - NOT_SHAPE
    if unknown:
        walk.differ(path, f"schema keywords this test does not read: {listed(unknown)}")
    if any_json(annotation):
        return  # any JSON value: whatever the schema says of it, the type allows
    compare_types(annotation, node, root, path, walk)
    alternatives = members(annotation)
    if len([m for m in alternatives if json_types(m) == {"object"}]) > 1:
        walk.differ(path, "two object types in one union: no schema node tells them apart")
        return
    for member in alternatives:
        origin = get_origin(member)
        if is_typeddict(member):
            part = branch(node, "object", root, path, walk)
            if part is not None:
                compare_typeddict(cast(type, member), part, root, path, walk)
        elif origin is list:
            part = branch(node, "array", root, path, walk)
            if part is not None:
                compare_items(get_args(member)[0], part, root, path, walk)
        elif origin is dict:
            part = branch(node, "object", root, path, walk)
            if part is not None:
                compare_values(get_args(member)[1], part, root, path, walk)


def compare_types(annotation: Annotation, node: Node, root: Node, path: str,
                  walk: Walk) -> None:
    expected = json_types(annotation)
    found = schema_types(node, root)
    if found is None:
        walk.differ(path, f"schema leaves the type open; the type says {listed(expected)}")
        return
    if "number" in expected and "integer" not in expected and "integer" in found:
        # A float field holds integers too (PEP 484's numeric tower; JSON's number includes
        # integers), so a schema that narrows it to integer does not contradict it.
        found = (found - {"integer"}) | {"number"}
    if found != expected:
        walk.differ(path, f"type is {listed(expected)}, schema says {listed(found)}")
    literals = [m for m in members(annotation) if get_origin(m) is Literal]
    allowed = schema_values(node)
    if literals and allowed is not None:
        values = {v for m in literals for v in get_args(m)}
        if "null" in expected:
            values.add(None)
        if values != allowed:
            walk.differ(path, f"Literal values {listed(values)}; schema's {listed(allowed)}")


def compare_typeddict(td: type, node: Node, root: Node, path: str, walk: Walk) -> None:
    if td in walk.stack:
        return  # a recursive type: its node was compared one level up
    walk.compared.add(td)
    walk.stack.append(td)
    properties = cast(Mapping[str, object], node.get("properties", {}))
    keys = all_keys(td)
    if keys - set(properties):
        walk.differ(path, f"in {td.__name__} only: {listed(keys - set(properties))}")
    if set(properties) - keys:
        walk.differ(path, f"in schema only: {listed(set(properties) - keys)}")
    required = set(cast(list[str], node.get("required", [])))
    wanted = required_keys(td)
    if wanted - required:
        walk.differ(path, f"required in {td.__name__} only: {listed(wanted - required)}")
    if required - wanted:
        walk.differ(path, f"required in schema only: {listed(required - wanted)}")
    # An absent additionalProperties is JSON Schema's open object, which every object of the
    # file is (a newer tool's extra key loads in an older one): no statement about a field.
    # Typed extra keys are one, and a TypedDict names every key it has.
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping) or node.get("patternProperties"):
        walk.differ(path, f"schema types keys that {td.__name__} does not name")
    hints = field_types(td)
    for key in sorted(keys & set(properties)):
        compare(hints[key], properties[key], root, child(path, key), walk)
    walk.stack.pop()


def compare_items(item: Annotation, node: Node, root: Node, path: str, walk: Walk) -> None:
    items = node.get("items")
    if items is None:
        if not any_json(item):
            walk.differ(f"{path}[]", "schema leaves the items open; the type says "
                                     f"{listed(json_types(item))}")
        return
    compare(item, items, root, f"{path}[]", walk)


def compare_values(value: Annotation, node: Node, root: Node, path: str, walk: Walk) -> None:
    """dict[str, X]: the schema types its values through additionalProperties, or through
    patternProperties (whose key patterns a `str` key cannot express: the values must still
    be X)."""
    if node.get("properties"):
        walk.depart(path, OPAQUE, f"schema names {listed(cast(Node, node['properties']))}")
    patterns = cast(Mapping[str, object], node.get("patternProperties", {}))
    for pattern, sub in sorted(patterns.items()):
        compare(value, sub, root, f"{path}{{{pattern}}}", walk)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        compare(value, extra, root, f"{path}{{}}", walk)
    elif extra is False and not patterns:
        walk.differ(path, "schema admits no key; the type is a mapping")
    elif not patterns and not any_json(value):
        walk.differ(f"{path}{{}}", "schema leaves the values open; the type says "
                                   f"{listed(json_types(value))}")


def walk_result_doc() -> Walk:
    root = results.schema(SCHEMA_VERSION)
    walk = Walk()
    compare(results.ResultDoc, root, root, "", walk)
    return walk


def schema_refs(node: object) -> Iterator[str]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from schema_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_refs(value)


# --- the tests -------------------------------------------------------------------------

def test_the_typeddicts_and_the_schema_describe_the_same_document() -> None:
    problems = walk_result_doc().problems
    assert not problems, "the result TypedDicts and the v2 schema disagree:\n" + \
        "\n".join(problems)


def test_every_typeddict_of_the_format_is_reached_and_compared() -> None:
    """A TypedDict that ResultDoc does not reach describes nothing in the file; one that is
    reached but was never set beside a schema node is unchecked."""
    defined = defined_typeddicts()
    assert results.ResultDoc in defined
    unreached = defined - reachable(results.ResultDoc)
    assert not unreached, f"not reachable from ResultDoc: {sorted(t.__name__ for t in unreached)}"
    uncompared = defined - walk_result_doc().compared
    assert not uncompared, f"no schema node compared: {sorted(t.__name__ for t in uncompared)}"


def test_every_allowed_departure_still_exists() -> None:
    """An excuse for a departure that is gone would excuse the next one at that path."""
    assert set(ALLOWED) == walk_result_doc().allowed


def test_every_schema_definition_is_used() -> None:
    """A definition nothing refers to validates nothing, yet reads like part of the format
    (and the walk, which follows references, never compares it)."""
    root = results.schema(SCHEMA_VERSION)
    used = set(schema_refs(root))
    for container in ("$defs", "definitions"):
        names = cast(Node, root.get(container, {}))
        unused = {n for n in names if f"#/{container}/{n}" not in used}
        assert not unused, f"{container} that nothing refers to: {sorted(unused)}"


# Documents for the walk's own tests, at module level: get_type_hints resolves the names in
# these postponed annotations (postponed as results.py's are) in the module.
class Inner(typing.TypedDict):
    a: int
    b: NotRequired[Literal["x", "y"] | None]


class Outer(typing.TypedDict):
    inner: list[Inner]
    rates: dict[str, float]
    maybe: Inner | None
    series: list[float | None]
    blob: dict[str, JSON]  # open JSON, as JSONObject is (which names JSON, resolved here)


INNER_AGREES: dict[str, object] = {
    "type": "object", "required": ["a"],
    "properties": {"a": {"type": "integer", "minimum": 0}, "b": {"enum": ["x", "y", None]}}}


def test_the_walk_passes_what_agrees() -> None:
    """$ref, an anyOf with null, patternProperties and an integer where a float is typed
    are each the same shape as the types, not a difference."""
    root: dict[str, object] = {
        "type": "object", "required": ["inner", "rates", "maybe", "series", "blob"],
        "properties": {
            "inner": {"type": "array", "items": {"$ref": "#/$defs/inner"}},
            "rates": {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "integer"}}},
            "maybe": {"anyOf": [{"$ref": "#/$defs/inner"}, {"type": "null"}]},
            "series": {"type": "array", "items": {"type": ["number", "null"]}},
            "blob": {"type": "object"}},
        "$defs": {"inner": INNER_AGREES}}
    walk = Walk()
    compare(Outer, root, root, "", walk)
    assert walk.problems == []
    assert walk.compared == {Outer, Inner}


def test_the_walk_reports_every_difference_by_path() -> None:
    """The walk itself can fail: each kind of difference is reported, at its path."""
    root: dict[str, object] = {
        "type": "object", "required": ["inner", "rates", "maybe"],
        "properties": {
            "inner": {"type": "array", "items": {"$ref": "#/$defs/inner"}},
            "rates": {"type": "object", "additionalProperties": {"type": "string"}},
            "maybe": {"type": "object", "allOf": []},
            "series": {"type": "array"},
            "blob": {"type": "object", "properties": {"k": {}}},
            "extra": {"type": "string"}},
        "$defs": {"inner": {
            "type": "object", "required": ["a", "b"],
            "properties": {"b": {"enum": ["x", "z", None]}, "c": {"type": "integer"}}}}}
    walk = Walk()
    compare(Outer, root, root, "", walk)
    assert sorted(walk.problems) == sorted([
        "(top level): in schema only: {'extra'}",
        "(top level): required in Outer only: {'blob', 'series'}",
        "inner[]: in Inner only: {'a'}",
        "inner[]: in schema only: {'c'}",
        "inner[]: required in schema only: {'b'}",
        "inner[].b: Literal values {'x', 'y', None}; schema's {'x', 'z', None}",
        "rates{}: type is {'number'}, schema says {'string'}",
        "maybe: schema keywords this test does not read: {'allOf'}",
        "maybe: type is {'null', 'object'}, schema says {'object'}",
        "maybe: in Inner only: {'a', 'b'}",
        "maybe: required in Inner only: {'a'}",
        "series[]: schema leaves the items open; the type says {'null', 'number'}",
        f"blob: {OPAQUE}: schema names {{'k'}}",
    ])
