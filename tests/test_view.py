"""The one typed view of a case every reader takes (format/view.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dbnbench.format import results
from dbnbench.format.view import layout_of, view, views

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def quick() -> results.ResultDoc:
    return results.load(FIXTURES / "quick-cpu.json")


def test_every_case_of_a_document_has_a_view_with_its_numbers(quick):
    seen = views(quick)
    assert [v.id for v in seen] == [c["id"] for c in quick["cases"]]
    for v, c in zip(seen, quick["cases"], strict=True):
        rate = c["metrics"].get("items_per_s")
        assert (v.rate.median if v.rate else None) == (rate["median"] if rate else None)
        assert v.mode == (c["framework"], c["device"], c["precision"])
        assert v.ok == (c["status"] == "ok")


def test_memory_is_the_device_peak_where_measured_else_the_host_peak(quick):
    case = copy.deepcopy(next(c for c in quick["cases"] if c["status"] == "ok"))
    case["metrics"]["peak_host_memory_bytes"] = 100
    case["metrics"]["peak_device_memory_bytes"] = None
    assert (view(case).memory_bytes, view(case).memory_kind) == (100, "host")
    case["metrics"]["peak_device_memory_bytes"] = 7
    v = view(case)
    assert (v.memory_bytes, v.memory_kind, v.host_memory_bytes) == (7, "device", 100)
    assert v.memory_at_start_by_round() == []  # device memory: host start says nothing
    assert v.memory_by_round() == [7.0]


def test_items_per_joule_is_read_or_derived_for_files_that_lack_it(quick):
    case = copy.deepcopy(next(c for c in quick["cases"] if c["status"] == "ok"))
    case["metrics"]["energy_per_item_j"] = 0.004
    case["metrics"].pop("items_per_joule", None)
    assert view(case).items_per_joule == pytest.approx(250.0)
    case["metrics"]["items_per_joule"] = 123.0
    assert view(case).items_per_joule == 123.0


def test_the_layout_comes_from_the_spec_through_the_result(quick):
    """Param order, the parameters that split a case, and which extra holds latency: the
    reports know none of these names; the result says them."""
    doc = copy.deepcopy(quick)
    case = next(c for c in doc["cases"] if c["status"] == "ok")
    doc["workloads"] = {case["workload"]: {
        "item": "samples", "params": ["zeta", "alpha"], "layout": ["alpha"],
        "extras": {"waits": "latency"}}}
    case["params"] = {"alpha": 2, "zeta": 1}
    case["metrics"]["extra"] = {"waits": {"p50": 1.0, "p90": 2.0, "p99": 3.0}}
    v = next(v for v in views(doc) if v.id == case["id"])
    assert v.ordered_params() == ["zeta", "alpha"]
    assert v.layout.layout == {"alpha"}
    assert v.latency_ms == {"p50": 1.0, "p90": 2.0, "p99": 3.0}


def test_a_file_without_workloads_gets_a_layout_inferred_from_its_cases(quick):
    doc = copy.deepcopy(quick)
    doc.pop("workloads", None)
    case = next(c for c in doc["cases"] if c["status"] == "ok")
    case["metrics"]["extra"] = {"anything": {"p50": 1.0, "p99": 2.0}}
    layout = layout_of(doc, case["workload"])
    assert layout.latency == "anything"
    assert layout.layout == frozenset()
    assert list(layout.params)[: len(case["params"])] == list(case["params"])


def test_a_run_writes_every_workload_s_layout_from_its_spec():
    from dbnbench.suites.builtin import default_registry

    registry = default_registry()
    described = registry.spec("dbn-inference").described()
    assert described["extras"] == {"latency_ms": "latency", "serving": "other"}
    assert {"stages", "microbatches"} <= set(described["layout"])
    assert "batch" not in described["layout"]
    assert described["params"] == list(registry.spec("dbn-inference").params)
    for name in ("rbm-cdk", "dbn-finetune"):
        assert {"workers", "accumulate"} <= set(registry.spec(name).described()["layout"])
    json.dumps(described)  # what goes into the result is JSON
