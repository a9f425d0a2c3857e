"""One case's result quality between two sides: fast but wrong code must not pass the gate.

Quality is measured once per case, seeded, outside the timed window, so it has no rounds
to test over; it is judged against the workload's own bar instead. The rule:

- **regressed** when the candidate fails a check the baseline passed (its value crossed the
  bar, another of its criteria failed, or its quality run raised: that answer carries no data
  or model to match, and needs none), or when its value moved
  toward the bar by more than half the baseline's margin to it (`MARGIN_SHARE`): recon_mse
  0.038 with bar 0.05 may rise to 0.044, no further; accuracy 0.975 with bar 0.95 may fall
  to 0.9625. The bar is the workload's contract; half of what was left of it is the
  tolerance, so the same rule fits errors of 1e-6 and accuracies of 0.97. A baseline already
  past its bar: moving away from it by more than half its distance to it;
- **improved** the other way round (a failed check now passed, or the same move away from
  the bar);
- **unchanged** otherwise;
- **not comparable** (no verdict) when the two were measured on different data, model,
  fallback or metric — a digits stand-in against MNIST says nothing of the code;
- **baseline only** / **candidate only** (no verdict) when one side measured none (a run with
  `--no-quality`, an older file); **unmeasured** when neither did."""

from __future__ import annotations

import math
from typing import Any

from . import format as fmt

MARGIN_SHARE = 0.5  # share of the baseline's margin to its bar a move toward it may use
SAME = ("metric", "lower_is_better", "data", "model", "fallback")  # what makes two comparable


def value_of(q: dict[str, Any]) -> float | None:
    """The quality metric's value (stored under the metric's own name), if it is a number."""
    name = q.get("metric")
    value = q.get(name) if isinstance(name, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def bar_of(q: dict[str, Any]) -> float | None:
    bar = q.get("bar")
    return float(bar) if isinstance(bar, int | float) and not isinstance(bar, bool) else None


def bar_text(q: dict[str, Any]) -> str:
    """'≤ 0.05' — what passing means, or '' where no bar is recorded."""
    bar = bar_of(q)
    return "" if bar is None else f"{'≤' if q.get('lower_is_better') else '≥'} {bar:.3g}"


def number(value: float | None) -> str:
    return fmt.si(value)  # as the tables show it: 0.0380, 2.02e-06, 0.975


def incomparable(b: dict[str, Any], c: dict[str, Any]) -> str | None:
    """Why two quality answers cannot be compared, or None: each of SAME must agree (a key
    recorded on one side only is not agreement: nobody knows what the other measured)."""
    for key in SAME:
        if key in b and key in c:
            if b[key] != c[key]:
                return f"measured on different {key}: {b[key]!r} vs {c[key]!r}"
        elif key in b or key in c:
            return f"{key} recorded in the {'baseline' if key in b else 'candidate'} only"
    return None


def quality_change(base: dict[str, Any] | None, cand: dict[str, Any] | None) -> dict[str, Any]:
    """The verdict on one case's quality, with both values, the bar and the reason."""
    out: dict[str, Any] = {"verdict": "unmeasured", "metric": None, "baseline": None,
                           "candidate": None, "bar": None, "lower_is_better": None,
                           "reason": None}
    if not isinstance(base, dict) or not isinstance(cand, dict):
        if isinstance(base, dict) or isinstance(cand, dict):
            side = "baseline" if isinstance(base, dict) else "candidate"
            out.update(verdict=f"{side} only",
                       reason=f"quality measured in the {side} only: not compared")
        return out
    out.update(metric=base.get("metric"), baseline=value_of(base), candidate=value_of(cand),
               bar=bar_of(base), lower_is_better=base.get("lower_is_better"))
    if "error" in cand and base.get("passed") is True:
        # The worker's answer for a quality run that raised carries nothing else: no data or
        # model to match, and none needed: the head broke what the baseline passed.
        out.update(verdict="regressed", reason=f"the candidate's quality run failed: "
                   f"{cand['error']}")
        return out
    why = incomparable(base, cand)
    if why:
        out.update(verdict="not comparable", reason=f"{why}: not compared")
        return out
    out["verdict"], out["reason"] = judge(base, cand)
    if bar_of(cand) is not None and bar_of(cand) != out["bar"]:
        out["reason"] = ((out["reason"] + "; ") if out["reason"] else "") + \
            f"the bar changed: {bar_text(base) or 'none'} → {bar_text(cand) or 'none'}"
    return out


def judge(base: dict[str, Any], cand: dict[str, Any]) -> tuple[str, str | None]:
    """(verdict, reason) of two comparable quality answers."""
    name = base.get("metric") or "quality"
    b, c, bar = value_of(base), value_of(cand), bar_of(base)
    moved = f"{name} {number(b)} → {number(c)}"
    passed_b, passed_c = base.get("passed") is True, cand.get("passed") is True
    if passed_b and not passed_c:
        crossed = c is not None and bar is not None and not within(c, bar, base)
        return "regressed", (f"{moved} crossed its bar ({bar_text(base)})" if crossed else
                             f"{moved} ({bar_text(base) or 'no bar'}): the candidate failed "
                             "another of its quality checks")
    if passed_c and not passed_b:
        return "improved", f"{moved}: passes its bar ({bar_text(base)}) where the baseline failed"
    if "error" in base or "error" in cand:
        which = "on both sides" if "error" in base and "error" in cand else \
            "in the baseline" if "error" in base else "in the candidate"
        return "not comparable", f"the quality run failed {which}: " \
            f"{cand.get('error', base.get('error'))}"
    if b is None or c is None or bar is None:
        if b == c:
            return "unchanged", None
        return "not comparable", f"{moved}: no value or bar on a side to compare"
    worse = (c - b) if base.get("lower_is_better") else (b - c)
    room = abs(b - bar)
    if worse == 0 or abs(worse) <= MARGIN_SHARE * room:
        return "unchanged", None
    if not passed_b:
        side = "further past" if worse > 0 else "back toward"
        return ("regressed" if worse > 0 else "improved"), \
            f"{moved}: {side} its bar ({bar_text(base)}) {share(worse, room, 'distance to it')}"
    toward = "toward" if worse > 0 else "away from"
    return ("regressed" if worse > 0 else "improved"), \
        (f"{moved}: moved {toward} its bar ({bar_text(base)}) {share(worse, room, 'margin')} "
         f"(more than {MARGIN_SHARE:.0%} counts)")


def share(move: float, room: float, noun: str) -> str:
    """'by 62 % of the baseline's margin': how much of the baseline's room to its bar a move
    took."""
    return f"by {abs(move) / room:.0%} of the baseline's {noun}" if room else \
        "from a baseline exactly on it"


def within(value: float, bar: float, q: dict[str, Any]) -> bool:
    return value <= bar if q.get("lower_is_better") else value >= bar
