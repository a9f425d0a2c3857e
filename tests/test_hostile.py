"""Hostile inputs to every command, in-process: ci/hostile.py's corpus of suite and result
files (the script measures the same corpus through real processes), plus property-based
fuzzing of both structures. Each is refused with one line and exit 2, no traceback, and
nothing is written or overwritten."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbnbench.format import results
from dbnbench.harness.errors import UserError
from dbnbench.harness.plan.cases import load_suite

from .conftest import REGISTRY, call

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "result-v2-ci.json"
spec = importlib.util.spec_from_file_location("hostile", ROOT / "ci" / "hostile.py")
assert spec is not None and spec.loader is not None
hostile = importlib.util.module_from_spec(spec)
sys.modules["hostile"] = hostile  # dataclasses look their module up by name
spec.loader.exec_module(hostile)
RESULTS = hostile.result_corpus()
SUITES = hostile.suite_corpus()


def refused(code: int, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, err[-500:])
    assert len(lines) == 1 and lines[0].startswith("dbnbench: error:"), err[-500:]
    return lines[0]


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_hostile_result_files_are_refused_by_every_command(name, tmp_path, capsys, monkeypatch):
    path = write(tmp_path / f"{name}.json", RESULTS[name])
    before = path.read_bytes()
    good = shutil.copy(FIXTURE, tmp_path / "good.json")
    alone = tmp_path / "pub"
    alone.mkdir()
    shutil.copy(path, alone / path.name)
    out = tmp_path / "out"
    for args in (["report", str(path)], ["report", str(path), "-o", str(out / "r.html")],
                 ["compare", str(path), str(good)],
                 ["compare", str(good), str(path), "--json", str(out / "c.json")],
                 ["publish", str(alone), "-o", str(out / "site")],
                 ["export", str(path), "-o", str(out / "e.json")],
                 ["history", "--db", str(out / "h.sqlite"), "--import", str(path)]):
        out.mkdir(exist_ok=True)
        refused(*call(capsys, monkeypatch, *args)[::2])
        assert path.read_bytes() == before, "the input was modified"
        assert not any(out.iterdir()), f"{args[0]} wrote {list(out.iterdir())}"


@pytest.mark.parametrize("name", sorted(SUITES))
def test_hostile_suite_files_are_refused(name, tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "suite.toml", SUITES[name])
    refused(*call(capsys, monkeypatch, "list", "--suite", str(path))[::2])
    out = tmp_path / "out"
    refused(*call(capsys, monkeypatch, "run", "--suite", str(path), "-o", str(out),
                  "--db", str(tmp_path / "h.sqlite"))[::2])
    assert not out.exists() and not (tmp_path / "h.sqlite").exists()


def test_a_runaway_grid_is_refused_before_it_is_built(tmp_path, capsys, monkeypatch):
    import time

    path = write(tmp_path / "suite.toml", SUITES["grid-10**6"])
    started = time.perf_counter()
    line = refused(*call(capsys, monkeypatch, "list", "--suite", str(path))[::2])
    assert time.perf_counter() - started < 1.0
    assert "expands to 1,000,000 cases, over the limit of 10,000" in line
    assert "--max-cases" in line
    # raised, the limit lets the 10 001-case grid through (it lists; nothing runs)
    path = write(tmp_path / "suite.toml", SUITES["grid-10001"])
    refused(*call(capsys, monkeypatch, "list", "--suite", str(path))[::2])
    assert len(load_suite(str(path), REGISTRY, max_cases=10_001).cases) == 10_001


def test_tampered_throughput_is_refused_naming_the_field(tmp_path):
    path = write(tmp_path / "x10.json", RESULTS["rate-times-10"])
    with pytest.raises(UserError, match=r"cases/0/metrics/items_per_s/median: 4\.46229e\+06 "
                       r"does not follow from repetitions_s"):
        results.load(path)


def test_real_and_synthetic_files_still_load():
    from dbnbench.reports.gate_validation import synthetic_case, synthetic_doc

    paths = [*(ROOT / "tests" / "fixtures").glob("*.json"),
             *(ROOT / "reports" / "samples").glob("*.json")]
    assert len(paths) >= 5
    for path in paths:
        doc = results.load(path)
        raw = json.loads(path.read_text())
        assert doc["run_id"] == raw["run_id"] and len(doc["cases"]) == len(raw["cases"]), path
    doc = synthetic_doc([synthetic_case("c", [0.010, 0.011, 0.012], arm="base"),
                         synthetic_case("c", [0.020, 0.021, 0.019], arm="head")])
    results.validate(json.loads(json.dumps(doc)))  # one id in two arms is two entries


def test_one_case_twice_in_one_arm_is_refused():
    from dbnbench.reports.gate_validation import synthetic_case, synthetic_doc

    doc = synthetic_doc([synthetic_case("c", [0.010, 0.011], arm="base"),
                         synthetic_case("c", [0.020, 0.021], arm="base")])
    with pytest.raises(UserError, match="cases/1/id: c appears twice in arm base"):
        results.validate(json.loads(json.dumps(doc)))


# ------------------------------------------------------------------ property-based fuzzing
GOOD = json.loads(FIXTURE.read_text())
HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, -1e-3, 1e-320, 10**400, 2**64,
                     "", "nan", None, True, [], {}, [[[[[]]]]]]),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=20))


def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            out += paths(v, (*prefix, i))
    return out


PATHS = [p for p in paths(GOOD) if p]


def replaced(doc: dict, path: tuple, value: object) -> dict:
    doc = json.loads(json.dumps(doc))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE), min_size=1, max_size=3))
def test_fuzzed_result_documents_load_or_are_refused(edits):
    """Any edit of a real result: either a one-line UserError, or a document whose every
    number is finite, that the terminal report and the export can render."""
    doc = GOOD
    for path, value in edits:
        try:
            doc = replaced(doc, path, value)
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(doc)  # NaN and Infinity spelled as Python's json writes them
    try:
        loaded = results.validate(json.loads(text))
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    from rich.console import Console

    from dbnbench.reports.exports import FORMATS, export
    from dbnbench.reports.terminal import render

    assert hostile_free(loaded)
    Console(file=open("/dev/null", "w"), width=120).print(render(loaded))
    for name in FORMATS:  # every export writes what its reader parses
        text = export(loaded, name)
        if name != "openmetrics":
            json.loads(text)


def hostile_free(node: object) -> bool:
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, dict):
        return all(hostile_free(v) for v in node.values())
    if isinstance(node, list):
        return all(hostile_free(v) for v in node)
    return not isinstance(node, int) or abs(node) < 2**63


TOML_VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e300", str(2**63 - 1), "[]", "[[]]",
                     '""', "true", "[1, 2]", "[0.5, nan]", "{}", "1.5", "9" * 30]),
    st.integers(-(2**63), 2**63 - 1).map(str), st.floats().map(repr).filter(
        lambda r: r not in ("nan", "inf", "-inf")))
SUITE_KEYS = ["rounds", "repetitions", "min_time_s", "warmup_s", "timeout_s", "seed", "quality"]
PARAM_KEYS = ["visible", "hidden", "batch", "k", "lr", "momentum", "weight_decay", "persistent"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SUITE_KEYS), TOML_VALUES, max_size=3),
       st.dictionaries(st.sampled_from(PARAM_KEYS), TOML_VALUES, max_size=4))
def test_fuzzed_suite_files_load_or_are_refused(tmp_path_factory, settings_, params):
    """Any settings and parameters: a one-line UserError, or a suite whose every case is
    finite and checked (what a worker would be handed)."""
    lines = ['name = "fuzz"', "[settings]", *(f"{k} = {v}" for k, v in settings_.items()),
             "[[cases]]", 'workload = "rbm-cdk"', 'frameworks = ["numpy"]',
             "params = { " + ", ".join(f"{k} = {v}" for k, v in params.items()) + " }"]
    path = tmp_path_factory.mktemp("fuzz") / "suite.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        suite = load_suite(str(path), REGISTRY)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert hostile_free(suite.settings) and suite.cases
    for case in suite.cases:
        assert hostile_free(case.params.to_json())


def test_a_case_that_cannot_fit_the_memory_cap_is_refused_with_its_estimate(
        tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "suite.toml", hostile.rbm().replace(
        "visible = 16, hidden = 16", "visible = 65536, hidden = 65536"))
    line = refused(*call(capsys, monkeypatch, "run", "--suite", str(path), "--max-memory",
                         "1GiB", "-o", str(tmp_path / "out"))[::2])
    # (B·V + V·H + B·H)·4 bytes for the largest product: 16.0 GiB at the least
    assert "its buffers need at least 16 GiB, over the 1 GiB memory cap" in line, line
    assert not (tmp_path / "out").exists()
    path = write(tmp_path / "suite.toml", SUITES["rbm-batch-2**40"])
    line = refused(*call(capsys, monkeypatch, "list", "--suite", str(path))[::2])
    assert "more than any machine has" in line


@pytest.mark.parametrize("version", [[], {}, "2", 2.5, None, True, 10**400])
def test_an_odd_schema_version_is_refused_in_one_line(version):
    doc = {**GOOD, "schema_version": version}
    with pytest.raises(UserError, match=r"schema_version .* is not supported") as exc:
        results.validate(json.loads(json.dumps(doc)))
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("bar", ["", "0.5", [], {}, math.inf])
def test_a_quality_bar_that_is_not_a_number_is_refused(bar):
    doc = json.loads(json.dumps(GOOD))
    quality = next(c["metrics"]["quality"] for c in doc["cases"]
                   if isinstance(c["metrics"].get("quality"), dict))
    quality["bar"] = bar
    with pytest.raises(UserError, match="quality/bar"):
        results.validate(json.loads(json.dumps(doc)))
