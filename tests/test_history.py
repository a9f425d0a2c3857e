"""The history suite: each entry's published figure checked when the suite loads, carried
into the result unchanged, and projected from the measured rate in the reports."""

from __future__ import annotations

import copy
import json
import re
import textwrap
from importlib import resources

import pytest

from dbnbench.format import results
from dbnbench.harness.errors import UserError
from dbnbench.harness.plan.cases import load_suite
from dbnbench.reports.history import duration, projections
from dbnbench.reports.html import render_html
from dbnbench.reports.terminal import render

from .conftest import REGISTRY, call
from .reports.test_scaling import base, case, doc_of  # noqa: F401  (base: the fixture)
from .reports.test_terminal import text_at

PUBLISHED = {"source": "A. Author, A paper (2009)", "url": "https://example.org/paper.pdf",
             "quote": "Training took 60 minutes.", "machine": "a 2009 CPU",
             "covers": "10 epochs of 1 000 images", "seconds": 3600.0, "epochs": 10,
             "examples": 1000}


def suite_text(published: dict) -> str:
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in published.items())
    return textwrap.dedent("""
        name = "mine"
        [[cases]]
        workload = "rbm-cdk"
        frameworks = ["numpy"]
        params = { visible = 16, hidden = 8, batch = 10 }
        [cases.published]
        """) + lines + "\n"


def test_every_history_entry_quotes_the_figure_it_states():
    suite = load_suite("history", REGISTRY)
    figures = {json.dumps(c.published, sort_keys=True) for c in suite.cases}
    assert len(figures) == 3 and all(c.published for c in suite.cases)
    for c in suite.cases:
        p = c.published
        assert p["url"].startswith("https://github.com/lisa-lab/DeepLearningTutorials/")
        # The seconds the projection is set against are the minutes the quote says.
        assert f"{p['seconds'] / 60:g} minutes" in p["quote"], c.id
        assert f"{p['epochs']} " in p["covers"] and "50 000" in p["covers"]


@pytest.mark.parametrize("change, where", [
    ({"url": "javascript:alert(1)"}, "published/url"),
    ({"seconds": 0}, "published/seconds"),
    ({"examples": 2.5}, "published/examples"),
    ({"minutes": 60}, "published"),  # an unknown key
])
def test_a_malformed_published_figure_is_refused_when_the_suite_loads(tmp_path, change, where):
    path = tmp_path / "mine.toml"
    path.write_text(suite_text({**PUBLISHED, **change}))
    with pytest.raises(UserError, match=f"invalid at cases/0/{where}"):
        load_suite(str(path), REGISTRY)
    missing = dict(PUBLISHED)
    del missing["quote"]
    path.write_text(suite_text(missing))
    with pytest.raises(UserError, match="'quote' is a required property"):
        load_suite(str(path), REGISTRY)


def test_the_suite_and_result_schemas_define_a_published_figure_alike():
    schemas = resources.files("dbnbench.format").joinpath("schema")
    defs = [json.loads(schemas.joinpath(f).read_text())["$defs"]["published"]
            for f in ("suite.schema.json", "result-v2.schema.json")]
    assert defs[0] == defs[1]


def test_a_run_carries_the_figure_and_the_report_projects_it(tmp_path, capsys, monkeypatch):
    path = tmp_path / "mine.toml"
    path.write_text(suite_text(PUBLISHED))
    code, out, err = call(capsys, monkeypatch, "run", "--suite", str(path), "--rounds", "1",
                          "--repetitions", "3", "--min-time", "0.01", "--no-html", "-o",
                          str(tmp_path / "out"), "--db", str(tmp_path / "h.sqlite"))
    assert code == 0, err
    [result] = (tmp_path / "out").glob("*.json")
    doc = results.load(result)
    [c] = doc["cases"]
    assert c["published"] == PUBLISHED
    [p] = projections(doc)
    rate = c["metrics"]["items_per_s"]
    assert p.projected_s == pytest.approx((10_000 / rate["median"], 10_000 / rate["ci_high"],
                                           10_000 / rate["ci_low"]))
    assert p.timed_share == pytest.approx(
        c["items_per_step"] * sum(c["steps_per_repetition"]) / 10_000)
    flat = " ".join(out.split())
    assert "against the published figures" in flat
    assert "published 60.0 min on a 2009 CPU (2.78 items/s" in flat


def projected_doc(base: dict, published: dict, **extra) -> dict:  # noqa: F811
    c = case(base, rate=1000.0, ci=(800.0, 1250.0), batch=10, **extra)
    c["published"] = published
    c["metrics"]["flops_per_s"] = 2e6  # 2 kFLOP per item
    return doc_of(base, [c])


def test_projection_speedup_and_published_rate_are_exact(base):  # noqa: F811
    [p] = projections(projected_doc(base, PUBLISHED))
    assert p.full_items == 10_000
    assert p.projected_s == pytest.approx((10.0, 8.0, 12.5))
    assert p.speedup == pytest.approx((360.0, 288.0, 450.0))
    assert p.published_rate == pytest.approx(10_000 / 3600)
    assert p.published_flops_per_s == pytest.approx(2000 * 10_000 / 3600)
    assert p.timed_share == pytest.approx(1000 * 3 / 10_000)  # 1000 items a step, 3 steps


def test_the_html_section_groups_cases_under_their_figure(base):  # noqa: F811
    doc = projected_doc(base, PUBLISHED)
    failed = copy.deepcopy(doc["cases"][0])
    failed.update(id=failed["id"] + "-x", status="failed", reason="out of memory")
    failed["metrics"]["items_per_s"] = None
    doc = doc_of(base, [doc["cases"][0], failed])
    html = render_html([doc], plotly_src="p.js")
    assert html.index('id="headline"') < html.index('id="history"') < html.index(
        'id="all-cases"')
    part = html[html.index('<section id="history">'):]
    part = part[:part.index("</section>")]
    assert len(re.findall(r"<h4>", part)) == 1  # one figure, two cases under it
    assert "Published: <strong>60.0 min</strong> on a 2009 CPU (2.78 items/s, 5.56 kFLOP/s)" \
        in part
    cells = re.findall(r"<td[^>]*>(.*?)</td>", part)
    assert cells[2:6] == ["1.00 k", "10.0 s [8.00 s, 12.5 s]", "30%", "360× [288×, 450×]"]
    assert "failed: out of memory" in part


def test_a_published_figure_is_shown_never_obeyed(base):  # noqa: F811
    hostile = {**PUBLISHED, "quote": "<script>alert(1)</script>", "source": "\x1b[31mred"}
    doc = results.validate(projected_doc(base, hostile))
    html = render_html([doc], plotly_src="p.js")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    lines = text_at(render(doc), 200)
    assert not any("\x1b[31m" in line for line in lines)


@pytest.mark.parametrize("seconds, text", [(41.2, "41.2 s"), (36900, "615 min"),
                                           (7347.96, "122 min"), (73800, "20.5 h"),
                                           (3 * 86400 + 8640, "3.10 days")])
def test_durations_read_as_papers_give_them(seconds, text):
    assert duration(seconds) == text
