"""dbn-finetune: conformance across frameworks, the digits accuracy bar, mixed-precision
machinery, time to target, FLOPs, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.harness.plan.workload import Params
from dbnbench.suites.finetune.spec import (
    ACCURACY_BAR,
    MNIST_ACCURACY_BAR,
    MNIST_BUDGET,
    FinetuneSpec,
    glorot_init,
    time_to_target,
)

from .dbn_helpers import FRAMEWORKS, assert_rejected, make_impl
from .mnist_helpers import require_mnist


# fp64 everywhere. lr and momentum are exact binary fractions: Keras keeps its optimizer's
# hyperparameters in float32 even for float64 variables, so 0.9 would differ by 1e-8.
def train_three_steps(impl, init, accumulate: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    net = impl.net_cls(impl.fw, init, lr=0.5, momentum=0.75, accumulate=accumulate)
    for _ in range(3):
        x, y = rng.random((8, 10)), rng.integers(0, 4, 8)
        net.train_step(*net.to_device(x, y))
    return net.weights()


def test_updates_match_numpy_in_fp64(fw_factory):
    init = glorot_init([10, 7, 5, 4], seed=1)
    results = {name: train_three_steps(make_impl("dbn-finetune", fw_factory(name, "fp64")), init)
               for name in FRAMEWORKS}
    for name in FRAMEWORKS[1:]:
        for (w, b), (w0, b0) in zip(results[name], results["numpy"], strict=True):
            np.testing.assert_allclose(w, w0, rtol=1e-9, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(b, b0, rtol=1e-9, atol=1e-12, err_msg=name)
    assert not np.allclose(results["numpy"][0][0], init[0][0])  # the steps changed weights


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_accumulated_micro_batches_make_the_whole_batch_update(fw_factory, name):
    """4 micro-batches of 2 accumulated into one update = one update with the batch of 8."""
    init = glorot_init([10, 7, 5, 4], seed=1)
    impl = make_impl("dbn-finetune", fw_factory(name, "fp64"))
    whole, accumulated = train_three_steps(impl, init), train_three_steps(impl, init, 4)
    for (w, b), (w0, b0) in zip(accumulated, whole, strict=True):
        np.testing.assert_allclose(w, w0, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, b0, rtol=1e-9, atol=1e-12)
    # and not what four separate updates of 2 would have given
    rng, net = np.random.default_rng(3), impl.net_cls(impl.fw, init, lr=0.5, momentum=0.75)
    x, y = rng.random((8, 10)), rng.integers(0, 4, 8)
    for i in range(0, 8, 2):
        net.train_step(*net.to_device(x[i:i + 2], y[i:i + 2]))
    assert not np.allclose(net.weights()[0][0], train_three_steps(impl, init, 4)[0][0])


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_accuracy_bar_on_digits_fp32(fw_factory, name):
    impl = make_impl("dbn-finetune", fw_factory(name), layers=[64, 32])
    q = impl.quality()
    extra = q["time_to_target"]
    assert not hasattr(impl, "metrics")  # nothing quality-sized runs again every round
    assert q["passed"] and q["accuracy"] >= ACCURACY_BAR, q
    assert q["accuracy"] == q["accuracy_per_epoch"][-1]
    assert q["pretraining_gain"] == pytest.approx(q["accuracy"] - q["accuracy_random_init"])
    reached = extra["pretrained"]
    assert reached["epochs_to_target"] is not None and reached["time_to_target_s"] > 0
    assert q["accuracy_per_epoch"][reached["epochs_to_target"] - 1] >= ACCURACY_BAR
    assert q["fallback"] == "fallback: case input is 64, not 784" and not q["at_case_shape"]
    assert q["model"].startswith("DBN 64-128-64-128 + softmax 10"), q["model"]


@pytest.mark.parametrize("name,precision", [("numpy", "fp32"), ("torch", "bf16-mixed"),
                                            ("tensorflow", "fp32")])
def test_accuracy_at_case_shape_on_mnist(fw_factory, name, precision):
    require_mnist()
    impl = make_impl("dbn-finetune", fw_factory(name, precision), layers=[784, 64])
    q = impl.quality()
    extra = q["time_to_target"]
    assert q["passed"] and q["accuracy"] >= MNIST_ACCURACY_BAR == q["bar"], q
    assert q["at_case_shape"] and q["fallback"] is None and q["data"].startswith("MNIST")
    assert q["model"].startswith("DBN 784-64 + softmax 10, pretrained in NumPy fp64"), q["model"]
    assert f"fine-tuned in {precision}" in q["model"]
    assert len(q["accuracy_per_epoch"]) == len(q["accuracy_per_epoch_random_init"]) == \
        MNIST_BUDGET["epochs"]
    assert extra["target_accuracy"] == MNIST_ACCURACY_BAR


def test_step_changes_weights(fw_factory):
    impl = make_impl("dbn-finetune", fw_factory("torch", "bf16-mixed"), layers=[20, 8], batch=4,
                     samples=40)
    impl.setup()
    before = impl.net.weights()[0][0]
    impl.step()
    assert not np.allclose(before, impl.net.weights()[0][0])
    assert impl.net.weights()[0][0].dtype == np.float64  # fp32 masters read back


def test_fp16_mixed_uses_loss_scaling(fw_factory):
    torch_net = make_impl("dbn-finetune", fw_factory("torch", "fp16-mixed"))
    net = torch_net.net_cls(torch_net.fw, glorot_init([6, 4, 3], 0), lr=0.1, momentum=0.9)
    assert net.scaler.is_enabled()
    assert next(net.model.parameters()).dtype == torch_net.fw.torch.float32
    tf_impl = make_impl("dbn-finetune", fw_factory("tensorflow", "fp16-mixed"))
    import keras

    tf_net = tf_impl.net_cls(tf_impl.fw, glorot_init([6, 4, 3], 0), lr=0.1, momentum=0.9)
    assert isinstance(tf_net.opt, keras.optimizers.LossScaleOptimizer)
    assert tf_net.model.layers[0].compute_dtype == "float16"
    assert tf_net.model.layers[0].variable_dtype == "float32"


def test_numpy_mixed_modes_are_skipped(fw_factory):
    from dbnbench.harness.errors import Skip
    from dbnbench.harness.frameworks import FRAMEWORKS as ADAPTERS

    with pytest.raises(Skip, match="float16 matrix product is not BLAS"):
        ADAPTERS["numpy"]("cpu", "fp16-mixed", 1, 0).activate()


def test_time_to_target():
    curve = [(1.0, 0.5), (2.0, 0.96), (3.0, 0.94)]
    assert time_to_target(curve, 0.95) == {"time_to_target_s": 2.0, "epochs_to_target": 2}
    assert time_to_target(curve, 0.99)["time_to_target_s"] is None


def test_flops_count_forward_and_backward():
    p = Params({**FinetuneSpec().defaults(), "layers": [5, 4], "classes": 3, "batch": 2})
    # forward 2·B·(20 + 12); weight grads the same; input grad only for the second layer.
    assert FinetuneSpec().flops_per_step(p) == 2 * 2 * 32 + 2 * 2 * 32 + 2 * 2 * 12


def test_accumulation_keeps_the_flops_in_smaller_products_and_names_the_case():
    spec = FinetuneSpec()
    base = {**spec.defaults(), "layers": [5, 4], "classes": 3, "batch": 8}
    one, four = Params(base), Params({**base, "accumulate": 4})
    assert spec.flops_per_step(four) == spec.flops_per_step(one)
    assert max(m for _, m, _, _ in spec.gemm_shapes(four)) == 5  # B/4 = 2 rows, in = 5
    assert {c for c, *_ in spec.gemm_shapes(four)} == {4}
    assert spec.tag(four).endswith("-b8-a4") and not spec.tag(one).endswith("-a1")
    assert spec.items_per_step(four) == 8


@pytest.mark.parametrize("params,field", [
    ("{ classes = 1 }", "field 'classes'"),
    ("{ batch = 0 }", "field 'batch'"),
    ("{ batch = 70000 }", "field 'batch': 70000 is larger than the data"),
    ("{ layers = [784, 0, 10] }", "field 'layers'"),
    ("{ batch = 10, accumulate = 3 }", "field 'accumulate': 3 does not divide the batch (10)"),
    ("{ accumulate = 0 }", "field 'accumulate'"),
])
def test_bad_parameters_rejected_at_load(tmp_path, params, field):
    assert_rejected(tmp_path, "dbn-finetune", params, field)
