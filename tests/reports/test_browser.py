"""The report in a real headless Chromium: charts drawn, no console errors, no injected
script run. Skips (with the reason) where chromium or Playwright is absent; .ci/run
installs both."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dbnbench.harness.results import load
from dbnbench.reports.html import render_html

from .test_html import EVIL, FIXTURE, evil_doc

CHROMIUM = os.environ.get("DBNBENCH_CHROMIUM") or shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("DBNBENCH_SCREENSHOTS", "/tmp/dbnbench-screenshots"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
                                                   viewport={"width": 1300, "height": 900})
        yield ctx
        ctx.close()


def open_page(browser, path: Path):
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("div.chart .main-svg", timeout=30_000)
    return page, errors


def test_report_renders_charts_without_errors(browser, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render_html([load(FIXTURE)]))
    page, errors = open_page(browser, path)
    assert errors == []
    assert page.locator("div.chart").count() == 2
    assert page.locator("div.chart .main-svg").count() >= 2
    assert page.locator("div.chart g.point").count() >= 14  # bars drawn, one per ok case
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quick-report.png"), full_page=True)
    # clicking a header sorts the table by it
    page.locator("#cases thead th", has_text="items/s").click()
    values = page.eval_on_selector_all(
        "#cases tbody tr", "rows => rows.map(r => parseFloat(r.cells[6].dataset.value))")
    assert len(values) == 14 and values == sorted(values) and values != values[::-1]
    page.close()


def test_injected_markup_is_shown_not_run(browser, tmp_path):
    path = tmp_path / "evil.html"
    path.write_text(render_html([evil_doc(load(FIXTURE))]))
    page, errors = open_page(browser, path)
    assert errors == []
    assert page.evaluate("window.pwned") is None
    assert EVIL in page.locator("#machines").inner_text()
    assert EVIL in page.locator("#problems").inner_text()
    page.close()
