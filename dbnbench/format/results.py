"""The result file: its typed shape, schema versions, validation on load, atomic writes.

The JSON Schemas (schema/result-v*.schema.json) are the file contract; the TypedDicts here
are the same shape for the type checker, so a report that reads a key the file does not
have, or a merge that writes one it should not, fails `mypy` rather than a user's run."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, NotRequired, TypedDict, cast

import jsonschema

from .checks import meaning_problem, plain_problem
from .errors import UserError
from .inputs import read_bounded
from .json_types import JSON, JSONObject
from .output import write_text
from .shown import visible_all


class Tool(TypedDict):
    name: str
    version: str


class CPU(TypedDict):
    model: str
    cores: int | None
    threads: int | None


class GPU(TypedDict):
    name: str
    memory_bytes: int | None
    driver: str | None
    cuda: str | None


class Machine(TypedDict):
    hostname: str
    os: str
    python: str
    cpu: CPU
    memory_bytes: int
    gpus: list[GPU]
    frameworks: dict[str, str | None]
    framework_labels: NotRequired[dict[str, str]]  # each framework's short label
    usable_cpus: NotRequired[int]
    platform: NotRequired[str]
    executable: NotRequired[str]
    fingerprint: NotRequired[JSONObject]
    runtime: NotRequired[JSONObject]


class Calibration(TypedDict):
    framework: str
    device: str
    precision: str
    gemm_flops_per_s: float | None
    reason: NotRequired[str | None]
    by_round: NotRequired[list[float | None]]
    by_size: NotRequired[dict[str, float]]
    best_size: NotRequired[int | None]
    stopped: NotRequired[str | None]
    bandwidth_bytes_per_s: NotRequired[float | None]
    bandwidth_by_round: NotRequired[list[float | None]]
    binary_flops_per_s_by_round: NotRequired[list[float | None]]
    arm: NotRequired[str]
    roof_by_round: NotRequired[list[str | None]]  # "swept", "checked", "carried"
    drift_by_round: NotRequired[list[float | None]]
    busy_by_round: NotRequired[list[bool | None]]
    notes_by_round: NotRequired[list[str | None]]


class Roof(TypedDict):
    device: str
    precision: str
    gemm_flops_per_s: float
    by_round: list[float | None]
    best_framework: str | None
    frameworks: dict[str, float]
    bandwidth_bytes_per_s: float | None
    bandwidth_by_round: list[float | None]


class Finding(TypedDict):
    kind: str
    severity: str
    message: str
    cases: list[str]
    framework: NotRequired[str | None]
    device: NotRequired[str]
    precision: NotRequired[str]
    library: NotRequired[str]
    variable: NotRequired[str | None]
    arm: NotRequired[str]  # the arm whose cases it was drawn from (findings.per_arm)


class ItemsPerS(TypedDict):
    median: float
    ci_low: float | None
    ci_high: float | None


class StepS(TypedDict):
    median: float
    iqr: float
    min: float
    max: float
    cv: float


class CaseRoofline(TypedDict):
    bound: str | None
    pct_of_roof: float | None
    arithmetic_intensity: float | None
    attainable_flops_per_s: float | None
    bytes_per_s: float | None
    pct_of_bandwidth: float | None


EnergyMethod = Literal["counter", "sampled power"]


class Metrics(TypedDict, total=False):
    items_per_s: ItemsPerS | None
    step_s: StepS | None
    flops_per_s: float | None
    pct_of_peak: float | None
    pct_of_peak_by_round: list[float | None]
    pct_of_framework_peak: float | None
    roofline: CaseRoofline | None
    peak_host_memory_bytes: int | None
    peak_device_memory_bytes: int | None
    energy_j: float | None
    energy_per_item_j: float | None
    items_per_joule: NotRequired[float | None]
    avg_power_w: float | None
    energy_source: str | None
    energy_method: NotRequired[EnergyMethod | None]
    energy_window_s: NotRequired[float | None]
    energy_period_s: NotRequired[float | None]
    quality: JSONObject | None
    extra: JSONObject | None
    compile: NotRequired[JSONObject]  # a compiling framework's compilations (JAX's jit)
    unmeasured: dict[str, str]
    # Per round (ok rounds, in order): the reference GEMM next to the case (before/after
    # mean), peak host memory and energy per item, for comparisons across runs.
    reference_flops_per_s_by_round: list[float | None]
    peak_host_memory_by_round: list[int | None]
    host_memory_at_start_by_round: list[int | None]
    energy_per_item_by_round: list[float | None]


class RoundContention(TypedDict):
    other_cpu_share: float
    steal_share: float
    contended: bool


class CaseContention(TypedDict):
    """How busy the machine was while the case was timed: the worst round decides."""

    other_cpu_share: float
    steal_share: float
    contended: bool
    other_gpu_processes: NotRequired[list[int]]
    by_round: NotRequired[list[RoundContention]]
    limits: NotRequired[dict[str, float]]


class Published(TypedDict):
    """A published figure a case reproduces (the history suite), as its suite entry gave it."""

    source: str
    url: str
    quote: str
    machine: str
    covers: str
    seconds: float
    epochs: float
    examples: int
    note: NotRequired[str]


class CaseResult(TypedDict):
    id: str
    workload: str
    framework: str
    device: str
    precision: str
    params: JSONObject
    status: str
    reason: str | None
    setup_s: float | None
    repetitions_s: list[float]
    steps_per_repetition: list[int]
    metrics: Metrics
    warnings: list[str]
    contention: CaseContention | None
    items_per_step: NotRequired[int | None]
    source_hash: NotRequired[str | None]
    math: NotRequired[JSONObject]
    arm: NotRequired[str]  # which arm of a run with several
    repetition_rounds: NotRequired[list[int]]  # the round of each repetition
    tag: NotRequired[str]  # the parameter part of the id (its shape), as the spec wrote it
    # GEMMs at the case's own shapes per operand kind, in rounds where it passed the roof
    own_shape_gemm_by_round: NotRequired[list[dict[str, float] | None]]
    parallel: NotRequired[JSONObject | None]  # the process group of a multi-rank case
    published: NotRequired[Published]  # the published figure it reproduces (history suite)


class WorkloadLayout(TypedDict):
    """How a workload's spec lays its cases out, for readers that know no workload."""

    item: str  # what its items/s counts
    params: list[str]  # the spec's parameter order
    layout: list[str]  # parameters that split a case over processes or micro-batches
    extras: dict[str, str]  # each extra it records in metrics.extra -> its kind ("latency")


