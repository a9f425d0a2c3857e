"""The figures of the report's Scaling section: items/s and efficiency against workers,
items/s against pipeline stages, items/s and peak memory against gradient accumulation,
drawn as `charts.scaling` draws a swept size (one line per configuration, HTML legend)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go

from .charts import SERIES_COLOURS, Panel, panel, value_axis
from .scaling import Point, Ratio, Scaling, WorkerRow


def layout(fig: go.Figure, axis: str, swept: Sequence[int]) -> None:
    """Counts on a log-2 axis with a tick at each value run (1, 2, 4, 8 workers)."""
    fig.update_layout(template="plotly_white", height=360, showlegend=False,
                      margin={"l": 8, "r": 16, "t": 8, "b": 8}, font={"size": 12})
    values = sorted(set(swept))
    fig.update_xaxes(title={"text": axis + (" (log scale)" if len(values) > 2 else ""),
                            "standoff": 6}, type="log" if len(values) > 2 else "linear",
                     tickvals=values, tickformat="~g", automargin=True)


def whiskers(values: Sequence[float], lows: Sequence[float | None],
             highs: Sequence[float | None]) -> dict[str, Any]:
    return {"type": "data", "symmetric": False, "thickness": 1.2,
            "array": [(h if h is not None else v) - v for v, h in zip(values, highs,
                                                                       strict=True)],
            "arrayminus": [v - (lo if lo is not None else v) for v, lo in zip(values, lows,
                                                                              strict=True)]}


def lines(fig: go.Figure, pts: Sequence[Point], y: Callable[[Point], float | None],
          bounds: bool = False, name_of: Callable[[Point], str] = lambda p: p.series
          ) -> list[tuple[str, str]]:
    """One line per series over its points' counts; the legend entries."""
    legend = []
    for i, name in enumerate(dict.fromkeys(map(name_of, pts))):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        pick = sorted((p for p in pts if name_of(p) == name and y(p) is not None),
                      key=lambda p: p.n)
        if not pick:
            continue
        ys = [y(p) or 0.0 for p in pick]
        extra = {"error_y": whiskers(ys, [p.rate.ci_low for p in pick],
                                     [p.rate.ci_high for p in pick])} if bounds else {}
        fig.add_scatter(name=name, mode="lines+markers", x=[p.n for p in pick], y=ys,
                        line_color=colour, hovertext=[p.id for p in pick], **extra)
        legend.append((name, colour))
    return legend


def rate_panel(pts: Sequence[Point], axis: str) -> Panel:
    fig = go.Figure()
    legend = lines(fig, pts, lambda p: p.rate.median, bounds=True)
    layout(fig, axis, [p.n for p in pts])
    value_axis(fig, "items/s", [p.rate.median for p in pts], axis="y")
    return panel(f"items/s with {axis}", fig, "whiskers: the 95% interval, as measured",
                 legend)


def efficiency_trace(fig: go.Figure, rows: Sequence[WorkerRow], get: Callable[[WorkerRow], Ratio],
                     name: str, colour: str, dash: str) -> bool:
    pick = sorted((r for r in rows if get(r).value is not None), key=lambda r: r.point.n)
    if not pick:
        return False
    ys = [get(r).value or 0.0 for r in pick]
    fig.add_scatter(name=name, mode="lines+markers", x=[r.point.n for r in pick], y=ys,
                    line={"color": colour, "dash": dash},
                    error_y=whiskers(ys, [get(r).low for r in pick], [get(r).high for r in pick]),
                    hovertext=[r.point.id for r in pick])
    return True


def efficiency_panel(rows: Sequence[WorkerRow]) -> Panel:
    """Strong (solid, per global batch) and weak (dashed, per batch per worker) efficiency,
    against the 100 % of perfect scaling."""
    fig = go.Figure()
    legend = []
    for i, name in enumerate(dict.fromkeys(r.point.series for r in rows)):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        if efficiency_trace(fig, [r for r in rows if r.point.series == name],
                            lambda r: r.strong, f"{name} strong", colour, "solid"):
            legend.append((f"{name} strong (solid)", colour))
    colours = itertools.count(len(legend))
    for group in dict.fromkeys(r.point.group for r in rows):
        mine = [r for r in rows if r.point.group == group and r.point.batch]
        for b in sorted({(r.point.batch or 0) // r.point.n for r in mine}):
            colour = SERIES_COLOURS[next(colours) % len(SERIES_COLOURS)]
            name = f"{group} weak, batch {b}/worker"
            if efficiency_trace(fig, [r for r in mine if (r.point.batch or 0) // r.point.n == b],
                                lambda r: r.weak, name, colour, "dash"):
                legend.append((name + " (dashed)", colour))
    fig.add_hline(y=1.0, line_dash="dot", line_color="#666")
    layout(fig, "workers", [1, *(r.point.n for r in rows)])
    values = [v for r in rows for v in (r.strong.value, r.weak.value, r.strong.high,
                                        r.weak.high) if v is not None]
    fig.update_yaxes(title={"text": "efficiency", "standoff": 6}, tickformat=".0%",
                     rangemode="tozero", range=[0, max([1.1, *values]) * 1.05], automargin=True)
    caption = ("strong: items/s ÷ (workers × 1 worker's at the same global batch); weak: ÷ "
               "(workers × 1 worker's at batch/workers); dotted: 100%; whiskers: what the two "
               "intervals allow at worst")
    return panel("scaling efficiency with workers", fig, caption, legend)


def accumulation_panels(s: Scaling, workload: str) -> list[Panel]:
    pts = [r.point for r in s.accumulation if r.point.workload == workload]
    if not pts:
        return []
    out = [rate_panel(pts, "accumulate")]
    measured = [p for p in pts if p.memory]
    if measured:
        fig = go.Figure()
        legend = lines(fig, measured, lambda p: float(p.memory) / 2**20 if p.memory else None)
        layout(fig, "accumulate", [p.n for p in measured])
        value_axis(fig, "peak memory (MiB)", [float(p.memory or 0) / 2**20 for p in measured],
                   axis="y")
        kinds = sorted({r.memory_kind for r in s.accumulation
                        if r.point.workload == workload and r.memory_kind})
        out.append(panel("peak memory with accumulate", fig,
                         f"{' and '.join(kinds)} peak, as each case reports it", legend))
    return out


def workload_panels(s: Scaling, workload: str) -> list[Panel]:
    """A workload's scaling figures, those that have something to draw."""
    out = []
    workers = [r for r in s.workers if r.point.workload == workload]
    if workers:
        out.append(rate_panel([p for p in s.worker_points if p.workload == workload],
                              "workers"))
        out.append(efficiency_panel(workers))
    stages = [p for p in s.stage_points if p.workload == workload]
    if any(r.point.workload == workload for r in s.stages):
        out.append(rate_panel(stages, "stages"))
    return out + accumulation_panels(s, workload)


def workloads(s: Scaling) -> list[str]:
    rows: list[Any] = [*s.workers, *s.stages, *s.accumulation]
    return list(dict.fromkeys(r.point.workload for r in rows))
