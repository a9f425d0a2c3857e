"""The registry: every workload has a spec and implementations; source hashes follow imports;
the engine is handed it and imports no workload by name."""

from __future__ import annotations

import pytest

from dbnbench.harness.errors import UserError
from dbnbench.harness.plan.registry import Registry, Workload, load_impl, plugin_workloads
from dbnbench.suites.builtin import builtin_workloads, source_files
from dbnbench.suites.selftest.spec import SelftestSpec

from .conftest import REGISTRY, require_framework

PAIRS = sorted((w.name, fw) for w in builtin_workloads() for fw in w.impls)


@pytest.mark.parametrize("key", PAIRS)
def test_every_implementation_imports_and_keeps_the_contract(key):
    workload, framework = key
    require_framework(framework)
    cls = load_impl(str(REGISTRY.impl(workload, framework)))
    assert cls.__name__ != "Impl"  # each says what it is
    for name in ("setup", "step", "quality"):
        assert callable(getattr(cls, name)), name


def test_source_hash_covers_the_code_a_workload_builds_on():
    names = {p.parent.name + "/" + p.name for p in source_files("inference")}
    assert {"inference/bench.py", "finetune/torch_impl.py", "dbn/stack.py", "rbm/numpy_impl.py"} <= names
    assert not any(n.startswith("augment/") for n in names)
    assert all(not n.startswith("dbn/") for n in
               {p.parent.name + "/" + p.name for p in source_files("rbm")})
    assert REGISTRY.source_hash("rbm-cdk") != REGISTRY.source_hash("dbn-inference")


def test_a_second_workload_of_the_same_name_is_refused():
    registry = Registry()
    registry.add(Workload(SelftestSpec(), {"numpy": "x:Y"}))
    with pytest.raises(UserError, match="already registered"):
        registry.add(Workload(SelftestSpec(), {"numpy": "x:Y"}, origin="another package"))


def test_plugins_may_give_one_workload_several_or_a_function():
    one = Workload(SelftestSpec(), {"numpy": "x:Y"})
    assert plugin_workloads(one) == [one]
    assert plugin_workloads([one]) == [one]
    assert plugin_workloads(lambda: one) == [one]
    with pytest.raises(TypeError):
        plugin_workloads(["not a workload"])


def test_a_broken_plugin_is_recorded_not_fatal(monkeypatch):
    class BrokenEntryPoint:
        name, value = "broken", "nowhere:thing"

        def load(self):
            raise ImportError("No module named 'nowhere'")

    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [BrokenEntryPoint()])
    registry = Registry()
    registry.load_plugins()
    assert "No module named 'nowhere'" in registry.broken["broken"]
    assert registry.workloads == {}
