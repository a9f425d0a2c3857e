"""One CD-k step in every framework against a plain float64 reference written here."""

from __future__ import annotations

import numpy as np
import pytest

from dbnbench.harness.plan.registry import load_impl
from dbnbench.suites.rbm.spec import flops_per_update, init_weights

from .conftest import REGISTRY, make_fw

V, H, B = 12, 9, 7
HYPER = {"lr": 0.1, "momentum": 0.5, "weight_decay": 1e-3}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def reference_update(state: dict, v0, uh, uv, k, persistent, lr, momentum, weight_decay):
    """CD-k/PCD-k as DESIGN.md states it, in the most direct float64 NumPy."""
    w, b, c = state["w"], state["b"], state["c"]
    ph0 = sigmoid(v0 @ w + c)
    h = state["chain"] if persistent else (uh[0] < ph0).astype(float)
    for i in range(k):
        vk = (uv[i] < sigmoid(h @ w.T + b)).astype(float)
        phk = sigmoid(vk @ w + c)
        if persistent:
            h = (uh[i] < phk).astype(float)
        elif i + 1 < k:
            h = (uh[i + 1] < phk).astype(float)
    if persistent:
        state["chain"] = h
    n = len(v0)
    grad_w = (v0.T @ ph0 - vk.T @ phk) / n
    state["vw"] = momentum * state["vw"] + lr * (grad_w - weight_decay * w)
    state["vb"] = momentum * state["vb"] + lr * (v0 - vk).mean(0)
    state["vc"] = momentum * state["vc"] + lr * (ph0 - phk).mean(0)
    state["w"], state["b"], state["c"] = w + state["vw"], b + state["vb"], c + state["vc"]


# Every framework whose rbm-cdk model offers the update with given draws (scikit-learn's
# BernoulliRBM draws its own): a framework added later is held to the reference here too.
NAMES = [name for name, path in REGISTRY.workloads["rbm-cdk"].impls.items()
         if load_impl(path).given_draws]


def model_for(name: str, precision: str, k: int, persistent: bool, init):
    fw = make_fw(name, precision)
    cls = load_impl(str(REGISTRY.impl("rbm-cdk", name))).model_cls
    return fw, cls(fw, V, H, B, k=k, persistent=persistent, init=init, **HYPER)


def draws(seed: int, k: int):
    rng = np.random.default_rng(seed)
    v0 = (rng.random((B, V)) < 0.4).astype(np.float64)
    return v0, rng.random((k, B, H)), rng.random((k, B, V))


def as_framework(model, fw, name: str, a: np.ndarray):
    return model.to_device(a)  # in the framework, the case's dtype, on its device


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("precision,rtol", [("fp32", 1e-5), ("fp64", 1e-10)])
@pytest.mark.parametrize("k,persistent", [(1, False), (3, False), (2, True)])
def test_update_matches_reference(name, precision, rtol, k, persistent):
    init = init_weights(V, H, seed=1)
    # Larger weights than the default init, so the update is far from trivial.
    init = (init[0] * 30, np.linspace(-0.5, 0.5, V), np.linspace(0.3, -0.3, H))
    fw, model = model_for(name, precision, k, persistent, init)
    ref = {"w": init[0].copy(), "b": init[1].copy(), "c": init[2].copy(),
           "vw": np.zeros((V, H)), "vb": np.zeros(V), "vc": np.zeros(H), "chain": np.zeros((B, H))}
    for step in range(3):  # three steps: momentum and (for PCD) the chain carry over
        v0, uh, uv = draws(step, k)
        model.update(*(as_framework(model, fw, name, a) for a in (v0, uh, uv)))
        reference_update(ref, v0, uh, uv, k, persistent, **HYPER)
    w, b, c = model.weights()
    scale = np.abs(ref["w"]).max()
    np.testing.assert_allclose(w, ref["w"], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(b, ref["b"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(c, ref["c"], rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", NAMES)
def test_pcd_keeps_its_chain(name):
    """With PCD the negative phase starts from the last step's chain, not from the data."""
    init = init_weights(V, H, seed=2)
    fw, model = model_for(name, "fp64", 1, True, init)
    v0, uh, uv = draws(5, 1)
    model.update(*(as_framework(model, fw, name, a) for a in (v0, uh, uv)))
    chain = np.asarray(model.chain, dtype=np.float64)
    assert chain.shape == (B, H)
    assert set(np.unique(chain)) <= {0.0, 1.0}
    assert chain.any(), "chain should hold the sampled hidden states, not zeros"
    ref = {"w": init[0].copy(), "b": init[1].copy(), "c": init[2].copy(), "vw": np.zeros((V, H)),
           "vb": np.zeros(V), "vc": np.zeros(H), "chain": np.zeros((B, H))}
    reference_update(ref, v0, uh, uv, 1, True, **HYPER)
    np.testing.assert_array_equal(chain, ref["chain"])


def test_flops_formula():
    assert flops_per_update(100, 784, 500, 1) == 10 * 100 * 784 * 500
    assert flops_per_update(1, 1, 1, 3) == 6 + 12


def test_sklearn_peer_is_sklearns_own_minibatch_update():
    """Our driver's step equals BernoulliRBM.partial_fit from the same state and seed."""
    from sklearn.neural_network import BernoulliRBM

    from dbnbench.suites.rbm.sklearn_impl import SklearnRBM

    fw = make_fw("sklearn", "fp64")
    x = (np.random.default_rng(0).random((B, V)) < 0.4).astype(np.float64)
    init = init_weights(V, H, 3)
    ours = SklearnRBM(fw, V, H, B, k=1, persistent=True, init=init, **HYPER)
    theirs = BernoulliRBM(n_components=H, learning_rate=HYPER["lr"], batch_size=B)
    theirs.components_ = init[0].T.copy()
    theirs.intercept_visible_, theirs.intercept_hidden_ = init[1].copy(), init[2].copy()
    theirs.h_samples_ = np.zeros((B, H))
    theirs.random_state_ = np.random.RandomState(fw.seed)
    for _ in range(2):
        ours.train_step(x)
        theirs.partial_fit(x)
    np.testing.assert_array_equal(ours.weights()[0], theirs.components_.T)
    assert not np.allclose(ours.weights()[0], init[0]), "the update changed nothing"
