"""The export formats CI dashboards and monitoring read: each checked by its receiver's own
reader where one installs (prometheus_client's parsers), else by the documented shape kept
here as a JSON Schema, and every number read back equal to the result's."""

from __future__ import annotations

import copy
import json
import math
import statistics
from pathlib import Path

import jsonschema
import pytest

from dbnbench.app.cli_history import EXPORT_FORMATS, EXPORT_METRICS
from dbnbench.format.results import load, validate
from dbnbench.reports.exports import FORMATS, Options, export
from dbnbench.reports.exports.metrics import KEYS

FIXTURE = Path(__file__).parent.parent / "fixtures" / "quick-cpu.json"

# github-action-benchmark's custom formats, as its README documents them.
ACTION_SCHEMA = {"type": "array", "items": {
    "type": "object", "required": ["name", "unit", "value"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1}, "unit": {"type": "string"},
                   "value": {"type": "number"}, "range": {"type": "string"},
                   "extra": {"type": "string"}}}}
# Bencher Metric Format, as bencher.dev's reference gives it (measure slugs ≤ 64 characters,
# benchmark names ≤ 1024).
BENCHER_SCHEMA = {"type": "object", "propertyNames": {"minLength": 1, "maxLength": 1024},
                  "additionalProperties": {
                      "type": "object", "propertyNames": {"minLength": 1, "maxLength": 64},
                      "additionalProperties": {
                          "type": "object", "required": ["value"], "additionalProperties": False,
                          "properties": {"value": {"type": "number"},
                                         "lower_value": {"type": "number"},
                                         "upper_value": {"type": "number"}}}}}
# What Google Benchmark writes with --benchmark_format=json and its compare.py reads: the
# context, and per benchmark its name, run type (aggregates named), times and unit.
GBENCH_SCHEMA = {"type": "object", "required": ["context", "benchmarks"], "properties": {
    "context": {"type": "object", "required": ["date", "host_name", "executable", "num_cpus",
                                               "library_build_type"]},
    "benchmarks": {"type": "array", "items": {
        "type": "object",
        "required": ["name", "run_name", "run_type", "family_index", "per_family_instance_index",
                     "repetitions", "threads", "iterations", "real_time", "cpu_time",
                     "time_unit"],
        "properties": {"run_type": {"enum": ["iteration", "aggregate"]},
                       "time_unit": {"enum": ["ns", "us", "ms", "s"]},
                       "real_time": {"type": "number"}, "cpu_time": {"type": "number"},
                       "iterations": {"type": "integer", "minimum": 1}},
        "if": {"properties": {"run_type": {"const": "aggregate"}}},
        "then": {"required": ["aggregate_name"]},
        "else": {"required": ["repetition_index"]}}}}}


@pytest.fixture(scope="module")
def doc() -> dict:
    """The quick fixture, its first ok case given latency percentiles and energy."""
    d = copy.deepcopy(load(FIXTURE))
    c = next(c for c in d["cases"] if c["status"] == "ok")
    c["metrics"]["extra"] = {"latency_ms": {"p50": 0.5, "p90": 0.75, "p99": 1.25}}
    c["metrics"].update(energy_per_item_j=0.002, energy_j=12.5, items_per_joule=500.0)
    return validate(d)


def ok_cases(doc: dict) -> list[dict]:
    return [c for c in doc["cases"] if c["status"] == "ok"]


def test_the_cli_names_every_format_and_metric():
    assert set(EXPORT_FORMATS) == set(FORMATS) and EXPORT_METRICS == KEYS


