"""The run's ETA follows the durations measured in the run, and labels are shown as text."""

from __future__ import annotations

import io
import itertools

from rich.console import Console

from dbnbench.app.progress import Eta, RichProgress, key_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plan(rounds: int) -> list[tuple[str, float]]:
    """A run as the runner orders it: each round, 3 slow calibrations, then 10 quick cases
    of which one takes 20× the others."""
    items = []
    for r in range(1, rounds + 1):
        items += [(f"calibrate GEMM peak torch/cpu/{p} (round {r})", 6.0)
                  for p in ("fp32", "bf16", "fp64")]
        items += [(f"case-{i} (round {r}/{rounds}) [base]", 10.0 if i == 3 else 0.5)
                  for i in range(10)]
    return items


def test_key_of_strips_the_round():
    assert key_of("rbm/torch/cpu/fp32/v (round 2/3) [head]") == ("rbm/torch/cpu/fp32/v [head]", 2, 3)
    assert key_of("calibrate GEMM peak numpy/cpu/fp32 (round 1)") == (
        "calibrate GEMM peak numpy/cpu/fp32", 1, None)


def test_eta_is_steady_and_exact_once_a_round_is_known():
    clock = Clock()
    items = plan(rounds=3)
    eta = Eta(clock, total=len(items))
    estimates = []
    for i, (label, seconds) in enumerate(items):
        eta.start(label)
        clock.now += seconds / 2
        mid = eta.remaining()
        clock.now += seconds / 2
        eta.finish()
        truth = sum(s for _, s in items[i + 1:])
        estimates.append((i, eta.remaining(), truth, mid))
    assert estimates[0][1] is not None  # an estimate from the first timed item on
    per_round = len(items) // 3
    for i, estimate, truth, mid in estimates[per_round - 1:]:
        # after the first round every item is known: the estimate is the truth
        assert abs(estimate - truth) < 1e-6, (i, estimate, truth)
        assert mid is not None and mid >= estimate  # counts down inside an item, never up
    # never the swings of a windowed rate (2:20, then 23:19, then -:--:--)
    later = [e for _, e, _, _ in estimates[per_round - 1:]]
    assert all(a >= b for a, b in itertools.pairwise(later))


def test_bracketed_labels_are_shown_not_eaten():
    console = Console(width=160, record=True, file=io.StringIO())
    progress = RichProgress(console, clock=Clock())
    progress.start(2)
    progress.task("rbm-cdk/torch/cpu/fp32/v784 (round 1/2) [base]")
    progress.done("rbm-cdk/torch/cpu/fp32/v784 (round 1/2) [base]", "failed",
                  "pip install 'dbnbench[torch]'")
    progress.bar.refresh()
    progress.stop()
    text = console.export_text()
    assert "(round 1/2) [base]" in text and "pip install 'dbnbench[torch]'" in text


def test_the_bar_is_one_line_at_80_columns():
    console = Console(width=80, record=True, file=io.StringIO())
    progress = RichProgress(console, clock=Clock())
    progress.start(4)
    progress.task("dbn-inference/tensorflow/cpu/bf16-mixed/l784-256-256-c10-b1024-graph "
                  "(round 2/3) [head]")
    progress.bar.refresh()
    progress.stop()
    lines = [line for line in console.export_text().splitlines() if line.strip()]
    assert len(lines) == 1 and len(lines[0]) <= 80 and "ETA" in lines[0], lines
