"""rbm-cdk gradient accumulation: `accumulate` micro-batches of B/accumulate rows, each with
its own chain, make the update of the whole batch of B on the same draws, in every framework;
the spec's check, tag, FLOPs and scikit-learn's refusal."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.harness.plan.cases import load_suite
from dbnbench.harness.plan.registry import load_impl
from dbnbench.harness.plan.workload import Params
from dbnbench.suites.rbm.spec import RBMSpec, init_weights

from .conftest import REGISTRY, make_fw
from .dbn_helpers import FRAMEWORKS, assert_rejected

V, H, B = 12, 9, 8
HYPER = {"lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3}
TOLERANCE = {"fp32": (1e-5, 1e-6), "fp64": (1e-11, 1e-13)}
CHAINS = [(1, False), (2, False), (1, True), (2, True)]


def model_cls(name: str) -> type:
    return load_impl(str(REGISTRY.impl("rbm-cdk", name))).model_cls


def init() -> tuple[np.ndarray, ...]:
    # Larger weights and non-zero biases than the default init: an update far from trivial.
    w = init_weights(V, H, seed=1)[0] * 30
    return w, np.linspace(-0.5, 0.5, V), np.linspace(0.3, -0.3, H)


def to_framework(model, a: np.ndarray):
    return model.to_device(a)  # in the framework, the case's dtype, on its device


def draws(seed: int, k: int, rows: int = B) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    v0 = (rng.random((rows, V)) < 0.4).astype(np.float64)
    return v0, rng.random((k, rows, H)), rng.random((k, rows, V))


def chain_of(model, name: str) -> np.ndarray:
    return np.asarray(model.chain, dtype=np.float64)


def trained(name: str, precision: str, k: int, persistent: bool, accumulate: int):
    """A model after three updates (momentum and, for PCD, the chain carry over) on fixed
    draws: its weights and its chain (None for CD)."""
    fw = make_fw(name, precision)
    model = model_cls(name)(fw, V, H, B, k=k, persistent=persistent, init=init(),
                            accumulate=accumulate, **HYPER)
    for step in range(3):
        model.update(*(to_framework(model, a) for a in draws(step, k)))
    return model.weights(), chain_of(model, name) if persistent else None


@pytest.mark.parametrize("name", FRAMEWORKS)
@pytest.mark.parametrize("precision", ["fp32", "fp64"])
@pytest.mark.parametrize("k,persistent", CHAINS)
def test_accumulated_micro_batches_make_the_whole_batch_update(name, precision, k, persistent):
    """4 micro-batches of 2 rows, each on its rows' draws (and chain rows), accumulated into
    one update = one update with the batch of 8 on the same draws."""
    rtol, atol = TOLERANCE[precision]
    whole, whole_chain = trained(name, precision, k, persistent, 1)
    parts, parts_chain = trained(name, precision, k, persistent, 4)
    scale = np.abs(whole[0]).max()
    np.testing.assert_allclose(parts[0], whole[0], rtol=rtol, atol=atol * scale)
    for got, want in zip(parts[1:], whole[1:], strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    if persistent:  # each micro-batch advanced its own rows of the B-row chain
        assert parts_chain.shape == (B, H) and whole_chain.any()
        np.testing.assert_array_equal(parts_chain, whole_chain)
    assert not np.allclose(whole[0], init()[0])  # the updates changed the weights


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_accumulation_is_not_four_separate_updates(name):
    """The test above could fail: four updates of 2 rows each land elsewhere."""
    fw = make_fw(name, "fp64")
    cls = model_cls(name)
    one = cls(fw, V, H, B, k=1, persistent=False, init=init(), accumulate=4, **HYPER)
    small = cls(fw, V, H, 2, k=1, persistent=False, init=init(), **HYPER)
    v0, uh, uv = draws(0, 1)
    one.update(*(to_framework(one, a) for a in (v0, uh, uv)))
    for i in range(0, B, 2):
        small.update(*(to_framework(small, a) for a in (v0[i:i + 2], uh[:, i:i + 2],
                                                    uv[:, i:i + 2])))
    assert not np.allclose(one.weights()[0], small.weights()[0], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name,precision", [
    *((name, "fp32") for name in FRAMEWORKS),
    ("torch", "bf16-mixed"), ("tensorflow", "bf16-mixed")])  # autocast's own product path
@pytest.mark.parametrize("persistent", [False, True])
def test_train_step_draws_per_micro_batch_and_learns(name, precision, persistent):
    """train_step with accumulation (drawing its own uniforms, one micro-batch at a time)
    moves the weights, stays finite and keeps a B-row chain."""
    fw = make_fw(name, precision)
    model = model_cls(name)(fw, V, H, B, k=2, persistent=persistent, init=init(),
                            accumulate=4, **HYPER)
    v0 = model.to_device(draws(7, 1)[0])
    for _ in range(3):
        model.train_step(v0)
    w = model.weights()[0]
    assert np.all(np.isfinite(w)) and not np.allclose(w, init()[0])
    if persistent:
        assert chain_of(model, name).shape == (B, H)


def test_numpy_buffers_hold_one_micro_batch():
    """Peak memory falls with accumulate: the chain's buffers are micro-batch sized."""
    from dbnbench.suites.rbm.numpy_impl import NumpyRBM

    fw = make_fw("numpy", "fp32")
    whole = NumpyRBM(fw, V, H, B, k=2, persistent=True, init=init(), **HYPER)
    parts = NumpyRBM(fw, V, H, B, k=2, persistent=True, init=init(), accumulate=4, **HYPER)
    assert whole.x.shape == (2 * B, V) and parts.x.shape == (2 * B // 4, V)
    assert parts.uh.shape == (2, B // 4, H) and parts.uv.shape == (2, B // 4, V)
    assert parts.chain is not None and parts.chain.shape == (B, H)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_a_model_built_with_an_accumulate_that_does_not_divide_the_batch_is_refused(name):
    fw = make_fw(name, "fp32")
    with pytest.raises(ValueError, match="does not divide the batch"):
        model_cls(name)(fw, V, H, B, k=1, persistent=False, init=init(), accumulate=3, **HYPER)


def params(**overrides) -> Params:
    return Params({**RBMSpec().defaults(), **overrides})


def test_tag_names_accumulation_only_above_one():
    spec = RBMSpec()
    assert spec.tag(params()) == "v784-h500-b100-k1"  # existing case ids unchanged
    assert spec.tag(params(persistent=True)) == "v784-h500-b100-k1-pcd"
    assert spec.tag(params(accumulate=4)) == "v784-h500-b100-k1-a4"
    assert spec.tag(params(persistent=True, accumulate=4)) == "v784-h500-b100-k1-pcd-a4"


@pytest.mark.parametrize("k", [1, 3])
def test_accumulation_keeps_the_flops_in_smaller_products(k):
    spec = RBMSpec()
    one, ten = params(batch=1000, k=k), params(batch=1000, k=k, accumulate=10)
    assert spec.flops_per_step(ten) == spec.flops_per_step(one) == (6 + 4 * k) * 1000 * 784 * 500
    assert {(m, n, kk) for _, m, n, kk in spec.gemm_shapes(ten)} == {
        (100, 500, 784), (100, 784, 500), (784, 500, 200)}  # micro-batch 100, inner 2·100
    assert [c for c, *_ in spec.gemm_shapes(ten)] == [10 * (1 + k), 10 * k, 10]
    assert spec.items_per_step(ten) == 1000
    # the weights and the summed statistic read and written once per micro-batch
    assert spec.bytes_per_step(ten, 4) - spec.bytes_per_step(one, 4) == 4 * 4 * 9 * 784 * 500


def test_check_refuses_an_accumulate_that_does_not_divide_the_batch():
    spec = RBMSpec()
    assert spec.check(params(batch=100, accumulate=3)) == (
        "field 'accumulate': 3 does not divide the batch (100)")
    assert spec.check(params(batch=100, accumulate=4)) is None


@pytest.mark.parametrize("value,field", [
    ("{ batch = 10, accumulate = 3 }", "field 'accumulate': 3 does not divide the batch (10)"),
    ("{ accumulate = 0 }", "field 'accumulate'"),
    ("{ accumulate = 5000 }", "field 'accumulate'"),
])
def test_bad_accumulate_rejected_at_load(tmp_path, value, field):
    assert_rejected(tmp_path, "rbm-cdk", value, field)


def test_sklearn_refuses_accumulation_with_a_reason():
    from dbnbench.harness.plan.cases import Case, impl_supports

    def why(framework: str, **kw) -> str | None:
        items = tuple(sorted(params(**kw).items()))
        return impl_supports(REGISTRY, Case("rbm-cdk", framework, "cpu", "fp32", items, "t"))

    said = why("sklearn", accumulate=4)
    assert said is not None and "accumulation" in said and "\n" not in said
    assert why("sklearn") is None
    assert why("numpy", accumulate=4) is None


def test_the_accumulate_suite_has_rbm_cases_at_1_4_and_10():
    ids = {c.id for c in load_suite("accumulate", REGISTRY).cases if c.workload == "rbm-cdk"}
    for fw in FRAMEWORKS:
        assert f"rbm-cdk/{fw}/cpu/fp32/v784-h500-b1000-k1" in ids
        assert f"rbm-cdk/{fw}/cpu/fp32/v784-h500-b1000-k1-a4" in ids
        assert f"rbm-cdk/{fw}/cpu/fp32/v784-h500-b1000-k1-a10" in ids
