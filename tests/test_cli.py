"""Every bad input: one line on stderr, exit code 2, no traceback, nothing overwritten."""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import call, run_cli

FIXTURES = Path(__file__).parent / "fixtures"

GOOD = {"schema_version": 1, "run_id": "x", "suite": "ci", "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:01:00Z", "tool": {"name": "dbnbench", "version": "0"},
        "machine": {"hostname": "h", "os": "Linux", "python": "3.11", "memory_bytes": 1,
                    "cpu": {"model": "c", "cores": 1, "threads": 1}, "gpus": [],
                    "frameworks": {}},
        "settings": {"threads": 1, "seed": 0, "min_time_s": 0.1, "repetitions": 1},
        "calibration": [], "cases": []}


def assert_one_line_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dbnbench: error:"), lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("args,needle", [
    (["run", "--suite", "nope"], "unknown suite 'nope'"),
    (["list", "--suite", "nope.toml"], "unknown suite"),
    (["run", "--workload", "rbm-xyz"], "unknown workload 'rbm-xyz'"),
    (["run", "--framework", "numpy,mxnet"], "unknown framework 'mxnet'"),
    (["run", "--device", "tpu"], "unknown device 'tpu'"),
    (["list", "--precision", "fp8"], "unknown precision 'fp8'"),
    (["run", "--framework", ","], "--framework: empty list"),
    (["run", "--max-memory", "lots"], "--max-memory"),
    (["run", "--rounds", "0"], "--rounds"),
    (["run", "--no-such-option"], "--no-such-option"),
    (["report"], "FILES"),
])
def test_bad_arguments(args, needle, tmp_path):
    assert_one_line_error(run_cli(*args, cwd=tmp_path), needle)
    assert not (tmp_path / "results").exists(), "bad input created the output directory"


SUITES = {
    "malformed.toml": ("name = 'x'\n[[cases]\n", "malformed TOML"),
    "schema.toml": ("name = 'x'\ncases = [{workload = 'rbm-cdk', colour = 'red'}]\n",
                    "invalid at cases/0"),
    "nocases.toml": ("name = 'x'\ncases = []\n", "invalid at cases"),
    "negative.toml": ("name = 'x'\n[[cases]]\nworkload = 'rbm-cdk'\nparams = {hidden = -5}\n",
                      "case rbm-cdk #1: field 'hidden': must be >= 1"),
    "badtype.toml": ("name = 'x'\n[[cases]]\nworkload = 'rbm-cdk'\nparams = {batch = 'big'}\n",
                     "field 'batch': must be int"),
    "unknownfield.toml": ("name = 'x'\n[[cases]]\nworkload = 'rbm-cdk'\nparams = {hiden = 5}\n",
                          "unknown field 'hiden'"),
    "unknownwl.toml": ("name = 'x'\n[[cases]]\nworkload = 'rbm'\n", "unknown workload 'rbm'"),
    "badfw.toml": ("name = 'x'\n[[cases]]\nworkload = 'rbm-cdk'\nframeworks = ['mxnet']\n",
                   "unknown framework 'mxnet'"),
    "dup.toml": ("name = 'x'\n[[cases]]\nworkload = 'rbm-cdk'\n[[cases]]\nworkload = 'rbm-cdk'\n",
                 "appears twice"),
}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_bad_suite_files(name, tmp_path):
    text, needle = SUITES[name]
    path = tmp_path / name
    path.write_text(text)
    assert_one_line_error(run_cli("list", "--suite", str(path)), name, needle)
    assert_one_line_error(run_cli("run", "--suite", str(path), "-o", str(tmp_path / "r")), needle)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


RESULTS = {
    "truncated.json": (json.dumps(GOOD)[:50], "truncated"),
    "notjson.json": ("this is not json at all", "not valid JSON"),
    "version.json": (json.dumps({**GOOD, "schema_version": 99}), "schema_version 99"),
    "foreign.json": (json.dumps({"benchmarks": [], "machine_info": {}}), "not a dbnbench"),
    "list.json": ("[1, 2]", "not a dbnbench"),
    "invalid.json": (json.dumps({**GOOD, "cases": [{"id": 3}]}), "invalid at cases/0"),
}


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_bad_result_files(name, tmp_path):
    text, needle = RESULTS[name]
    path = tmp_path / name
    path.write_text(text)
    assert_one_line_error(run_cli("report", str(path)), name, needle)
    assert path.read_text() == text, "a bad input file was modified"


