"""How often the compare gate cries wolf, and how often it catches a real slowdown.

Synthetic runs with the noise a benchmark machine shows: per-repetition jitter, a level
shift between interleaved rounds, and occasional slow outliers (another process waking
up). `python -m dbnbench.reports.gate_validation` prints the figures quoted in README.md.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ..harness.results import SCHEMA_VERSION, CaseResult, ResultDoc
from .compare import Thresholds, compare_docs

ROUNDS, REPETITIONS = 2, 5   # the ci suite's settings


@dataclass(frozen=True)
class Noise:
    jitter: float = 0.03         # lognormal sigma of one repetition
    round_shift: float = 0.01    # lognormal sigma of a round's level
    outlier_rate: float = 0.05   # share of repetitions slowed by 1.1-1.5x
    outlier_max: float = 1.5

    def __str__(self) -> str:
        return (f"jitter {self.jitter:.0%}, round shift {self.round_shift:.0%}, "
                f"{self.outlier_rate:.0%} outliers up to {self.outlier_max}x, "
                f"{ROUNDS} rounds x {REPETITIONS} repetitions")


def noisy_times(rng: np.random.Generator, step_s: float, noise: Noise = Noise()) -> list[float]:
    """Repetition times of one run: rounds × repetitions, each of one step."""
    times = []
    for _ in range(ROUNDS):
        level = step_s * rng.lognormal(0, noise.round_shift)
        for _ in range(REPETITIONS):
            t = level * rng.lognormal(0, noise.jitter)
            if rng.random() < noise.outlier_rate:
                t *= rng.uniform(1.1, noise.outlier_max)
            times.append(float(t))
    return times


def synthetic_case(case_id: str, times: list[float], **extra: Any) -> dict[str, Any]:
    """A valid ok case (current schema) of one step per repetition and 100 items per step."""
    rates = 100 / np.asarray(times)
    return {"id": case_id, "workload": "synthetic", "framework": "numpy", "device": "cpu",
            "precision": "fp32", "params": {}, "status": "ok", "reason": None, "setup_s": 0.01,
            "repetitions_s": times, "steps_per_repetition": [1] * len(times), "items_per_step": 100,
            "repetition_rounds": [i // REPETITIONS for i in range(len(times))],
            "source_hash": "abc", "math": {}, "warnings": [], "contention": None,
            "metrics": {"items_per_s": {"median": float(np.median(rates)), "ci_low": None,
                                        "ci_high": None},
                        "peak_host_memory_bytes": 1000, "energy_per_item_j": None,
                        "unmeasured": {}, **extra}}


def synthetic_doc(cases: list[dict[str, Any]], hostname: str = "bench-1",
                  run_id: str = "synthetic") -> ResultDoc:
    """A valid result document around `cases` (current schema)."""
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "suite": "ci",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z",
            "tool": {"name": "dbnbench", "version": "0.1.0"},
            "machine": {"hostname": hostname, "os": "Linux", "python": "3.11.7",
                        "cpu": {"model": "Test CPU", "cores": 2, "threads": 2},
                        "memory_bytes": 2**33, "gpus": [], "frameworks": {"numpy": "2.0"}},
            "settings": {"threads": 2, "seed": 0, "min_time_s": 0.1, "repetitions": 5},
            "calibration": [], "roofline": [], "findings": [],
            "cases": cast(list[CaseResult], cases)}


def verdict_rates(slowdown: float, trials: int, cases: int = 1, seed: int = 0,
                  limits: Thresholds | None = None, noise: Noise | None = None
                  ) -> dict[str, float]:
    """Share of compared cases given each verdict when the candidate is `slowdown` slower."""
    limits = limits or Thresholds()
    noise = noise or Noise()
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    flagged_runs = 0
    for _ in range(trials):
        base = [synthetic_case(f"c{i}", noisy_times(rng, 0.01, noise)) for i in range(cases)]
        cand = [synthetic_case(f"c{i}", noisy_times(rng, 0.01 * (1 + slowdown), noise))
                for i in range(cases)]
        result = compare_docs(synthetic_doc(base), synthetic_doc(cand), limits)
        flagged_runs += bool(result["regressions"])
        for row in result["cases"]:
            counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    total = trials * cases
    return {**{v: n / total for v, n in counts.items()}, "runs_flagged": flagged_runs / trials}


def main(trials: int = 1000, noise: Noise = Noise()) -> None:
    aa = verdict_rates(0.0, trials, cases=1, seed=1, noise=noise)
    aa_suite = verdict_rates(0.0, trials // 4, cases=4, seed=2, noise=noise)
    slow = verdict_rates(1 / 0.9 - 1, trials, cases=1, seed=3, noise=noise)  # 10 % fewer items/s
    print(f"noise: {noise}; {trials} trials")
    print(f"A/A, one case:   false alarms {aa.get('regressed', 0):.2%} "
          f"(improved {aa.get('improved', 0):.2%}, noisy {aa.get('noisy', 0):.2%})")
    print(f"A/A, 4-case run: runs flagged {aa_suite['runs_flagged']:.2%}")
    print(f"10% slower:      detected {slow.get('regressed', 0):.2%} "
          f"(noisy {slow.get('noisy', 0):.2%}, unchanged {slow.get('unchanged', 0):.2%})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
