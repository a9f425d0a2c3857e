"""The quality procedures: at the case's own shape and precision on MNIST where the data
allows, labelled as the digits fallback (with why) where it does not; the answer names the
model and data; different shapes score differently; a broken update fails its bar."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.suites import quality
from dbnbench.suites.rbm import spec as rbm_spec
from dbnbench.suites.rbm.spec import RECON_MSE_BAR, RECON_RATIO_BAR, quality_report

from .conftest import make_fw
from .dbn_helpers import make_impl
from .mnist_helpers import require_mnist

KEYS = {"metric", "bar", "lower_is_better", "passed", "model", "data", "at_case_shape", "fallback"}
NO_MNIST = f"fallback: {quality.NO_MNIST}"  # the hint itself: tests/harness/test_install.py
# Small shapes at input 784, two per workload: quick to train, and different.
SHAPES = {"rbm-cdk": ({"hidden": 32}, {"hidden": 64}),
          "dbn-pretrain": ({"layers": [784, 32, 32]}, {"layers": [784, 48, 16]}),
          "dbn-finetune": ({"layers": [784, 64]}, {"layers": [784, 100]}),
          "dbn-inference": ({"layers": [784, 64]}, {"layers": [784, 100]})}


def value(q: dict) -> float:
    return q[q["metric"]]


def assert_labelled(q: dict, at_shape: bool) -> None:
    assert KEYS <= set(q), q
    assert q["at_case_shape"] is at_shape and (q["fallback"] is None) is at_shape, q
    assert value(q) is not None


@pytest.mark.parametrize("framework", ["numpy", "torch", "tensorflow", "sklearn"])
def test_input_64_runs_the_digits_fallback(framework):
    q = make_impl("rbm-cdk", make_fw(framework), visible=64, hidden=64, batch=32).quality()
    assert q["passed"], q
    assert q["recon_mse"] < RECON_MSE_BAR
    assert_labelled(q, at_shape=False)
    assert q["fallback"] == "fallback: case input is 64, not 784"
    assert "64×100" in q["model"] and q["data"] == quality.DIGITS


@pytest.mark.parametrize("framework,precision", [
    ("numpy", "fp32"), ("torch", "bf16-mixed"), ("tensorflow", "fp32"), ("sklearn", "fp64")])
def test_rbm_at_case_shape_on_mnist(framework, precision):
    mnist = require_mnist()
    q = make_impl("rbm-cdk", make_fw(framework, precision), hidden=64, batch=1000).quality()
    assert q["passed"] and q["recon_ratio"] < RECON_RATIO_BAR, q
    assert_labelled(q, at_shape=True)
    assert "784×64" in q["model"] and precision in q["model"], q["model"]
    assert "batch 50" in q["model"]  # the quality budget's batch, not the case's 1000
    assert q["data"] == mnist.description and q["data"].startswith("MNIST")
    assert q["recon_mse"] == pytest.approx(q["recon_ratio"] * q["mean_predictor_mse"])


@pytest.mark.parametrize("workload", list(SHAPES))
def test_different_shapes_give_different_quality(workload):
    """The same number for every shape (the digits model's, whatever the case) cannot return."""
    require_mnist()
    fw = make_fw("numpy")
    small, large = (make_impl(workload, fw, **shape).quality() for shape in SHAPES[workload])
    for q, shape in zip((small, large), SHAPES[workload], strict=True):
        assert q["passed"], q
        assert_labelled(q, at_shape=True)
        size = shape.get("hidden") or "-".join(map(str, shape["layers"]))
        assert str(size) in q["model"] and "fp32" in q["model"], q["model"]
    assert value(small) != value(large)
    assert small["model"] != large["model"]


@pytest.mark.parametrize("workload,shape", [
    ("rbm-cdk", {"hidden": 32}), ("dbn-pretrain", {"layers": [784, 16, 16]})])
def test_without_an_mnist_set_the_fallback_says_why(monkeypatch, workload, shape):
    monkeypatch.setattr(quality, "mnist_quality", lambda seed: None)
    q = make_impl(workload, make_fw("numpy"), **shape).quality()
    assert_labelled(q, at_shape=False)
    assert q["fallback"] == NO_MNIST and q["data"] == quality.DIGITS
    assert "784" not in q["model"], "the fallback model is the digits model, not the case's"
    assert q["passed"], q


@pytest.mark.parametrize("workload", ["dbn-finetune", "dbn-inference"])
def test_without_an_mnist_set_the_network_falls_back(monkeypatch, workload):
    monkeypatch.setattr(quality, "mnist_quality", lambda seed: None)
    q = make_impl(workload, make_fw("numpy"), layers=[784, 64]).quality()
    assert_labelled(q, at_shape=False)
    assert q["fallback"] == NO_MNIST and "64-128-64-128" in q["model"] and q["passed"], q


def test_a_network_without_ten_classes_falls_back():
    assert quality.mnist_or_why(784, 0, classes=3) == (
        None, "fallback: case has 3 classes, MNIST has 10")


@pytest.mark.parametrize("lr", [0.0, -0.1], ids=["zero learning rate", "flipped sign"])
def test_a_broken_rbm_update_fails_its_bar(monkeypatch, lr):
    require_mnist()
    monkeypatch.setitem(rbm_spec.MNIST_BUDGET, "lr", lr)
    q = make_impl("rbm-cdk", make_fw("numpy"), hidden=32).quality()
    assert not q["passed"], q
    assert q["recon_ratio"] is None or q["recon_ratio"] > 1.0


def test_a_broken_pretraining_update_fails_its_bar(monkeypatch):
    require_mnist()
    from dbnbench.suites.dbn import spec as dbn_spec

    monkeypatch.setitem(dbn_spec.MNIST_BUDGET, "lr", 0.0)
    q = make_impl("dbn-pretrain", make_fw("numpy"), layers=[784, 16, 16]).quality()
    assert not q["passed"] and not q["layers"][0]["passed"], q


def test_a_broken_finetuning_update_fails_its_bar(monkeypatch):
    require_mnist()
    from dbnbench.suites.finetune import spec as finetune_spec

    monkeypatch.setitem(finetune_spec.MNIST_BUDGET, "lr", 0.0)
    q = make_impl("dbn-finetune", make_fw("numpy"), layers=[784, 64]).quality()
    assert not q["passed"] and q["accuracy"] < 0.5, q


def test_a_wrong_forward_pass_fails_its_bar():
    require_mnist()
    from dbnbench.suites.inference.numpy_impl import NumpyForward

    class Biasless(NumpyForward):  # a plausible mistake: the biases left out
        def __init__(self, fw, init, mode):
            super().__init__(fw, [(w, 0 * b) for w, b in init], mode)

    impl = make_impl("dbn-inference", make_fw("numpy"), layers=[784, 64])
    impl.forward_cls = Biasless
    q = impl.quality()
    assert not q["passed"] and q["max_rel_error"] > 10 * q["bar"], q


def test_untrained_weights_fail_the_bar():
    from dbnbench.suites.data import digits
    from dbnbench.suites.rbm.spec import init_weights

    _, _, x_test, _ = digits(0)
    q = quality_report(*init_weights(64, 100, 0), x_test)
    assert not q["passed"] and q["recon_mse"] > 2 * RECON_MSE_BAR
    broken = quality_report(np.full((64, 100), np.nan), np.zeros(64), np.zeros(100), x_test)
    assert broken["passed"] is False and broken["recon_mse"] is None