def test_good_minimal_result_reports(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(GOOD))
    proc = run_cli("report", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "dbnbench ci" in proc.stdout


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a directory")
    assert_one_line_error(run_cli("run", "-s", "ci", "-o", str(blocker / "sub")),
                          "is not writable")
    assert blocker.read_text() == "I am a file, not a directory"


def test_resume_of_unknown_run(tmp_path):
    assert_one_line_error(run_cli("run", "--resume", "nope-123", "-o", str(tmp_path)),
                          "no run nope-123 to resume")


def test_resume_of_finished_run(tmp_path):
    (tmp_path / "done-1.json").write_text(json.dumps(GOOD))
    assert_one_line_error(run_cli("run", "--resume", "done-1", "-o", str(tmp_path)),
                          "finished already")


def test_missing_mnist_dir():
    assert_one_line_error(run_cli("run", "--data-dir", "/no/such/mnist"), "/no/such/mnist")


@pytest.mark.slow  # `env` asks a worker per framework
def test_list_and_env_work():
    proc = run_cli("list", "--suite", "quick", "--framework", "numpy")
    assert proc.returncode == 0 and "rbm-cdk/numpy/cpu/fp32" in proc.stdout
    assert "NumPy has no bfloat16" in proc.stdout
    env = json.loads(run_cli("env", "--json").stdout)
    assert env["cpu"]["threads"] >= 1 and "numpy" in env["frameworks"]


@pytest.mark.parametrize("args,needle", [
    (["run", "--timeout", "nan"], "--timeout"),
    (["run", "--timeout", "inf"], "--timeout"),
    (["run", "--min-time", "nan"], "--min-time"),
    (["run", "--max-memory", "99999999999999999999TiB"], "--max-memory"),
    (["run", "--max-memory", "0"], "between 1 MiB and 1 PiB"),
    (["run", "--seed", str(10**30)], "--seed"),
    (["run", "--repetitions", str(2**63)], "--repetitions"),
    (["run", "--max-cases", "0"], "--max-cases"),
    (["run", "-o", "-"], "standard output cannot be one"),
    (["compare", "a.json", "b.json", "--json", "-", "--markdown", "-"], "only one output"),
])
def test_non_finite_and_unbounded_options(args, needle, tmp_path):
    assert_one_line_error(run_cli(*args, cwd=tmp_path), needle)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("args,needle", [
    (["--framework", "numpy", "--device", "cuda"], "CPU only"),
    (["--precision", "bf16"], r"no case of the suite matches --precision bf16 \(the suite has fp32\)"),
    (["--workload", "augment", "--framework", "sklearn"], "no case of the suite matches"),
])
def test_filters_that_leave_nothing_to_run(args, needle, tmp_path):
    proc = run_cli("run", "-s", "ci", *args, "-o", str(tmp_path / "r"), cwd=tmp_path)
    assert_one_line_error(proc, "nothing to run")
    assert re.search(needle, proc.stderr), proc.stderr
    assert not (tmp_path / "r").exists(), "an empty result was written"


def test_a_framework_that_is_not_installed_leaves_nothing_to_run(tmp_path, capsys, monkeypatch):
    """`run --framework torch` without torch: exit 2 with the reason and its install hint,
    and no empty result, report or history entry."""
    from dbnbench.harness.frameworks import FRAMEWORKS

    monkeypatch.setattr(FRAMEWORKS["torch"], "installed", classmethod(lambda cls: False))
    db = tmp_path / "h.sqlite"
    code, _, err = call(capsys, monkeypatch, "run", "-s", "ci", "--framework", "torch",
                        "-o", str(tmp_path / "r"), "--db", str(db))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert re.search(r"nothing to run: none of the \d+ selected case\(s\) of suite ci can run "
                     r"here: torch is not installed \(pip install .*torch", lines[0]), lines[0]
    assert not (tmp_path / "r").exists() and not db.exists()


def test_a_foreign_history_is_refused_before_the_suite_runs(tmp_path):
    db = tmp_path / "theirs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER, name TEXT)")
    before = db.read_bytes()
    started = time.monotonic()
    proc = run_cli("run", "-s", "ci", "--db", str(db), "-o", str(tmp_path / "r"))
    assert_one_line_error(proc, "not a dbnbench history database", "'runs'")
    assert time.monotonic() - started < 30, "the suite ran before the database was checked"
    assert db.read_bytes() == before and not (tmp_path / "r").exists()


