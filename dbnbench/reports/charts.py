"""Plotly figures of the report as JSON-ready dicts (rendered by the inlined plotly.js)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from .report_data import ok_rows, swept_params

LOG_RANGE = 20  # a log axis once the largest bar is this many times the smallest


def to_json(fig: go.Figure) -> str:
    """Figure JSON that is safe inside <script>: no '</' can close the element early."""
    text = pio.to_json(fig, validate=True, pretty=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def layout(fig: go.Figure, title: str, y_title: str, values: list[float]) -> go.Figure:
    wide = bool(values) and min(values) > 0 and max(values) / min(values) > LOG_RANGE
    fig.update_layout(title=title, template="plotly_white", barmode="group", height=420,
                      margin={"l": 60, "r": 20, "t": 50, "b": 80},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_yaxes(title=y_title + (" (log)" if wide else ""), type="log" if wide else "linear")
    return fig


def throughput(rows: list[dict[str, Any]], workload: str) -> go.Figure:
    """Grouped bars: x = machine/framework/shape, one bar per device × precision, CI as error."""
    ok = [r for r in ok_rows(rows) if r["workload"] == workload]
    fig = go.Figure()
    def series_of(r: dict[str, Any]) -> str:
        return (f"{r['arm']} " if r.get("arm") else "") + f"{r['device']} {r['precision']}"

    for series in dict.fromkeys(series_of(r) for r in ok):
        pick = [r for r in ok if series_of(r) == series]
        fig.add_bar(name=series, x=[f"{r['machine']}<br>{r['framework']} {r['shape']}"
                                    for r in pick],
                    y=[r["items_per_s"] for r in pick],
                    error_y={"type": "data", "symmetric": False,
                             "array": [(r["ci_high"] or r["items_per_s"]) - r["items_per_s"]
                                       for r in pick],
                             "arrayminus": [r["items_per_s"] - (r["ci_low"] or r["items_per_s"])
                                            for r in pick]},
                    hovertext=[r["id"] for r in pick])
    return layout(fig, f"{workload}: throughput (95% CI)", "items/s",
                  [r["items_per_s"] for r in ok])


def peak_share(rows: list[dict[str, Any]], workload: str) -> go.Figure:
    ok = [r for r in ok_rows(rows) if r["workload"] == workload and r["pct_of_peak"] is not None]
    fig = go.Figure(go.Bar(x=[r["pct_of_peak"] * 100 for r in ok],
                           y=[f"{r['machine']} {r['config']} {r['shape']}" for r in ok],
                           orientation="h", marker_color="#4c78a8"))
    fig.update_layout(title=f"{workload}: % of the measured GEMM peak", template="plotly_white",
                      height=120 + 28 * len(ok), margin={"l": 320, "r": 20, "t": 50, "b": 40})
    fig.update_xaxes(title="% of peak (same framework, device, precision)")
    return fig


def scaling(rows: list[dict[str, Any]], workload: str, param: str) -> go.Figure:
    """items/s against one swept parameter, one line per machine × configuration."""
    ok = [r for r in ok_rows(rows) if r["workload"] == workload]
    fig = go.Figure()
    for series in dict.fromkeys(f"{r['machine']} {r['config']}" for r in ok):
        pick = sorted((r for r in ok if f"{r['machine']} {r['config']}" == series),
                      key=lambda r: r["params"][param])
        fig.add_scatter(name=series, mode="lines+markers", x=[r["params"][param] for r in pick],
                        y=[r["items_per_s"] for r in pick], hovertext=[r["id"] for r in pick])
    fig.update_xaxes(title=param, type="log")
    return layout(fig, f"{workload}: scaling with {param}", "items/s",
                  [r["items_per_s"] for r in ok])


def workload_figures(rows: list[dict[str, Any]], workload: str) -> list[str]:
    figs = [throughput(rows, workload)]
    if any(r["pct_of_peak"] is not None for r in ok_rows(rows) if r["workload"] == workload):
        figs.append(peak_share(rows, workload))
    figs += [scaling(rows, workload, p) for p in swept_params(rows, workload)]
    return [to_json(f) for f in figs]


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
    fig.update_yaxes(title="items/s")
    return to_json(fig)


def plotly_js() -> str:
    """The plotly.js bundle that ships with the plotly package (no CDN: reports open offline)."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    # Inlined in a <script> element, the bundle must not contain its closing tag.
    return js.replace("</script", "<\\/script")

