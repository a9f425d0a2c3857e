"""The serving block: each scenario case's outcome in one line, from its `serving` extra."""

from __future__ import annotations

import copy
import re

from dbnbench.format.results import validate
from dbnbench.reports.html import render_html
from dbnbench.reports.serving import serving_rows
from dbnbench.reports.terminal import render

from .test_html import islands
from .test_scaling import base  # noqa: F401  (the fixture)
from .test_terminal import text_at

SERVER = {"scenario": "server", "latency_bound_ms": 10.0, "max_batch": 8, "max_wait_ms": 1.0,
          "offline_per_s": 40000.0, "best_per_s": 12345.0,
          "tried": [{"offered_per_s": 1250.0}, {"offered_per_s": 40000.0},
                    {"offered_per_s": 12345.0}],
          "at_best": {"queries": 12345, "p99_ms": 8.25, "mean_batch": 2.5}}


def doc_with(base: dict, serving: dict) -> dict:  # noqa: F811
    d = copy.deepcopy(base)
    c = next(c for c in d["cases"] if c["status"] == "ok")
    c["metrics"]["extra"] = {"serving": serving}
    d["cases"] = [c]
    return validate(d)


def test_a_server_case_shows_its_best_rate_against_its_bound(base):  # noqa: F811
    doc = doc_with(base, SERVER)
    [(case_id, line)] = serving_rows(doc)
    assert case_id == doc["cases"][0]["id"]
    assert line.startswith("server: 12.3 k q/s within p99 ≤ 10 ms (p99 8.25 ms, mean batch 2.5, "
                           "3 rates tried, 12345 queries at that rate")
    lines = text_at(render(doc), 160)
    start = next(i for i, line in enumerate(lines) if line.startswith("serving ("))
    assert any("server: 12.3 k q/s" in line for line in lines[start:])


def test_a_server_with_no_rate_within_its_bound_says_so(base):  # noqa: F811
    failed = {**SERVER, "best_per_s": None, "reason": "p99 over 10 ms even at 1250 queries/s"}
    del failed["at_best"]
    [(_, line)] = serving_rows(doc_with(base, failed))
    assert line == "server: no rate within p99 ≤ 10 ms (p99 over 10 ms even at 1250 queries/s)"


def test_single_stream_and_offline_lines(base):  # noqa: F811
    single = {"scenario": "single-stream", "queries": 800, "duration_s": 1.2, "p50_ms": 0.5,
              "p90_ms": 0.75, "p99_ms": 1.5, "achieved_per_s": 666.7}
    [(_, line)] = serving_rows(doc_with(base, single))
    assert line == ("single-stream: p50 0.5 ms, p90 0.75 ms, p99 1.5 ms, 667 q/s (800 queries "
                    "over 1.2 s)")
    off = {"scenario": "offline", "best_batch": 64, "queries": 512, "achieved_per_s": 25000.0}
    [(_, line)] = serving_rows(doc_with(base, off))
    assert line == "offline: 25.0 k q/s at batch 64 (512 queries)"


def test_no_scenario_no_block(base):  # noqa: F811
    assert serving_rows(base) == []
    assert not any(line.startswith("serving (") for line in text_at(render(base), 120))


def scenario_doc(base: dict) -> dict:  # noqa: F811
    """A closed-loop batch-1 case, a server search (three trials, the middle one its best,
    listed in the order the search ran them) and an offline case."""
    d = copy.deepcopy(base)
    template = next(c for c in d["cases"] if c["status"] == "ok")
    cases = []
    for scenario, extra in (
            ("batch", {"latency_ms": {"p50": 0.25, "p90": 0.5, "p99": 0.75, "calls": 700}}),
            ("server", {"serving": {
                **SERVER, "best_per_s": 12345.678901,
                "tried": [{"offered_per_s": 500.0, "queries": 0},  # no p99: not drawn
                          {"offered_per_s": 40000.0, "p99_ms": 80.0, "queries": 20000},
                          {"offered_per_s": 1250.0, "p99_ms": 2.0, "queries": 1250},
                          {"offered_per_s": 12345.678901, "p99_ms": 8.25, "queries": 12345}]}}),
            ("offline", {"serving": {"scenario": "offline", "best_batch": 64, "queries": 512,
                                     "achieved_per_s": 25000.0, "p99_ms": 20.0}})):
        c = copy.deepcopy(template)
        c.update(workload="dbn-inference", id=f"dbn-inference/numpy/cpu/fp32/b1-{scenario}",
                 params={"batch": 1, "scenario": scenario})
        c["metrics"]["extra"] = extra
        cases.append(c)
    d["cases"] = cases
    return validate(d)


def serving_section(html: str) -> str:
    start = html.index('<section id="serving">')
    return html[start:html.index("</section>", start)]


def test_the_html_serving_section_draws_p99_against_offered_load(base):  # noqa: F811
    html = render_html([scenario_doc(base)], plotly_src="p.js")
    assert html.index('id="workload-1"') < html.index('id="serving"') < html.index(
        'id="all-cases"')
    part = serving_section(html)
    [figure] = islands(part).values()
    [trace] = figure["data"]
    # By offered rate, whatever order the search ran them in; the best one starred.
    assert trace["x"] == [1250.0, 12345.678901, 40000.0] and trace["y"] == [2.0, 8.25, 80.0]
    assert trace["marker"]["symbol"] == ["circle", "star", "circle"]
    assert [h.split("<br>")[2] for h in trace["hovertext"]] == [
        "p50 –, p90 –, p99 2 ms", "p50 –, p90 –, p99 8.25 ms", "p50 –, p90 –, p99 80 ms"]
    assert trace["name"].startswith("numpy/cpu/") and trace["name"].endswith(", batcher ≤ 8, 1 ms")
    assert figure["layout"]["xaxis"]["type"] == figure["layout"]["yaxis"]["type"] == "log"
    assert [s["y0"] for s in figure["layout"]["shapes"]] == [10.0]  # the bound
    rows = dict(re.findall(r'<tr data-case="[^"]*b1-(\w+)">(.*?)</tr>', part, re.DOTALL))
    cells = {k: re.findall(r"<td[^>]*>(.*?)</td>", v, re.DOTALL) for k, v in rows.items()}
    assert cells["batch"][1:8] == ["closed loop", "one query per call", "700", "–",
                                   "0.25 ms", "0.5 ms", "0.75 ms"]
    assert cells["server"][3] == "12345" and cells["server"][7] == "8.25 ms"
    assert cells["server"][8] == "12.3 k"
    assert cells["offline"][5:9] == ["–", "–", "–", "25.0 k"]  # no latency without a bound


def test_no_scenario_case_no_serving_section(base):  # noqa: F811
    # A batch-1 case alone is today's closed loop: nothing to set it against.
    d = scenario_doc(base)
    d["cases"] = d["cases"][:1]
    assert 'id="serving"' not in render_html([d], plotly_src="p.js")


def test_a_hostile_reason_is_shown_not_obeyed_in_the_serving_table(base):  # noqa: F811
    d = scenario_doc(base)
    server = d["cases"][1]["metrics"]["extra"]["serving"]
    server.pop("at_best")
    server.update(best_per_s=None, reason="<script>alert(1)</script>")
    part = serving_section(render_html([validate(d)], plotly_src="p.js"))
    assert "<script>alert" not in part and "&lt;script&gt;alert(1)&lt;/script&gt;" in part
