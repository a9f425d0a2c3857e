"""How good the gate is: false alarms on identical code, and detection of a 10 % slowdown,
for the four ways of comparing — two separate runs as measured, normalised by each run's
reference GEMM level, normalised by the reference beside each case in each round, and two arms
interleaved in one run.

Two sources of noise. Synthetic: lognormal jitter per repetition, a level per round, a level
per run (the machine between two runs), outliers. Real: result files of back-to-back runs on
a machine (tests/fixtures/noise), compared pairwise as they are (A/A) and with the candidate's
repetitions made 10 % slower.

    python -m dbnbench.reports.gate_validation [TRIALS]              synthetic table
    python -m dbnbench.reports.gate_validation real RESULT.json...    the same from real runs
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..format.results import SCHEMA_VERSION, CaseResult, ResultDoc
from . import significance
from .compare import Thresholds, compare_docs
from .samples import split_arms

# Rounds are the unit of a paired comparison (each runs in fresh worker processes): many
# short rounds see more than a few long ones.
ROUNDS = 6
REPETITIONS = 5
SLOWDOWN = 1 / 0.9 - 1  # 10 % fewer items/s
# Two separate runs as measured, normalised by each run's reference level in the case's mode,
# normalised by the reference beside the case in each round, and two arms of one run.
SETTINGS = ("separate", "per run reference", "per round reference", "arms")
NORMALISE_OF = {"separate": "off", "per run reference": "run", "per round reference": "round"}


@dataclass(frozen=True)
class Noise:
    jitter: float = 0.03         # lognormal sigma of one repetition
    round_shift: float = 0.05    # lognormal sigma of a round's level (minutes apart)
    process_shift: float = 0.03  # lognormal sigma of one worker process's own speed
    run_shift: float = 0.10      # lognormal sigma of a run's level (the machine between runs)
    reference_noise: float = 0.02  # how closely the reference GEMM tracks the machine's level
    outlier_rate: float = 0.05   # share of repetitions slowed by 1.1-outlier_max
    outlier_max: float = 1.5
    rounds: int = ROUNDS
    repetitions: int = REPETITIONS

    def __str__(self) -> str:
        return (f"jitter {self.jitter:.0%}, round shift {self.round_shift:.0%}, process "
                f"shift {self.process_shift:.0%}, run shift "
                f"{self.run_shift:.0%}, reference noise {self.reference_noise:.0%}, "
                f"{self.outlier_rate:.0%} outliers up to {self.outlier_max}x, "
                f"{self.rounds} rounds x {self.repetitions} repetitions")


def noisy_times(rng: np.random.Generator, step_s: float, noise: Noise = Noise(),
                levels: Sequence[float] | None = None) -> list[float]:
    """Repetition times of one run: rounds × repetitions, each of one step, around the given
    round levels (drawn when not given)."""
    levels = levels if levels is not None else round_levels(rng, noise)
    times = []
    for level in levels:
        level *= rng.lognormal(0, noise.process_shift)  # this round's fresh worker
        for _ in range(noise.repetitions):
            t = step_s * level * rng.lognormal(0, noise.jitter)
            if rng.random() < noise.outlier_rate:
                t *= rng.uniform(1.1, noise.outlier_max)
            times.append(float(t))
    return times


def round_levels(rng: np.random.Generator, noise: Noise, run_level: float = 1.0) -> list[float]:
    return [run_level * rng.lognormal(0, noise.round_shift) for _ in range(noise.rounds)]


def synthetic_case(case_id: str, times: list[float], references: Sequence[float] = (),
                   arm: str | None = None, **extra: Any) -> dict[str, Any]:
    """A valid ok case (current schema) of one step per repetition and 100 items per step;
    `references` are the reference GEMM's FLOP/s per round (a faster machine: higher)."""
    rates = 100 / np.asarray(times)
    per_round = len(times) // max(1, len(references) or ROUNDS) or 1
    case = {"id": case_id, "workload": "synthetic", "framework": "synthetic", "device": "cpu",
            "precision": "fp32", "params": {}, "status": "ok", "reason": None, "setup_s": 0.01,
            "repetitions_s": times, "steps_per_repetition": [1] * len(times),
            "items_per_step": 100, "repetition_rounds": [i // per_round for i in range(len(times))],
            "source_hash": "abc", "math": {}, "warnings": [], "contention": None,
            "metrics": {"items_per_s": {"median": float(np.median(rates)), "ci_low": None,
                                        "ci_high": None},
                        "peak_host_memory_bytes": 1000, "energy_per_item_j": None,
                        "reference_flops_per_s_by_round": list(references),
                        "unmeasured": {}, **extra}}
    if arm:
        case["arm"] = arm
    return case


def synthetic_doc(cases: list[dict[str, Any]], hostname: str = "bench-1",
                  run_id: str = "synthetic") -> ResultDoc:
    """A valid result document around `cases` (current schema)."""
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "suite": "ci",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z",
            "tool": {"name": "dbnbench", "version": "0.1.0"},
            "machine": {"hostname": hostname, "os": "Linux", "python": "3.11.7",
                        "cpu": {"model": "Test CPU", "cores": 2, "threads": 2},
                        "memory_bytes": 2**33, "gpus": [], "frameworks": {"synthetic": "1.0"}},
            "settings": {"threads": 2, "seed": 0, "min_time_s": 0.1, "repetitions": 5},
            "calibration": [], "roofline": [], "findings": [],
            "cases": cast(list[CaseResult], cases)}


