"""Scaling across workers, stages and gradient accumulation: efficiencies computed exactly
against the right baseline, a missing baseline named, the HTML section and the terminal
block shown only where a result has such cases."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from dbnbench.format.results import load, validate
from dbnbench.reports.html import render_html
from dbnbench.reports.scaling import analyse
from dbnbench.reports.terminal import render

from .test_html import islands
from .test_terminal import text_at

FIXTURE = Path(__file__).parent.parent / "fixtures" / "quick-cpu.json"


@pytest.fixture(scope="module")
def base() -> dict:
    return load(FIXTURE)


def case(base: dict, *, rate: float, ci: tuple[float, float] | None = None,
         status: str = "ok", workload: str = "dbn-finetune", framework: str = "torch",
         memory: int | None = None, arm: str | None = None,
         parallel: dict | None = None, **params: int) -> dict[str, Any]:
    """An ok case of the fixture, re-dressed: its params (workers, batch, accumulate,
    stages...), items/s median and interval, peak memory, optional arm and parallel."""
    template = next(c for c in base["cases"] if c["status"] == "ok")
    c = copy.deepcopy(template)
    full = {"hidden": 500, "batch": 256, **params}
    shape = "-".join(f"{k}{v}" for k, v in sorted(full.items()))
    c.update(workload=workload, framework=framework, device="cpu", precision="fp32",
             params=full, status=status, id=f"{workload}/{framework}/cpu/fp32/{shape}")
    c["reason"] = None if status == "ok" else "out of memory"
    low, high = ci or (rate, rate)
    c["metrics"]["items_per_s"] = {"median": rate, "ci_low": low, "ci_high": high} \
        if status == "ok" else None
    # Repetitions of 1 s, one step each, `rate` items a step: the median follows from them.
    c["items_per_step"], c["steps_per_repetition"] = int(rate) or 1, [1, 1, 1]
    c["repetitions_s"] = [1.0, 1.0, 1.0]
    if status != "ok":
        c["repetitions_s"], c["steps_per_repetition"] = [], []
    c["metrics"]["peak_host_memory_bytes"] = memory
    if arm:
        c["arm"] = arm
    if parallel is not None:
        c["parallel"] = parallel
    return c


def doc_of(base: dict, cases: list[dict]) -> dict:
    d = copy.deepcopy(base)
    d["cases"] = cases
    return validate(d)  # the schema takes the optional "parallel" object


def test_strong_and_weak_efficiency_and_speedup_are_exact(base):
    doc = doc_of(base, [
        case(base, rate=1000.0, batch=256),
        case(base, rate=600.0, batch=128),
        case(base, rate=1800.0, workers=2, batch=256,
             parallel={"world": 2, "workers": 2, "backend": "gloo",
                       "communication": {"share": 0.25, "allreduce_s": 0.001}}),
        case(base, rate=3000.0, workers=4, batch=256),
    ])
    rows = {r.point.n: r for r in analyse(doc).workers}
    two, four = rows[2], rows[4]
    assert two.speedup.value == pytest.approx(1.8)
    assert two.strong.value == pytest.approx(0.9)
    assert two.weak.value == pytest.approx(1800 / (2 * 600))
    assert (two.world, two.backend, two.communication_share) == (2, "gloo", 0.25)
    assert four.strong.value == pytest.approx(0.75)
    assert four.weak.value is None and four.weak.reason == "no 1-worker batch 64 case"
    assert four.communication_share is None and four.backend is None


def test_bounds_are_the_ratio_of_opposite_ends(base):
    doc = doc_of(base, [case(base, rate=1000.0, ci=(900.0, 1100.0), batch=256),
                        case(base, rate=1800.0, ci=(1700.0, 2000.0), workers=2, batch=256)])
    [row] = analyse(doc).workers
    assert row.strong.low == pytest.approx(1700 / 1100 / 2)
    assert row.strong.high == pytest.approx(2000 / 900 / 2)


def test_a_missing_or_failed_baseline_gives_none_with_the_reason(base):
    doc = doc_of(base, [case(base, rate=0.0, status="failed", batch=256),
                        case(base, rate=1800.0, workers=2, batch=256),
                        case(base, rate=900.0, workers=3, batch=256)])
    rows = {r.point.n: r for r in analyse(doc).workers}
    assert rows[2].speedup.value is None and rows[2].strong.value is None
    assert rows[2].strong.reason == "the 1-worker batch 256 case failed: out of memory"
    assert rows[3].weak.reason == "batch 256 does not divide among 3 workers"
    lonely = analyse(doc_of(base, [case(base, rate=1800.0, workers=2, batch=256)])).workers
    assert lonely[0].strong.reason == "no 1-worker batch 256 case"


def test_the_baseline_matches_every_other_parameter_and_the_arm(base):
    doc = doc_of(base, [
        case(base, rate=1000.0, batch=256, hidden=1000),  # another size: not a baseline
        case(base, rate=500.0, batch=256, framework="numpy"),  # another framework
        case(base, rate=1000.0, batch=256, arm="base"),
        case(base, rate=2000.0, batch=256, arm="head"),
        case(base, rate=1800.0, workers=2, batch=256, arm="head"),
        case(base, rate=1800.0, workers=2, batch=256, arm="base"),
    ])
    rows = {r.point.series: r.strong.value for r in analyse(doc).workers}
    assert rows == {"head: torch/cpu/fp32": pytest.approx(0.45),
                    "base: torch/cpu/fp32": pytest.approx(0.9)}


def test_torch_and_tensorflow_groups_each_scale_against_their_own_one_worker_case(base):
    tf_group = {"world": 2, "workers": 2, "backend": "grpc ring (MultiWorkerMirroredStrategy)",
                "cluster": ["127.0.0.1:41000", "127.0.0.1:41001"],
                "communication": {"share": 0.6}}
    doc = doc_of(base, [
        case(base, rate=1000.0, batch=256),
        case(base, rate=1600.0, workers=2, batch=256,
             parallel={"world": 2, "workers": 2, "backend": "gloo",
                       "communication": {"share": 0.2}}),
        case(base, rate=800.0, batch=256, framework="tensorflow"),
        case(base, rate=1000.0, workers=2, batch=256, framework="tensorflow", parallel=tf_group),
    ])
    rows = {r.point.series: r for r in analyse(doc).workers}
    torch_row, tf_row = rows["torch/cpu/fp32"], rows["tensorflow/cpu/fp32"]
    assert torch_row.strong.value == pytest.approx(0.8) and torch_row.backend == "gloo"
    assert tf_row.strong.value == pytest.approx(1000 / 800 / 2)
    assert (tf_row.backend, tf_row.communication_share) == (tf_group["backend"], 0.6)


def test_accumulation_speed_and_memory_against_accumulate_1(base):
    mib = 2**20
    doc = doc_of(base, [case(base, rate=1000.0, accumulate=1, memory=400 * mib),
                        case(base, rate=800.0, accumulate=4, memory=100 * mib),
                        case(base, rate=700.0, accumulate=2, batch=512, memory=200 * mib),
                        case(base, rate=999.0, batch=64, memory=mib)])  # no accumulate > 1
    rows = {(r.point.n, r.point.batch): r for r in analyse(doc).accumulation}
    assert set(rows) == {(1, 256), (4, 256), (2, 512)}
    assert rows[(4, 256)].speed.value == pytest.approx(0.8)
    assert rows[(4, 256)].memory_ratio == pytest.approx(0.25)
    assert rows[(4, 256)].memory_kind == "host"
    assert rows[(1, 256)].speed.value == pytest.approx(1.0)
    assert rows[(2, 512)].speed.reason == "no accumulate-1 case"
    assert rows[(2, 512)].memory_ratio is None


def test_stages_against_one_stage(base):
    doc = doc_of(base, [case(base, rate=1000.0), case(base, rate=1500.0, stages=2)])
    [row] = analyse(doc).stages
    assert row.speedup.value == pytest.approx(1.5) and row.efficiency.value == pytest.approx(0.75)
    assert not analyse(doc).workers and not analyse(doc).accumulation
    part = section(render_html([doc], plotly_src="p.js"))
    assert "<h4>pipeline stages</h4>" in part and "<h4>efficiency with workers</h4>" not in part
    assert re.search(r'<td class="num">1\.50×</td><td class="num">75%</td>', part)


def test_a_pipelines_micro_batches_are_a_stage_row_not_accumulation(base):
    doc = doc_of(base, [case(base, rate=1000.0, accumulate=4, batch=512),
                        case(base, rate=1300.0, accumulate=4, batch=512, stages=2)])
    scaling = analyse(doc)
    [row] = scaling.stages
    assert row.speedup.value == pytest.approx(1.3)
    assert [r.point.n for r in scaling.accumulation] == [4]  # the 1-stage case alone


def scaled_doc(base: dict) -> dict:
    mib = 2**20
    return doc_of(base, [
        case(base, rate=1000.0, ci=(950.0, 1050.0), batch=256),
        case(base, rate=600.0, batch=128),
        case(base, rate=1800.0, ci=(1700.0, 1900.0), workers=2, batch=256,
             parallel={"world": 2, "backend": "gloo", "communication": {"share": 0.25}}),
        case(base, rate=3000.0, workers=4, batch=256),
        case(base, rate=1000.0, accumulate=1, batch=512, memory=400 * mib),
        case(base, rate=800.0, accumulate=4, batch=512, memory=100 * mib),
    ])


def section(html: str) -> str:
    start = html.index('<section id="scaling">')
    return html[start:html.index("</section>", start)]


def test_the_html_scaling_section_is_there_only_when_relevant(base):
    html = render_html([scaled_doc(base)])
    assert html.index('id="workload-1"') < html.index('id="scaling"') < html.index(
        'id="all-cases"')
    part = section(html)
    titles = re.findall(r"<h4>([^<]+)</h4>", part)
    assert {"items/s with workers", "scaling efficiency with workers", "items/s with accumulate",
            "peak memory with accumulate", "efficiency with workers",
            "gradient accumulation"} <= set(titles)
    row = re.search(r'<tr data-case="[^"]*workers2[^"]*">(.*?)</tr>', part, re.DOTALL).group(1)
    cells = re.findall(r'<td[^>]*>(.*?)</td>', row, re.DOTALL)
    assert cells[5:9] == ["1.80× [1.62×, 2.00×]", "90% [81%, 100%]",
                           "150% [142%, 158%]", "25%"]
    assert "no 1-worker batch 64 case" in part  # the 4-worker weak baseline is missing
    figures = islands(part)
    efficiency = next(f for f in figures.values()
                      if f["layout"]["yaxis"].get("tickformat") == ".0%")
    assert any(s.get("y0") == 1.0 and s.get("y1") == 1.0 for s in efficiency["layout"]["shapes"])
    strong = next(t for t in efficiency["data"] if t["name"].endswith("strong"))
    assert strong["x"] == [2, 4] and strong["y"] == pytest.approx([0.9, 0.75])
    acc = re.search(r'<tr data-case="[^"]*accumulate4[^"]*">(.*?)</tr>', part, re.DOTALL)
    assert re.findall(r'<td[^>]*>(.*?)</td>', acc.group(1))[5:] == [
        "0.80×", "100.0 MiB host", "0.25×"]
    # Without the inlined plotly.js, whose text is not the report's.
    plain = render_html([doc_of(base, [case(base, rate=1000.0, batch=256),
                                       case(base, rate=600.0, batch=128)])], plotly_src="p.js")
    assert 'id="scaling"' not in plain and "Scaling" not in plain


@pytest.mark.parametrize("width", [80, 120])
def test_the_terminal_block_one_line_per_case_within_the_width(base, width):
    doc = scaled_doc(base)
    for c in doc["cases"]:  # long names must be shortened, never wrapped
        c["framework"] = "tensorflow-with-a-very-long-plugin-name"
    lines = text_at(render(doc), width)
    assert max(map(len, lines)) <= width
    start = next(i for i, line in enumerate(lines) if line.startswith("scaling ("))
    block = lines[start:]
    w2 = next(line for line in block if " W2 " in line)
    assert w2.endswith("1.80×  strong 90%  weak 150%  comm 25%")
    w4 = block.index(next(line for line in block if " W4 " in line))
    assert block[w4].endswith("3.00×  strong 75%  weak –  comm –")
    assert block[w4 + 1].strip() == "weak: no 1-worker batch 64 case"
    assert any(line.endswith("acc 4  items/s 0.80×  memory 0.25× host") for line in block)
    plain = doc_of(base, [case(base, rate=1000.0, batch=256)])
    assert not any(line.startswith("scaling") for line in text_at(render(plain), width))
