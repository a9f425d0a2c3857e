"""augment: every framework against the independent float64 reference on the same draws, the
reference against NumPy/SciPy, the identity, closed-form cases of the reference, skip reasons,
and bad parameters rejected at load."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dbnbench.harness.errors import UserError
from dbnbench.harness.plan.cases import Case, load_suite, unavailable
from dbnbench.harness.plan.registry import load_impl
from dbnbench.harness.plan.workload import Params
from dbnbench.suites.augment.draws import Draws, draw, identity, quality_images
from dbnbench.suites.augment.reference import reference
from dbnbench.suites.augment.spec import PURE_BF16, TOLERANCE, AugmentSpec

from .conftest import REGISTRY, require_framework

SPEC = AugmentSpec()
FRAMEWORKS = list(REGISTRY.workloads["augment"].impls)  # every implementation, NumPy first


def params(**overrides: Any) -> Params:
    return Params({**SPEC.defaults(), "batch": 8, **overrides})


def bench(fw_factory, framework: str, precision: str = "fp32", **overrides: Any) -> Any:
    fw = fw_factory(framework, precision)
    case = SimpleNamespace(params=params(**overrides), precision=precision, framework=framework)
    impl = load_impl(str(REGISTRY.impl("augment", framework)))(case, fw)
    impl.setup()
    return impl


def run(impl: Any, images: np.ndarray, d: Draws) -> np.ndarray:
    m = impl.model
    return m.to_numpy(m.apply(m.to_device(images), m.from_numpy(d)))


CASES = [(f, p) for f in FRAMEWORKS for p in ("fp64", "fp32")] + [
    (f, p) for f in ("torch", "tensorflow") for p in ("bf16-mixed", "fp16-mixed")]


@pytest.mark.parametrize(("framework", "precision"), CASES)
def test_agrees_with_reference(fw_factory, framework: str, precision: str) -> None:
    q = bench(fw_factory, framework, precision).quality()
    assert q["passed"], q
    assert "independent" in q["reference"] and q["at_case_shape"] and "28×28" in q["model"]
    assert q["max_abs_diff"] <= TOLERANCE[precision]
    assert q["identity_max_abs_diff"] <= q["identity_bar"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_identity_returns_input(fw_factory, framework: str) -> None:
    impl = bench(fw_factory, framework)
    images = quality_images(28, 0, 8).astype(np.float32)
    out = run(impl, images, identity(8, 28))
    np.testing.assert_allclose(out, images, rtol=0, atol=1e-5)


@pytest.mark.parametrize("side,overrides", [(28, {}), (13, {"sigma": 1.5}), (56, {"sigma": 7.0}),
                                            (20, {"sigma": 12.0, "rotate": 90.0})])
def test_reference_agrees_with_scipy_in_fp64(fw_factory, side: int, overrides: Any) -> None:
    """Two independent float64 formulations of spec.py's transform agree to rounding."""
    impl = bench(fw_factory, "numpy", "fp64", side=side, **overrides)
    images = quality_images(side, 0, 16)
    d = draw(np.random.default_rng(side), 16, impl.p)
    want = reference(images, d, impl.p)
    assert np.abs(run(impl, images, d) - want).max() < 1e-9
    assert 0.05 < np.abs(want - images).mean()  # the transform moved something


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("wrong", ["flipped rotation", "half-pixel shift", "no elastic"])
def test_a_wrong_transform_fails_the_bar(fw_factory, framework: str, wrong: str) -> None:
    """The agreement check can fail: a plausible mistake lands far above every bar."""
    impl = bench(fw_factory, framework)
    images = quality_images(28, 0, 16)
    d = draw(np.random.default_rng(0), 16, params())
    bad = {"flipped rotation": d._replace(angle=-d.angle),
           "half-pixel shift": d._replace(shift=d.shift + 0.5),
           "no elastic": d._replace(field=np.zeros_like(d.field))}[wrong]
    diff = np.abs(run(impl, images, bad) - reference(images, d, params())).max()
    # Measured: 0.93, 0.51 and 0.98; the largest bar is 0.05.
    assert diff > 5 * max(TOLERANCE.values())


def plain(n: int = 1, **fields: Any) -> Draws:
    return identity(n, 28)._replace(**{k: np.asarray(v, dtype=np.float64) for k, v in fields.items()})


def test_reference_rotation_by_90_degrees_is_rot90() -> None:
    images = quality_images(28, 0, 2)
    out = reference(images, plain(2, angle=[np.pi / 2] * 2), params())
    np.testing.assert_allclose(out, np.rot90(images, axes=(1, 2)), atol=1e-12)


def test_reference_integer_shift_moves_pixels() -> None:
    images = quality_images(28, 0, 1)
    out = reference(images, plain(shift=[[2.0, -1.0]]), params())  # source = p + (2, −1)
    want = np.zeros_like(images)
    want[:, 1:, :-2] = images[:, :-1, 2:]
    np.testing.assert_allclose(out, want, atol=1e-12)


