"""The report in a real headless Chromium, at a desktop width and a phone width: every chart
drawn, no axis title, tick label or legend entry overlapping another, nothing wider than the
screen, the findings listed, no console errors, no injected script run. Skips (with the
reason) where chromium or Playwright is absent; .ci/run installs both."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dbnbench.format.results import load
from dbnbench.reports import summaries
from dbnbench.reports.html import render_html

from .test_html import EVIL, FIXTURE, SAMPLE, evil_doc

CHROMIUM = os.environ.get("DBNBENCH_CHROMIUM") or shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("DBNBENCH_SCREENSHOTS", "/tmp/dbnbench-screenshots"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Within one chart: every text a reader must read, with its bounding box.
BOXES = """div => Array.from(div.querySelectorAll(
    '.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .legendtext, .annotation-text'))
  .map(e => { const b = e.getBoundingClientRect();
              return {text: e.textContent, x: b.left, y: b.top, w: b.width, h: b.height}; })
  .filter(b => b.w > 0 && b.h > 0 && b.text.trim())"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package 'chromium')")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright (Python) is not installed (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM,
                                                   args=FLAGS, headless=True,
                                                   viewport={"width": 1400, "height": 900})
        yield ctx
        ctx.close()


def open_page(browser, path: Path, width: int = 1400):
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("div.chart .main-svg", timeout=30_000)
    page.wait_for_timeout(300)  # responsive charts settle to their container's width
    return page, errors


def overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes intersect by more than a pixel each way."""
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if dx > 1 and dy > 1:
                out.append((a["text"], b["text"]))
    return out


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html([load(SAMPLE)]))
    return path


@pytest.mark.parametrize("width", [1400, 390])
def test_every_chart_drawn_and_nothing_overlaps(browser, sample_report, width):
    page, errors = open_page(browser, sample_report, width)
    assert errors == []
    charts = page.locator("div.chart")
    assert charts.count() >= 10
    assert page.locator("div.chart .main-svg").count() >= charts.count()
    for i in range(charts.count()):
        div = charts.nth(i)
        assert div.locator("g.point, g.trace path").count() > 0, f"chart {i} drew nothing"
        boxes = div.evaluate(BOXES)
        assert boxes, f"chart {i} has no labels"
        assert overlaps(boxes) == [], (width, div.get_attribute("data-figure"))
        frame = div.bounding_box()
        assert all(b["x"] >= frame["x"] - 1 and b["x"] + b["w"] <= frame["x"] + frame["width"] + 1
                   for b in boxes), f"labels cut off in {div.get_attribute('data-figure')}"
    # the page itself never scrolls sideways; wide tables scroll in their own box, and at a
    # desktop width the roofs and all-cases tables fit without scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width >= 1400:
        for table in ("#roofs", "#cases"):
            box = page.locator(table).locator("xpath=..")
            assert box.evaluate("d => d.scrollWidth <= d.clientWidth"), f"{table} scrolls"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"quick-report-{width}px.png"), full_page=True)
    page.close()


def test_findings_section_lists_the_runs_findings(browser, sample_report):
    page, _ = open_page(browser, sample_report)
    shown = page.locator("#findings li").all_inner_texts()
    expected = [summaries.finding_text(f) for f in summaries.findings(load(SAMPLE))]
    assert expected and shown == expected
    page.close()


def test_sort_and_filter_the_cases(browser, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render_html([load(FIXTURE)]))
    page, errors = open_page(browser, path)
    assert errors == []
    column = page.locator("#cases thead th").all_inner_texts().index("items/s")
    page.locator("#cases thead th", has_text="items/s").click()
    values = page.eval_on_selector_all(
        "#cases tbody tr", f"rows => rows.map(r => parseFloat(r.cells[{column}].dataset.value))")
    assert len(values) == 14 and values == sorted(values) and values != values[::-1]
    page.fill("#filter", "torch bf16")
    visible = page.locator("#cases tbody tr:visible").all_inner_texts()
    assert visible and all("torch" in r and "bf16" in r for r in visible)
    assert len(visible) < 14
    page.close()


def test_injected_markup_is_shown_not_run(browser, tmp_path):
    path = tmp_path / "evil.html"
    path.write_text(render_html([evil_doc(load(FIXTURE))]))
    page, errors = open_page(browser, path)
    assert errors == []
    assert page.evaluate("window.pwned") is None
    assert EVIL in page.locator("#machines").text_content()
    assert EVIL in page.locator("#problems").text_content()
    page.close()
