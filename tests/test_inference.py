"""dbn-inference: outputs against the fp64 reference, conformance, latency, modes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.harness.errors import Skip
from dbnbench.harness.plan.workload import Params
from dbnbench.suites.finetune.spec import glorot_init
from dbnbench.suites.inference.serving import OFFLINE_S
from dbnbench.suites.inference.spec import REL_ERROR_BAR, InferenceSpec, reference_probs

from .conftest import REGISTRY
from .dbn_helpers import FRAMEWORKS, assert_rejected, make_impl
from .mnist_helpers import require_mnist


@pytest.mark.parametrize("name,precision,mode", [
    ("numpy", "fp64", "eager"), ("numpy", "fp32", "eager"), ("torch", "fp64", "eager"),
    ("torch", "fp32", "eager"), ("torch", "bf16-mixed", "eager"), ("torch", "bf16", "eager"),
    ("tensorflow", "fp32", "graph"), ("tensorflow", "fp16-mixed", "eager"),
])
def test_outputs_against_fp64_reference(fw_factory, name, precision, mode):
    """At the case's shape on MNIST (784-128-64 here, fine-tuned once per process)."""
    require_mnist()
    q = make_impl("dbn-inference", fw_factory(name, precision), layers=[784, 128, 64],
                  mode=mode).quality()
    assert q["passed"], q
    assert q["max_rel_error"] < REL_ERROR_BAR[precision]
    if precision == "fp64":
        assert q["max_rel_error"] < 1e-12
    else:  # a lower precision costs something measurable, not exactly nothing
        assert q["max_rel_error"] > 1e-9
    assert q["accuracy"] >= 0.85 and q["top1_agreement"] >= 0.98
    assert q["at_case_shape"] and q["data"].startswith("MNIST") and q["data"].endswith("test split")
    assert f"forward in {precision}, {mode}" in q["model"] and "784-128-64" in q["model"]


def test_digits_fallback_when_the_input_is_not_784(fw_factory):
    q = make_impl("dbn-inference", fw_factory("torch", "bf16-mixed"), layers=[64, 32]).quality()
    assert q["passed"] and q["accuracy"] >= 0.95, q
    assert q["fallback"] == "fallback: case input is 64, not 784" and not q["at_case_shape"]
    assert "64-128-64-128" in q["model"]


def test_frameworks_agree_in_fp64(fw_factory):
    init = glorot_init([12, 9, 5], seed=2)
    x = np.random.default_rng(0).random((7, 12))
    want = reference_probs(init, x)
    for name in FRAMEWORKS:
        impl = make_impl("dbn-inference", fw_factory(name, "fp64"))
        net = impl.forward_cls(impl.fw, init, "eager")
        np.testing.assert_allclose(net.host(net(net.to_device(x))), want, rtol=1e-12,
                                   err_msg=name)


