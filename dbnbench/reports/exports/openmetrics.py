"""OpenMetrics text, for Prometheus (the node exporter's textfile collector, a pushgateway).

Units are base units and name suffixes (seconds, bytes, joules, a ratio of 1), the unit also
on its `# UNIT` line; the one counter, the energy a case's measured window used, ends in
`_total`. Labels name the case (its id, workload, framework, device, precision and arm), so
a series is the same case across runs; the 95 % interval is the `stat` label's `ci_low` and
`ci_high` beside `median`. One `dbnbench_run_info` gauge (value 1) names the run, machine,
tool version and commit. Lost: the repetitions, per-round numbers and the direction (a
Prometheus alert rule says which way is worse). Label values are escaped as the format
says, so a hostile string in a result stays inside its quotes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ...format.results import ResultDoc
from .metrics import ENERGY, LATENCY, MEMORY, QUALITY, ROOF, THROUGHPUT, CaseMetrics, exported

PREFIX = "dbnbench_"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}"


@dataclass
class Family:
    name: str  # without _total for the counter
    kind: str  # gauge or counter
    help: str
    unit: str = ""
    samples: list[str] = field(default_factory=list)

    def add(self, pairs: list[tuple[str, str]], value: float) -> None:
        suffix = "_total" if self.kind == "counter" else ""
        self.samples.append(f"{self.name}{suffix}{labels(pairs)} {value!r}")

    def text(self) -> list[str]:
        head = [f"# TYPE {self.name} {self.kind}", f"# HELP {self.name} {escape(self.help)}"]
        if self.unit:
            head.append(f"# UNIT {self.name} {self.unit}")
        return head + self.samples


def case_labels(c: CaseMetrics) -> list[tuple[str, str]]:
    v = c.case
    out = [("case", v.id), ("workload", v.workload), ("framework", v.framework),
           ("device", v.device), ("precision", v.precision)]
    return out + ([("arm", v.arm)] if v.arm else [])


def families() -> dict[str, Family]:
    p = PREFIX
    return {
        THROUGHPUT: Family(p + "throughput_items_per_second", "gauge",
                           "items (the workload's unit: item label) per second, median and 95% "
                           "interval", "items_per_second"),
        "latency": Family(p + "latency_seconds", "gauge",
                          "latency of a batch-1 call (closed loop), by percentile", "seconds"),
        MEMORY: Family(p + "peak_memory_bytes", "gauge", "peak memory of the case (kind: "
                       "device or host)", "bytes"),
        ENERGY: Family(p + "energy_per_item_joules", "gauge", "energy per item", "joules"),
        "energy_total": Family(p + "energy_joules", "counter",
                               "energy of the case's measured window", "joules"),
        ROOF: Family(p + "roof_ratio", "gauge", "share of the machine's roof the case reached "
                     "(bound: compute, bandwidth, or gemm_peak in a result without a roofline)", "ratio"),
        QUALITY: Family(p + "quality", "gauge", "the workload's quality metric (metric label) "
                        "and whether it passed its bar"),
    }


def to_openmetrics(doc: ResultDoc, keys: tuple[str, ...], commit: str | None = None) -> str:
    fam = families()
    for c in exported(doc, keys):
        base = case_labels(c)
        for m in c.metrics:
            if m.key == THROUGHPUT:
                stats = [("median", m.value), ("ci_low", m.low), ("ci_high", m.high)]
                for stat, value in stats:
                    if value is not None:
                        fam[THROUGHPUT].add([*base, ("item", c.item), ("stat", stat)], value)
            elif m.key in LATENCY:
                fam["latency"].add([*base, ("percentile", m.key.rsplit("p", 1)[1])],
                                   m.value / 1e3)
            elif m.key == MEMORY:
                fam[MEMORY].add([*base, ("kind", c.case.memory_kind or "host")], m.value)
            elif m.key == ENERGY:
                fam[ENERGY].add([*base, ("item", c.item)], m.value)
                total = c.case.case["metrics"].get("energy_j")
                if isinstance(total, (int, float)):
                    fam["energy_total"].add(base, float(total))
            elif m.key == ROOF:
                fam[ROOF].add([*base, ("bound", c.case.bound or "gemm_peak")], m.value / 100)
            elif m.key == QUALITY:
                passed = c.case.quality.passed if c.case.quality else None
                fam[QUALITY].add([*base, ("metric", m.unit),
                                  ("passed", str(passed).lower())], m.value)
    machine = doc["machine"]
    info = Family(PREFIX + "run_info", "gauge", "the run these numbers come from (value 1)")
    info.add([("run_id", doc["run_id"]), ("suite", doc["suite"]),
              ("hostname", machine["hostname"]), ("cpu", machine["cpu"]["model"]),
              ("tool_version", doc["tool"]["version"]),
              ("commit", commit or "")], 1.0)
    lines = info.text()
    for f in fam.values():
        if f.samples:
            lines += f.text()
    return "\n".join([*lines, "# EOF"]) + "\n"
