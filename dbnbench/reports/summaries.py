"""What the terminal and the HTML report both summarise: warnings by kind with the worst
cases first, skip reasons with their counts, findings once each with the arms that gave them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..format.results import CaseResult, Finding, ResultDoc

# The warnings the engine writes (harness/measure/stats.py, harness/engine/merge.py): a label for the kind
# and the number that says how bad one is (the larger, the worse).
KINDS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("noisy: CV over 10%", re.compile(r"^noisy: CV (\d+(?:\.\d+)?)%"), "CV {}%"),
    ("slowest step over 2× the fastest", re.compile(r"^slowest step (\d+(?:\.\d+)?)×"), "{}×"),
    ("contended: other processes used the CPU",
     re.compile(r"^contended: other processes used up to (\d+)%"), "{}% CPU"),
    ("faster than its round's roof (timing noise)", re.compile(r"^ran (\d+)% faster than"),
     "+{}%"),
    ("repetitions under 1 ms", re.compile(r"^repetitions under 1 ms"), ""),
    ("not every round ran", re.compile(r"^only (\d+) of \d+ rounds ran"), "{} rounds"),
)


@dataclass
class WarningKind:
    label: str
    cases: list[tuple[float, str, str]] = field(default_factory=list)  # badness, case, value

    def worst(self, n: int) -> list[tuple[str, str]]:
        """The n worst cases and how bad each is, worst first."""
        return [(case, value) for _, case, value in
                sorted(self.cases, key=lambda c: -c[0])[:n]]


def case_name(case: CaseResult) -> str:
    return case["id"] + (f" [{case['arm']}]" if case.get("arm") else "")


def classify(text: str) -> tuple[str, float, str]:
    """A warning's kind, how bad it is, and that number as text."""
    for label, pattern, shown in KINDS:
        if m := pattern.match(text):
            value = m.group(1) if m.groups() else ""
            return label, float(value) if value else 0.0, shown.format(value) if value else ""
    # An unknown warning is its own kind; numbers aside, the same text is the same kind.
    return re.sub(r"\d+(?:\.\d+)?", "N", text), 0.0, ""


def warning_kinds(doc: ResultDoc) -> list[WarningKind]:
    """Every case warning grouped by kind, the most frequent kind first."""
    kinds: dict[str, WarningKind] = {}
    for case in doc["cases"]:
        for text in case.get("warnings", []):
            label, badness, value = classify(text)
            kinds.setdefault(label, WarningKind(label)).cases.append(
                (badness, case_name(case), value))
    return sorted(kinds.values(), key=lambda k: -len(k.cases))


def skip_reasons(cases: Sequence[CaseResult]) -> list[tuple[str, int]]:
    """Skipped cases grouped by reason, most frequent first: on a CPU-only machine they are
    most of a suite."""
    counts: dict[str, int] = {}
    for c in cases:
        if c["status"] == "skipped":
            counts[c["reason"] or "no reason recorded"] = \
                counts.get(c["reason"] or "no reason recorded", 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def finding_arm(f: Finding) -> str | None:
    """The arm a finding came from: its own `arm`, or the arm part of an 'arm/framework'
    runtime key (kernel findings of a run with arms)."""
    arm = f.get("arm")
    if isinstance(arm, str) and arm:
        return arm
    fw = f.get("framework")
    return fw.split("/", 1)[0] if isinstance(fw, str) and "/" in fw else None


@dataclass(frozen=True)
class ShownFinding:
    severity: str
    kind: str
    message: str
    arms: tuple[str, ...]  # the arms that gave it, where known
    times: int  # how often the result lists it


def findings(doc: ResultDoc) -> list[ShownFinding]:
    """Each finding once: the same sentence from two arms is one line naming both."""
    merged: dict[tuple[str, str, str], list[Finding]] = {}
    for f in doc.get("findings", []):
        merged.setdefault((f["severity"], f["kind"], f["message"]), []).append(f)
    run_arms = arm_names(doc)
    out = []
    for (severity, kind, message), same in merged.items():
        arms = tuple(dict.fromkeys(a for f in same if (a := finding_arm(f))))
        if not arms and run_arms and len(same) == len(run_arms):
            arms = run_arms  # one each: the engine gives every arm's evidence in turn
        out.append(ShownFinding(severity, kind, message, arms, len(same)))
    return out


def arm_names(doc: ResultDoc) -> tuple[str, ...]:
    arms = doc["settings"].get("arms")
    if not isinstance(arms, list):
        return ()
    return tuple(name for a in arms if isinstance(a, dict) and isinstance(name := a.get("name"), str))


def finding_text(f: ShownFinding) -> str:
    """The finding's sentence with the arms that gave it ('in arms base and head')."""
    if f.arms:
        names = " and ".join(f.arms)
        return f"{f.message} (in arm{'s' if len(f.arms) > 1 else ''} {names})"
    if f.times > 1:
        return f"{f.message} (reported {f.times}×)"
    return f.message