def test_export_writes_to_standard_output_by_default(tmp_path):
    proc = run_cli("export", str(FIXTURES / "result-v2-ci.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["benchmarks"]
    assert list(tmp_path.iterdir()) == []


def test_report_html_to_standard_output(tmp_path):
    proc = run_cli("report", str(FIXTURES / "result-v2-ci.json"), "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().lower().startswith("<!doctype html")
    assert "rbm-cdk" in proc.stderr  # the table moved out of the way


def test_publish_skips_json_that_is_not_a_result(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "run.json").write_text((FIXTURES / "result-v2-ci.json").read_text())
    (folder / "export.json").write_text(json.dumps({"benchmarks": []}))
    proc = run_cli("publish", str(folder), "-o", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr
    assert "skipped export.json: not a dbnbench result file" in proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()


def test_publish_from_the_history(tmp_path):
    env = {"DBNBENCH_HISTORY": str(tmp_path / "h.sqlite")}
    assert run_cli("history", "--import", str(FIXTURES / "result-v2-ci.json"), env=env,
                   cwd=tmp_path).returncode == 0
    proc = run_cli("publish", "-o", str(tmp_path / "site"), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = list((tmp_path / "site" / "runs").glob("*.html"))
    assert len(runs) == 1


@pytest.mark.parametrize("columns", ["0", "7", "100000000"])
def test_a_broken_columns_value_still_prints_the_table(columns):
    """COLUMNS=0 made every command print nothing and exit 0; a huge one laid out blanks."""
    proc = run_cli("report", str(FIXTURES / "result-v2-ci.json"), env={"COLUMNS": columns},
                   timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("rbm-cdk" in ln for ln in lines), proc.stdout[:500]
    assert max(map(len, lines)) <= 1000


@pytest.mark.parametrize("run_id, needle", [
    ("", "is not a run id"),
    ("x" * 300, "is not a run id"),
    ("../../etc/passwd", "is not a run id"),
])
def test_resume_of_a_malformed_id_is_refused(tmp_path, run_id, needle):
    """An empty id started a whole new run; a 300-character one ended in a traceback."""
    assert_one_line_error(run_cli("run", "--resume", run_id, "-o", str(tmp_path)), needle)
    assert not list(tmp_path.iterdir()), "nothing written"


def test_resume_refuses_options_of_the_plan_it_would_ignore(tmp_path):
    assert_one_line_error(run_cli("run", "--resume", "r-1", "--suite", "quick", "--rounds", "3",
                                  "-o", str(tmp_path)), "leave out --suite, --rounds")


def test_resume_of_a_partial_result_without_its_journal_says_so(tmp_path):
    (tmp_path / "part-1.json").write_text(json.dumps({**GOOD, "complete": False}))
    assert_one_line_error(run_cli("run", "--resume", "part-1", "-o", str(tmp_path)),
                          "stopped before it finished and its journal is gone")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_an_output_that_cannot_encode_everything_still_gets_it_all(tmp_path, encoding):
    """'×', '→', '±' and box lines crashed report, compare and history with
    UnicodeEncodeError; now they come out as backslash escapes."""
    env = {"PYTHONIOENCODING": encoding}
    result = str(FIXTURES / "result-v2-ci.json")
    db = str(tmp_path / "h.sqlite")
    for args in (("report", result), ("compare", result, result),
                 ("history", "--import", result, "--db", db), ("history", "--db", db)):
        proc = subprocess.run([sys.executable, "-m", "dbnbench", *args], capture_output=True,
                              timeout=120, env={**os.environ, **env})
        stdout, stderr = proc.stdout.decode(encoding), proc.stderr.decode(encoding)
        assert proc.returncode in (0, 3), (args, stderr[-1500:])
        assert "Traceback" not in stderr and "UnicodeEncodeError" not in stderr, args
        assert stdout.strip(), args


def test_more_threads_than_cpus_are_refused(tmp_path):
    """--threads 1000 on 2 CPUs ran, with a GEMM roof of 2.5 GFLOP/s and nothing said."""
    assert_one_line_error(run_cli("run", "--suite", "ci", "--threads", "1000", "-o",
                                  str(tmp_path / "r"), timeout=120),
                          "threads 1000: this machine lets dbnbench use")
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())


def test_publish_refuses_two_runs_under_one_id(tmp_path):
    """Two index entries linked to one page holding only the second run."""
    folder = tmp_path / "results"
    folder.mkdir()
    doc = json.loads((FIXTURES / "result-v2-ci.json").read_text())
    (folder / "a.json").write_text(json.dumps(doc))
    (folder / "copy.json").write_text(json.dumps(doc))  # the same run twice: one page
    doc["machine"]["hostname"] = "twin"
    (folder / "twin.json").write_text(json.dumps(doc))
    assert_one_line_error(run_cli("publish", str(folder), "-o", str(tmp_path / "site")),
                          "two different runs under the id", "twin")
    assert not (tmp_path / "site").exists()
    (folder / "twin.json").unlink()
    assert run_cli("publish", str(folder), "-o", str(tmp_path / "site")).returncode == 0


def test_list_and_run_agree_on_a_case_too_big_for_memory(tmp_path):
    """list marked runnable what run then refused by the memory estimate, and run pointed
    to `dbnbench list --suite NAME`, which cannot find a suite given as a path."""
    path = tmp_path / "big suite.toml"
    path.write_text('name = "hx"\n[settings]\nrounds = 1\n[[cases]]\nworkload = "rbm-cdk"\n'
                    'frameworks = ["numpy"]\nparams = { hidden = 10000000, batch = 100000 }\n')
    listed = run_cli("list", "--suite", str(path), timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "memory cap" in listed.stdout, listed.stdout
    ran = run_cli("run", "--suite", str(path), "-o", str(tmp_path / "r"), timeout=120)
    assert_one_line_error(ran, "nothing to run", "memory cap")
    hint = ran.stderr.split("`")[1]
    assert hint.startswith("dbnbench list --suite '"), hint  # quoted: the path has a space
    again = run_cli(*shlex.split(hint)[1:], timeout=120)
    assert again.returncode == 0 and "memory cap" in again.stdout, again.stderr


def test_list_says_what_run_would_refuse_about_a_suites_threads(tmp_path):
    """A suite's own `threads` above the usable CPUs: `run` refuses it before anything runs;
    `list` showed every case runnable and said nothing."""
    path = tmp_path / "wide.toml"
    path.write_text('name = "wide"\n[settings]\nthreads = 1000\n[[cases]]\n'
                    'workload = "rbm-cdk"\nframeworks = ["numpy"]\n')
    listed = run_cli("list", "--suite", str(path), timeout=120)
    assert listed.returncode == 0, listed.stderr
    said = " ".join(listed.stdout.split())
    assert "run would refuse this suite here: threads 1000" in said, said
    assert_one_line_error(run_cli("run", "--suite", str(path), "-o", str(tmp_path / "r"),
                                  timeout=120), "threads 1000")


def test_resume_of_a_run_killed_after_its_result_finishes_what_is_missing(tmp_path):
    """Killed just after the JSON appeared: missing from the history, no HTML, and --resume
    answered 'finished already'. Now it writes both; a second --resume has nothing to do."""
    doc = json.loads((FIXTURES / "result-v2-ci.json").read_text())
    run_id = doc["run_id"]
    (tmp_path / f"{run_id}.json").write_text(json.dumps(doc))
    db = str(tmp_path / "h.sqlite")
    proc = run_cli("run", "--resume", run_id, "-o", str(tmp_path), "--db", db, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / f"{run_id}.html").is_file()
    listed = run_cli("history", "--db", db, timeout=120)
    assert run_id in " ".join(listed.stdout.split())
    assert_one_line_error(run_cli("run", "--resume", run_id, "-o", str(tmp_path), "--db", db),
                          "finished already")
