"""The report's serving figure: p99 latency against offered load, one line per server
case (framework, precision, batching) through every rate its search tried, the latency
bound drawn across, the rate the search settled on marked. Log axes both ways: the rates
tried span from the floor to the offline throughput, latency from a fraction of a
millisecond to a queue that never drained."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from .charts import SERIES_COLOURS, Panel, log_ticks, panel
from .serving import ServingCase, Trial, ms, rate

BEST_SIZE, TRIAL_SIZE = 12, 6


def hover(c: ServingCase, trials: Sequence[Trial]) -> list[str]:
    """One line of numbers per point drawn (the same trials, in the same order)."""
    return [f"{c.series}<br>offered {rate(t.offered_per_s)}, served {rate(t.achieved_per_s)}"
            f"<br>p50 {ms(t.p50_ms)}, p90 {ms(t.p90_ms)}, p99 {ms(t.p99_ms)}<br>mean batch "
            f"{f'{t.mean_batch:.3g}' if t.mean_batch is not None else '–'}, {t.queries} queries"
            for t in trials]


def is_best(c: ServingCase, t: Trial) -> bool:
    """The trial the search settled on (the result rounds the rates it lists)."""
    best = c.best_per_s
    return best is not None and math.isclose(t.offered_per_s, best, rel_tol=1e-6)


def load_panel(title: str, cases: Sequence[ServingCase]) -> Panel | None:
    """The server cases among `cases`, or None where none tried a rate with a p99."""
    fig = go.Figure()
    legend = []
    for i, c in enumerate(x for x in cases if x.scenario == "server"):
        pts = [t for t in c.trials if t.p99_ms is not None and t.p99_ms > 0]
        if not pts:
            continue
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        best = [is_best(c, t) for t in pts]
        fig.add_scatter(name=c.series, mode="lines+markers", x=[t.offered_per_s for t in pts],
                        y=[t.p99_ms for t in pts], line_color=colour,
                        marker={"size": [BEST_SIZE if b else TRIAL_SIZE for b in best],
                                "symbol": ["star" if b else "circle" for b in best]},
                        hovertext=hover(c, pts), hoverinfo="text")
        legend.append((c.series, colour))
    if not legend:
        return None
    bounds = sorted({b for c in cases if (b := c.bound_ms) is not None})
    for bound in bounds:
        fig.add_hline(y=bound, line_dash="dot", line_color="#666")
    fig.update_layout(template="plotly_white", height=380, showlegend=False,
                      margin={"l": 8, "r": 16, "t": 8, "b": 8}, font={"size": 12},
                      hoverlabel={"namelength": -1})
    xs = [t.offered_per_s for c in cases for t in c.trials]
    ys = [t.p99_ms for c in cases for t in c.trials if t.p99_ms] + bounds
    fig.update_xaxes(title={"text": "offered load, queries/s (log scale)", "standoff": 6},
                     type="log", tickformat="~s", automargin=True, **log_ticks(xs))
    fig.update_yaxes(title={"text": "p99 latency, ms (log scale)", "standoff": 6},
                     type="log", tickformat="~g", automargin=True, **log_ticks(ys))
    caption = (f"dotted: the p99 bound ({', '.join(f'{b:g} ms' for b in bounds)}); "
               "each point one trial of Poisson arrivals at that rate, latency from each "
               "query's scheduled arrival; star: the highest rate whose p99 was within the "
               "bound (none where no trial passed); a trial lasts about a second, so its p99 "
               "is one of a few hundred to a few thousand latencies")
    return panel(f"{title}: p99 latency against offered load", fig, caption, legend)
