"""dbn-pretrain: conformance across frameworks, per-layer metrics, quality, skips, bad input."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from dbnbench.harness.plan.cases import Case, unavailable
from dbnbench.harness.plan.workload import Params
from dbnbench.suites.dbn.spec import MNIST_RATIO_BAR, RECON_RATIO_BAR, DBNPretrainSpec
from dbnbench.suites.dbn.stack import build_stack
from dbnbench.suites.rbm.spec import flops_per_update

from .conftest import REGISTRY, require_framework
from .dbn_helpers import FRAMEWORKS, assert_rejected, make_impl
from .mnist_helpers import require_mnist

SIZES = [12, 9, 7]
HYPER = {"k": 2, "lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3}


def greedy_with_draws(impl, x: np.ndarray, seed: int = 1) -> list[tuple[np.ndarray, ...]]:
    """Two updates per layer with fixed uniform draws, each layer on the hidden
    probabilities of the one below, through the framework's own `hidden`."""
    rng = np.random.default_rng(seed)
    models = build_stack(impl.model_cls, impl.fw, SIZES, len(x), HYPER)
    data = models[0].to_device(x)
    for model, (v, h) in zip(models, pairwise(SIZES), strict=True):
        for _ in range(2):
            uh = model.to_device(rng.random((HYPER["k"], len(x), h)))
            uv = model.to_device(rng.random((HYPER["k"], len(x), v)))
            model.update(data, uh, uv)
        data = impl.hidden(model, data)
    return [w for m in models for w in m.weights()]


def test_stack_matches_numpy_in_fp64(fw_factory):
    x = (np.random.default_rng(0).random((6, SIZES[0])) < 0.4).astype(np.float64)
    results = {}
    for name in FRAMEWORKS:
        impl = make_impl("dbn-pretrain", fw_factory(name, "fp64"), layers=SIZES, batch=6)
        results[name] = greedy_with_draws(impl, x)
    for name in FRAMEWORKS[1:]:
        for got, want in zip(results[name], results["numpy"], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)
    # The stack moved from its initial weights, so the comparison above compared something.
    assert not np.allclose(results["numpy"][0], build_stack(
        make_impl("dbn-pretrain", fw_factory("numpy", "fp64")).model_cls,
        fw_factory("numpy", "fp64"), SIZES, 6, HYPER)[0].weights()[0])


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_step_trains_every_layer_and_metrics_add_up(fw_factory, name):
    impl = make_impl("dbn-pretrain", fw_factory(name), layers=[20, 16, 8], batch=5, samples=50)
    impl.setup()
    before = [m.weights()[0] for m in impl.models]
    impl.step()
    assert all(not np.allclose(b, m.weights()[0]) for b, m in zip(before, impl.models, strict=True))
    extra = impl.metrics()
    assert [layer["layer"] for layer in extra["layers"]] == ["20-16", "16-8"]
    stack_s = sum(layer["step_s"] for layer in extra["layers"])
    assert extra["stack_samples_per_s"] == pytest.approx(5 / stack_s)
    assert extra["time_per_epoch_s"] == pytest.approx(10 * stack_s)  # ceil(50 / 5) steps


def test_quality_fallback_on_digits_fp32(fw_factory):
    q = make_impl("dbn-pretrain", fw_factory("numpy"), layers=[64, 32, 32]).quality()
    assert q["passed"], q
    assert len(q["layers"]) == 3  # the digits stack 64-128-64-128, not the case's
    assert all(r["ratio"] < RECON_RATIO_BAR for r in q["layers"])
    assert q["worst_recon_ratio"] == max(r["ratio"] for r in q["layers"])
    assert q["fallback"] == "fallback: case input is 64, not 784" and not q["at_case_shape"]
    assert q["model"].startswith("DBN 64-128-64-128, CD-1 per layer, fp32")


@pytest.mark.parametrize("name,precision", [("numpy", "fp32"), ("torch", "bf16-mixed"),
                                            ("tensorflow", "fp32")])
def test_quality_at_case_shape_on_mnist(fw_factory, name, precision):
    require_mnist()
    q = make_impl("dbn-pretrain", fw_factory(name, precision), layers=[784, 32, 16], k=2).quality()
    assert q["passed"] and q["at_case_shape"] and q["fallback"] is None, q
    assert [r["layer"] for r in q["layers"]] == ["784-32", "32-16"]
    assert all(r["ratio"] < MNIST_RATIO_BAR for r in q["layers"])
    assert q["model"].startswith(f"DBN 784-32-16, CD-2 per layer, {precision}"), q["model"]
    assert q["data"].startswith("MNIST")


def test_flops_sum_over_layers():
    p = Params({**DBNPretrainSpec().defaults(), "layers": [784, 500, 2000], "batch": 10, "k": 3})
    want = flops_per_update(10, 784, 500, 3) + flops_per_update(10, 500, 2000, 3)
    assert DBNPretrainSpec().flops_per_step(p) == want


@pytest.mark.parametrize("framework,precision,why", [
    ("numpy", "bf16-mixed", "NumPy has no bfloat16"),
    ("numpy", "fp16-mixed", "not BLAS-accelerated"),
    ("torch", "tf32", "CPUs have no TF32"),
])
def test_skip_reasons(framework, precision, why):
    require_framework(framework)  # else the reason is that it is not installed
    params = DBNPretrainSpec().defaults()
    items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    case = Case("dbn-pretrain", framework, "cpu", precision, items, "t")
    assert why in unavailable(case, 0, REGISTRY)


@pytest.mark.parametrize("params,field", [
    ("{ layers = [784, -5] }", "field 'layers': must be >= 1"),
    ("{ layers = [784] }", "field 'layers': needs an input size"),
    ('{ layers = "784-500" }', "field 'layers': must be a non-empty list"),
    ("{ batch = 200, samples = 100 }", "field 'batch': 200 is larger than the data"),
    ("{ k = 0 }", "field 'k'"),
    ("{ depth = 3 }", "unknown field 'depth'"),
])
def test_bad_parameters_rejected_at_load(tmp_path, params, field):
    assert_rejected(tmp_path, "dbn-pretrain", params, field)
