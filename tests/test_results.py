"""The result file: every schema version ever written still loads; writes are atomic."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dbnbench.format import results
from dbnbench.harness.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_V2 = FIXTURES / "result-v2-ci.json"


def ok_case(doc: dict) -> dict:
    return next(c for c in doc["cases"] if c["status"] == "ok")


def test_every_past_schema_version_has_a_fixture_that_loads():
    for version in results.SCHEMA_FILES:
        files = sorted(FIXTURES.glob(f"result-v{version}-*.json"))
        assert files, f"no fixture written by schema version {version}"
        for path in files:
            assert json.loads(path.read_text())["schema_version"] == version
            doc = results.load(path)  # validated as written, then upgraded to the current
            assert doc["schema_version"] == results.SCHEMA_VERSION
            assert any(c["status"] == "ok" for c in doc["cases"])
            results.check_schema(doc, results.SCHEMA_VERSION, str(path))


def test_atomic_write_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_text("old")

    class Boom(Exception):
        pass

    def exploding_fsync(fd):
        raise Boom

    monkeypatch.setattr("os.fsync", exploding_fsync)
    with pytest.raises(Boom):
        results.write_atomic(target, "new content")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"], "temporary file left behind"


def test_dump_refuses_an_invalid_document(tmp_path):
    doc = results.load(FIXTURES / "result-v1-ci.json")
    doc["cases"][0]["status"] = "great"
    with pytest.raises(UserError, match="invalid at cases/0/status"):
        results.dump(doc, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_terminal_report_flags_a_slow_reduced_precision():
    """A bf16 GEMM 140× slower than fp32 (seen on a CPU without bf16 units) is called out."""
    from rich.console import Console

    from dbnbench.harness.engine.findings import findings
    from dbnbench.reports.terminal import render

    doc = results.load(FIXTURES / "result-v1-ci.json")
    doc["calibration"] = [
        {"framework": "torch", "device": "cpu", "precision": "fp32", "gemm_flops_per_s": 1.4e11},
        {"framework": "torch", "device": "cpu", "precision": "bf16", "gemm_flops_per_s": 1e9},
        {"framework": "torch", "device": "cpu", "precision": "fp64", "gemm_flops_per_s": 7e10}]
    doc["findings"] = findings(doc)
    console = Console(width=200, record=True)
    console.print(render(doc))
    text = console.export_text()
    assert "finding: torch on cpu: bf16 matrix products run 140.0× slower than fp32" in text
    assert "fp64" not in text.split("finding:")[-1], "fp64 at half of fp32 is no finding"


def test_an_interval_edited_away_from_its_median_is_refused(tmp_path):
    """The interval of items/s holds its median in every file the tool writes; bounds
    edited to [1e12, 2e12] around a median of thousands are not a measurement."""
    doc = json.loads((FIXTURES / "result-v2-ci.json").read_text())
    case = next(c for c in doc["cases"] if c["status"] == "ok")
    case["metrics"]["items_per_s"].update(ci_low=1e12, ci_high=2e12)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="ci_low: 1e\\+12 is above the median"):
        results.load(path)


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d.update(finished_at="2000-01-01T00:00:00+00:00"), "is before started_at"),
    (lambda d: d["settings"].update(timeout_s=-5), "settings/timeout_s"),
    (lambda d: d["settings"].update(timeout_s=0), "settings/timeout_s"),
    (lambda d: ok_case(d)["metrics"]["step_s"].update(min=1.0, max=0.5), "is above max"),
    (lambda d: ok_case(d)["metrics"]["step_s"].update(median=0), "median: 0 is not > 0"),
    (lambda d: ok_case(d)["metrics"].update(pct_of_peak_by_round=[0.1] * 7), "7 entries in a run"),
    (lambda d: ok_case(d).update(repetition_rounds=[9] * len(ok_case(d)["repetitions_s"])),
     "is not a round of this run"),
    (lambda d: ok_case(d).update(repetition_rounds=[-1] * len(ok_case(d)["repetitions_s"])),
     "is not a round of this run"),
    (lambda d: d["calibration"][0].update(by_round=[1e11] * 9), "9 rounds in a run of"),
    (lambda d: d["calibration"][0].update(binary_flops_per_s_by_round=[1e11] * 9),
     "binary_flops_per_s_by_round: 9 rounds in a run of"),
    (lambda d: ok_case(d).update(own_shape_gemm_by_round=[None] * 7), "7 entries"),
    (lambda d: ok_case(d).update(tag="v1-h2"), "is not the last part of the id"),
])
def test_an_edited_file_that_contradicts_itself_is_refused(tmp_path, edit, needle):
    doc = json.loads(FIXTURE_V2.read_text())
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=re.escape(needle)):
        results.load(path)


def test_own_shape_and_binary_operand_roofs_are_valid_fields(tmp_path):
    doc = json.loads(FIXTURE_V2.read_text())
    case = ok_case(doc)
    ran = len(set(case.get("repetition_rounds") or [0]))
    case["own_shape_gemm_by_round"] = [{"uniform": 1e11, "binary": 1.1e11}] + [None] * (ran - 1)
    doc["calibration"][0]["binary_flops_per_s_by_round"] = [None] * len(
        doc["calibration"][0]["by_round"])
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(doc))
    assert results.load(path)["cases"][doc["cases"].index(case)]["own_shape_gemm_by_round"][0] \
        == {"uniform": 1e11, "binary": 1.1e11}


def test_a_key_twice_in_one_object_is_refused(tmp_path):
    text = FIXTURE_V2.read_text()
    path = tmp_path / "twice.json"
    path.write_text(text.replace('"status": "ok"', '"status": "failed", "status": "ok"', 1)
                    if '"status": "ok"' in text else
                    text.replace('"status":"ok"', '"status":"failed","status":"ok"', 1))
    with pytest.raises(UserError, match="the key 'status' appears twice"):
        results.load(path)


def test_a_v1_file_carrying_v2_fields_is_refused_not_silently_dropped(tmp_path):
    doc = json.loads((FIXTURES / "result-v1-ci.json").read_text())
    assert results.validate(json.loads(json.dumps(doc)))["schema_version"] == 2
    doc["findings"] = [{"kind": "x", "severity": "info", "message": "m", "cases": []}]
    path = tmp_path / "v1plus.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="carries version 2's findings"):
        results.load(path)


def test_a_cases_shape_is_read_from_its_tag_never_parsed_from_its_id():
    """The shape (the id's parameter part) is written with each case; readers take it from
    there. Files written before fall back to the id's last part."""
    from dbnbench.format.results import case_tag

    doc = json.loads(FIXTURE_V2.read_text())
    case = ok_case(doc)
    assert case_tag({**case, "tag": "x/y"}) == "x/y"  # a tag with a slash is read whole
    without = {k: v for k, v in case.items() if k != "tag"}
    assert case_tag(without) == case["id"].rsplit("/", 1)[-1]


def test_a_v1_case_without_warnings_gains_an_empty_list_on_upgrade(tmp_path):
    """v1 did not require `warnings`; every v2 reader counts on the list."""
    doc = json.loads((FIXTURES / "result-v1-ci.json").read_text())
    for case in doc["cases"]:
        case.pop("warnings", None)
    path = tmp_path / "v1-bare.json"
    path.write_text(json.dumps(doc))
    assert all(c["warnings"] == [] for c in results.load(path)["cases"])
