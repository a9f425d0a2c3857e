"""The report's figures (plotly), as JSON-ready panels: a figure, its legend and caption.

Every chart is laid out so nothing in it can collide at any width: configurations are rows
of a horizontal chart (labels never rotate, never overlap), titles and legends are HTML
around the chart rather than plotly's (they wrap on a phone instead of covering the plot),
log axes tick at whole decades with SI prefixes ("10k", "100k") and name their unit."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from ..format.precisions import COLOUR
from .report_data import facets, ok_rows, swept_params

LOG_RANGE = 20  # a log axis once the largest value is this many times the smallest
ROW_PX = 26     # height of one configuration's row
CHROME_PX = 64  # the x axis, its title and margins
SERIES_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2", "#72b7b2",
                  "#eeca3b", "#9d755d", "#ff9da6", "#bab0ac")
BOUND_COLOURS = {"compute": "#4c78a8", "bandwidth": "#72b7b2"}
OVER_COLOUR = "#cf222e"
PASS, FAIL = "#1a7f37", "#cf222e"
Panel = dict[str, Any]


def to_json(fig: go.Figure) -> str:
    """Figure JSON that is safe inside <script>: no '</' can close the element early."""
    text = pio.to_json(fig, validate=True, pretty=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def panel(title: str, fig: go.Figure, caption: str = "",
          legend: Sequence[tuple[str, str]] = ()) -> Panel:
    return {"title": title, "figure": to_json(fig), "caption": caption, "legend": list(legend)}


def is_wide(values: Sequence[float]) -> bool:
    positive = [v for v in values if v and v > 0]
    return bool(positive) and max(positive) / min(positive) > LOG_RANGE


def log_ticks(values: Sequence[float]) -> dict[str, Any]:
    """Ticks of a log axis: 1-2-5 in every decade when the values span under three decades
    (one decade tick alone says little), whole decades otherwise."""
    positive = [v for v in values if v and v > 0]
    low, high = min(positive), max(positive)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last - first > 3:
        return {"dtick": 1}
    steps = [m * 10.0 ** e for e in range(first, last + 1) for m in (1, 2, 5)]
    return {"tickvals": [v for v in steps if low / 2 <= v <= high * 2]}


def value_axis(fig: go.Figure, title: str, values: Sequence[float], axis: str = "x") -> None:
    """A value axis: linear from zero, or log (its ticks from `log_ticks`) when values span
    more than 20×; SI prefixes (20k, 5µ) for large and tiny values, plain numbers between
    (0.25, not 250m)."""
    log = is_wide(values)
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    sizes = [abs(v) for v in values if v] or [1.0]
    prefixed = max(sizes) >= 1000 or min(sizes) < 0.01  # 20k, 5µ; but 0.25, not 250m
    update(title={"text": title + (" (log scale)" if log else ""), "standoff": 6},
           type="log" if log else "linear", tickformat="~s" if prefixed else "~g",
           automargin=True, zeroline=False,
           **(log_ticks(values) if log else {"rangemode": "tozero"}))


def rows_layout(fig: go.Figure, labels: Sequence[str]) -> go.Figure:
    """Configurations top to bottom in the facet's order; height follows their number."""
    fig.update_layout(template="plotly_white", height=CHROME_PX + ROW_PX * max(len(labels), 2),
                      margin={"l": 8, "r": 16, "t": 8, "b": 8}, showlegend=False,
                      barmode="group", bargap=0.3, font={"size": 12},
                      hoverlabel={"namelength": -1})
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=list(labels),
                     autorange="reversed", automargin=True, ticksuffix=" ")
    return fig