Stopped = Literal["decided", "max rounds", "time budget"]


class SequentialRecord(TypedDict):
    """A sequential run's (`--until-decided`) record: its looks and why it stopped."""

    max_rounds: int
    looks: list[int]  # rounds seen at each look
    rounds: int  # rounds it ran
    stopped: Stopped
    max_time_s: float | None
    decided_after: dict[str, int]  # case id -> the rounds it ran before a look decided it


class ResultDoc(TypedDict):
    schema_version: int
    run_id: str
    suite: str
    started_at: str
    finished_at: str | None
    complete: NotRequired[bool]
    tool: Tool
    machine: Machine
    settings: JSONObject
    start_load: NotRequired[JSONObject | None]
    calibration: list[Calibration]
    roofline: list[Roof]
    findings: list[Finding]
    cases: list[CaseResult]
    workloads: NotRequired[dict[str, WorkloadLayout]]  # every workload the cases name
    sequential: NotRequired[SequentialRecord]

SCHEMA_VERSION = 2
# Every schema version this tool has ever written, so old files keep loading: each is
# validated against its own schema, then upgraded step by step to the current one.
SCHEMA_FILES = {1: "result-v1.schema.json", 2: "result-v2.schema.json"}
STATUSES = ("ok", "skipped", "failed", "timeout", "interrupted")


class UpgradeError(ValueError):
    pass


def upgrade_v1(doc: JSONObject) -> JSONObject:
    """v1 → v2. Loop counts became per repetition (each round chooses its own); the machine
    roofline, findings and contention are new, and v1 did not measure them: they stay empty
    (no roofline, no contention record) rather than being guessed. A v1 file that carries
    them is no v1 file: they would be dropped here, so it is refused."""
    carried = [k for k in ("roofline", "findings") if doc.get(k)] + \
        (["cases/*/contention"] if any(isinstance(c, dict) and c.get("contention")
                                       for c in cast(list[JSON], doc["cases"])) else [])
    if carried:
        raise UpgradeError(f"schema_version 1 but it carries version 2's {', '.join(carried)}: "
                           "its schema_version is wrong (they would be dropped)")
    cases: list[JSON] = []
    for case in cast(list[JSONObject], doc["cases"]):
        steps = case.get("steps_per_repetition")
        count = len(cast(list[JSON], case["repetitions_s"]))
        # v1 did not require warnings; every reader of v2 may count on the list.
        cases.append({**case, "steps_per_repetition": [steps] * count if steps else [],
                      "contention": None, "warnings": case.get("warnings", [])})
    return {**doc, "schema_version": 2, "roofline": [], "findings": [], "cases": cases}


