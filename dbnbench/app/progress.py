"""The run's progress bar, with an ETA built from the durations measured so far in this run.

rich's own estimate divides the remaining count by a speed averaged over the last seconds,
so a run that measures its roofs (seconds per item) and then its cases (fractions of a
second) swings from minutes to hours to '-:--:--'. Here each item's time is what the same
case or calibration took in an earlier round, or, for one not seen yet, the mean of what has
been measured; the item in flight counts down from its own estimate."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

ROUND = re.compile(r" \(round (\d+)(?:/(\d+))?\)")


def key_of(label: str) -> tuple[str, int, int | None]:
    """The item without its round ('case-id [arm]'), the round (1-based) and the rounds."""
    m = ROUND.search(label)
    if m is None:
        return label, 1, None
    rounds = int(m.group(2)) if m.group(2) else None
    return ROUND.sub("", label), int(m.group(1)), rounds


@dataclass
class Eta:
    """Remaining seconds of a run, from the items it has timed."""

    clock: Callable[[], float] = time.monotonic
    total: int = 0
    done: int = 0
    rounds: int | None = None
    seconds: dict[str, list[float]] = field(default_factory=dict)  # item → each round's time
    current: tuple[str, float] | None = None  # item in flight, since when

    def start(self, label: str) -> None:
        key, _, rounds = key_of(label)
        self.rounds = rounds or self.rounds
        self.current = (key, self.clock())

    def finish(self) -> None:
        if self.current is not None:
            key, since = self.current
            self.seconds.setdefault(key, []).append(self.clock() - since)
            self.current = None
        self.done += 1

    def mean(self) -> float | None:
        times = [t for ts in self.seconds.values() for t in ts]
        return sum(times) / len(times) if times else None

    def remaining(self) -> float | None:
        """None until one item has been timed."""
        fallback = self.mean()
        if fallback is None:
            return None
        left = max(self.total - self.done, 0)
        known = 0.0
        if self.rounds:
            # Items already timed come back in every round: each at its own pace.
            for times in self.seconds.values():
                again = min(max(self.rounds - len(times), 0), left)
                known += again * (sum(times) / len(times))
                left -= again
        estimate = known + left * fallback
        if self.current is not None:
            key, since = self.current
            mine_so_far = self.seconds.get(key)
            mine = sum(mine_so_far) / len(mine_so_far) if mine_so_far else fallback
            # The item in flight was counted in full above; take off what it has run.
            estimate -= min(self.clock() - since, mine)
        return max(estimate, 0.0)


class EtaColumn(ProgressColumn):
    def __init__(self, eta: Eta) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self.eta = eta

    def render(self, task: Task) -> Text:
        left = self.eta.remaining()
        text = "ETA –" if left is None else f"ETA {timedelta(seconds=round(left))}"
        return Text(text, style="progress.remaining")


class RichProgress:
    """The runner's progress callbacks on a rich progress bar."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.eta = Eta(clock)
        # Labels carry case ids and arm names in brackets: shown as text, never as markup.
        # One line at any width: the label takes the room the counters leave and is cut
        # with an ellipsis, never wrapped (a wrapped live display repeats itself).
        label = TextColumn("{task.description}", markup=False, style="bold",
                           table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"))
        self.bar = Progress(SpinnerColumn(), label, BarColumn(bar_width=12),
                            MofNCompleteColumn(), TimeElapsedColumn(), EtaColumn(self.eta),
                            console=console, transient=False, expand=True)
        self.task_id: TaskID | None = None

    def start(self, total: int) -> None:
        # The live display starts only once the run is planned, so a bad-input error is
        # printed alone, not under an empty progress bar.
        self.eta.total = total
        self.task_id = self.bar.add_task("starting", total=total)
        self.bar.start()

    def task(self, label: str) -> None:
        self.eta.start(label)
        if self.task_id is not None:
            self.bar.update(self.task_id, description=label)

    def warn(self, text: str) -> None:
        self.bar.console.print(Text(f"warning: {text}", style="bold yellow"))

    def note(self, text: str) -> None:
        self.bar.console.print(Text(text, style="cyan"))

    def total(self, total: int) -> None:
        """A sequential run's plan shrinks as cases are decided: the bar and ETA follow."""
        self.eta.total = total
        if self.task_id is not None:
            self.bar.update(self.task_id, total=total)

    def done(self, label: str, status: str, reason: str | None) -> None:
        self.eta.finish()
        if status not in ("ok", "skipped"):
            line = Text(status, style="red")
            line.append(f" {label}: {reason}")
            self.bar.console.print(line)
        if self.task_id is not None:
            self.bar.advance(self.task_id)

    def stop(self) -> None:
        self.bar.stop()
