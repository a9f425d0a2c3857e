"""`dbnbench run --until-decided`: the judge a sequential arms run consults at each look.

The engine runs rounds and asks; this decides, with compare's own statistics and the α
spending of the looks taken so far (reports/significance.py), so `dbnbench compare` of the
finished run replays exactly the verdicts the run stopped on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from ..format.results import ResultDoc
from ..harness.engine.runner import Look, Sequential
from ..harness.errors import UserError
from ..harness.records import Arm
from ..reports.compare import Thresholds, compare_docs
from ..reports.samples import split_arms

DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")
DEFAULT_MAX_ROUNDS = 40
UNDECIDED = ("inconclusive",)


def parse_duration(text: str | None) -> float | None:
    """'10m', '90s', '1.5h' or plain seconds → seconds (1 s to 7 days)."""
    if text is None:
        return None
    m = DURATION_RE.match(text)
    if not m:
        raise UserError(f"--max-time: cannot read {text[:40]!r} (e.g. 10m, 600s, 1h)")
    seconds = float(m.group(1)) * {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
    if not 1 <= seconds <= 7 * 86400:
        raise UserError(f"--max-time: {text.strip()} is not between 1 s and 7 days")
    return seconds


def look_line(result: dict[str, object]) -> str:
    """What is still open after a look, and the smallest change each could see so far."""
    rows = result["cases"]
    assert isinstance(rows, list)
    open_ = [r for r in rows if r["verdict"] in UNDECIDED]
    if result["decision"] == "regression":
        return f"regression found ({', '.join(result['regressions'][:3])})"  # type: ignore[index]
    if not open_:
        return f"all {len(rows)} case(s) decided"
    sees = sorted(r["speed"]["mde"] for r in open_ if r.get("speed", {}).get("mde") is not None)
    span = (f"; they could see changes above {sees[0]:.0%}"
            + (f"–{min(sees[-1], 9.99):.0%}" if len(sees) > 1 else "")) if sees else ""
    return f"{len(open_)} of {len(rows)} case(s) undecided{span}"


def arm_names(doc: ResultDoc) -> tuple[str, str]:
    """The run's first two arms: baseline and candidate, as `--arm` gave them."""
    arms = cast(list[dict[str, str]], doc["settings"].get("arms") or [])
    if len(arms) < 2:
        raise UserError("--until-decided: the run has fewer than two arms")
    return arms[0]["name"], arms[1]["name"]


def judge_for(limits: Thresholds, max_rounds: int) -> Callable[[ResultDoc, list[int]], Look]:
    def judge(doc: ResultDoc, looks: list[int]) -> Look:
        base, head = arm_names(doc)
        b, c = split_arms(doc, base, head)
        result = compare_docs(b, c, limits, arms=True,
                              sequential={"looks": looks, "max_rounds": max_rounds})
        decided = frozenset(r["id"] for r in result["cases"] if r["verdict"] not in UNDECIDED)
        done = result["decision"] == "regression" or not result["undecided"]
        return Look(decided, done, look_line(result))

    return judge


def sequential_of(until_decided: bool, arms: tuple[Arm, ...], max_rounds: int | None,
                  max_time: str | None, threshold: float, rounds: int | None,
                  resuming: bool = False) -> Sequential | None:
    """The sequential plan of `run`'s options, or None; bad combinations are refused."""
    budget = parse_duration(max_time)
    if not until_decided:
        if max_rounds is not None or budget is not None:
            raise UserError("--max-rounds and --max-time need --until-decided")
        return None
    named = [a.name for a in arms if a.name]
    if len(named) != 2 and not resuming:
        raise UserError("--until-decided compares two arms: give --arm base=PYTHON "
                        f"--arm head=PYTHON (got {len(named)})")
    if rounds is not None:
        raise UserError("--until-decided chooses the rounds itself: use --max-rounds, not "
                        "--rounds")
    planned = max_rounds or DEFAULT_MAX_ROUNDS
    return Sequential(planned, budget, threshold, judge_for(Thresholds(speed=threshold), planned))
