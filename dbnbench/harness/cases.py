"""Cases and suites: a Case is workload × framework × device × precision × params.

A suite file (TOML) lists case groups; each list-valued parameter is a grid axis. Loading
checks the file's structure and every parameter against its workload's spec, so a case that
makes no sense fails here, with one line naming it, and never inside a worker."""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import UserError
from .frameworks import FRAMEWORKS
from .registry import Registry
from .workload import PRECISIONS, Params

DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")
DEFAULT_SETTINGS = {"rounds": 2, "repetitions": 5, "min_time_s": 0.1, "warmup_s": 0.2,
                    "timeout_s": 300.0, "seed": 0, "quality": True}


@dataclass(frozen=True)
class Case:
    workload: str
    framework: str
    device: str
    precision: str
    params_items: tuple[tuple[str, Any], ...]
    tag: str

    @property
    def params(self) -> Params:
        return Params({k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params_items})

    @property
    def id(self) -> str:
        return f"{self.workload}/{self.framework}/{self.device}/{self.precision}/{self.tag}"

    @property
    def group(self) -> tuple[str, str]:
        """Cases of one group may share a worker process."""
        return self.framework, self.device

    @property
    def mode(self) -> tuple[str, str, str]:
        """The (framework, device, precision) whose GEMM roof this case is measured against:
        scikit-learn's products are NumPy's, so it is calibrated as NumPy."""
        fw = FRAMEWORKS[self.framework]
        return getattr(fw, "calibrate_as", fw.name), self.device, self.precision

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "framework": self.framework, "device": self.device,
                "precision": self.precision, "params": self.params, "tag": self.tag}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Case:
        items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                             for k, v in d["params"].items()))
        return cls(d["workload"], d["framework"], d["device"], d["precision"], items, d["tag"])


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    settings: dict[str, Any]
    cases: tuple[Case, ...]
    source: str = field(default="")


@cache
def _suite_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("dbnbench.harness").joinpath("schema", "suite.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def load_suite(name_or_path: str, registry: Registry) -> Suite:
    """Load a suite the registry knows by name, or a suite file by path."""
    path = registry.suites.get(name_or_path)
    if path is None:
        path = Path(name_or_path)
        if path.suffix != ".toml" or not path.is_file():
            known = ", ".join(sorted(registry.suites))
            raise UserError(f"unknown suite '{name_or_path}' (built in: {known}; or a .toml path)")
    label = path.name
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"suite {label}: cannot read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"suite {label}: malformed TOML: {exc}") from None
    error = jsonschema.exceptions.best_match(_suite_validator().iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(f"suite {label}: invalid at {where}: {error.message[:200]}")
    settings = {**DEFAULT_SETTINGS, **doc.get("settings", {})}
    cases: list[Case] = []
    for index, entry in enumerate(doc["cases"], start=1):
        cases.extend(expand(entry, f"suite {label}: case {entry['workload']} #{index}",
                            registry))
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


def expand(entry: dict[str, Any], where: str, registry: Registry) -> list[Case]:
    """One suite entry → its cases (frameworks × devices × precisions × parameter grid)."""
    spec = registry.specs.get(entry["workload"])
    if spec is None:
        raise UserError(f"{where}: unknown workload '{entry['workload']}' "
                        f"(known: {', '.join(registry.specs)})")
    frameworks = entry.get("frameworks", list(FRAMEWORKS))
    devices = entry.get("devices", ["cpu"])
    precisions = entry.get("precisions", ["fp32"])
    check_names(where, frameworks=frameworks, devices=devices, precisions=precisions)
    given = entry.get("params", {})
    for key in given:
        if key not in spec.params:
            raise UserError(f"{where}: unknown field '{key}' (known: {', '.join(spec.params)})")
    axes = {k: _axis(spec.params[k].kind, given.get(k, p.default)) for k, p in spec.params.items()}
    cases = []
    for combo in itertools.product(*axes.values()):
        params = Params(dict(zip(axes, combo, strict=True)))
        why = spec.check(params)
        if why:
            raise UserError(f"{where}: {why}")
        tag = spec.tag(params)
        items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
        for fw, dev, prec in itertools.product(frameworks, devices, precisions):
            dev = "cuda:0" if dev == "cuda" else dev
            cases.append(Case(spec.name, fw, dev, prec, items, tag))
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

    return [c for c in cases if keep(c)]


def unavailable(case: Case, gpu_count: int, registry: Registry) -> str | None:
    """Why this case cannot run on this machine, decided without importing any framework."""
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
    return registry.spec(case.workload).supports(case.framework, case.device, case.precision,
                                                 case.params)