def test_github_action_benchmark_one_direction_per_file(doc):
    bigger = json.loads(export(doc, "github-action-benchmark", Options(commit="abc123")))
    smaller = json.loads(export(doc, "github-action-benchmark",
                                Options(direction="smaller", commit="abc123")))
    for entries in (bigger, smaller):
        jsonschema.validate(entries, ACTION_SCHEMA)
        names = [e["name"] for e in entries]
        assert len(names) == len(set(names))  # the action keys its history by name
    rates = {e["name"]: e for e in bigger if e["name"].endswith(" · throughput")}
    for c in ok_cases(doc):
        e = rates[f"{c['id']} · throughput"]
        m = c["metrics"]["items_per_s"]
        assert e["value"] == m["median"] and e["unit"] == "items/s"  # v1 names no item
        assert e["range"] == f"95% CI [{m['ci_low']:.6g}, {m['ci_high']:.6g}]"
        assert "commit abc123" in e["extra"] and doc["run_id"] in e["extra"]
    kinds = {e["name"].rsplit(" · ", 1)[1] for e in smaller}
    assert kinds == {"latency_p50", "latency_p90", "latency_p99", "peak_memory",
                     "energy_per_item"} | ({"quality"} if any(
                         c["metrics"]["quality"].get("lower_is_better")
                         for c in ok_cases(doc)) else set())
    first = ok_cases(doc)[0]["id"]
    assert {e["name"]: e["value"] for e in smaller}[f"{first} · latency_p99"] == 1.25
    only = json.loads(export(doc, "github-action-benchmark",
                             Options(keys=("throughput",), commit="abc123")))
    assert only == [e for e in bigger if e["name"].endswith(" · throughput")]


def test_bencher_metric_format_carries_every_measure_with_its_interval(doc):
    bmf = json.loads(export(doc, "bencher"))
    jsonschema.validate(bmf, BENCHER_SCHEMA)
    assert list(bmf) == [c["id"] for c in ok_cases(doc)]
    for c in ok_cases(doc):
        m = c["metrics"]["items_per_s"]
        assert bmf[c["id"]]["throughput"] == {"value": m["median"], "lower_value": m["ci_low"],
                                              "upper_value": m["ci_high"]}
        assert bmf[c["id"]]["peak-memory-bytes"]["value"] == c["metrics"][
            "peak_host_memory_bytes"]
    first = bmf[ok_cases(doc)[0]["id"]]
    assert first["latency"] == {"value": 0.5e6}  # Bencher's latency measure is nanoseconds
    assert first["latency-p99"] == {"value": 1.25e6}
    assert first["energy-per-item-joules"] == {"value": 0.002}


def families_by_name(text: str) -> dict:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    return {f.name: f for f in text_string_to_metric_families(text)}


def test_openmetrics_is_read_by_prometheus_clients_own_parsers(doc):
    pytest.importorskip("prometheus_client", reason="prometheus-client is not installed "
                        "(pip install -e '.[test]')")
    from prometheus_client.parser import text_string_to_metric_families as prometheus_text

    text = export(doc, "openmetrics", Options(commit="abc123"))
    assert text.endswith("# EOF\n")
    fams = families_by_name(text)
    rate = fams["dbnbench_throughput_items_per_second"]
    assert rate.type == "gauge" and rate.unit == "items_per_second"
    got = {(s.labels["case"], s.labels["stat"]): s.value for s in rate.samples}
    for c in ok_cases(doc):
        m = c["metrics"]["items_per_s"]
        for stat in ("median", "ci_low", "ci_high"):
            assert got[(c["id"], stat)] == m[stat]
    energy = fams["dbnbench_energy_joules"]
    assert energy.type == "counter" and energy.unit == "joules"
    assert [(s.name, s.value) for s in energy.samples] == [("dbnbench_energy_joules_total", 12.5)]
    latency = {s.labels["percentile"]: s.value for s in fams["dbnbench_latency_seconds"].samples}
    assert latency == {"50": 0.0005, "90": 0.00075, "99": 0.00125}
    [info] = fams["dbnbench_run_info"].samples
    assert info.labels["run_id"] == doc["run_id"] and info.labels["commit"] == "abc123"
    # The text format the node exporter's textfile collector reads parses too.
    assert {f.name for f in prometheus_text(text)} >= {"dbnbench_throughput_items_per_second",
                                                      "dbnbench_run_info"}


