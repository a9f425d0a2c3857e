"""Cases and suites: a Case is workload × framework × device × precision × params.

A suite file (TOML) lists case groups; each list-valued parameter is a grid axis. Loading
checks the file's structure and every parameter against its workload's spec, so a case that
makes no sense fails here, with one line naming it, and never inside a worker."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import jsonschema

from ...format.checks import plain_problem
from ...format.inputs import read_bounded
from ...format.precisions import ITEMSIZE
from ...format.precisions import NAMES as PRECISIONS
from ...format.results import Published
from ..errors import UserError
from ..frameworks import FRAMEWORKS
from ..probes.system import usable_cpus
from ..records import Settings
from .registry import Registry, load_impl
from .workload import Params

DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")
# A suite's settings where its file is silent: records.Settings's defaults, the one home of
# them (threads has none: it is the machine's usable CPUs, decided at run time).
DEFAULT_SETTINGS = {f.name: f.default for f in dataclasses.fields(Settings)
                    if f.default is not dataclasses.MISSING}


@dataclass(frozen=True)
class Case:
    workload: str
    framework: str
    device: str
    precision: str
    params_items: tuple[tuple[str, Any], ...]
    tag: str
    # The published figure its suite entry reproduces (canonical JSON; "" for none): the
    # history suite's time, machine and source, carried into the result unchanged.
    published_json: str = ""

    @property
    def published(self) -> Published | None:
        return cast(Published, json.loads(self.published_json)) if self.published_json \
            else None

    @property
    def params(self) -> Params:
        return Params({k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params_items})

    @property
    def id(self) -> str:
        return f"{self.workload}/{self.framework}/{self.device}/{self.precision}/{self.tag}"

    @property
    def worker_key(self) -> tuple[str, str]:
        """Cases of one key (framework, device) may share a worker process."""
        return self.framework, self.device

    @property
    def mode(self) -> tuple[str, str, str]:
        """The (framework, device, precision) whose GEMM roof this case is measured against:
        scikit-learn's products are NumPy's, so it is calibrated as NumPy."""
        fw = FRAMEWORKS[self.framework]
        return fw.calibrate_as or fw.name, self.device, self.precision


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    settings: dict[str, Any]
    cases: tuple[Case, ...]
    source: str = field(default="")


@cache
def _suite_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("dbnbench.format").joinpath("schema", "suite.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


MAX_SUITE_BYTES = 4 * 2**20  # a suite file is a page of TOML; a megabyte of it is already odd
MAX_CASES = 10_000  # a suite expanding past this is refused unless --max-cases raises it
# A case whose buffers need more than this is no case for any machine: refused at load. One
# over the machine's own memory cap is refused by `run` (unavailable), with its estimate.
MAX_BUFFER_BYTES = 2**46  # 64 TiB


def suite_path(name_or_path: str, registry: Registry) -> Path:
    path = registry.suites.get(name_or_path)
    if path is not None:
        return path
    path = Path(name_or_path)
    known = ", ".join(sorted(registry.suites))
    try:
        found = path.suffix == ".toml" and path.exists()  # not a file: read_suite says why
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL
        raise UserError(f"suite {name_or_path[:80]!r}: cannot read "
                        f"({getattr(exc, 'strerror', None) or exc.__class__.__name__})") from None
    if not found:
        raise UserError(f"unknown suite '{name_or_path[:200]}' (built in: {known}; "
                        "or a .toml path)")
    return path


def read_suite(path: Path) -> dict[str, Any]:
    """The suite file's TOML, checked for depth, finite numbers and integer range, then
    against the suite schema (one line naming the field where it is not)."""
    label = path.name
    text = read_bounded(path, f"suite {label}", MAX_SUITE_BYTES)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"suite {label}: malformed TOML: {exc}") from None
    except RecursionError:
        raise UserError(f"suite {label}: invalid: nested too deeply") from None
    why = plain_problem(doc)
    if why:
        raise UserError(f"suite {label}: invalid at {why}")
    error = jsonschema.exceptions.best_match(_suite_validator().iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(f"suite {label}: invalid at {where}: {error.message[:200]}")
    return doc


def load_suite(name_or_path: str, registry: Registry, max_cases: int = MAX_CASES) -> Suite:
    """Load a suite the registry knows by name, or a suite file by path. A suite whose grid
    would expand past `max_cases` is refused before a single case is built."""
    path = suite_path(name_or_path, registry)
    label = path.name
    doc = read_suite(path)
    settings = {**DEFAULT_SETTINGS, **doc.get("settings", {})}
    entries = [(entry, f"suite {label}: case {entry['workload']} #{index}")
               for index, entry in enumerate(doc["cases"], start=1)]
    grids = [grid(entry, where, registry) for entry, where in entries]
    count = sum(size for _, size in grids)
    if count > max_cases:
        raise UserError(f"suite {label}: expands to {count:,} cases, over the limit of "
                        f"{max_cases:,} (raise it with --max-cases)")
    cases: list[Case] = []
    for (entry, where), (axes, _) in zip(entries, grids, strict=True):
        cases.extend(expand(entry, where, registry, axes))
    seen: dict[str, int] = {}
    for case in cases:
        if case.id in seen:
            raise UserError(f"suite {label}: case {case.id} appears twice")
        seen[case.id] = 1
    return Suite(doc["name"], doc.get("description", ""), settings, tuple(cases), str(path))


def _axis(spec_kind: type, value: Any) -> list[Any]:
    """A parameter's grid values: a list is an axis, except for list-typed parameters,
    where a list of lists is the axis."""
    if spec_kind is list:
        return value if value and all(isinstance(v, list) for v in value) else [value]
    return value if isinstance(value, list) else [value]


Axes = dict[str, list[Any]]


def modes_of(entry: dict[str, Any], registry: Registry
             ) -> tuple[list[str], list[str], list[str]]:
    """An entry's frameworks (by default every one that implements its workload), devices
    and precisions."""
    implemented = [fw for fw in FRAMEWORKS if registry.impl(entry["workload"], fw)]
    return (entry.get("frameworks", implemented), entry.get("devices", ["cpu"]),
            entry.get("precisions", ["fp32"]))


def grid(entry: dict[str, Any], where: str, registry: Registry) -> tuple[Axes, int]:
    """One suite entry's parameter axes and how many cases they make: counted, not built."""
    spec = registry.specs.get(entry["workload"])
    if spec is None:
        raise UserError(f"{where}: unknown workload '{entry['workload']}' "
                        f"(known: {', '.join(registry.specs)})")
    frameworks, devices, precisions = modes_of(entry, registry)
    check_names(where, frameworks=frameworks, devices=devices, precisions=precisions)
    given = entry.get("params", {})
    for key in given:
        if key not in spec.params:
            raise UserError(f"{where}: unknown field '{key}' (known: {', '.join(spec.params)})")
    axes = {k: _axis(spec.params[k].kind, given.get(k, p.default)) for k, p in spec.params.items()}
    for key, values in axes.items():
        if not values:
            raise UserError(f"{where}: field '{key}': an empty list makes no case")
    return axes, math.prod(map(len, axes.values())) * len(frameworks) * len(devices) \
        * len(precisions)


