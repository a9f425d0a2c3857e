"""Number formatting shared by every reporter."""

from __future__ import annotations

import math
from typing import Any

from ..format.view import Rate

PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
# Under 1, prefixes only where there is a unit to carry them (0.5 J is 500 mJ; a bare 0.5
# stays 0.500).
SMALL = ((1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant digits, trailing zeros kept (1.00, 12.0, 120)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    if decimals and abs(float(f"{value:.{decimals}f}")) >= 10 ** (digits - decimals):
        decimals -= 1  # 0.9996 rounds to 1.000: one digit fewer keeps three significant
    return f"{value:.{decimals}f}"


def si(value: float | None, unit: str = "", digits: int = 3) -> str:
    """1234567 → '1.23 M' (+unit); 999.6e3 → '1.00 M'; 0.5 J → '500 mJ'; None → '–'."""
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".rstrip()
    if not unit and magnitude < 1e-3:
        return f"{value:.{digits}g}"
    scale = PREFIXES + SMALL if unit else PREFIXES
    for i, (factor, prefix) in enumerate(scale):
        if magnitude >= factor or i == len(scale) - 1:
            # Rounding can carry into the next prefix: 999.6 k is 1.00 M, never "1e+03 k".
            if i and float(significant(magnitude / factor, digits)) >= 1000:
                factor, prefix = scale[i - 1]
            return f"{significant(value / factor, digits)} {prefix}{unit}".rstrip()
    raise AssertionError("unreachable: the last prefix matches everything")


def bytes_(value: int | None) -> str:
    if value is None:
        return "–"
    for factor, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.1f} {unit}"
    return f"{value} B"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def interval(rate: Rate | None) -> str:
    """The 95 % interval as measured: '[17.3 k, 18.2 k]' (never folded into one ± number,
    which hides a lopsided interval such as 550 to 121 k around 1.37 k)."""
    if rate is None or rate.ci_low is None or rate.ci_high is None:
        return "–"
    return f"[{si(rate.ci_low)}, {si(rate.ci_high)}]"


def spread(rate: Rate | None) -> str:
    """The 95 % interval relative to the median, each side its own: '−1.6 +3.3%'; one
    '±' only when both sides round to the same number."""
    if rate is None:
        return "–"
    median, low, high = rate.median, rate.ci_low, rate.ci_high
    if not median or low is None or high is None:
        return "–"
    below, above = (median - low) / median * 100, (high - median) / median * 100
    decimals = 1 if max(below, above) < 10 else 0
    b, a = f"{below:.{decimals}f}", f"{above:.{decimals}f}"
    return f"±{a}%" if a == b else f"−{b} +{a}%"


def quality_value(q: dict[str, Any] | None) -> str:
    """The quality number and whether it passed its bar ('0.251 ✓'), without its name."""
    if not q:
        return "–"
    if "error" in q:
        return "error"
    name = q.get("metric")
    value = q.get(name) if name else None
    if value is None:
        return "n/a" if q.get("passed") else "fail"
    return f"{value:.3g} {'✓' if q.get('passed') else '✗'}"


def compiled(record: object) -> str | None:
    """'compiled 3× in 1.2 s before timing' (and how many inside it), or None where the
    framework compiles nothing."""
    if not isinstance(record, dict) or not record.get("count"):
        return None
    seconds = record.get("seconds")
    text = f"compiled {record['count']}× in {seconds:.3g} s before timing" \
        if isinstance(seconds, int | float) else f"compiled {record['count']}× before timing"
    inside = record.get("in_window")
    return text + (f", {inside}× inside it" if inside else "")


def quality(q: dict[str, Any] | None) -> str:
    """'recon_ratio 0.251 ✓': the metric's name, its value and whether it passed."""
    text = quality_value(q)
    name = (q or {}).get("metric")
    return f"{name} {text}" if name and text not in ("–", "error", "n/a", "fail") else text


def quality_bar(q: dict[str, Any] | None) -> str:
    """'recon_ratio ≤ 0.75' — what passing means for a workload's quality metric."""
    if not q or q.get("bar") is None or not q.get("metric"):
        return ""
    return f"{q['metric']} {'≤' if q.get('lower_is_better') else '≥'} {q['bar']:.3g}"
