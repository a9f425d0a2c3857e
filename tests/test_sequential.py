"""`dbnbench run --until-decided`: rounds pair by pair until the arms are decided, the
decision recorded and replayed by `compare`; bad combinations refused in one line."""

from __future__ import annotations

import html
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from rich.console import Console

from dbnbench.reports.compare import compare_docs, look_plan
from dbnbench.reports.compare_render import (
    looks_text,
    md_escape,
    render_html,
    render_markdown,
    render_table,
)
from dbnbench.reports.gate_validation import synthetic_case, synthetic_doc
from dbnbench.reports.samples import split_arms

from .conftest import call, run_cli
from .test_gate import SLOW_WORKER, suite

ARMS = ("--arm", f"base={sys.executable}", "--arm", f"head={sys.executable}")


@pytest.mark.parametrize("args, message", [
    (("--until-decided",), "compares two arms"),
    ((*ARMS, "--until-decided", "--rounds", "6"), "not --rounds"),
    ((*ARMS, "--max-rounds", "8"), "need --until-decided"),
    ((*ARMS, "--until-decided", "--max-time", "soon"), "--max-time: cannot read"),
    ((*ARMS, "--until-decided", "--max-time", "0s"), "not between 1 s and 7 days"),
    ((*ARMS, "--until-decided", "--threshold", "150%"), "--threshold"),
])
def test_bad_sequential_options_are_refused_in_one_line(capsys, monkeypatch, tmp_path,
                                                        args, message):
    code, _, err = call(capsys, monkeypatch, "run", "--suite", "ci", "-o",
                          str(tmp_path / "r"), *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def sequential_doc(rates: dict[str, tuple[float, float]], rounds: int, looks: list[int],
                   max_rounds: int, seed: int = 0) -> dict:
    """An arms run of `rounds` rounds (5 repetitions each, 2 % round noise)."""
    rng = np.random.default_rng(seed)
    cases = []
    for cid, (base, head) in rates.items():
        level = rng.lognormal(0, 0.02, rounds)
        for arm, rate in (("base", base), ("head", head)):
            times = [float(100 / (rate * lv * rng.lognormal(0, 0.005)))
                     for lv in level * rng.lognormal(0, 0.02, rounds) for _ in range(5)]
            case = synthetic_case(cid, times, arm=arm)
            case["repetition_rounds"] = [i // 5 for i in range(len(times))]
            cases.append(case)
    doc = synthetic_doc(cases)
    doc["settings"]["arms"] = [{"name": "base"}, {"name": "head"}]
    doc["sequential"] = {"max_rounds": max_rounds, "looks": looks, "rounds": rounds,
                         "stopped": "decided", "max_time_s": None}
    return doc


def test_compare_replays_the_looks_a_sequential_run_took():
    doc = sequential_doc({"slow": (1000, 850), "same": (1000, 1000)}, 8, [4, 6, 8], 40)
    base, head = split_arms(doc, "base", "head")
    result = compare_docs(base, head, arms=True)
    plan = look_plan(doc["sequential"], 0.05)
    assert [n for n, _ in plan] == [4, 6, 8]
    assert result["looks"] == [{"rounds": n, "level": lv} for n, lv in plan]
    slow = next(r for r in result["cases"] if r["id"] == "slow")
    assert slow["verdict"] == "regressed" and slow["decided_at_round"] in (4, 6, 8)
    assert slow["speed"]["level"] < 0.05  # a look's share of α, not all of it
    assert result["decision"] == "regression"
    # The same data as one fixed-size comparison is judged at α, over all rounds.
    fixed = compare_docs(base, head, arms=True, sequential={})
    assert fixed["looks"] == [] and fixed["cases"][0]["speed"]["level"] == 0.05
    assert "decided_at_round" not in fixed["cases"][0]


def test_every_compare_format_says_when_the_cases_were_decided():
    doc = sequential_doc({"slow": (1000, 700), "same": (1000, 1000)}, 8, [4, 6, 8], 40)
    result = compare_docs(*split_arms(doc, "base", "head"), arms=True)
    line = looks_text(result)
    assert line.startswith("sequential: 3 looks (after rounds 4, 6, 8")
    assert line.endswith("decided: 2 after 4 rounds"), line  # 30 % off, and 2 % noise
    buffer = io.StringIO()
    Console(file=buffer, width=80, color_system=None).print(render_table(result))
    assert line in " ".join(buffer.getvalue().split())
    assert md_escape(line) in render_markdown(result)
    assert html.escape(line, quote=False) in render_html(result)
    assert looks_text(compare_docs(*split_arms(doc, "base", "head"), arms=True,
                                   sequential={})) == ""


def test_a_sequential_look_spends_less_than_a_fixed_test():
    """The same 4 rounds decide less at the first of 20 looks than as a fixed comparison."""
    doc = sequential_doc({"a": (1000, 1000)}, 4, [4], 40, seed=2)
    base, head = split_arms(doc, "base", "head")
    seq = compare_docs(base, head, arms=True)
    fixed = compare_docs(base, head, arms=True, sequential={})
    assert seq["cases"][0]["speed"]["mde"] > fixed["cases"][0]["speed"]["mde"]


@pytest.mark.slow
def test_a_slower_head_is_decided_early_and_compare_agrees(tmp_path):
    out = tmp_path / "seq"
    proc = run_cli("run", "--suite", suite(tmp_path, 2), "-o", str(out), "--no-html",
                   "--threads", "1", *ARMS, "--arm-env", f"head:PYTHONPATH={SLOW_WORKER}",
                   "--until-decided", "--max-rounds", "16", "--max-time", "5m", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "after round 4 (look 1):" in proc.stderr
    [path] = out.glob("*.json")
    doc = json.loads(Path(path).read_text())
    seq = doc["sequential"]
    assert seq["stopped"] == "decided" and seq["rounds"] < 16 and seq["looks"][-1] == seq["rounds"]
    assert doc["settings"]["rounds"] == 16
    # A case a look decided ran fewer rounds by design: recorded, and not warned about.
    assert set(seq["decided_after"]) == {c["id"] for c in doc["cases"]}
    assert not any("rounds ran" in w for c in doc["cases"] for w in c["warnings"])
    gate = run_cli("compare", str(path), "--arms", "base,head", "--fail-on-regression")
    assert gate.returncode == 1, gate.stdout[-3000:]
    assert f"after rounds {', '.join(map(str, seq['looks']))}" in " ".join(gate.stdout.split())


# ── Duet: both arms at once, each on cores of its own ──────────────────────────────────────


def test_duet_cores_are_disjoint_and_swap_every_round(monkeypatch):
    from dbnbench.harness.engine import runner

    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    even = runner.duet_cores(("base", "head"), 0, 2)
    odd = runner.duet_cores(("base", "head"), 1, 2)
    assert even == {"base": (0, 1), "head": (2, 3)}
    assert odd == {"base": (2, 3), "head": (0, 1)}


def test_a_duet_worker_runs_on_the_cores_it_was_given():
    from dbnbench.harness.processes.pool import WorkerProcess

    core = max(os.sched_getaffinity(0))
    worker = WorkerProcess(1, cpus=(core,))
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(worker.proc.pid).cpu_affinity() != [core]:
            assert time.monotonic() < deadline, "the worker never pinned itself"
            time.sleep(0.05)
    finally:
        worker.kill()


@pytest.mark.parametrize("args, message", [
    (("--duet",), "give two --arm"),
    ((*ARMS, "--duet", "--threads", "64"), "--duet needs 128 CPUs"),
])
def test_a_duet_that_cannot_run_is_refused_in_one_line(capsys, monkeypatch, tmp_path, args,
                                                       message):
    code, _, err = call(capsys, monkeypatch, "run", "--suite", "ci", "--framework", "numpy",
                        "-o", str(tmp_path / "r"), *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_duet_run_pairs_the_arms_in_time(tmp_path):
    out = tmp_path / "duet"
    proc = run_cli("run", "--suite", suite(tmp_path, 2), "-o", str(out), "--no-html", *ARMS,
                   "--duet", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [path] = out.glob("*.json")
    doc = json.loads(Path(path).read_text())
    assert doc["settings"]["duet"] is True and doc["settings"]["threads"] == 1
    assert sorted(c["arm"] for c in doc["cases"]) == ["base", "head"]
    assert all(c["status"] == "ok" for c in doc["cases"])
    gate = run_cli("compare", str(path), "--arms", "base,head")
    assert gate.returncode == 0, gate.stdout[-3000:]


@pytest.mark.slow
def test_an_interrupted_sequential_run_resumes_and_replays_its_looks(tmp_path):
    """Stopped in round 3 (before the first look), resumed with the same flags: the rounds
    already run are not run again, the looks come at rounds 4, 6, … as planned, and the
    finished file records why it stopped."""
    from dbnbench.app.sequential import sequential_of
    from dbnbench.harness.engine.runner import Progress, RunInterrupted, RunOptions, execute
    from dbnbench.harness.records import Arm

    from .conftest import REGISTRY

    arms = (Arm("base", sys.executable), Arm("head", sys.executable))

    def options() -> RunOptions:
        plan = sequential_of(True, arms, 8, None, 0.05, None)
        return RunOptions(suite=suite(tmp_path, 2), filters={},
                          settings={"threads": 1, "rounds": 8}, output=tmp_path / "out",
                          registry=REGISTRY, arms=arms, sequential=plan)

    def stop(label: str, status: str, reason: str | None) -> None:
        if "(round 3/" in label:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as info:
        execute(options(), Progress(done=stop))
    assert "sequential" not in json.loads(info.value.path.read_text())
    resumed: list[str] = []
    notes: list[str] = []
    doc, path = execute(options(), Progress(task=resumed.append, note=notes.append),
                        resume_id=info.value.run_id)
    cases = [label for label in resumed if not label.startswith("calibrate")]
    assert cases and not any("(round 1/" in c or "(round 2/" in c for c in cases), cases
    assert notes and notes[0].startswith("after round 4 (look 1):"), notes
    seq = doc["sequential"]
    assert seq["looks"][0] == 4 and seq["looks"][-1] == seq["rounds"] <= 8
    assert seq["stopped"] in ("decided", "max rounds")
    assert path == info.value.path and doc["complete"] is True
