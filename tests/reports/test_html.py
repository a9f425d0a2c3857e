"""Golden structure of the HTML report for a real quick-suite result, and escaping."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from dbnbench.harness.results import load
from dbnbench.reports.html import render_html
from dbnbench.reports.publish import site_pages

FIXTURE = Path(__file__).parent.parent / "fixtures" / "quick-cpu.json"
EVIL = "<script>window.pwned=1</script>\"'&"


@pytest.fixture(scope="module")
def doc() -> dict:
    return load(FIXTURE)


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


def test_sections_are_all_there(page):
    for section in ("machines", "headline", "speedups", "resources", "quality", "all-cases",
                    "problems"):
        assert f'id="{section}"' in page


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


def test_speedup_matrix_is_relative_to_numpy_fp32(page):
    assert "Speedup over numpy/cpu/fp32" in page
    assert re.search(r"<td>numpy/cpu/fp32</td><td class=\"num\">[^<]+</td>"
                     r"<td class=\"num\">1.00×</td>", page)


def test_unmeasured_values_carry_their_reason(page):
    assert "unmeasured: no RAPL powercap interface on this machine" in page


def test_charts_are_embedded_as_valid_json_with_error_bars(page):
    islands = re.findall(r'<script type="application/json" id="fig-[^"]+">(.*?)</script>', page,
                         re.DOTALL)
    assert len(islands) == 2  # throughput, % of peak; nothing swept in quick
    bars = json.loads(islands[0])["data"]
    assert {t["name"] for t in bars} >= {"cpu fp32", "cpu bf16-mixed"}
    assert all(t["error_y"]["array"] for t in bars)
    assert "not swept" in page


def test_skip_reasons_warnings_and_math_flags_are_listed(page):
    assert "NumPy has no bfloat16 type" in page and "noisy: CV" in page
    assert "blas=openblas:2" in page


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
