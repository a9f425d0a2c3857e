"""The history suite's cases set against the figures their sources published: the time a
whole published run would take here, projected from the rate measured over the timed
fraction of it, beside the published time, machine and citation the suite entry carries
(`published`, checked by the suite and result schemas).

The projection is items/s extrapolated: epochs × examples ÷ the case's items/s, its interval
from the rate's. It assumes every step of the full run costs what the timed steps cost
(no data loading, checkpointing, validation passes or evaluation beyond what the case
times); where the published run's work differs, the entry's `note` says how."""

from __future__ import annotations

from dataclasses import dataclass

from ..format.results import Published, ResultDoc
from ..format.view import CaseView, views
from . import format as fmt


@dataclass(frozen=True)
class Projection:
    case: CaseView
    published: Published
    full_items: float  # epochs × examples: the published run's items
    projected_s: tuple[float, float | None, float | None]  # median, low, high
    timed_share: float | None  # of the full run's items, timed here

    @property
    def published_s(self) -> float:
        return float(self.published["seconds"])

    @property
    def speedup(self) -> tuple[float, float | None, float | None]:
        """The published time over the projected one, bounds from the projection's."""
        mid, low, high = self.projected_s
        return (self.published_s / mid, self.published_s / high if high else None,
                self.published_s / low if low else None)

    @property
    def published_rate(self) -> float:
        """Items per published second: the rate the published run implies."""
        return self.full_items / self.published_s

    @property
    def published_flops_per_s(self) -> float | None:
        """FLOP per published second, counting the case's own FLOP per item (what this
        configuration's algorithm costs here; the note says where the source's differed)."""
        c = self.case
        if not c.flops_per_s or not c.rate or not c.rate.median:
            return None
        return c.flops_per_s / c.rate.median * self.published_rate


def projection(c: CaseView) -> Projection | None:
    """An ok case with a published figure, projected; None for any other."""
    published = c.case.get("published")
    if not published or not c.ok or c.rate is None or c.rate.median <= 0:
        return None
    full = float(published["epochs"]) * published["examples"]
    rate = c.rate
    timed = c.case.get("items_per_step")
    steps = sum(c.case["steps_per_repetition"])
    share = timed * steps / full if timed and steps else None
    return Projection(c, published, full, (full / rate.median,
                                           full / rate.ci_high if rate.ci_high else None,
                                           full / rate.ci_low if rate.ci_low else None), share)


def projections(doc: ResultDoc) -> list[Projection]:
    return [p for c in views(doc) if (p := projection(c)) is not None]


def published_cases(doc: ResultDoc) -> list[CaseView]:
    """Every case that carries a published figure, whatever its status."""
    return [c for c in views(doc) if c.case.get("published")]


def by_figure(cases: list[CaseView]) -> list[list[CaseView]]:
    """Cases grouped by the published figure they reproduce, in the result's order."""
    groups: dict[str, list[CaseView]] = {}
    for c in cases:
        key = repr(sorted((c.case.get("published") or {}).items()))
        groups.setdefault(key, []).append(c)
    return list(groups.values())


def duration(seconds: float | None) -> str:
    """'41.2 s', '615 min', '20.5 h', '3.10 days': minutes up to 1000 of them, as papers
    and tutorials give a run's time."""
    if seconds is None:
        return "–"
    for limit, unit, size in ((120, "s", 1), (1000 * 60, "min", 60), (72 * 3600, "h", 3600)):
        if seconds < limit:
            return f"{fmt.significant(seconds / size)} {unit}"
    return f"{fmt.significant(seconds / 86400)} days"


def times(value: tuple[float, float | None, float | None]) -> str:
    mid, low, high = value
    bounds = f" [{fmt.significant(low)}×, {fmt.significant(high)}×]" if low and high else ""
    return f"{fmt.significant(mid)}×{bounds}"


def projected(p: Projection) -> str:
    mid, low, high = p.projected_s
    return duration(mid) + (f" [{duration(low)}, {duration(high)}]" if low and high else "")


def summary(p: Projection) -> str:
    """What a reader compares, in one line: projected here, published there, the ratio."""
    share = f", {p.timed_share:.2%} of it timed" if p.timed_share is not None else ""
    flops = p.published_flops_per_s
    rate = fmt.si(p.published_rate) + " items/s" + (
        f", {fmt.si(flops, 'FLOP/s')}" if flops else "")
    return (f"{p.published['covers']}: {projected(p)} projected here{share}; published "
            f"{duration(p.published_s)} on {p.published['machine']} ({rate}): "
            f"{times(p.speedup)} the published speed")