def test_latency_percentiles_at_batch_one(fw_factory):
    impl = make_impl("dbn-inference", fw_factory("numpy"), layers=[16, 8], batch=1)
    impl.setup()
    lat = impl.metrics()["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] and lat["calls"] >= 200
    assert lat["p50"] < 50, "a 16-8 forward pass takes microseconds: the unit must be ms"
    big = make_impl("dbn-inference", fw_factory("numpy"), layers=[16, 8], batch=4)
    big.setup()
    assert big.metrics() == {}


@pytest.mark.parametrize("framework,mode,why", [
    ("numpy", "graph", "NumPy executes eagerly only"),
    ("numpy", "compiled", "NumPy executes eagerly only"),
    ("torch", "graph", "torch's graph compiler is mode 'compiled'"),
])
def test_unsupported_modes_have_reasons(framework, mode, why):
    """A framework's limits are its implementation's to state (`supports`), not the spec's."""
    from dbnbench.harness.plan.registry import load_impl

    params = Params({**InferenceSpec().defaults(), "mode": mode})

    def supports(name: str) -> str | None:
        cls = load_impl(str(REGISTRY.impl("dbn-inference", name)))
        return getattr(cls, "supports", lambda *a: None)("cpu", "fp32", params)

    assert why in supports(framework)
    assert supports("tensorflow") is None


def test_torch_compile_without_a_compiler_is_skipped(fw_factory, monkeypatch):
    from dbnbench.suites.inference import torch_impl

    monkeypatch.setattr(torch_impl.shutil, "which", lambda name: None)
    impl = make_impl("dbn-inference", fw_factory("torch"), layers=[8, 4], mode="compiled")
    with pytest.raises(Skip, match="needs a C\\+\\+ compiler"):
        impl.setup()


def test_tf_xla_mode_runs(fw_factory):
    impl = make_impl("dbn-inference", fw_factory("tensorflow"), layers=[8, 6], batch=3,
                     mode="compiled")
    impl.setup()
    assert impl.out.shape == (3, 10)
    np.testing.assert_allclose(impl.net.host(impl.out).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("params,field", [
    ('{ mode = "jit" }', "field 'mode': must be one of"),
    ("{ batch = -1 }", "field 'batch'"),
    ("{ layers = [784] }", "field 'layers'"),
])
def test_bad_parameters_rejected_at_load(tmp_path, params, field):
    assert_rejected(tmp_path, "dbn-inference", params, field)


@pytest.mark.parametrize("params,field", [
    ('{ scenario = "burst" }', "field 'scenario': must be one of"),
    ('{ scenario = "server", batch = 4, max_batch = 8 }', "field 'max_batch': 8 is over the batch"),
    ('{ scenario = "server", stages = 2 }', "field 'scenario': server runs in one process"),
])
def test_bad_scenarios_rejected_at_load(tmp_path, params, field):
    assert_rejected(tmp_path, "dbn-inference", params, field)


def test_a_scenario_is_in_the_id_with_what_sets_its_outcome():
    spec = InferenceSpec()
    tag = spec.tag(Params({**spec.defaults(), "scenario": "server", "latency_bound_ms": 5.0,
                           "max_batch": 8, "max_wait_ms": 2.0}))
    assert tag.endswith("-server-p99le5ms-wait2ms-mb8")
    assert spec.tag(Params(spec.defaults())).endswith("-eager")  # today's ids unchanged


def test_the_scenarios_run_on_the_forward_pass_and_say_what_they_measured(fw_factory):
    single = make_impl("dbn-inference", fw_factory("numpy"), layers=[16, 8], batch=8,
                       scenario="single-stream")
    single.setup()
    s = single.metrics()["serving"]
    assert s["scenario"] == "single-stream" and s["queries"] >= 500 and s["duration_s"] >= 1.0
    assert 0 < s["p50_ms"] <= s["p90_ms"] <= s["p99_ms"] < 50
    off = make_impl("dbn-inference", fw_factory("numpy"), layers=[16, 8], batch=8,
                    scenario="offline", max_batch=8)
    off.setup()
    o = off.metrics()["serving"]
    assert o["scenario"] == "offline" and o["best_batch"] in (1, 2, 4, 8)
    # Served for about OFFLINE_S after a pilot (a 16-8 network's 500 queries take a few ms).
    assert o["duration_s"] >= OFFLINE_S / 5 and o["queries"] > 500
    assert o["achieved_per_s"] > s["achieved_per_s"] * 0.5  # batching is no slower than one by one
    server = make_impl("dbn-inference", fw_factory("numpy"), layers=[16, 8], batch=8,
                       scenario="server", latency_bound_ms=20.0, max_batch=4, max_wait_ms=0.5)
    server.setup()
    r = server.metrics()["serving"]
    assert r["scenario"] == "server" and r["latency_bound_ms"] == 20.0
    assert len(r["tried"]) >= 2 and all(t["queries"] >= 500 for t in r["tried"])
    # A 16-8 forward pass takes microseconds: some rate passes a 20 ms bound.
    assert r["best_per_s"] is not None and r["at_best"]["p99_ms"] <= 20.0
    assert r["lowest_rate_per_s"] <= r["best_per_s"] <= r["offline_per_s"]
    assert all(t["duration_s"] < 10 for t in r["tried"])  # every trial bounded in time
