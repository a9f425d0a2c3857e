"""Typed records for everything that crosses a process or a file inside a run: the worker's
requests and answers and the journal's records. Each is a frozen dataclass; `encode` and
`decode` are the only way to and from JSON, and decoding refuses a field it does not know,
so a misspelt key fails where it is written, not after the compute.

The result document (the file a run leaves) is typed in results.py, which owns its schema
versions."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field, fields, is_dataclass
from typing import ClassVar, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from ..format.json_types import JSON, JSONObject

Status = Literal["ok", "skipped", "failed", "timeout", "interrupted"]
Shape = tuple[int, int, int, int]  # (count, m, n, k): count products of (m×k)·(k×n)
# The worker protocol's version: a parent and a worker of another dbnbench (an arm with a
# different install) find out at the first request, not in the middle of a run.
# 3: a calibration can be a drift check; answers carry their phases' seconds and contention.
PROTOCOL = 3
# The parent's pid, in a worker's environment: the worker's watchdog ends it when the parent
# is gone (beside the kernel's parent-death signal, which the parent also asks for).
PARENT_ENV = "DBNBENCH_PARENT_PID"
CPUS_ENV = "DBNBENCH_CPUS"  # the cores a worker pins itself to before anything starts

T = TypeVar("T")


class RecordError(ValueError):
    """A record that does not decode: unknown kind, unknown or missing field, wrong shape."""


def encode(record: object) -> str:
    """One line of JSON: {"kind": ..., fields...}, nested records as objects."""
    kind = getattr(type(record), "kind", None)
    return json.dumps({**({"kind": kind} if kind else {}), **as_json(record)},
                      allow_nan=False)


def as_json(record: object) -> JSONObject:
    out: JSONObject = {}
    for f in fields(record):  # type: ignore[arg-type]
        out[f.name] = _to_json(getattr(record, f.name))
    return out


def _to_json(value: object) -> JSON:
    if is_dataclass(value) and not isinstance(value, type):
        return as_json(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise RecordError(f"cannot encode {type(value).__name__}")


def decode_as(cls: type[T], data: JSON) -> T:
    """`data` as an instance of the record class `cls`, checked field by field."""
    if not isinstance(data, dict):
        raise RecordError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names - {"kind"}
    if unknown:
        raise RecordError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
    kwargs = {name: _from_json(hints[name], value, f"{cls.__name__}.{name}")
              for name, value in data.items() if name != "kind"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise RecordError(f"{cls.__name__}: {exc}") from None


def _from_json(tp: object, value: JSON, where: str) -> object:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _from_json(options[0], value, where) if len(options) == 1 else value
    if isinstance(tp, type) and is_dataclass(tp):
        return decode_as(tp, value)
    if origin is tuple and isinstance(value, list):
        args = get_args(tp)
        inner = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        return tuple(_from_json(inner, v, where) if inner is not None else v for v in value)
    if origin is dict and isinstance(value, dict):
        inner = get_args(tp)[1]
        return {k: _from_json(inner, v, where) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- settings and work
@dataclass(frozen=True)
class Settings:
    """How a run measures (suite settings, overridden from the command line)."""

    threads: int
    rounds: int = 2
    repetitions: int = 5
    min_time_s: float = 0.1
    warmup_s: float = 0.2
    timeout_s: float = 300.0
    seed: int = 0
    quality: bool = True


@dataclass(frozen=True)
class Arm:
    """One environment of a run: its workers run this interpreter with these variables.
    Two arms interleaved in one run compare, say, the base and head of a change on the same
    machine minutes. The default arm (name "") is the interpreter running dbnbench."""

    name: str = ""
    python: str = ""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Work:
    """What one step of a case does, from its spec (the parent computes it; the worker,
    which knows no workload, needs it for the product probe and the roof check)."""

    items_per_step: int
    flops_per_step: float | None
    gemm_shapes: tuple[Shape, ...]
    bytes_per_step: float | None
    workers: int = 1  # data-parallel replicas, each on batch / workers rows
    stages: int = 1  # pipeline stages the layer stack is split into
    communicated: int = 0  # values each replica all-reduces per step
    grouped: bool = False  # runs as a process group (several ranks, or one asked for)


@dataclass(frozen=True)
class CaseSpec:
    id: str
    workload: str
    framework: str
    device: str
    precision: str
    params: JSONObject


# ---------------------------------------------------------------- requests
@dataclass(frozen=True)
class ImportRequest:
    kind: ClassVar[str] = "import"
    framework: str
    impl: str | None = None
    protocol: int = PROTOCOL


@dataclass(frozen=True)
class RuntimeRequest:
    kind: ClassVar[str] = "runtime"
    framework: str


@dataclass(frozen=True)
class CalibrateRequest:
    kind: ClassVar[str] = "calibrate"
    framework: str
    device: str
    precision: str
    threads: int
    seed: int
    start: int = 128
    patience: int = 2
    bandwidth: bool = False
    # A later round's drift check: time the GEMM at this size only (the best size of the
    # mode's last quiet sweep), no sweep; the sweep's rate there gives the loop count.
    check: int | None = None
    expected_flops_per_s: float | None = None


@dataclass(frozen=True)
class CaseRequest:
    kind: ClassVar[str] = "case"
    case: CaseSpec
    impl: str
    work: Work
    settings: Settings
    quality: bool = False
    roof_flops_per_s: float | None = None
    roof_bytes_per_s: float | None = None
    # The product probe and the workload's extras run in a case's first round only: the
    # result reads both from it, and a later round's copies cost time and told nothing.
    first_round: bool = True


Request = ImportRequest | RuntimeRequest | CalibrateRequest | CaseRequest
REQUESTS: dict[str, type[Request]] = {r.kind: r for r in (ImportRequest, RuntimeRequest,
                                                        CalibrateRequest, CaseRequest)}


def decode_request(line: str) -> Request:
    data = json.loads(line)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in REQUESTS:
        raise RecordError(f"unknown request kind {kind!r}")
    return decode_as(REQUESTS[kind], data)


# ---------------------------------------------------------------- answers
@dataclass(frozen=True)
class Contention:
    window_s: float
    other_cpu_share: float
    steal_share: float
    own_cpu_share: float
    cpus: int
    contended: bool
    other_gpu_processes: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TopProcess:
    pid: int
    name: str
    cpu: float  # share of one CPU


@dataclass(frozen=True)
class Load:
    """How busy the machine was before a run started, and the busiest processes."""

    contention: Contention
    top: tuple[TopProcess, ...] = ()


@dataclass(frozen=True)
class Bandwidth:
    bytes_per_s: float
    array_bytes: int


@dataclass(frozen=True)
class Answer:
    """An answer with no payload: an import, or any request that failed, hung or was
    skipped. `restart` asks the parent for a fresh worker (an out-of-memory error)."""

    status: Status
    reason: str | None = None
    restart: bool = False


@dataclass(frozen=True)
class RuntimeAnswer:
    status: Status
    reason: str | None = None
    runtime: JSONObject | None = None
    restart: bool = False


@dataclass(frozen=True)
class CalibrationAnswer:
    status: Status
    reason: str | None = None
    gemm_flops_per_s: float | None = None
    best_size: int | None = None
    by_size: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None
    bandwidth: Bandwidth | None = None
    binary_flops_per_s: float | None = None  # at best_size on 0/1 operands, where timed
    restart: bool = False
    contention: Contention | None = None  # other processes around the sweep (or check)
    # How this round's rate came about: "swept", "checked" (a drift check at the last quiet
    # sweep's best size that agreed with it) or "carried" (that sweep's rate, because the
    # check could not be trusted). None in journals written before checks: swept.
    roof: str | None = None
    drift: float | None = None  # the check's rate over the reference sweep's rate there
    checked_flops_per_s: float | None = None  # what the check measured (kept when not used)
    note: str | None = None  # why it was re-measured, re-swept or carried
    seconds: float | None = None  # the worker's time for it (sweep or check, and triad)


@dataclass(frozen=True)
class CaseAnswer:
    """One case in one round, as the worker measured it (or why it could not)."""

    status: Status
    reason: str | None = None
    setup_s: float | None = None
    repetitions_s: tuple[float, ...] = ()
    steps_per_repetition: int = 0
    discarded_repetitions: int = 0
    items_per_step: int = 0
    window_steps: int = 0
    window_s: float = 0.0
    contention: Contention | None = None
    energy_j: float | None = None
    energy_source: str | None = None
    energy_reason: str | None = None
    energy_method: str | None = None  # "counter" or "sampled power"
    energy_period_s: float | None = None  # the meter's update or averaging period
    peak_host_memory_bytes: int | None = None
    host_memory_at_start_bytes: int | None = None  # resident before setup: the worker's own
    host_peak_exact: bool = True
    peak_device_memory_bytes: int | None = None
    device_memory_reason: str | None = None
    math: JSONObject = field(default_factory=dict)
    shape_gemm_flops_per_s: float | None = None  # the best of shape_gemm_by_operands
    shape_gemm_by_operands: dict[str, float] | None = None
    local_bytes_per_s: float | None = None
    reference_flops_per_s: tuple[float, ...] = ()  # the reference GEMM before and after
    extra: JSONObject | None = None
    extra_reason: str | None = None  # why a workload's extras were left out
    quality: JSONObject | None = None
    # A compiling framework's compilations before and inside the timed repetitions.
    compile: JSONObject | None = None
    parallel: JSONObject | None = None  # the process group a multi-rank case ran as
    restart: bool = False
    # Wall seconds of the worker's phases (framework, build, setup, probe, reference,
    # warmup, timed, lengthen, roof_check, extra, quality): where a round's time goes.
    phases_s: dict[str, float] = field(default_factory=dict)


def decode_answer(cls: type[T], line: str) -> T:
    return decode_as(cls, json.loads(line))


# ---------------------------------------------------------------- journal
@dataclass(frozen=True)
class Header:
    """The run as it was planned: what the journal's records belong to. The expanded case
    ids and each workload's source hash are kept, so a resume can refuse a different plan."""

    kind: ClassVar[str] = "header"
    run_id: str
    suite: str
    suite_source: str
    filters: dict[str, list[str] | None]
    settings: Settings
    started_at: str
    machine: JSONObject
    cases: tuple[str, ...] = ()
    source_hashes: dict[str, str] = field(default_factory=dict)
    start_load: Load | None = None
    options: JSONObject = field(default_factory=dict)
    arms: tuple[Arm, ...] = (Arm(),)


@dataclass(frozen=True)
class CalibrationRecord:
    kind: ClassVar[str] = "calibration"
    framework: str
    device: str
    precision: str
    round: int
    answer: CalibrationAnswer
    arm: str = ""


@dataclass(frozen=True)
class CaseRecord:
    kind: ClassVar[str] = "case"
    id: str
    round: int
    answer: CaseAnswer
    arm: str = ""


@dataclass(frozen=True)
class RuntimeRecord:
    kind: ClassVar[str] = "runtime"
    framework: str
    info: JSONObject
    arm: str = ""


JournalRecord = Header | CalibrationRecord | CaseRecord | RuntimeRecord
JOURNAL: dict[str, type[JournalRecord]] = {r.kind: r for r in (Header, CalibrationRecord,
                                                             CaseRecord, RuntimeRecord)}


def decode_journal(line: str) -> JournalRecord:
    data = json.loads(line)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in JOURNAL:
        raise RecordError(f"unknown journal record kind {kind!r}")
    return decode_as(JOURNAL[kind], data)