def expand(entry: dict[str, Any], where: str, registry: Registry,
           axes: Axes | None = None) -> list[Case]:
    """One suite entry → its cases (frameworks × devices × precisions × parameter grid)."""
    if axes is None:
        axes = grid(entry, where, registry)[0]
    spec = registry.spec(entry["workload"])
    frameworks, devices, precisions = modes_of(entry, registry)
    published = json.dumps(entry["published"], sort_keys=True) if "published" in entry else ""
    itemsize = max(ITEMSIZE[p] for p in precisions)
    cases = []
    for combo in itertools.product(*axes.values()):
        params = Params(dict(zip(axes, combo, strict=True)))
        why = spec.check(params)
        if why:
            raise UserError(f"{where}: {why}")
        need = spec.memory_bytes(params, itemsize)
        if need is not None and need > MAX_BUFFER_BYTES:
            raise UserError(f"{where}: its buffers need at least {gib(need)}, more than any "
                            f"machine has (the limit is {gib(MAX_BUFFER_BYTES)})")
        tag = spec.tag(params)
        items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
        for fw, dev, prec in itertools.product(frameworks, devices, precisions):
            dev = "cuda:0" if dev == "cuda" else dev
            cases.append(Case(spec.name, fw, dev, prec, items, tag, published))
    return cases


def check_names(where: str, *, frameworks: Iterable[str] = (), devices: Iterable[str] = (),
                precisions: Iterable[str] = (), workloads: Iterable[str] = (),
                known: Iterable[str] = ()) -> None:
    for fw in frameworks:
        if fw not in FRAMEWORKS:
            raise UserError(f"{where}: unknown framework '{fw}' (known: {', '.join(FRAMEWORKS)})")
    for dev in devices:
        if not DEVICE_RE.match(dev):
            raise UserError(f"{where}: unknown device '{dev}' (use cpu, cuda or cuda:N)")
    for prec in precisions:
        if prec not in PRECISIONS:
            raise UserError(f"{where}: unknown precision '{prec}' (known: {', '.join(PRECISIONS)})")
    names = list(known)
    for wl in workloads:
        if wl not in names:
            raise UserError(f"{where}: unknown workload '{wl}' (known: {', '.join(names)})")


