"""The energy of a case that runs as several processes: every rank's device, summed.

Each rank reads its own meter over the same window (rank 0 opens and closes it with a
command every rank receives): a GPU rank its GPU's NVML counter, a CPU rank its host's RAPL
packages, but only one rank per host (the packages count every process of the machine, so
two ranks on one host reading them would count it twice). The window's energy is the sum;
energy per item divides it by the items every rank processed. Where any rank's reading is
missing, the sum is missing too, with that rank's reason: a part of a group's energy read as
the whole would look like better efficiency."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .energy import MIN_PERIODS, EnergyMeter


@dataclass(frozen=True)
class Reading:
    """One rank's meter over the window."""

    rank: int
    host: str
    part: str  # what it read: "cuda:1", "package", or "" (nothing: another rank has its host)
    joules: float | None
    window_s: float
    period_s: float | None  # the counter's update period, or the power reading's average
    method: str | None  # "counter" or "sampled power"
    source: str | None
    reason: str | None

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Reading:
        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, (int, float)) else None

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        rank = data.get("rank")
        return cls(int(rank) if isinstance(rank, int) else -1, text("host") or "?",
                   text("part") or "", number("joules"), number("window_s") or 0.0,
                   number("period_s"), text("method"), text("source"), text("reason"))


def meters_here(device: str, local_rank: int) -> bool:
    """Whether this rank reads a meter: every GPU rank (its own GPU); on a CPU only the first
    rank of each host (the packages are the whole machine's)."""
    return device.startswith("cuda") or local_rank == 0


class RankMeter:
    """A rank's side: start, stop, and the reading it reports."""

    def __init__(self, rank: int, device: str, local_rank: int) -> None:
        self.rank, self.device = rank, device
        self.meter = EnergyMeter(device) if meters_here(device, local_rank) else None
        self.need_s = self.meter.min_window_s() if self.meter else None

    def start(self) -> None:
        if self.meter is not None:
            self.meter.start()

    def stop(self) -> Reading:
        host = socket.gethostname()
        if self.meter is None:
            return Reading(self.rank, host, "", None, 0.0, None, None, None, None)
        joules, window_s = self.meter.stop()
        reason = self.meter.reason
        if joules is not None and self.need_s is not None and window_s < self.need_s:
            joules, reason = None, (f"energy window {window_s:.3g} s is shorter than "
                                    f"{MIN_PERIODS} updates of the counter "
                                    f"({self.need_s:.3g} s)")
        part = self.device if self.device.startswith("cuda") else "package"
        return Reading(self.rank, host, part, joules, window_s, self.meter.period_s,
                       self.meter.method, self.meter.source, reason)


@dataclass(frozen=True)
class GroupEnergy:
    joules: float | None
    reason: str | None
    source: str | None  # what was summed, in words
    parts: tuple[str, ...]  # "cuda:0@host", "package@host", each summed once


def total(readings: Sequence[Reading]) -> GroupEnergy:
    """The group's energy over the window: every GPU once, every host's packages once."""
    counted: dict[str, Reading] = {}
    for r in readings:
        if not r.part:
            continue
        counted.setdefault(f"{r.part}@{r.host}", r)  # a host's packages once
    if not counted:
        return GroupEnergy(None, "no rank read an energy meter", None, ())
    missing = [r for r in counted.values() if r.joules is None]
    if missing:
        r = missing[0]
        return GroupEnergy(None, f"rank {r.rank} ({r.part} on {r.host}): "
                                 f"{r.reason or 'no reading'}; the group's sum would miss it",
                           None, tuple(counted))
    sources = sorted({r.source or "?" for r in counted.values()})
    source = f"sum over {len(counted)} meters ({', '.join(counted)}): {'; '.join(sources)}"
    joules = sum(r.joules for r in counted.values() if r.joules is not None)
    return GroupEnergy(joules, None, source, tuple(counted))