def test_an_openmetrics_label_keeps_a_hostile_string_inside_its_quotes(doc):
    pytest.importorskip("prometheus_client", reason="prometheus-client is not installed")
    d = copy.deepcopy(doc)
    evil = 'host"} 1\nevil_metric 666\n# EOF\n\\'
    d["machine"]["hostname"] = evil
    fams = families_by_name(export(validate(d), "openmetrics"))
    assert "evil_metric" not in fams
    [info] = fams["dbnbench_run_info"].samples
    assert info.labels["hostname"] == validate(d)["machine"]["hostname"]


def test_google_benchmark_repetitions_and_aggregates_read_back(doc):
    out = json.loads(export(doc, "google-benchmark", Options(commit="abc123")))
    jsonschema.validate(out, GBENCH_SCHEMA)
    assert out["context"]["dbnbench_commit"] == "abc123"
    for c in ok_cases(doc):
        mine = [b for b in out["benchmarks"] if b["run_name"] == c["id"]]
        runs = [b for b in mine if b["run_type"] == "iteration"]
        assert [b["real_time"] * b["iterations"] / 1e3 for b in runs] == pytest.approx(
            c["repetitions_s"])
        steps = [r / n for r, n in zip(c["repetitions_s"], c["steps_per_repetition"],
                                       strict=True)]
        # Each repetition its own rate; the median aggregate the case's.
        assert [b["items_per_second"] for b in runs] == pytest.approx(
            [c["items_per_step"] * n / r for r, n in zip(c["repetitions_s"],
                                                         c["steps_per_repetition"], strict=True)])
        aggregates = {b["aggregate_name"]: b for b in mine if b["run_type"] == "aggregate"}
        assert aggregates["median"]["real_time"] == pytest.approx(statistics.median(steps) * 1e3)
        assert aggregates["cv"]["real_time"] == pytest.approx(
            statistics.stdev(steps) / statistics.fmean(steps))
        assert aggregates["median"]["items_per_second"] == c["metrics"]["items_per_s"]["median"]
        assert all(b["cpu_time"] == b["real_time"] for b in mine)
        assert len({b["family_index"] for b in mine}) == 1


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_via_the_cli_to_a_file_and_standard_output(tmp_path, cli, name):
    target = tmp_path / "out"
    done = cli("export", "--format", name, str(FIXTURE), "-o", str(target))
    assert done.returncode == 0, done.stderr
    shown = cli("export", "--format", name, str(FIXTURE))
    assert shown.returncode == 0 and shown.stdout == target.read_text()
    assert f"{FORMATS[name].what} written to {target}" in " ".join(done.stdout.split())


@pytest.mark.parametrize("args, message", [
    (["--format", "bencher", "--metric", "speed"], "--metric: unknown metric 'speed'"),
    (["--format", "bencher", "--direction", "smaller"], "--direction: only"),
    (["--format", "pytest-benchmark", "--metric", "throughput"], "--metric: pytest-benchmark"),
    (["--format", "openmetrics", "--commit", "a\x1bb"], "--commit: 1 to 200 printable"),
])
def test_bad_export_options_are_one_line_and_exit_2(tmp_path, cli, args, message):
    target = tmp_path / "out"
    done = cli("export", str(FIXTURE), "-o", str(target), *args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not target.exists()


def test_units_name_the_workloads_item(doc):
    from dbnbench.format.view import views
    from dbnbench.reports.exports.metrics import metrics_of

    first = views(doc)[0]
    units = {m.key: m.unit for m in metrics_of(first, "samples")}
    assert units["throughput"] == "samples/s" and units["energy_per_item"] == "J/sample"
    assert units["latency_p99"] == "ms" and units["peak_memory"] == "bytes"


def test_no_number_is_invented_for_what_was_not_measured(doc):
    """A case without energy or latency has no such entry in any format (never a zero)."""
    second = ok_cases(doc)[1]["id"]
    bmf = json.loads(export(doc, "bencher"))
    assert not {"latency", "energy-per-item-joules"} & set(bmf[second])
    entries = json.loads(export(doc, "github-action-benchmark", Options(direction="smaller")))
    assert not [e for e in entries if e["name"].startswith(second + " · latency")]
    assert all(math.isfinite(e["value"]) for e in entries)
