"""`dbnbench run`'s options as one typed object: what click parsed, named and typed once, so
the command (and anything that runs a suite the way the command does) works from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunArgs:
    # what to run
    suite: str
    workload: str | None
    framework: str | None
    device: str | None
    precision: str | None
    max_cases: int
    # where it goes
    output: Path
    no_html: bool
    db: Path | None
    data_dir: Path | None
    # how it measures (None: the suite's setting)
    timeout: float | None
    rounds: int | None
    repetitions: int | None
    min_time: float | None
    threads: int | None
    seed: int | None
    no_quality: bool
    max_memory: str | None
    isolate: bool
    # a run resumed, arms, several machines
    resume: str | None
    arm_specs: tuple[str, ...]
    arm_env: tuple[str, ...]
    nnodes: int | None
    node_rank: int | None
    rdzv_endpoint: str | None
    rdzv_timeout: float
    duet: bool
    pin: bool
    # the sequential gate
    until_decided: bool
    max_rounds: int | None
    max_time: str | None
    gate_threshold: str
    verbose: bool


__all__ = ["RunArgs"]
