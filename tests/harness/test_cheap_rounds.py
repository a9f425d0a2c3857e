"""Cheap rounds: a mode's GEMM is swept once per run; later rounds check it at the sweep's
best size and sweep again only when it moved; a roof timed on a busy machine is measured
again, carried over or flagged, never used silently; the result says which rounds' roofs
were swept, checked or carried. The product probe and the extras run in round 0 only."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from dbnbench.format import results
from dbnbench.harness.engine.journal import Journal
from dbnbench.harness.engine.merge import calibration_list
from dbnbench.harness.engine.roofline import round_roofs
from dbnbench.harness.engine.runner import Progress, Run, RunOptions
from dbnbench.harness.measure import calibrate
from dbnbench.harness.measure.calibrate import DRIFT_TOLERANCE, reference_sweep, settle
from dbnbench.harness.plan.cases import Case
from dbnbench.harness.processes.pool import WorkerPool
from dbnbench.harness.records import (
    Bandwidth,
    CalibrateRequest,
    CalibrationAnswer,
    Contention,
    Header,
    Settings,
)

from ..conftest import REGISTRY

QUIET = Contention(1.0, 0.0, 0.0, 0.9, 2, False)
BUSY = Contention(1.0, 0.6, 0.0, 0.4, 2, True)
TRIAD = Bandwidth(2e10, 1 << 27)
CASE = Case("rbm-cdk", "numpy", "cpu", "fp32", (), "t")


def sweep(rate: float, size: int = 1024, contention: Contention = QUIET) -> CalibrationAnswer:
    return CalibrationAnswer("ok", None, rate, size, {"512": rate / 2, str(size): rate},
                             "the rate stopped improving", TRIAD, contention=contention,
                             roof="swept")


def checked(rate: float, size: int = 1024, contention: Contention = QUIET) -> CalibrationAnswer:
    return CalibrationAnswer("ok", None, rate, size, {str(size): rate},
                             f"drift check at {size}×{size}", TRIAD, contention=contention,
                             roof="checked")


class ScriptedPool:
    """The worker pool, answering calibrations from a script: what a machine whose GEMM
    moves (or whose neighbours wake up) between rounds would answer."""

    def __init__(self, answers: list[CalibrationAnswer]) -> None:
        self.answers, self.requests, self.started = list(answers), [], []

    def start(self, slots):
        self.started.append(list(slots))

    def ask(self, group, impl, request, answer_type, timeout_s, arm=""):
        assert isinstance(request, CalibrateRequest)
        self.requests.append(request)
        return self.answers.pop(0)

    def close(self):
        pass

    def kill(self):
        pass


def scripted_run(tmp_path: Path, answers: list[CalibrationAnswer]
                 ) -> tuple[Run, ScriptedPool, list[str]]:
    settings = Settings(threads=1)
    header = Header("r1", "s", "s.toml", {}, settings, "2026-01-01T00:00:00Z",
                    {"hostname": "h"}, (CASE.id,))
    journal = Journal.start(tmp_path / "r1.journal.jsonl", header)
    warnings: list[str] = []
    options = RunOptions(suite="s", filters={}, settings={}, output=tmp_path, registry=REGISTRY)
    run = Run(options, settings, journal, Progress(warn=warnings.append))
    pool = ScriptedPool(answers)
    run.pool = pool  # type: ignore[assignment]
    return run, pool, warnings


def rounds(run: Run, n: int) -> list[CalibrationAnswer]:
    for r in range(n):
        run.calibrate([CASE], r, ("",))
    return [run.journal.calibration[("", "numpy", "cpu", "fp32", r)] for r in range(n)]


def test_later_rounds_check_at_the_best_size_instead_of_sweeping(tmp_path):
    run, pool, warnings = scripted_run(tmp_path, [sweep(1e11), checked(0.97e11),
                                                  checked(1.04e11)])
    r0, r1, r2 = rounds(run, 3)
    first, *later = pool.requests
    assert first.check is None and first.start == calibrate.START and first.bandwidth
    assert [(q.check, q.expected_flops_per_s, q.bandwidth) for q in later] == \
        [(1024, 1e11, True)] * 2
    assert (r0.roof, r1.roof, r2.roof) == ("swept", "checked", "checked")
    # A checked round's roof is its own check's rate, compared with round 1's sweep.
    assert r1.gemm_flops_per_s == 0.97e11 and r1.drift == pytest.approx(0.97)
    assert round_roofs(run.journal.calibration, 2).gemm[("cpu", "fp32")] == 1.04e11
    assert "from round 1's sweep" in (r2.note or "")
    assert not warnings
    assert pool.started and all(("", "numpy", "cpu") in s for s in pool.started)


def test_a_check_that_moved_sweeps_again(tmp_path):
    moved = 1 - 2 * DRIFT_TOLERANCE  # the machine's GEMM got slower past the tolerance
    run, pool, _ = scripted_run(tmp_path, [sweep(1e11), checked(moved * 1e11),
                                           sweep(0.82e11, 768)])
    _, r1 = rounds(run, 2)
    check, again = pool.requests[1:]
    assert check.check == 1024
    assert again.check is None and (again.start, again.patience) == (1024, 1), \
        "a re-sweep is a second look from the checked size up"
    assert not again.bandwidth, "the triad is not timed twice"
    assert r1.roof == "swept" and r1.gemm_flops_per_s == 0.82e11 and r1.best_size == 768
    assert r1.drift == pytest.approx(moved) and r1.checked_flops_per_s == moved * 1e11
    assert r1.bandwidth == TRIAD  # the check's triad
    assert "swept again" in (r1.note or "")
    assert round_roofs(run.journal.calibration, 1).gemm[("cpu", "fp32")] == 0.82e11
    # The next round checks against the newest quiet sweep, at its best size.
    pool.answers.append(checked(0.8e11, 768))
    run.calibrate([CASE], 2, ("",))
    assert pool.requests[-1].check == 768 and pool.requests[-1].expected_flops_per_s == 0.82e11


def test_a_busy_sweep_is_measured_again(tmp_path):
    run, pool, warnings = scripted_run(tmp_path, [sweep(0.5e11, contention=BUSY), sweep(1e11)])
    [r0] = rounds(run, 1)
    assert len(pool.requests) == 2 and pool.requests[0] == pool.requests[1]
    assert r0.gemm_flops_per_s == 1e11 and not calibrate.busy(r0)
    assert "measured again" in (r0.note or "") and not warnings


def test_a_sweep_busy_twice_is_flagged_and_swept_again_next_round(tmp_path):
    run, pool, warnings = scripted_run(tmp_path, [sweep(0.5e11, contention=BUSY),
                                                  sweep(0.6e11, 768, contention=BUSY),
                                                  sweep(1e11)])
    r0, r1 = rounds(run, 2)
    assert calibrate.busy(r0) and "measured again" in (r0.note or "")
    assert warnings and "flagged" in warnings[0]
    # No quiet sweep to check against: round 2 sweeps, from the best size seen so far.
    third = pool.requests[2]
    assert third.check is None and third.start == 768 and third.patience == 1
    assert r1.roof == "swept" and not calibrate.busy(r1)
    entry = calibration_list(run.journal.calibration)[0]
    assert entry["busy_by_round"] == [True, False]
    assert entry["roof_by_round"] == ["swept", "swept"]


def test_a_busy_check_carries_the_quiet_sweep_over(tmp_path):
    run, pool, warnings = scripted_run(tmp_path, [sweep(1e11), checked(0.4e11, contention=BUSY),
                                                  checked(0.5e11, contention=BUSY)])
    _, r1 = rounds(run, 2)
    assert [q.check for q in pool.requests] == [None, 1024, 1024]
    assert r1.roof == "carried" and r1.gemm_flops_per_s == 1e11
    assert r1.checked_flops_per_s == 0.5e11 and r1.bandwidth == TRIAD
    assert "carried over from round 1's sweep" in (r1.note or "")
    assert round_roofs(run.journal.calibration, 1).gemm[("cpu", "fp32")] == 1e11
    assert not warnings  # carried, not used: nothing to flag on the terminal


def test_a_carried_roof_keeps_the_sweeps_binary_operand_rate():
    """A GPU's sweep timed 0/1 operands too: carried over, the round's roof is the sweep's
    best of the two, not its uniform rate alone."""
    swept = replace(sweep(1e11), binary_flops_per_s=1.2e11)
    busy_check = replace(checked(0.4e11, contention=BUSY), binary_flops_per_s=0.5e11)
    carried = calibrate.settle(busy_check, (0, swept))
    assert carried is not None and carried.roof == "carried"
    assert carried.binary_flops_per_s == 1.2e11


def test_the_result_says_which_rounds_were_swept_checked_or_carried(tmp_path):
    run, _, _ = scripted_run(tmp_path, [sweep(1e11), checked(1.02e11),
                                        checked(0.3e11, contention=BUSY),
                                        checked(0.3e11, contention=BUSY)])
    rounds(run, 3)
    [entry] = calibration_list(run.journal.calibration)
    assert entry["roof_by_round"] == ["swept", "checked", "carried"]
    assert entry["by_round"] == [1e11, 1.02e11, 1e11]
    assert entry["drift_by_round"][0] is None
    assert entry["drift_by_round"][1:] == [pytest.approx(1.02), pytest.approx(0.3)]
    assert entry["busy_by_round"] == [False, False, True]
    assert entry["notes_by_round"][2].startswith("carried over")
    # The size sweep shown is the swept round's, though a check's rate was higher.
    assert entry["by_size"] == {"512": 0.5e11, "1024": 1e11}
    assert entry["gemm_flops_per_s"] == 1.02e11
    schema = json.loads(resources.files("dbnbench.format").joinpath(
        "schema/result-v2.schema.json").read_text())
    jsonschema.validate([entry], schema["properties"]["calibration"])


def test_settle_and_reference_are_pure_rules():
    ref = (0, sweep(1e11))
    assert settle(checked(1e11 * (1 + DRIFT_TOLERANCE / 2)), ref).roof == "checked"
    assert settle(checked(1e11 * (1 + 2 * DRIFT_TOLERANCE)), ref) is None  # moved up: sweep
    assert settle(CalibrationAnswer("failed", "worker crashed"), ref).status == "failed"
    assert reference_sweep([sweep(1e11), sweep(2e11, contention=BUSY)])[1].gemm_flops_per_s \
        == 1e11
    assert reference_sweep([sweep(1e11, contention=BUSY)]) is None
    assert reference_sweep([None, CalibrationAnswer("failed")]) is None
    # A journal written before checks (no roof, no contention) is a quiet sweep.
    old = CalibrationAnswer("ok", None, 1e11, 1024, {"1024": 1e11})
    assert reference_sweep([old]) == (0, old)


def test_check_times_one_size_as_the_sweep_did():
    sizes: list[int] = []

    class Flat:
        precision, device = "fp32", "cpu"

        def gemm_times(self, m, n, k, repeats, loops, operands="uniform"):
            sizes.append(n)
            return [2.0 * n ** 3 / 1e11] * repeats

    out = calibrate.check(Flat(), 1536, 1e11)  # type: ignore[arg-type]
    assert sizes == [1536] and out.rate == pytest.approx(1e11) and out.best_size == 1536


@pytest.mark.slow
def test_a_pool_starts_a_rounds_workers_together(tmp_path):
    seen: list[tuple[str, str]] = []
    pool = WorkerPool(1, on_runtime=lambda arm, fw, answer: seen.append((arm, fw)))
    try:
        pool.start([("", "numpy", "cpu"), ("", "numpy", "cpu")])
        [w] = pool.workers.values()
        assert w.alive() and not w.fresh and pool.served[("", "numpy", "cpu")] == 0
        answer = pool.ask(("numpy", "cpu"), None,
                          CalibrateRequest("numpy", "cpu", "fp32", 1, 0, check=64),
                          CalibrationAnswer, 60)
        assert answer.status == "ok" and answer.roof == "checked" and answer.contention
        assert answer.by_size.keys() == {"64"} and answer.seconds
        assert seen == [("", "numpy")] and pool.workers[("", "numpy", "cpu")] is w
        pool.start([("", "numpy", "cpu")])  # running already: left alone
        assert pool.workers[("", "numpy", "cpu")] is w
    finally:
        pool.close()


@pytest.mark.slow
def test_a_fresh_request_gets_a_worker_of_its_own_that_is_retired_after():
    """TensorFlow's process groups form only before its runtime starts: such a case asks
    for a fresh worker, which must not serve the next case either."""
    pool = WorkerPool(1)
    request = CalibrateRequest("numpy", "cpu", "fp32", 1, 0, check=64)
    slot = ("", "numpy", "cpu")
    try:
        pool.start([slot])
        before = pool.workers[slot]
        answer = pool.ask(("numpy", "cpu"), None, request, CalibrationAnswer, 60, fresh=True)
        assert answer.status == "ok"
        assert not before.alive() and slot not in pool.workers  # the old one closed, the fresh one retired
        again = pool.ask(("numpy", "cpu"), None, request, CalibrationAnswer, 60)
        assert again.status == "ok" and pool.workers[slot].alive()
        assert pool.workers[slot] is not before
    finally:
        pool.close()


@pytest.mark.slow
def test_a_run_checks_in_round_two_and_its_result_validates(tmp_path):
    from dbnbench.harness.engine.runner import execute

    suite = tmp_path / "suite.toml"
    suite.write_text("""
