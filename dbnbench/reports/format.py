"""Number formatting shared by every reporter."""

from __future__ import annotations

from typing import Any

from ..harness.results import ItemsPerS


def si(value: float | None, unit: str = "", digits: int = 3) -> str:
    """1234567 → '1.23 M' (+unit); None → '–'."""
    if value is None:
        return "–"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}".rstrip()
    return f"{value:.{digits}g} {unit}".rstrip()


def bytes_(value: int | None) -> str:
    if value is None:
        return "–"
    for factor, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.1f} {unit}"
    return f"{value} B"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def rate_with_ci(metric: ItemsPerS | None) -> str:
    if not metric:
        return "–"
    text = si(metric["median"])
    low, high = metric.get("ci_low"), metric.get("ci_high")
    if low is not None and high is not None and metric["median"]:
        half = max(metric["median"] - low, high - metric["median"]) / metric["median"]
        text += f" ±{half:.1%}" if half < 0.1 else f" ±{half:.0%}"
    return text


def quality(q: dict[str, Any] | None) -> str:
    if not q:
        return "–"
    if "error" in q:
        return "error"
    name = q.get("metric")
    value = q.get(name) if name else None
    if value is None:
        return "n/a" if q.get("passed") else "fail"
    mark = "✓" if q.get("passed") else "✗"
    return f"{name} {value:.4g} {mark}"
