"""A static site from a folder of result files: index, one page per run, one cross-machine
page per workload, trend charts. Relative links only, so it opens from the file system and
from any static host; one shared plotly.min.js instead of a copy per page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..format.results import Machine, ResultDoc
from ..format.view import views
from . import charts
from .html import environment, render_html
from .report_data import duration

PLOTLY_FILE = "plotly.min.js"


def slug(text: str) -> str:
    """A file name from a workload or case id (ids hold slashes)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def latest_per_machine(docs: Sequence[ResultDoc]) -> list[ResultDoc]:
    latest: dict[str, ResultDoc] = {}
    for d in sorted(docs, key=lambda d: d["started_at"]):
        latest[d["machine"]["hostname"]] = d
    return list(latest.values())


def only_workload(doc: ResultDoc, workload: str) -> ResultDoc:
    return {**doc, "cases": [c for c in doc["cases"] if c["workload"] == workload]}


def trend_points(docs: Sequence[ResultDoc], case_id: str) -> list[dict[str, Any]]:
    points = []
    for d in sorted(docs, key=lambda d: d["started_at"]):
        for c in views(d):
            if c.id == case_id and c.ok and c.rate:
                points.append({"hostname": d["machine"]["hostname"], "run_id": d["run_id"],
                               "started_at": d["started_at"], "items_per_s": c.rate.median,
                               "ci_low": c.rate.ci_low, "ci_high": c.rate.ci_high})
    return points


def site_pages(docs: Sequence[ResultDoc]) -> dict[str, str]:
    """Relative path → page text, for every page of the site (pure: nothing written)."""
    nav = [("index", "../index.html"), ("trends", "../trends.html")]
    runs = sorted(docs, key=lambda d: d["started_at"], reverse=True)
    workloads = sorted({c["workload"] for d in docs for c in d["cases"] if c["status"] == "ok"})
    pages = {f"runs/{slug(d['run_id'])}.html":
             render_html([d], plotly_src=f"../{PLOTLY_FILE}", nav=nav) for d in runs}
    for w in workloads:
        pages[f"workloads/{slug(w)}.html"] = render_html(
            [only_workload(d, w) for d in latest_per_machine(docs)],
            plotly_src=f"../{PLOTLY_FILE}", nav=nav)
    case_ids = sorted({c["id"] for d in docs for c in d["cases"] if c["status"] == "ok"})
    env = environment()
    pages["trends.html"] = env.get_template("trends.html.j2").render(
        title="dbnbench trends", plotly_src=PLOTLY_FILE, nav=[("index", "index.html")],
        figures=[charts.trend(trend_points(docs, cid), cid) for cid in case_ids])
    machines: dict[str, Machine] = {}
    for d in runs:
        machines.setdefault(d["machine"]["hostname"], d["machine"])
    pages["index.html"] = env.get_template("index.html.j2").render(
        title="dbnbench results", plotly_src=PLOTLY_FILE, nav=[("trends", "trends.html")],
        machines=machines, workloads=[(w, f"workloads/{slug(w)}.html") for w in workloads],
        runs=[{"doc": d, "href": f"runs/{slug(d['run_id'])}.html", "duration": duration(d),
               "ok": sum(c["status"] == "ok" for c in d["cases"]), "cases": len(d["cases"])}
              for d in runs])
    return pages


def one_per_run_id(docs: Sequence[ResultDoc]) -> list[ResultDoc]:
    """The runs, each id once: the same run given twice is one page; two different
    documents under one id are refused (a page per id would show only one of them)."""
    from ..format.errors import UserError

    seen: dict[str, ResultDoc] = {}
    for doc in docs:
        held = seen.setdefault(doc["run_id"], doc)
        if held is not doc and held != doc:
            raise UserError(f"two different runs under the id {doc['run_id']} (hosts "
                            f"{held['machine']['hostname']} and {doc['machine']['hostname']}): "
                            "a run id names one run; publish them apart")
    return list(seen.values())


def publish(docs: Sequence[ResultDoc], site: Path) -> list[Path]:
    """Write the site under `site`, all of it or none (a full disk leaves it as it was);
    returns the files written."""
    from ..format.output import write_all

    pages = site_pages(one_per_run_id(docs))
    pages[PLOTLY_FILE] = charts.plotly_js()
    files = {site / rel: text for rel, text in pages.items()}
    write_all(files)
    return list(files)