def parse_list(option: str, value: str | None) -> list[str] | None:
    """A comma-separated command-line list, or None when the option was not given."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise UserError(f"{option}: empty list")
    return items


def select(cases: Iterable[Case], registry: Registry, *, workloads: list[str] | None = None,
           frameworks: list[str] | None = None, devices: list[str] | None = None,
           precisions: list[str] | None = None) -> list[Case]:
    """Filter cases; every name given must be a known one (else a one-line error)."""
    check_names("--workload", workloads=workloads or (), known=registry.specs)
    check_names("--framework", frameworks=frameworks or ())
    check_names("--device", devices=devices or ())
    check_names("--precision", precisions=precisions or ())
    devs = {("cuda:0" if d == "cuda" else d) for d in devices} if devices else None

    def keep(c: Case) -> bool:
        return ((workloads is None or c.workload in workloads)
                and (frameworks is None or c.framework in frameworks)
                and (devs is None or c.device in devs or (c.device.startswith("cuda")
                                                          and "cuda" in devs))
                and (precisions is None or c.precision in precisions))

    cases = list(cases)
    kept = [c for c in cases if keep(c)]
    if cases and not kept:
        given = {"--workload": workloads, "--framework": frameworks, "--device": devices,
                 "--precision": precisions}
        offered = {"--workload": {c.workload for c in cases},
                   "--framework": {c.framework for c in cases},
                   "--device": {c.device for c in cases},
                   "--precision": {c.precision for c in cases}}
        said = "; ".join(f"{k} {','.join(v)} (the suite has {', '.join(sorted(offered[k]))})"
                         for k, v in given.items() if v)
        raise UserError(f"nothing to run: no case of the suite matches {said}")
    return kept


def unavailable(case: Case, gpu_count: int, registry: Registry,
                memory_cap: int | None = None) -> str | None:
    """Why this case cannot run on this machine, decided without importing any framework:
    no implementation, framework or GPU, a mode it cannot do, or buffers that cannot fit
    under `memory_cap` bytes (the worker's cap, for a CPU case)."""
    fw = FRAMEWORKS[case.framework]
    if registry.impl(case.workload, case.framework) is None:
        return f"{case.workload} has no {case.framework} implementation"
    if not fw.installed():
        return f"{case.framework} is not installed ({fw.install_hint})"
    why = fw.supports(case.device, case.precision)
    if why:
        return why
    if case.device.startswith("cuda"):
        index = int(case.device.partition(":")[2] or 0)
        if gpu_count == 0:
            return "no NVIDIA GPU found on this machine"
        if index >= gpu_count:
            return f"no GPU {index} (this machine has {gpu_count})"
    spec = registry.spec(case.workload)
    if spec.grouped(case.params) and fw.groups:
        return fw.groups
    why = (spec.supports(case.framework, case.device, case.precision, case.params)
           or impl_supports(registry, case))
    if why or memory_cap is None or not case.device == "cpu":
        return why
    need = spec.memory_bytes(case.params, ITEMSIZE[case.precision])
    if need is not None and need > memory_cap:
        return (f"its buffers need at least {gib(need)}, over the {gib(memory_cap)} memory "
                "cap (--max-memory)")
    return None


def impl_supports(registry: Registry, case: Case) -> str | None:
    """Why the case's implementation cannot run these parameters (its framework's limits,
    e.g. BernoulliRBM's single Gibbs step), from the class's `supports`, or None. The
    implementation's module is imported here: it imports no ML framework itself (those come
    through the adapter, inside a worker)."""
    path = registry.impl(case.workload, case.framework)
    check = getattr(load_impl(path), "supports", None) if path else None
    return check(case.device, case.precision, case.params) if check else None


def check_layouts(cases: Iterable[Case], registry: Registry, threads: int,
                  gpu_count: int, nodes: int = 1) -> None:
    """Refuse, before anything runs, a case of more processes than this machine has devices
    for: on the CPU every rank gets its own `threads` cores, on CUDA its own GPU. Over
    several nodes, each runs an equal share of a case's ranks. More threads than CPUs are
    refused for every case: they would time the scheduler, not the library."""
    cpus = usable_cpus()
    for case in cases:
        workers, stages = registry.spec(case.workload).layout(case.params)
        ranks = workers * stages
        if ranks == 1:
            continue
        if ranks % nodes:
            raise UserError(f"{case.id}: {ranks} processes do not split evenly over {nodes} "
                            "nodes")
        ranks //= nodes
        if case.device == "cpu" and ranks * threads > cpus:
            raise UserError(f"{case.id}: {ranks} processes × {threads} thread(s) need "
                            f"{ranks * threads} CPU cores, this machine lets dbnbench use {cpus} "
                            "(lower --threads, or workers/stages)")
        if case.device.startswith("cuda") and ranks > gpu_count:
            raise UserError(f"{case.id}: {ranks} processes need one GPU each, this machine has "
                            f"{gpu_count}")
    if threads > cpus:
        raise UserError(f"threads {threads}: this machine lets dbnbench use {cpus} CPU(s); "
                        "more threads than CPUs time the scheduler, not the library (lower "
                        "--threads or the suite's threads)")


def gib(size: float) -> str:
    return f"{size / 2**30:.3g} GiB"