def series(facet: dict[str, Any]) -> list[tuple[str | None, list[dict[str, Any]], str | None]]:
    """One series per arm (coloured by arm), or one series coloured by precision."""
    arms = facet["arms"]
    if len(arms) > 1:
        return [(arm, [r for r in facet["rows"] if r["arm"] == arm],
                 SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, arm in enumerate(arms)]
    return [(None, facet["rows"], None)]


def colours(rows: Sequence[dict[str, Any]], colour: str | None) -> Any:
    return colour or [COLOUR.get(r["precision"], "#888") for r in rows]


def legend_of(facet: dict[str, Any]) -> list[tuple[str, str]]:
    if len(facet["arms"]) > 1:
        return [(f"arm {arm}", colour or "") for arm, _, colour in series(facet)]
    seen = dict.fromkeys(r["precision"] for r in facet["rows"])
    return [(p, COLOUR.get(p, "#888")) for p in seen]


def labels(facet: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(r["label"] for r in facet["rows"]))


FacetChart = Callable[[dict[str, Any]], Panel | None]
# The small multiples of each facet (one size of a workload), side by side in this order. A
# new chart is one function decorated with @facet_chart: it draws the facet's rows, or
# returns None where it has nothing to show.
FACET_CHARTS: list[FacetChart] = []


def facet_chart(chart: FacetChart) -> FacetChart:
    FACET_CHARTS.append(chart)
    return chart


@facet_chart
def throughput(facet: dict[str, Any]) -> Panel:
    """Items/s with the 95 % interval as measured (asymmetric whiskers)."""
    fig = go.Figure()
    for arm, rows, colour in series(facet):
        fig.add_bar(name=arm or "items/s", orientation="h", y=[r["label"] for r in rows],
                    x=[r["items_per_s"] for r in rows], marker_color=colours(rows, colour),
                    error_x={"type": "data", "symmetric": False, "thickness": 1.5,
                             "array": [(r["ci_high"] or r["items_per_s"]) - r["items_per_s"]
                                       for r in rows],
                             "arrayminus": [r["items_per_s"] - (r["ci_low"] or r["items_per_s"])
                                            for r in rows]},
                    hovertext=[f"{r['id']}: {r['interval']}" for r in rows])
    value_axis(fig, "items/s", [r["items_per_s"] for r in facet["rows"]] +
               [r["ci_low"] for r in facet["rows"] if r["ci_low"]])
    return panel("throughput, 95% CI", rows_layout(fig, labels(facet)),
                 "whiskers: the 95% interval, as measured (often lopsided)", legend_of(facet))


@facet_chart
def roof_position(facet: dict[str, Any]) -> Panel | None:
    """Each case's share of what the roofline allows at its arithmetic intensity, 0–100 %;
    an impossible share (an old file, or a wrong count of work) is drawn to 100 % in red and
    named in the caption instead of stretching the axis."""
    rows = [r for r in facet["rows"] if r["pct_of_roof"] is not None]
    if not rows:
        return None
    fig = go.Figure()
    for arm, members, colour in series({**facet, "rows": rows}):
        fig.add_bar(name=arm or "roof", orientation="h", y=[r["label"] for r in members],
                    x=[min(r["pct_of_roof"], 1.0) * 100 for r in members],
                    marker_color=[OVER_COLOUR if r["pct_of_roof"] > 1 else
                                  colour or BOUND_COLOURS.get(r["bound"] or "", "#4c78a8")
                                  for r in members],
                    hovertext=[f"{r['id']}: {r['pct_of_roof']:.0%} of the {r['bound'] or 'GEMM'}"
                               " roof" for r in members])
    fig.update_xaxes(title={"text": "% of the attainable rate", "standoff": 6},
                     range=[0, 100], ticksuffix="%", automargin=True)
    over = [f"{r['label']} {r['pct_of_roof']:.0%}" for r in rows if r["pct_of_roof"] > 1]
    caption = "against the roofline at the case's arithmetic intensity"
    if over:
        caption += "; drawn to 100% in red, impossible as measured: " + ", ".join(over)
    legend = [(f"arm {a}", c or "") for a, _, c in series(facet)] if len(facet["arms"]) > 1 \
        else [(f"{b}-bound", BOUND_COLOURS[b]) for b in dict.fromkeys(r["bound"] for r in rows)
              if b in BOUND_COLOURS]
    return panel("position on the roofline", rows_layout(fig, labels(facet)), caption, legend)


@facet_chart
def quality(facet: dict[str, Any]) -> Panel | None:
    """Each case's quality against its bar (dashed): green passed, red missed."""
    rows = [r for r in facet["rows"] if r["quality"].get("metric")
            and isinstance(r["quality"].get(r["quality"]["metric"]), (int, float))]
    if not rows:
        return None
    q = rows[0]["quality"]
    fig = go.Figure()
    for i, (arm, members, _) in enumerate(series({**facet, "rows": rows})):
        values = [r["quality"][r["quality"]["metric"]] for r in members]
        fig.add_scatter(name=arm or q["metric"], mode="markers", y=[r["label"] for r in members],
                        x=values, marker={"size": 10, "symbol": ("circle", "diamond")[i % 2],
                                          "color": [PASS if r["quality_passed"] else FAIL
                                                    for r in members]},
                        hovertext=[f"{r['id']}: {r['quality_text']}" for r in members])
    bar = q.get("bar")
    values = [r["quality"][r["quality"]["metric"]] for r in rows] + ([bar] if bar else [])
    # The axis title stays short enough for a phone; which way is better goes in the panel's
    # title, which wraps.
    value_axis(fig, q["metric"], values)
    if isinstance(bar, (int, float)):
        fig.add_vline(x=bar, line_dash="dash", line_color="#666")
    caption = f"dashed: the bar, {rows[0]['quality_bar']} passes" if bar is not None else ""
    legend = [("passed", PASS), ("missed the bar", FAIL)]
    if len(facet["arms"]) > 1:
        caption += "; ● " + facet["arms"][0] + ", ◆ " + ", ".join(map(str, facet["arms"][1:]))
    better = "lower" if q.get("lower_is_better") else "higher"
    return panel(f"quality ({better} is better)", rows_layout(fig, labels(facet)), caption,
                 legend)


@facet_chart
def energy(facet: dict[str, Any]) -> Panel | None:
    """Items per joule where energy was measured: the work a joule buys in each
    configuration (higher is better)."""
    rows = [r for r in facet["rows"] if r["items_per_joule"]]
    if not rows:
        return None
    fig = go.Figure()
    for arm, members, colour in series({**facet, "rows": rows}):
        fig.add_bar(name=arm or "items/J", orientation="h", y=[r["label"] for r in members],
                    x=[r["items_per_joule"] for r in members],
                    marker_color=colours(members, colour),
                    hovertext=[f"{r['id']}: {r['items_per_joule']:.3g} items/J, "
                               f"{r['avg_power_w'] or 0:.0f} W" for r in members])
    value_axis(fig, "items per joule", [r["items_per_joule"] for r in rows])
    return panel("energy efficiency (higher is better)", rows_layout(fig, labels(facet)),
                 "items over the energy the timed window used (its method in the case's "
                 "energy_source)", legend_of({**facet, "rows": rows}))


def latency(facet: dict[str, Any]) -> Panel | None:
    """Per-call latency where the workload measured it: the median as the bar, p99 as the
    whisker (throughput at batch 1 hides the tail)."""
    rows = [r for r in facet["rows"] if r["latency"] and r["latency"].get("p50") is not None]
    if not rows:
        return None
    fig = go.Figure()
    for arm, members, colour in series({**facet, "rows": rows}):
        fig.add_bar(name=arm or "p50", orientation="h", y=[r["label"] for r in members],
                    x=[r["latency"]["p50"] for r in members], marker_color=colours(members, colour),
                    error_x={"type": "data", "symmetric": False, "thickness": 1.5,
                             "array": [r["latency"]["p99"] - r["latency"]["p50"] for r in members],
                             "arrayminus": [0] * len(members)},
                    hovertext=[f"{r['id']}: p50 {r['latency']['p50']:.3g}, p90 "
                               f"{r['latency']['p90']:.3g}, p99 {r['latency']['p99']:.3g} ms"
                               for r in members])
    value_axis(fig, "ms per call", [r["latency"]["p99"] for r in rows] +
               [r["latency"]["p50"] for r in rows])
    return panel("latency per call", rows_layout(fig, labels(facet)),
                 "bar: median (p50); whisker: p99", legend_of(facet))


def scaling(rows: list[dict[str, Any]], workload: str, param: str) -> Panel:
    """items/s against one swept parameter, one line per configuration."""
    ok = [r for r in ok_rows(rows) if r["workload"] == workload]
    fig = go.Figure()
    legend = []
    names = list(dict.fromkeys(f"{r['machine']} {r['config']}" for r in ok))
    several = len({r["machine"] for r in ok}) > 1
    for i, name in enumerate(names):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        pick = sorted((r for r in ok if f"{r['machine']} {r['config']}" == name),
                      key=lambda r: r["params"][param])
        fig.add_scatter(name=name, mode="lines+markers", x=[r["params"][param] for r in pick],
                        y=[r["items_per_s"] for r in pick], line_color=colour,
                        hovertext=[r["id"] for r in pick])
        legend.append((name if several else pick[0]["config"], colour))
    fig.update_layout(template="plotly_white", height=360, showlegend=False,
                      margin={"l": 8, "r": 16, "t": 8, "b": 8}, font={"size": 12})
    swept = sorted({r["params"][param] for r in ok})
    # Decade ticks where the sweep spans one; under a decade, a tick at every value swept.
    ticks = {"dtick": 1} if swept[-1] >= 10 * swept[0] else {"tickvals": swept}
    fig.update_xaxes(title={"text": param + " (log scale)", "standoff": 6}, type="log",
                     automargin=True, tickformat="~s", **ticks)
    value_axis(fig, "items/s", [r["items_per_s"] for r in ok], axis="y")
    return panel(f"scaling with {param}", fig, "", legend)


def workload_facets(rows: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    """Small multiples per size of a workload: the registered facet charts side by side;
    latency in a panel of its own; scaling over a swept parameter after them."""
    out = []
    for facet in facets(rows, workload):
        panels = [chart(facet) for chart in FACET_CHARTS]
        out.append({"title": facet["title"], "panels": [p for p in panels if p],
                    "latency": latency(facet), "rows": facet["rows"]})
    return out


def workload_scaling(rows: list[dict[str, Any]], workload: str) -> list[Panel]:
    return [scaling(rows, workload, p) for p in swept_params(rows, workload)]


def roofline_chart(roofs: list[dict[str, Any]], rows: list[dict[str, Any]], machine: str,
                   device: str) -> Panel | None:
    """The machine's roofline on one device: per precision min(GEMM roof, intensity ×
    bandwidth), and every measured case at its arithmetic intensity and FLOP/s."""
    mine = [r for r in roofs if r["machine"] == machine and r["device"] == device
            and r.get("bandwidth_bytes_per_s")]
    placed = [r for r in ok_rows(rows) if r["machine"] == machine and r["device"] == device
              and r["intensity"] and r["flops_per_s"]]
    if not mine:
        return None
    ridges = [r["gemm_flops_per_s"] / r["bandwidth_bytes_per_s"] for r in mine]
    xs = [p["intensity"] for p in placed] + ridges
    lo, hi = min(xs) / 4, max(xs) * 4
    fig = go.Figure()
    for r, ridge in zip(mine, ridges, strict=True):
        colour = COLOUR.get(r["precision"], "#888")
        bw = r["bandwidth_bytes_per_s"]
        fig.add_scatter(name=f"{r['precision']} roof", mode="lines", line_color=colour,
                        x=[lo, ridge, hi], y=[lo * bw, r["gemm_flops_per_s"],
                                              r["gemm_flops_per_s"]],
                        hovertext=f"{r['precision']}: {r['gemm_flops_per_s'] / 1e9:.3g} GFLOP/s,"
                                  f" {bw / 1e9:.3g} GB/s", hoverinfo="text")
    for precision in dict.fromkeys(p["precision"] for p in placed):
        pick = [p for p in placed if p["precision"] == precision]
        fig.add_scatter(name=precision, mode="markers", x=[p["intensity"] for p in pick],
                        y=[p["flops_per_s"] for p in pick],
                        marker={"size": 8, "color": COLOUR.get(precision, "#888"),
                                "line": {"width": 1, "color": "white"}},
                        hovertext=[f"{p['id']}: {p['flops_per_s'] / 1e9:.3g} GFLOP/s"
                                   for p in pick], hoverinfo="text")
    fig.update_layout(template="plotly_white", height=400, showlegend=False,
                      margin={"l": 8, "r": 16, "t": 8, "b": 8}, font={"size": 12})
    fig.update_xaxes(title={"text": "arithmetic intensity (FLOP per byte, log scale)",
                            "standoff": 6}, type="log", dtick=1, tickformat="~g",
                     automargin=True)
    flops = [p["flops_per_s"] for p in placed] + [r["gemm_flops_per_s"] for r in mine]
    fig.update_yaxes(title={"text": "FLOP/s (log scale)", "standoff": 6}, type="log",
                     tickformat="~s", automargin=True, **log_ticks(flops))
    legend = [(f"{p} (line: roof, dots: cases)", COLOUR.get(p, "#888"))
              for p in dict.fromkeys(r["precision"] for r in mine)]
    unplaced = len([r for r in ok_rows(rows) if r["machine"] == machine
                    and r["device"] == device]) - len(placed)
    caption = "roof: the best GEMM any framework reached, and intensity × triad bandwidth"
    if unplaced:
        caption += f"; {unplaced} case(s) without a FLOP count are not on it"
    title = f"{machine} · {device}" if machine else device
    return panel(f"roofline, {title}", fig, caption, legend)


def roofline_charts(roofs: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[Panel]:
    keys = dict.fromkeys((r["machine"], r["device"]) for r in roofs)
    return [p for m, d in keys if (p := roofline_chart(roofs, rows, m, d))]


def trend(points: list[dict[str, Any]], case_id: str) -> str:
    """One case's items/s over time, one line per machine (for the published site)."""
    fig = go.Figure()
    for host in dict.fromkeys(p["hostname"] for p in points):
        pick = [p for p in points if p["hostname"] == host and p["items_per_s"]]
        fig.add_scatter(name=host, mode="lines+markers", x=[p["started_at"] for p in pick],
                        y=[p["items_per_s"] for p in pick], hovertext=[p["run_id"] for p in pick],
                        error_y={"type": "data", "symmetric": False,
                                 "array": [(p["ci_high"] or p["items_per_s"]) - p["items_per_s"]
                                           for p in pick],
                                 "arrayminus": [p["items_per_s"] - (p["ci_low"] or
                                                p["items_per_s"]) for p in pick]})
    fig.update_layout(title=case_id, template="plotly_white", height=360,
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    fig.update_yaxes(title="items/s", tickformat="~s")
    return to_json(fig)


def plotly_js() -> str:
    """The plotly.js bundle that ships with the plotly package (no CDN: reports open offline)."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    # Inlined in a <script> element, the bundle must not contain its closing tag.
    return js.replace("</script", "<\\/script")
