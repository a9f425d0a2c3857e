"""The order of a run: rounds, each a calibration of every mode then every case once, so
slow drift of the machine spreads over all cases instead of biasing one (asv's interleaved
rounds). A case that failed outright in a round is not tried again in later ones."""

from __future__ import annotations

from dataclasses import dataclass

from .cases import Case
from .journal import Journal

RETIRING = ("failed", "timeout", "skipped")


@dataclass(frozen=True)
class Schedule:
    cases: tuple[Case, ...]  # the runnable ones, in suite order
    rounds: int

    def modes(self) -> list[Case]:
        """One case per (framework, device, precision) roof to calibrate."""
        return list({c.mode: c for c in self.cases}.values())

    def todo(self, journal: Journal) -> list[tuple[int, Case]]:
        """(round, case) not yet answered, round by round, cases in suite order."""
        return [(r, c) for r in range(self.rounds) for c in self.cases
                if (c.id, r) not in journal.answers]

    def calibrations_left(self, journal: Journal) -> int:
        return sum((*c.mode, r) not in journal.calibration
                   for c in self.modes() for r in range(self.rounds))

    def retired(self, case: Case, round_: int, journal: Journal) -> bool:
        """Failed, hung or skipped in an earlier round: not tried again."""
        return any((a := journal.answers.get((case.id, r))) is not None and a.status in RETIRING
                   for r in range(round_))
