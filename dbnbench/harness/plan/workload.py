"""The workload contract: what a workload's spec declares and what an implementation offers."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from ...format.results import WorkloadLayout
from ..records import JSONObject

MAX_INTEGER = 2**62  # any parameter beyond it is no size a machine holds (and overflows int64 math)
ParamValue = int | float | bool | str | list[int]


class Params(Mapping[str, ParamValue]):
    """A case's parameters, validated against its spec when the suite loaded: read by name
    with the type the spec declared (a wrong read is a spec bug, raised at once)."""

    def __init__(self, values: Mapping[str, ParamValue]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> ParamValue:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def to_json(self) -> JSONObject:
        return {k: list(v) if isinstance(v, list) else v for k, v in self._values.items()}

    def integer(self, key: str, default: int | None = None) -> int:
        """The integer `key`; `default` where the workload may lack it (a parameter only
        some workloads declare, such as workers)."""
        if default is not None and key not in self._values:
            return default
        value = self._values[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"parameter {key!r} is {value!r}, not an integer")
        return value

    def number(self, key: str) -> float:
        value = self._values[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"parameter {key!r} is {value!r}, not a number")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self._values[key]
        if not isinstance(value, bool):
            raise TypeError(f"parameter {key!r} is {value!r}, not a boolean")
        return value

    def text(self, key: str) -> str:
        value = self._values[key]
        if not isinstance(value, str):
            raise TypeError(f"parameter {key!r} is {value!r}, not a string")
        return value

    def integers(self, key: str) -> list[int]:
        value = self._values[key]
        if not isinstance(value, list):
            raise TypeError(f"parameter {key!r} is {value!r}, not a list of integers")
        return list(value)


@dataclass(frozen=True)
class Param:
    """One workload parameter: its type, default and bounds, checked when a suite loads."""

    kind: type  # int, float, bool, str or list (a list of ints, e.g. layer sizes)
    default: ParamValue
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[ParamValue, ...] | None = None
    # Splits a case over processes or micro-batches (workers, stages, accumulate): reports
    # chart these in their scaling section, not as sizes of the workload.
    layout: bool = False

    def check(self, name: str, value: object) -> str | None:
        """Return why `value` is unacceptable for this parameter, or None."""
        items: list[float]
        if self.kind is list:
            if not (isinstance(value, list) and value and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value)):
                return f"field '{name}': must be a non-empty list of integers, got {value!r}"
            items = list(value)
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"field '{name}': must be a number, got {value!r}"
            items = [value]
        elif not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            return f"field '{name}': must be {self.kind.__name__}, got {value!r}"
        else:
            items = [value] if isinstance(value, (int, float)) else []
        for v in items:
            if isinstance(v, float) and not math.isfinite(v):
                return f"field '{name}': must be a finite number, got {v!r}"
            if abs(v) > MAX_INTEGER:
                return f"field '{name}': {v:.3g} is out of range"
            if self.minimum is not None and v < self.minimum:
                return f"field '{name}': must be >= {self.minimum:g}, got {v!r}"
            if self.maximum is not None and v > self.maximum:
                return f"field '{name}': must be <= {self.maximum:g}, got {v!r}"
        if self.choices is not None and value not in self.choices:
            return f"field '{name}': must be one of {list(self.choices)}, got {value!r}"
        return None


# The parameters a workload declares to run as several processes. `batch` stays the global
# batch of one update: each replica takes batch / workers rows.
WORKERS = Param(int, 1, "data-parallel replicas, one process each (torch.distributed), one "
                "synchronous update per step over batch / workers rows each", minimum=1,
                maximum=1024, layout=True)
DISTRIBUTED = Param(bool, False, "run through torch.distributed even as one process (DDP of "
                    "one replica): the communication path alone, e.g. NCCL on one GPU")
STAGES = Param(int, 1, "pipeline stages: the layer stack split over that many processes, "
               "micro-batches flowing through them", minimum=1, maximum=64, layout=True)


def divides(params: Params, key: str, what: str) -> str | None:
    """Why parameter `key` does not split the batch evenly, or None."""
    n, b = params.integer(key), params.integer("batch")
    return f"field '{key}': {n} does not divide the batch ({b}) into equal {what}" if b % n \
        else None


class Spec:
    """Framework-neutral description of a workload; subclassed once per workload."""

    name: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[dict[str, Param]]
    item: ClassVar[str] = "samples"  # what items_per_step counts
    # What the implementations' `metrics()` record in metrics.extra, each with its kind
    # ("latency": percentiles in ms, which reports chart), written into the result.
    extras: ClassVar[dict[str, str]] = {}

    def defaults(self) -> dict[str, ParamValue]:
        return {k: p.default for k, p in self.params.items()}

    def check(self, params: Params) -> str | None:
        """Why these (complete) parameters make no sense, or None. Extended per workload."""
        for key, value in params.items():
            if key not in self.params:
                return f"unknown field '{key}' (known: {', '.join(self.params)})"
            why = self.params[key].check(key, value)
            if why:
                return why
        return None

    def tag(self, params: Params) -> str:
        """The short, stable parameter part of a case id."""
        raise NotImplementedError

    def described(self) -> WorkloadLayout:
        """How readers lay this workload's cases out; written into every result."""
        return {"item": self.item, "params": list(self.params),
                "layout": [name for name, p in self.params.items() if p.layout],
                "extras": dict(self.extras)}

    def items_per_step(self, params: Params) -> int:
        raise NotImplementedError

    def gemm_shapes(self, params: Params) -> list[tuple[int, int, int, int]]:
        """The matrix products of one step as (count, m, n, k), each an (m×k)·(k×n) product:
        what the FLOP count is made of, and the shapes a case's own-shape GEMM roof is
        measured at. Empty where the workload is not made of products."""
        return []

    def flops_per_step(self, params: Params) -> float | None:
        """Matrix-product FLOPs of one step (2·m·n·k per product), or None where FLOPs mean
        little. Element-wise work is left out, as is usual for GEMM-bound workloads."""
        shapes = self.gemm_shapes(params)
        return float(sum(c * 2 * m * n * k for c, m, n, k in shapes)) if shapes else None

    def bytes_per_step(self, params: Params, itemsize: int) -> float | None:
        """The least memory traffic of one step in bytes, counting every array the step must
        read or write once per pass over it (caches ignored), or None where not defined. It
        places the case against the bandwidth roof (arithmetic intensity = FLOPs / bytes)."""
        return None

    def memory_bytes(self, params: Params, itemsize: int) -> int | None:
        """A lower bound of the memory one step's buffers take: by default the operands of
        its largest matrix product. A case whose bound passes the memory cap is refused with
        it before any worker starts; None where the workload declares nothing."""
        shapes = self.gemm_shapes(params)
        return max((m * k + k * n + m * n) * itemsize for _, m, n, k in shapes) if shapes \
            else None

    def supports(self, framework: str, device: str, precision: str,
                 params: Params) -> str | None:
        """Why this workload cannot run in this mode, or None. Framework limits live elsewhere."""
        return None

    def layout(self, params: Params) -> tuple[int, int]:
        """(data-parallel workers, pipeline stages) one case runs as: (1, 1), one process,
        unless the workload declares WORKERS or STAGES."""
        return (params.integer("workers") if "workers" in params else 1,
                params.integer("stages") if "stages" in params else 1)

    def grouped(self, params: Params) -> bool:
        """Whether the case runs as a process group: several ranks, or one asked for."""
        workers, stages = self.layout(params)
        return workers * stages > 1 or ("distributed" in params and params.flag("distributed"))

    def communicated_per_step(self, params: Params) -> int:
        """Values each data-parallel replica all-reduces per step (its gradients or
        statistics): what the communication probe sends. 0 where nothing is."""
        return 0


class ContractError(TypeError):
    """An implementation that does not keep the workload contract."""


@runtime_checkable
class Impl(Protocol):
    """One implementation per (workload, framework), constructed inside the worker as
    `Impl(case, fw)`: `case.params` holds the parameters, `fw` is the activated framework
    adapter (device, dtype, autocast, sync, seed, generator).

    Optionally, `metrics() -> dict` returns workload-specific measurements taken after the
    timed window (latency percentiles, per-layer rates); they land in `metrics.extra`."""

    items_per_step: int

    def setup(self) -> None: ...

    def step(self) -> None: ...

    def quality(self) -> JSONObject: ...