def test_reference_zoom_and_noise() -> None:
    images = np.full((1, 28, 28), 0.5)
    zoomed = reference(images, plain(scale=[0.5]), params())  # half size: a 0.5 square in 0
    assert zoomed[0, 14, 14] == 0.5 and zoomed[0, 0, 0] == 0.0
    z = np.random.default_rng(0).standard_normal((1, 28, 28))
    noisy = reference(images, plain(noise=z), params(noise=0.1))
    np.testing.assert_allclose(noisy, np.clip(0.5 + 0.1 * z, 0, 1))


def test_elastic_field_has_simard_magnitude() -> None:
    """α·(G_σ∗U) with α=34, σ=4 moves pixels by about a pixel (std 34/(√3·2√π·4) ≈ 1.4 px)."""
    images = np.tile(np.arange(28.0) / 27, (1, 28, 1))  # a horizontal ramp: value = x/27
    d = draw(np.random.default_rng(1), 1, params())._replace(
        angle=np.zeros(1), scale=np.ones(1), shift=np.zeros((1, 2)), noise=np.zeros((1, 28, 28)))
    dx = (reference(images, d, params()) - images)[0, 8:20, 8:20] * 27  # interior: no clipping
    assert 0.7 < dx.std() < 2.5


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_framework_draws_follow_the_ranges(fw_factory, framework: str) -> None:
    impl = bench(fw_factory, framework, rotate=10.0, scale_min=0.8, scale_max=0.9, shift=1.5)
    d = Draws(*(impl.model.to_numpy(a) for a in impl.model.draws(500)))
    assert np.abs(d.angle).max() <= np.radians(10) and np.abs(d.angle).max() > np.radians(9)
    assert d.scale.min() >= 0.8 and d.scale.max() <= 0.9
    assert np.abs(d.shift).max() <= 1.5 and np.abs(d.field).max() <= 1.0
    assert d.field.shape == (500, 2, 28, 28) and abs(d.noise.std() - 1) < 0.01
    out = impl.model.to_numpy(impl.out)
    assert out.shape == (8, 28, 28) and out.min() >= 0 and out.max() <= 1


def test_registered_for_every_framework() -> None:
    assert all(REGISTRY.impl("augment", f) for f in FRAMEWORKS)


def case(framework: str, precision: str, device: str = "cpu") -> Case:
    items = tuple(sorted(params().items()))
    return Case("augment", framework, device, precision, items, SPEC.tag(Params(params())))


@pytest.mark.parametrize(("framework", "precision", "device", "reason"), [
    ("torch", "bf16", "cpu", PURE_BF16),
    ("tensorflow", "bf16", "cpu", PURE_BF16),
    ("numpy", "bf16-mixed", "cpu", "NumPy has no bfloat16 type"),
    ("numpy", "fp16-mixed", "cpu", "NumPy's float16"),
    ("torch", "tf32", "cpu", "CPUs have no TF32"),
    ("numpy", "fp32", "cuda:0", "numpy runs on the CPU only"),
])
def test_skip_reasons(framework: str, precision: str, device: str, reason: str) -> None:
    require_framework(framework)  # else the reason is that it is not installed
    assert reason in (unavailable(case(framework, precision, device), 0, REGISTRY) or "")


@pytest.mark.parametrize(("framework", "precision"), CASES)
def test_supported_modes_are_not_skipped(framework: str, precision: str) -> None:
    require_framework(framework)
    assert unavailable(case(framework, precision), 0, REGISTRY) is None


@pytest.mark.parametrize(("bad", "field"), [
    ("scale_min = 1.2, scale_max = 1.1", "scale_min"),
    ("alpha = -1.0", "alpha"),
    ("rotate = 200.0", "rotate"),
    ("shift = 14.0", "shift"),
    ("sigma = 0.0", "sigma"),
    ("batch = 0", "batch"),
    ("noise = 'loud'", "noise"),
    ("blur = 1", "blur"),
])
def test_bad_parameters_rejected_at_load(tmp_path: Path, bad: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\n[[cases]]\nworkload = "augment"\nparams = {{ {bad} }}\n')
    with pytest.raises(UserError, match=f"'{field}'"):
        load_suite(str(path), REGISTRY)


def test_suites_carry_augment() -> None:
    for name in ("quick", "ci", "standard", "full"):
        cases = [c for c in load_suite(name, REGISTRY).cases if c.workload == "augment"]
        assert {c.framework for c in cases} == set(FRAMEWORKS), name
    assert all(dict(c.params)["batch"] <= 32 for c in load_suite("ci", REGISTRY).cases
               if c.workload == "augment")


def test_tag_names_non_default_ranges() -> None:
    assert SPEC.tag(Params(params())) == "28px-b8"
    assert SPEC.tag(Params(params(alpha=0.0, rotate=30.0))) == "28px-b8-rotate30-alpha0"