def synthetic_pair(setting: str, slowdown: float, rng: np.random.Generator, noise: Noise,
                   cases: int = 1) -> tuple[ResultDoc, ResultDoc]:
    """Baseline and candidate documents for one trial of a setting."""
    if setting == "arms":
        rows = []
        for i in range(cases):
            levels = round_levels(rng, noise)  # both arms see the same rounds
            rows += [synthetic_case(f"c{i}", noisy_times(rng, 0.01, noise, levels), arm="base"),
                     synthetic_case(f"c{i}", noisy_times(rng, 0.01 * (1 + slowdown), noise,
                                                         levels), arm="head")]
        return split_arms(synthetic_doc(rows), "base", "head")
    docs = []
    for side in (0.0, slowdown):
        run_level = rng.lognormal(0, noise.run_shift)
        rows = []
        for i in range(cases):
            levels = round_levels(rng, noise, run_level)
            refs = [1e11 / (lv * rng.lognormal(0, noise.reference_noise)) for lv in levels] \
                if setting in ("per run reference", "per round reference") else []
            rows.append(synthetic_case(f"c{i}", noisy_times(rng, 0.01 * (1 + side), noise,
                                                            levels), refs))
        docs.append(synthetic_doc(rows))
    return docs[0], docs[1]


def tally(results: list[dict[str, Any]]) -> dict[str, float]:
    """Share of compared cases given each verdict, and of whole comparisons given each
    decision."""
    rows = [row for r in results for row in r["cases"]]
    out = {v: sum(row["verdict"] == v for row in rows) / len(rows)
           for v in ("regressed", "improved", "unchanged", "inconclusive")}
    for d in ("regression", "inconclusive", "no change"):
        out[f"decision {d}"] = sum(r["decision"] == d for r in results) / len(results)
    mdes = [row["speed"]["mde"] for row in rows if row.get("speed", {}).get("mde") is not None]
    out["median mde"] = float(np.median(mdes)) if mdes else float("nan")
    return out


def verdict_rates(slowdown: float, trials: int, cases: int = 1, seed: int = 0,
                  limits: Thresholds | None = None, noise: Noise | None = None,
                  setting: str = "separate") -> dict[str, float]:
    """Verdict shares over synthetic trials when the candidate is `slowdown` slower."""
    rng = np.random.default_rng(seed)
    results = [compare_docs(*synthetic_pair(setting, slowdown, rng, noise or Noise(), cases),
                            limits or Thresholds(), arms=setting == "arms",
                            normalise=NORMALISE_OF.get(setting, "off"))
               for _ in range(trials)]
    return tally(results)


def slowed(doc: ResultDoc, factor: float, arm: str | None = None) -> ResultDoc:
    """A copy whose repetitions (of one arm, or all) took `factor` times as long."""
    cases = []
    for c in doc["cases"]:
        if arm is None or c.get("arm") == arm:
            c = {**c, "repetitions_s": [t * factor for t in c["repetitions_s"]]}
        cases.append(c)
    return {**doc, "cases": cases}


def real_rates(runs: list[ResultDoc], arms_runs: list[ResultDoc], setting: str,
               slowdown: float, limits: Thresholds | None = None) -> dict[str, float] | None:
    """Verdict shares from real runs: every ordered pair of separate runs, or every arms run
    (A/A by construction), as recorded (slowdown 0) or with the candidate made slower."""
    limits = limits or Thresholds()
    results = []
    if setting == "arms":
        for doc in arms_runs:
            names = sorted({str(c.get("arm")) for c in doc["cases"] if c.get("arm")})
            base, head = split_arms(slowed(doc, 1 + slowdown, names[1]), names[0], names[1])
            results.append(compare_docs(base, head, limits, arms=True))
    else:
        for a, b in itertools.permutations(runs, 2):
            results.append(compare_docs(a, slowed(b, 1 + slowdown), limits,
                                        normalise=NORMALISE_OF[setting]))
    return tally(results) if results else None


