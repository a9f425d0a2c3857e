"""`dbnbench list`: every case of a suite, whole, and whether it can run here; each reason
once, as a numbered note, rather than on every row it applies to."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..harness.plan.cases import MAX_CASES


def setting_text(key: str, value: Any) -> str:
    """'min time 0.1 s' for min_time_s=0.1; 'quality on' for quality=True."""
    name = key.removesuffix("_s").replace("_", " ")
    if isinstance(value, bool):
        return f"{name} {'on' if value else 'off'}"
    return f"{name} {value:g} s" if key.endswith("_s") and isinstance(value, (int, float)) \
        else f"{name} {value}"


@dataclass(frozen=True)
class CaseList:
    """The cases of a suite, each with None (it runs here) or why it cannot."""

    title: str
    cases: Sequence[tuple[str, str | None]]
    settings: Mapping[str, Any]
    refused: str | None = None  # why `run` would refuse the suite as a whole here

    def notes(self) -> dict[str, int]:
        """Each reason and its note number, in order of first appearance."""
        reasons = dict.fromkeys(why for _, why in self.cases if why is not None)
        return {why: i for i, why in enumerate(reasons, start=1)}

    def lines(self) -> Iterator[Table | Text]:
        notes = self.notes()
        table = Table(title=Text(self.title, style="bold"), title_justify="left", box=None,
                      pad_edge=False, show_edge=False)
        table.add_column("case", no_wrap=False, overflow="fold")  # ids whole, never cut
        table.add_column("runs here", no_wrap=True)
        for case_id, why in self.cases:
            cell = Text("yes", style="green") if why is None else \
                Text(f"no [{notes[why]}]", style="yellow")
            table.add_row(Text(case_id), cell)
        yield table
        for why, number in notes.items():
            count = sum(1 for _, w in self.cases if w == why)
            yield Text(f"[{number}] ", style="yellow").append(f"{why} ({count} case(s))")
        runnable = sum(1 for _, why in self.cases if why is None)
        yield Text(f"{len(self.cases)} cases, {runnable} can run here", style="bold")
        if self.refused:
            yield Text("run would refuse this suite here: ", style="red").append(self.refused)
        yield Text("settings: " + ", ".join(setting_text(k, v) for k, v in self.settings.items()),
                   style="dim")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.lines()


def case_list(suite: str, filters: Mapping[str, list[str] | None],
              max_cases: int = MAX_CASES, max_memory: int | None = None) -> CaseList:
    """The cases `dbnbench list` shows, decided without importing any framework."""
    from ..harness.errors import UserError
    from ..harness.plan.cases import check_layouts, load_suite, select, unavailable
    from ..harness.probes.system import gpus, usable_cpus
    from ..suites.builtin import default_registry

    registry = default_registry()
    s = load_suite(suite, registry, max_cases)
    cases = select(s.cases, registry, **filters)
    count = len(gpus())
    listed = [(c, unavailable(c, count, registry, max_memory)) for c in cases]
    refused = None
    try:  # what `run` checks before it starts: threads and process layouts on this machine
        check_layouts([c for c, why in listed if why is None], registry,
                      int(s.settings.get("threads") or usable_cpus()), count)
    except UserError as exc:
        refused = str(exc)
    return CaseList(f"suite {s.name}: {s.description}", [(c.id, why) for c, why in listed],
                    s.settings, refused)
