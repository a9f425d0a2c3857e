"""A result in the formats other tools read: each format one module, each fed by
metrics.py's one reading of a case. `FORMATS` names them for the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...format.results import ResultDoc
from .action_benchmark import to_action_benchmark
from .bencher import to_bencher
from .google_benchmark import to_google_benchmark
from .metrics import KEYS
from .openmetrics import to_openmetrics
from .pytest_benchmark import to_pytest_benchmark


@dataclass(frozen=True)
class Options:
    keys: tuple[str, ...] = KEYS  # the metrics asked for (--metric)
    direction: str = "bigger"  # github-action-benchmark's file: bigger or smaller is better
    commit: str | None = None


@dataclass(frozen=True)
class Format:
    what: str  # for the CLI's message: "Bencher Metric Format JSON"
    render: Callable[[ResultDoc, Options], str]


FORMATS: dict[str, Format] = {
    "pytest-benchmark": Format("pytest-benchmark JSON",
                               lambda d, o: to_pytest_benchmark(d, o.commit)),
    "github-action-benchmark": Format(
        "github-action-benchmark JSON",
        lambda d, o: to_action_benchmark(d, o.direction, o.keys, o.commit)),
    "bencher": Format("Bencher Metric Format JSON", lambda d, o: to_bencher(d, o.keys)),
    "openmetrics": Format("OpenMetrics text", lambda d, o: to_openmetrics(d, o.keys, o.commit)),
    "google-benchmark": Format("Google Benchmark JSON",
                               lambda d, o: to_google_benchmark(d, o.keys, o.commit)),
}


def export(doc: ResultDoc, name: str, options: Options = Options()) -> str:
    return FORMATS[name].render(doc, options)