UPGRADES = {1: upgrade_v1}


@cache
def schema(version: int = SCHEMA_VERSION) -> JSONObject:
    text = resources.files("dbnbench.format").joinpath("schema", SCHEMA_FILES[version]).read_text()
    return cast(JSONObject, json.loads(text))


def validate(doc: object, origin: str = "result") -> ResultDoc:
    """Check that `doc` is a dbnbench result of a known schema version, by type and by
    meaning (one-line error naming the field if not), and return it in the current version."""
    if not isinstance(doc, dict):
        raise UserError(f"{origin}: not a dbnbench result file (top level is not an object)")
    tool = doc.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != "dbnbench":
        raise UserError(f"{origin}: not a dbnbench result file (no tool.name 'dbnbench')")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in SCHEMA_FILES:
        known = ", ".join(map(str, SCHEMA_FILES))
        raise UserError(
            f"{origin}: schema_version {version!r} is not supported (this dbnbench reads {known})"
        )
    data = cast(JSONObject, doc)
    why = plain_problem(data)
    if why:
        raise UserError(f"{origin}: invalid at {why}")
    check_schema(data, version, origin)
    step = int(version)
    while step in UPGRADES:
        try:
            data = UPGRADES[step](data)
        except UpgradeError as exc:
            raise UserError(f"{origin}: {exc}") from None
        step = int(cast(int, data["schema_version"]))
    why = meaning_problem(data, int(version))
    if why:
        raise UserError(f"{origin}: invalid at {why}")
    return cast(ResultDoc, visible_all(data))  # its strings shown, never obeyed


def is_result(doc: object) -> bool:
    """Whether parsed JSON claims to be a dbnbench result (valid or not): other JSON, such
    as an export or a comparison, is not one."""
    return isinstance(doc, dict) and isinstance(doc.get("tool"), dict) \
        and doc["tool"].get("name") == "dbnbench" and "run_id" in doc


def check_schema(doc: Mapping[str, object], version: int, origin: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(version))
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(f"{origin}: invalid at {where}: {error.message[:200]}")


class DuplicateKey(ValueError):
    pass


def unique_keys(pairs: list[tuple[str, JSON]]) -> dict[str, JSON]:
    """An object names each key once: with two, JSON parsers disagree on which counts (the
    last, here), so an edited `"status": "failed", "status": "ok"` would pass as ok."""
    out: dict[str, JSON] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def read_json(path: str | os.PathLike[str]) -> JSON:
    """A file's JSON, or a one-line error saying why there is none."""
    p = Path(path)
    text = read_bounded(p, str(p))
    try:
        return cast(JSON, json.loads(text, object_pairs_hook=unique_keys))
    except DuplicateKey as exc:
        raise UserError(f"{p}: the key {str(exc)[:60]!r} appears twice in one object") from None
    except json.JSONDecodeError as exc:
        kind = "truncated" if exc.pos >= len(text.rstrip()) else "not valid JSON"
        raise UserError(f"{p}: {kind} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise UserError(f"{p}: invalid: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise UserError(f"{p}: not valid JSON ({str(exc)[:80]})") from None


def load(path: str | os.PathLike[str]) -> ResultDoc:
    """Read and validate a result file."""
    return validate(read_json(path), str(path))


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write an output file (report, summary, site page) by the one writer's rules
    (output.py): atomically, `-` as standard output, never over a link or a device."""
    write_text(path, text)


def dump(doc: ResultDoc, path: str | os.PathLike[str]) -> None:
    """Validate against the current schema, then write a result file atomically."""
    check_schema(doc, SCHEMA_VERSION, str(path))
    write_text(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


def case_tag(case: CaseResult) -> str:
    """A case's shape, the parameter part of its id, as the workload's spec wrote it: read
    from the case (files before it was written are read from the id's last part)."""
    return case.get("tag") or case["id"].rsplit("/", 1)[-1]