name = "cheap"
[settings]
rounds = 2
repetitions = 3
min_time_s = 0.01
warmup_s = 0.01
timeout_s = 60
[[cases]]
workload = "harness-selftest"
frameworks = ["numpy"]
params = { size = 32, mode = "ok", where = "step" }
""")
    doc, path = execute(RunOptions(suite=str(suite), filters={}, settings={"threads": 1},
                                   output=tmp_path / "out", registry=REGISTRY))
    results.load(path)  # validates
    [entry] = doc["calibration"]
    assert entry["roof_by_round"][0] == "swept"
    # Round 2 checked (or, on a machine that moved or was busy, swept again or carried).
    assert entry["roof_by_round"][1] in ("checked", "swept", "carried")
    if entry["roof_by_round"][1] == "checked":
        assert abs(entry["drift_by_round"][1] - 1) <= DRIFT_TOLERANCE
    assert all(0 < p <= 1 for c in doc["cases"] for p in c["metrics"]["pct_of_peak_by_round"]
               if p is not None)


@pytest.mark.parametrize("first_round", [True, False])
def test_the_probe_and_extras_run_in_the_first_round_only(first_round):
    """The result reads the observed products and a workload's extras from a case's first
    round; a later round skips both, and still times the case and reads the settings back."""
    from dataclasses import replace

    from dbnbench.harness.engine.runner import work_of
    from dbnbench.harness.processes import worker
    from dbnbench.harness.records import CaseRequest, CaseSpec

    params = {**REGISTRY.spec("dbn-inference").defaults(), "layers": [16, 8], "batch": 4}
    case = Case("dbn-inference", "numpy", "cpu", "fp32",
                tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                             for k, v in params.items())), "t")
    request = CaseRequest(CaseSpec(case.id, case.workload, "numpy", "cpu", "fp32", params),
                          str(REGISTRY.impl(case.workload, "numpy")), work_of(case, REGISTRY),
                          Settings(threads=1, warmup_s=0.01, min_time_s=0.002, repetitions=3))
    answer = worker.handle(replace(request, first_round=first_round))
    assert answer.status == "ok" and len(answer.repetitions_s) == 3
    assert ("observed_products" in answer.math) is first_round and "threads" in answer.math
    assert (answer.extra is not None) is first_round
    assert ("probe" in answer.phases_s) is first_round
    assert {"setup", "warmup", "timed", "reference"} <= answer.phases_s.keys()
