"""The registry: every workload has a spec and implementations; source hashes follow imports."""

from __future__ import annotations

import importlib.util

import pytest

from dbnbench.harness.frameworks import FRAMEWORKS
from dbnbench.suites.registry import IMPLS, SPECS, impl_class, source_files


@pytest.mark.parametrize("key", sorted(IMPLS))
def test_every_implementation_imports(key):
    workload, framework = key
    assert workload in SPECS
    if importlib.util.find_spec(FRAMEWORKS[framework].module) is None:
        pytest.skip(f"{framework} is not installed")
    cls = impl_class(workload, framework)
    assert callable(cls.setup) and callable(cls.step)


def test_source_hash_covers_the_code_a_workload_builds_on():
    names = {p.parent.name + "/" + p.name for p in source_files("dbn-inference")}
    assert {"inference/bench.py", "finetune/torch_impl.py", "dbn/stack.py", "rbm/numpy_impl.py"} <= names
    assert not any(n.startswith("augment/") for n in names)
    assert all(not n.startswith("dbn/") for n in
               {p.parent.name + "/" + p.name for p in source_files("rbm-cdk")})
