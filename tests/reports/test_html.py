"""Golden structure of the HTML report for a real quick-suite result, and escaping."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from dbnbench.format.results import load
from dbnbench.reports.html import render_html
from dbnbench.reports.publish import site_pages

FIXTURE = Path(__file__).parent.parent / "fixtures" / "quick-cpu.json"
# A quick-suite run of the current schema, with findings, roofs and two inference batches.
SAMPLE = Path(__file__).parents[2] / "reports" / "samples" / "quick-cpu-2core-epyc.json"
EVIL = "<script>window.pwned=1</script>\"'&"


@pytest.fixture(scope="module")
def doc() -> dict:
    return load(FIXTURE)


@pytest.fixture(scope="module")
def sample() -> dict:
    return load(SAMPLE)


@pytest.fixture(scope="module")
def page(doc) -> str:
    return render_html([doc])


def evil_doc(doc: dict) -> dict:
    """Hostname, labels and reasons carrying markup and quotes."""
    d = copy.deepcopy(doc)
    d["machine"]["hostname"] = EVIL
    d["machine"]["cpu"]["model"] = EVIL
    d["machine"]["frameworks"][EVIL] = EVIL
    d["cases"][0]["framework"] = EVIL
    d["cases"][0]["warnings"] = [EVIL]
    d["cases"][2]["reason"] = EVIL
    return d


def test_sections_are_all_there_and_what_matters_leads(page):
    order = [page.index(f'id="{section}"') for section in (
        "overview", "findings", "roofline", "headline", "workload-1", "all-cases", "problems",
        "machines")]
    assert order == sorted(order)


def test_header_has_machine_suite_date_and_duration(page, doc):
    assert "Intel(R) Xeon(R) Processor (2 cores, 2 threads)" in page
    assert "torch 2.13.0+cpu" in page and "23.5 GiB" in page
    assert doc["started_at"] in page
    assert re.search(r'class="duration">69 s<', page)


def test_headline_names_the_fastest_configuration(page, doc):
    best = max((c for c in doc["cases"] if c["status"] == "ok"),
               key=lambda c: c["metrics"]["items_per_s"]["median"])
    cell = re.search(r'class="fastest">([^<]*)<', page).group(1)
    assert cell.startswith(f"{best['framework']}/{best['device']}/{best['precision']}")
    assert "not measured: no GPU case ran" in page


def test_speedup_is_a_column_relative_to_numpy_fp32(page):
    assert "<th title=\"items/s over numpy/cpu/fp32's on the same shape\">speedup</th>" in page
    assert re.search(r"<td>numpy/cpu/fp32</td>(?:(?!</tr>).)*?>1\.00×</td>", page, re.DOTALL)


def test_unmeasured_reasons_are_stated_once_per_machine(page):
    assert page.count("no RAPL powercap interface on this machine") == 1
    assert re.search(r"Not measured: energy, every case: no RAPL", page)


def islands(html: str) -> dict[str, dict]:
    found = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', html,
                       re.DOTALL)
    return {key: json.loads(text) for key, text in found}


def test_small_multiples_per_workload_with_intervals_roofline_and_quality(page, doc, sample):
    figures = islands(page)
    workloads = {c["workload"] for c in doc["cases"] if c["status"] == "ok"}
    throughput = [f for k, f in figures.items() if k.startswith("fig-") and k.endswith("-1")]
    assert len(throughput) == len(workloads)  # one size each in the quick suite
    for fig in throughput:
        assert all(t["orientation"] == "h" and t["error_x"]["array"] for t in fig["data"])
    titles = re.findall(r"<h4>([^<]+)</h4>", page)
    assert {"throughput, 95% CI", "position on the roofline"} <= set(titles)
    assert any(t.startswith("quality (") and t.endswith(" is better)") for t in titles)
    assert not any(k.startswith("roof-") for k in figures)  # a v1 file: no roofs measured
    assert any(k.startswith("roof-") for k in islands(render_html([sample]))), "no roofline chart"
    labels = [y for f in figures.values() for t in f["data"] for y in t.get("y") or []
              if isinstance(y, str)]
    assert labels and not any(doc["machine"]["hostname"] in y for y in labels)


def test_batch_1_and_batch_1024_never_share_an_axis(sample):
    html = render_html([sample])
    section = html[html.index("<h2>dbn-inference</h2>"):]
    section = section[:section.index("</section>")]
    assert "<h3>batch 1</h3>" in section and "<h3>batch 1024</h3>" in section
    lat = islands(section)
    assert any(k.startswith("lat-") for k in lat), "latency has a chart of its own"
    assert re.search(r"<td>[\d.]+ / [\d.]+ / [\d.]+</td>", section)


def test_an_impossible_share_is_drawn_to_100_and_named(sample):
    broken = copy.deepcopy(sample)
    case = next(c for c in broken["cases"] if c["status"] == "ok")
    case["metrics"]["roofline"]["pct_of_roof"] = 4.69
    html = render_html([broken])
    roof = [f for f in islands(html).values() if f["layout"]["xaxis"].get("ticksuffix") == "%"]
    assert roof and all(f["layout"]["xaxis"]["range"] == [0, 100] for f in roof)
    assert max(x for f in roof for t in f["data"] for x in t["x"]) == 100
    assert "impossible as measured: numpy fp64 469%" in html


def test_log_axes_tick_at_decades_with_their_unit(sample):
    for fig in islands(render_html([sample])).values():
        for name, axis in fig["layout"].items():
            if name.startswith(("xaxis", "yaxis")) and axis.get("type") == "log":
                assert axis.get("dtick") == 1 or axis.get("tickvals"), name
                assert axis["tickformat"] in ("~s", "~g")
                assert "log scale" in axis["title"]["text"]


def test_arms_stand_side_by_side(doc):
    from .test_terminal import with_arms

    html = render_html([with_arms(doc)])
    figures = islands(html)
    first = figures["fig-1-1-1"]
    assert [t["name"] for t in first["data"]] == ["base", "head"]
    assert first["data"][0]["y"] == first["data"][1]["y"]
    assert "<td>base: numpy/cpu/fp32</td>" in html and "<td>head: numpy/cpu/fp32</td>" in html


def test_skips_and_warnings_are_grouped_and_collapsed(page, doc):
    skipped = sum(c["status"] == "skipped" for c in doc["cases"])
    assert re.search(rf'<details id="skipped"><summary>Skipped: {skipped} cases', page)
    assert '<details id="warnings"><summary>Warnings: 22 ' in page
    assert "NumPy has no bfloat16 type" in page and "noisy: CV" in page
    assert "blas=openblas:2" in page  # math flags, collapsed in their cell
    assert '<input id="filter" type="search"' in page


def test_report_is_self_contained(page):
    from dbnbench.reports.charts import plotly_js

    bundle = plotly_js()
    assert bundle in page  # plotly.js inlined, no CDN
    rest = page.replace(bundle, "")
    assert "<script src=" not in rest and "http" not in rest.replace("http-equiv", "")


def test_user_text_is_escaped_everywhere(doc):
    html = render_html([evil_doc(doc)])
    assert "<script>window.pwned" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&#34;&#39;&amp;" in html
    # inside the plotly JSON islands '</' is escaped, so no island closes early
    for island in re.findall(r'type="application/json"[^>]*>(.*?)</script>', html, re.DOTALL):
        assert "</" not in island
        json.loads(island)


def test_several_machines_side_by_side(doc):
    other = copy.deepcopy(doc)
    other["machine"]["hostname"] = "second-box"
    other["run_id"] = "second-run"
    html = render_html([doc, other])
    assert "vm · 20261127T155153Z-quick-e2ac" in html and "second-box · second-run" in html


def test_published_site_links_shared_plotly(doc):
    pages = site_pages([doc])
    assert set(pages) == {"index.html", "trends.html", "workloads/rbm-cdk.html",
                          "runs/20261127T155153Z-quick-e2ac.html"}
    run = pages["runs/20261127T155153Z-quick-e2ac.html"]
    assert '<script src="../plotly.min.js">' in run and len(run) < 500_000
    assert 'href="runs/20261127T155153Z-quick-e2ac.html"' in pages["index.html"]
    assert pages["trends.html"].count('class="chart"') == 14


def test_report_command_writes_html_and_refuses_bad_input(tmp_path, cli):
    target = tmp_path / "r.html"
    ok = cli("report", str(FIXTURE), "-o", str(target))
    assert ok.returncode == 0 and target.read_text().startswith("<!DOCTYPE html>")
    target.write_text("old")
    (tmp_path / "bad.json").write_text("{")
    bad = cli("report", str(tmp_path / "bad.json"), "-o", str(target))
    assert bad.returncode == 2 and "truncated" in bad.stderr and "Traceback" not in bad.stderr
    assert target.read_text() == "old"


def test_publish_command(tmp_path, cli):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.json").write_text(FIXTURE.read_text())
    done = cli("publish", str(results), "-o", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "plotly.min.js").stat().st_size > 1_000_000
    (results / "b.json").write_text("[]")  # not a result: skipped with a note
    (results / "c.json").write_text(FIXTURE.read_text().replace('"started_at": "',
                                                                '"started_at": "x', 1))
    bad = cli("publish", str(results), "-o", str(tmp_path / "site2"))
    assert bad.returncode == 2 and "c.json: invalid at started_at" in bad.stderr
    assert not (tmp_path / "site2").exists()