def table(rates: dict[str, dict[str, float] | None]) -> str:
    lines = ["| comparison | A/A false regressions (per case) | A/A: decision regression | "
             "A/A: decision no change | 10 % slowdown detected (per case) | median MDE |",
             "|---|---|---|---|---|---|"]
    for setting in SETTINGS:
        aa, slow = rates.get(f"{setting} aa"), rates.get(f"{setting} slow")
        if aa is None or slow is None:
            lines.append(f"| {setting} | no data | | | | |")
            continue
        lines.append(f"| {setting} | {aa['regressed']:.1%} | {aa['decision regression']:.1%} | "
                     f"{aa['decision no change']:.1%} | {slow['regressed']:.1%} | "
                     f"{aa['median mde']:.1%} |")
    return "\n".join(lines)


# ── Type I error of the tests themselves, at every number of rounds ──────────────────────

SHAPES = ("normal", "t3", "disturbed")
SIZES = (3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64)
COMPARISONS = ("arms", "separate", "equivalence")
ROUND_SIGMA = 0.03  # a round's log-scale spread; the rates do not depend on it
DISTURBANCE = 0.5   # one round of each draw moved by this (log scale), ±, on either side


def null_rounds(rng: np.random.Generator, shape: str, draws: int, n: int) -> np.ndarray:
    """Per-round log values under no change: normal, Student's t with 3 degrees of freedom
    (heavy tails), or normal with one badly disturbed round (a neighbour's burst: either
    sign, since either arm or run may be the one it hit)."""
    if shape == "t3":
        return ROUND_SIGMA * rng.standard_t(3, (draws, n))
    x = rng.normal(0, ROUND_SIGMA, (draws, n))
    if shape == "disturbed":
        x[np.arange(draws), rng.integers(0, n, draws)] += \
            rng.choice([-DISTURBANCE, DISTURBANCE], draws)
    return x


def false_positive_rate(comparison: str, shape: str, n: int, draws: int, alpha: float,
                        threshold: float = 0.05, seed: int = 0) -> float:
    """How often a test rejects a true null: arms (paired t on n rounds' log ratios),
    separate runs (Welch on n rounds each side), equivalence (two one-sided tests calling
    "unchanged" a true change exactly at the threshold)."""
    rng = np.random.default_rng([seed, SIZES.index(n) if n in SIZES else n,
                                 SHAPES.index(shape), COMPARISONS.index(comparison)])
    if comparison == "arms":
        rejected = significance.p_value(significance.paired(null_rounds(rng, shape, draws, n)))
        return float(np.mean(rejected < alpha))
    if comparison == "separate":
        e = significance.welch(null_rounds(rng, shape, draws, n),
                               null_rounds(rng, shape, draws, n))
        return float(np.mean(significance.p_value(e) < alpha))
    # A true change exactly at one edge of ±threshold (as ratios: 1 + t or 1 − t).
    edge = np.where(rng.random((draws, 1)) < 0.5, np.log1p(threshold), np.log1p(-threshold))
    e = significance.paired(null_rounds(rng, shape, draws, n) + edge)
    return float(np.mean(significance.equivalent(e, threshold, alpha)))


def type_one_table(draws: int = 20000, alpha: float = 0.05) -> str:
    """README's table: the false-positive rate of every comparison × noise shape × rounds."""
    lines = ["| comparison | noise | " + " | ".join(str(n) for n in SIZES) + " |",
             "|---|---|" + "---|" * len(SIZES)]
    for comparison in COMPARISONS:
        for shape in SHAPES:
            rates = [false_positive_rate(comparison, shape, n, draws, alpha) for n in SIZES]
            lines.append(f"| {comparison} | {shape} | "
                         + " | ".join(f"{r:.1%}" for r in rates) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv and argv[0] == "type1":
        print(type_one_table(int(argv[1]) if len(argv) > 1 else 20000))
        return
    if argv and argv[0] == "real":
        from ..format.results import load

        docs = [load(p) for p in argv[1:]]
        arms_runs = [d for d in docs if any(c.get("arm") for c in d["cases"])]
        runs = [d for d in docs if d not in arms_runs]
        rates = {f"{s} {k}": real_rates(runs, arms_runs, s, slow) for s in SETTINGS
                 for k, slow in (("aa", 0.0), ("slow", SLOWDOWN))}
        print(f"real noise: {len(runs)} separate runs, {len(arms_runs)} arms runs "
              f"({', '.join(Path(p).name for p in argv[1:])})")
    else:
        trials = int(argv[0]) if argv else 500
        noise = Noise()
        rates = {f"{s} {k}": verdict_rates(slow, trials, seed=i, noise=noise, setting=s)
                 for i, (s, (k, slow)) in enumerate(itertools.product(
                     SETTINGS, (("aa", 0.0), ("slow", SLOWDOWN))))}
        print(f"synthetic noise: {noise}; {trials} trials each")
    print(table(rates))
    print(json.dumps(rates, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
