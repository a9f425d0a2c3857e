"""The order of a run: rounds, each a calibration of every mode then every case once, so
slow drift of the machine spreads over all cases instead of biasing one (asv's interleaved
rounds). With several arms, each case runs in every arm back to back, in A-B order in even
rounds and B-A in odd ones (ABBA), so both arms see the same machine minutes. A case that
failed outright in a round is not tried again in later ones."""

from __future__ import annotations

from dataclasses import dataclass

from ..plan.cases import Case
from .journal import Journal

RETIRING = ("failed", "timeout", "skipped")
FIRST_LOOK = 4  # a sequential run's first look: two ABBA pairs of rounds
LOOK_EVERY = 2  # then after every pair, so an arm order effect cancels at every look


def planned_looks(max_rounds: int, first: int = FIRST_LOOK, every: int = LOOK_EVERY
                  ) -> list[int]:
    """The rounds after which a sequential run looks at its data; the last is always
    `max_rounds` (a run shorter than the first look looks once, at its end)."""
    looks = list(range(min(first, max_rounds), max_rounds + 1, every))
    return looks if looks and looks[-1] == max_rounds else [*looks, max_rounds]


@dataclass(frozen=True)
class Schedule:
    cases: tuple[Case, ...]  # the runnable ones, in suite order
    rounds: int
    arms: tuple[str, ...] = ("",)

    def modes(self) -> list[Case]:
        """One case per (framework, device, precision) roof to calibrate."""
        return list({c.mode: c for c in self.cases}.values())

    def arm_order(self, round_: int) -> tuple[str, ...]:
        return self.arms if round_ % 2 == 0 else tuple(reversed(self.arms))

    def todo(self, journal: Journal, rounds: range | None = None,
             decided: frozenset[str] = frozenset()) -> list[tuple[int, Case, str]]:
        """(round, case, arm) not yet answered: round by round, cases in suite order, each
        case in every arm back to back; cases a sequential run has decided are done."""
        return [(r, c, arm) for r in rounds or range(self.rounds) for c in self.cases
                if c.id not in decided
                for arm in self.arm_order(r) if (c.id, arm, r) not in journal.answers]

    def calibrations_left(self, journal: Journal) -> int:
        return sum((arm, *c.mode, r) not in journal.calibration
                   for c in self.modes() for r in range(self.rounds) for arm in self.arms)

    def retired(self, case: Case, arm: str, round_: int, journal: Journal) -> bool:
        """Failed, hung or skipped in an earlier round (in this arm): not tried again."""
        return any((a := journal.answers.get((case.id, arm, r))) is not None
                   and a.status in RETIRING for r in range(round_))
