"""The runner contains every kind of failure, resumes, and writes valid result files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbnbench.format import results
from dbnbench.harness.engine.runner import Progress, RunInterrupted, RunOptions, execute
from dbnbench.harness.errors import UserError
from dbnbench.harness.probes.energy import EnergyMeter

from .conftest import REGISTRY

pytestmark = pytest.mark.slow  # every test runs real worker processes

SELFTEST = """
name = "contain"
[settings]
rounds = {rounds}
repetitions = 3
min_time_s = 0.01
warmup_s = 0.01
timeout_s = {timeout}
quality = true
[[cases]]
workload = "harness-selftest"
frameworks = ["numpy"]
params = {{ size = 32, mode = {modes}, where = "{where}" }}
"""


def suite_file(tmp_path: Path, modes: list[str], where: str = "step", rounds: int = 1,
               timeout: float = 8) -> str:
    path = tmp_path / "suite.toml"
    path.write_text(SELFTEST.format(modes=json.dumps(modes), where=where, rounds=rounds,
                                    timeout=timeout))
    return str(path)


def options(tmp_path: Path, suite: str, **kw) -> RunOptions:
    return RunOptions(suite=suite, filters={}, settings={"threads": 1}, output=tmp_path / "out",
                      registry=REGISTRY, max_memory=kw.pop("max_memory", 4 * 2**30), **kw)


def by_mode(doc: dict) -> dict[str, dict]:
    return {c["params"]["mode"]: c for c in doc["cases"]}


def test_failures_are_contained_and_the_rest_finishes(tmp_path):
    suite = suite_file(tmp_path, ["crash", "hang", "raise", "oom", "ok"])
    doc, path = execute(options(tmp_path, suite))
    cases = by_mode(doc)
    assert cases["ok"]["status"] == "ok"
    assert cases["ok"]["metrics"]["items_per_s"]["median"] > 0
    assert cases["crash"]["status"] == "failed"
    assert "SIGABRT" in cases["crash"]["reason"]
    assert cases["hang"]["status"] == "timeout"
    assert cases["raise"]["status"] == "failed"
    assert "RuntimeError: selftest: deliberate failure" in cases["raise"]["reason"]
    assert cases["oom"]["status"] == "failed"
    assert cases["oom"]["reason"].startswith("out of memory")
    # The file on disk is the document returned, and it validates against the schema.
    assert results.load(path) == json.loads(path.read_text())
    assert not list(path.parent.glob("*.journal.jsonl")), "journal left after a finished run"


@pytest.mark.parametrize("where", ["setup", "quality"])
def test_failures_outside_the_step_are_contained(tmp_path, where):
    doc, _ = execute(options(tmp_path, suite_file(tmp_path, ["raise", "ok"], where=where)))
    cases = by_mode(doc)
    assert cases["ok"]["status"] == "ok"
    if where == "setup":
        assert cases["raise"]["status"] == "failed"
    else:  # a broken quality run does not void the timing; the failure is reported with it
        assert cases["raise"]["status"] == "ok"
        assert "deliberate failure" in cases["raise"]["metrics"]["quality"]["error"]


def test_memory_cap_kills_a_leaking_case(tmp_path):
    doc, _ = execute(options(tmp_path, suite_file(tmp_path, ["leak", "ok"], timeout=60),
                             max_memory=600 * 2**20))
    cases = by_mode(doc)
    assert cases["leak"]["status"] == "failed"
    assert "out of memory" in cases["leak"]["reason"] and "cap" in cases["leak"]["reason"]
    assert cases["ok"]["status"] == "ok"


def test_resume_runs_only_what_is_missing(tmp_path):
    suite = suite_file(tmp_path, ["ok"], rounds=3)
    seen: list[str] = []

    def interrupt_after_first(label: str, status: str, reason: str | None) -> None:
        seen.append(label)
        if "round 1/" in label:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as info:
        execute(options(tmp_path, suite), Progress(done=interrupt_after_first))
    partial = results.load(info.value.path)
    assert partial["complete"] is False
    [case] = partial["cases"]
    assert case["status"] == "ok" and "only 1 of 3 rounds ran" in case["warnings"]
    assert len(case["repetitions_s"]) == 3

    resumed: list[str] = []
    doc, path = execute(options(tmp_path, suite), Progress(task=resumed.append),
                        resume_id=info.value.run_id)
    assert path == info.value.path
    assert doc["complete"] is True
    calibrations = [label for label in resumed if "calibrate" in label]
    assert calibrations and not any("(round 1)" in label for label in calibrations), \
        "round 1's calibration was redone"
    assert [label for label in resumed if not label.startswith("calibrate")] == [
        f"{case['id']} (round 2/3)", f"{case['id']} (round 3/3)"]
    [case] = doc["cases"]
    assert len(case["repetitions_s"]) == 9
    assert not any("rounds ran" in w for w in case["warnings"])


def interrupted_run(tmp_path: Path, suite: str) -> RunInterrupted:
    def stop(label: str, status: str, reason: str | None) -> None:
        if "round 1/" in label:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as info:
        execute(options(tmp_path, suite), Progress(done=stop))
    return info.value


def test_resume_refuses_a_suite_that_changed(tmp_path):
    """The journal keeps the expanded cases: resuming after the suite grew would merge two
    different plans into one result."""
    suite = suite_file(tmp_path, ["ok"], rounds=2)
    stopped = interrupted_run(tmp_path, suite)
    Path(suite).write_text(Path(suite).read_text().replace('["ok"]', '["ok", "raise"]'))
    with pytest.raises(UserError, match=r"expands to other cases now \(1 new, 0 gone\)"):
        execute(options(tmp_path, suite), resume_id=stopped.run_id)


def test_resume_refuses_a_workload_whose_source_changed(tmp_path):
    suite = suite_file(tmp_path, ["ok"], rounds=2)
    stopped = interrupted_run(tmp_path, suite)
    journal = tmp_path / "out" / f"{stopped.run_id}.journal.jsonl"
    lines = journal.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["cases"] and header["source_hashes"]["harness-selftest"]
    header["source_hashes"]["harness-selftest"] = "0" * 16  # as if the code had changed
    journal.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(UserError, match="the source of harness-selftest changed"):
        execute(options(tmp_path, suite), resume_id=stopped.run_id)


def test_a_torn_journal_line_loses_nothing_after_it(tmp_path):
    """A line cut short by a crash (or a full disk) is skipped; the records after it stand."""
    suite = suite_file(tmp_path, ["ok"], rounds=3)
    stopped = interrupted_run(tmp_path, suite)
    journal = tmp_path / "out" / f"{stopped.run_id}.journal.jsonl"
    with journal.open("a") as fh:
        fh.write('{"kind": "case", "id": "cut sh')  # torn: no newline, half a record
    resumed: list[str] = []
    doc, _ = execute(options(tmp_path, suite), Progress(task=resumed.append),
                     resume_id=stopped.run_id)
    [case] = doc["cases"]
    assert len(case["repetitions_s"]) == 9
    assert [label for label in resumed if not label.startswith("calibrate")] == [
        f"{case['id']} (round 2/3)", f"{case['id']} (round 3/3)"]


def test_process_per_case_mode(tmp_path):
    doc, _ = execute(options(tmp_path, suite_file(tmp_path, ["ok", "crash"]),
                             cases_per_worker=1))
    assert by_mode(doc)["ok"]["status"] == "ok"
    assert by_mode(doc)["crash"]["status"] == "failed"


def test_result_records_environment_and_hashes(tmp_path):
    doc, _ = execute(options(tmp_path, suite_file(tmp_path, ["ok"])))
    [case] = doc["cases"]
    assert case["math"]["threads"] == 1
    assert len(case["source_hash"]) == 16
    assert doc["settings"]["threads"] == 1
    assert doc["calibration"][0]["gemm_flops_per_s"] > 0
    assert doc["calibration"][0]["gemm_flops_per_s"] == max(doc["calibration"][0]["by_round"])
    assert case["metrics"]["pct_of_peak"] > 0
    assert case["metrics"]["peak_host_memory_bytes"] > 10 * 2**20
    # Energy is what this machine's counter gives, read in the worker: without RAPL, None with
    # the reason naming the missing interface; with it, joules and the counter named.
    meter, metrics = EnergyMeter("cpu"), case["metrics"]
    if meter.source is None:
        assert metrics["energy_j"] is None and metrics["energy_source"] is None
        assert metrics["unmeasured"]["energy_j"] == meter.reason and "RAPL" in meter.reason
    else:
        assert metrics["energy_source"] == meter.source, metrics
        assert metrics["energy_j"] is not None and metrics["energy_j"] > 0, metrics["unmeasured"]
        assert metrics["avg_power_w"] > 0 and "energy_j" not in metrics["unmeasured"]
