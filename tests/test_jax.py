"""JAX: the adapter (modes, threads, x64, compile accounting, roofs, runtime facts, the
product probe) and the five workloads against the float64 references and NumPy, as the torch
and TensorFlow implementations are held to them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from dbnbench.harness.errors import Skip
from dbnbench.harness.frameworks.jax_fw import JaxFramework
from dbnbench.harness.frameworks.jax_probe import hlo_products, observe
from dbnbench.harness.frameworks.products import Observation, contradiction
from dbnbench.harness.plan.workload import Params
from dbnbench.suites.augment.draws import Draws, draw, identity, quality_images
from dbnbench.suites.augment.jax_impl import JaxAugmentBench
from dbnbench.suites.augment.reference import reference
from dbnbench.suites.augment.spec import TOLERANCE
from dbnbench.suites.dbn.jax_impl import JaxPretrainBench
from dbnbench.suites.dbn.numpy_impl import NumpyPretrainBench
from dbnbench.suites.finetune.jax_impl import INIT_SCALE, JaxFinetuneBench, JaxNet
from dbnbench.suites.finetune.numpy_impl import NumpyNet
from dbnbench.suites.finetune.spec import glorot_init
from dbnbench.suites.inference.jax_impl import NO_GRAPH, JaxForward, JaxInferenceBench
from dbnbench.suites.inference.numpy_impl import NumpyForward
from dbnbench.suites.inference.spec import reference_probs
from dbnbench.suites.rbm.jax_impl import JaxRBM, JaxRBMBench
from dbnbench.suites.rbm.spec import RECON_MSE_BAR, init_weights

from .conftest import REGISTRY, make_fw
from .test_dbn import greedy_with_draws
from .test_finetune import train_three_steps
from .test_rbm_conformance import HYPER, H, V

# The modules above import no JAX (listing cases must not): the tests need it.
pytest.importorskip("jax", reason="jax is not installed (pip install -e '.[jax]')")

THREADS = 2  # every adapter of this process: XLA's CPU pool is sized once per process
ROOT = Path(__file__).resolve().parents[1]


def jax_fw(precision: str = "fp32", seed: int = 0) -> JaxFramework:
    fw = JaxFramework("cpu", precision, THREADS, seed)
    fw.activate()
    return fw


def bench(cls: type, workload: str, fw: JaxFramework, **params: Any) -> Any:
    full = {**REGISTRY.spec(workload).defaults(), **params}
    return cls(SimpleNamespace(params=full, precision=fw.precision, framework="jax"), fw)


def big_init(v: int = V, h: int = H) -> tuple[np.ndarray, ...]:
    # Larger weights and non-zero biases than the default init: an update far from trivial.
    return init_weights(v, h, seed=1)[0] * 30, np.linspace(-0.5, 0.5, v), np.linspace(0.3, -0.3, h)


def steps_compile_nothing(fw: JaxFramework, impl: Any, steps: int = 3) -> None:
    """After setup, steps run what setup compiled: no compilation in a timed step."""
    before = fw.compiles()[0]
    for _ in range(steps):
        impl.step()
    assert fw.compiles()[0] == before


def run_fresh(script: str, **env: str) -> dict[str, Any]:
    """`script` in a fresh interpreter (nothing of JAX started yet); its last line is JSON."""
    clean = {k: v for k, v in os.environ.items() if k != "PJRT_NPROC"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120, env={**clean, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- rbm-cdk ----
# The update against the float64 reference, accumulation against the whole batch and the
# accumulation counter-test run for JAX in tests/test_rbm_conformance.py and
# tests/test_rbm_accumulate.py, as for every framework that implements rbm-cdk.


def test_rbm_refuses_an_accumulate_that_does_not_divide_the_batch():
    with pytest.raises(ValueError, match="does not divide the batch"):
        JaxRBM(jax_fw(), V, H, 8, k=1, persistent=False, init=big_init(), accumulate=3, **HYPER)


def test_rbm_bench_compiles_in_setup_and_draws_its_own_chain():
    fw = jax_fw()
    impl = bench(JaxRBMBench, "rbm-cdk", fw, visible=V, hidden=H, batch=8, persistent=True,
                 accumulate=4)
    impl.setup()
    before = impl.model.weights()[0]
    steps_compile_nothing(fw, impl)
    w = impl.model.weights()[0]
    assert np.all(np.isfinite(w)) and not np.allclose(w, before)
    assert impl.model.chain.shape == (8, H)
    assert set(np.unique(np.asarray(impl.model.chain))) <= {0.0, 1.0}


def test_rbm_reseeded_draws_repeat():
    """seed_all restarts the adapter's stream: a model built after it draws the same."""
    fw, x = jax_fw(), (np.random.default_rng(1).random((8, V)) < 0.4) * 1.0
    runs = []
    for _ in range(2):
        fw.seed_all(5)
        model = JaxRBM(fw, V, H, 8, k=1, persistent=False, init=big_init(), **HYPER)
        model.train_step(model.to_device(x))
        runs.append(model.weights()[0])
    fw.seed_all(6)
    other = JaxRBM(fw, V, H, 8, k=1, persistent=False, init=big_init(), **HYPER)
    other.train_step(other.to_device(x))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], other.weights()[0])


def test_rbm_quality_on_the_digits():
    impl = bench(JaxRBMBench, "rbm-cdk", jax_fw(), visible=64, hidden=32)
    q = impl.quality()
    assert q["passed"] and q["recon_mse"] < RECON_MSE_BAR, q
    assert q["fallback"] == "fallback: case input is 64, not 784"


# ---- dbn-pretrain ----
def test_dbn_stack_matches_numpy_in_fp64():
    x = (np.random.default_rng(0).random((6, 12)) < 0.4).astype(np.float64)
    ours = greedy_with_draws(bench(JaxPretrainBench, "dbn-pretrain", jax_fw("fp64"),
                                   layers=[12, 9, 7], batch=6), x)
    theirs = greedy_with_draws(bench(NumpyPretrainBench, "dbn-pretrain", make_fw("numpy", "fp64"),
                                     layers=[12, 9, 7], batch=6), x)
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert not np.allclose(ours[0], init_weights(12, 9, 0)[0])


def test_dbn_step_trains_every_layer_and_metrics_add_up():
    fw = jax_fw()
    impl = bench(JaxPretrainBench, "dbn-pretrain", fw, layers=[20, 16, 8], batch=5, samples=50)
    impl.setup()
    before = [m.weights()[0] for m in impl.models]
    steps_compile_nothing(fw, impl, steps=1)
    assert all(not np.allclose(b, m.weights()[0]) for b, m in zip(before, impl.models, strict=True))
    extra = impl.metrics()
    assert [layer["layer"] for layer in extra["layers"]] == ["20-16", "16-8"]
    stack_s = sum(layer["step_s"] for layer in extra["layers"])
    assert extra["time_per_epoch_s"] == pytest.approx(10 * stack_s)


@pytest.mark.slow
def test_dbn_quality_on_the_digits():
    q = bench(JaxPretrainBench, "dbn-pretrain", jax_fw(), layers=[64, 32, 32]).quality()
    assert q["passed"] and len(q["layers"]) == 3, q


# ---- dbn-finetune ----
def test_finetune_matches_numpy_in_fp64_with_and_without_accumulation():
    init = glorot_init([10, 7, 5, 4], seed=1)
    want = train_three_steps(SimpleNamespace(net_cls=NumpyNet, fw=make_fw("numpy", "fp64")), init)
    ours = SimpleNamespace(net_cls=JaxNet, fw=jax_fw("fp64"))
    for accumulate in (1, 4):
        for (w, b), (w0, b0) in zip(train_three_steps(ours, init, accumulate), want, strict=True):
            np.testing.assert_allclose(w, w0, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(b, b0, rtol=1e-9, atol=1e-12)
    assert not np.allclose(want[0][0], init[0][0])
    # and not what four separate updates of 2 rows give
    rng, net = np.random.default_rng(3), JaxNet(ours.fw, init, lr=0.5, momentum=0.75)
    x, y = rng.random((8, 10)), rng.integers(0, 4, 8)
    for i in range(0, 8, 2):
        net.train_step(*net.to_device(x[i:i + 2], y[i:i + 2]))
    assert not np.allclose(net.weights()[0][0], train_three_steps(ours, init, 4)[0][0])


def test_finetune_mixed_step_keeps_float32_masters():
    fw = jax_fw("bf16-mixed")
    impl = bench(JaxFinetuneBench, "dbn-finetune", fw, layers=[20, 8], batch=4, samples=40)
    impl.setup()
    before = impl.net.weights()[0][0]
    steps_compile_nothing(fw, impl)
    assert not np.allclose(before, impl.net.weights()[0][0])
    assert impl.net.state["params"][0][0].dtype == np.float32


def test_fp16_loss_scaling_skips_a_non_finite_update_and_backs_off():
    net = JaxNet(jax_fw("fp16-mixed"), glorot_init([6, 4, 3], 0), lr=0.1, momentum=0.9)
    old = net.state
    assert float(old["scale"]) == INIT_SCALE
    grads = [(np.full(w.shape, np.inf, np.float32), np.zeros(b.shape, np.float32))
             for w, b in old["params"]]
    moved = {"params": [(w + 1, b + 1) for w, b in old["params"]], "velocity": old["velocity"]}
    kept = net._rescale(old, moved, grads)
    np.testing.assert_array_equal(kept["params"][0][0], old["params"][0][0])
    assert float(kept["scale"]) == INIT_SCALE / 2 and int(kept["good"]) == 0
    x, y = net.to_device(np.random.default_rng(0).random((4, 6)), np.arange(4) % 3)
    net.train_step(x, y)
    assert float(net.state["scale"]) == INIT_SCALE and int(net.state["good"]) == 1


@pytest.mark.slow
def test_finetune_quality_on_the_digits():
    q = bench(JaxFinetuneBench, "dbn-finetune", jax_fw(), layers=[64, 32]).quality()
    assert q["passed"], q


# ---- dbn-inference ----
@pytest.mark.parametrize("precision,rtol", [("fp64", 1e-12), ("fp32", 1e-5)])
def test_inference_modes_agree_with_numpy_and_the_reference(precision, rtol):
    init = glorot_init([12, 9, 5], seed=2)
    x = np.random.default_rng(0).random((7, 12))
    numpy_net = NumpyForward(make_fw("numpy", precision), init, "eager")
    want = numpy_net.host(numpy_net(numpy_net.to_device(x)))
    fw = jax_fw(precision)
    for mode in ("eager", "compiled"):
        net = JaxForward(fw, init, mode)
        got = net.host(net(net.to_device(x)))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3, err_msg=mode)
        np.testing.assert_allclose(got, reference_probs(init, x), rtol=rtol, atol=rtol * 1e-3)


def test_inference_graph_mode_is_refused_with_the_reason():
    defaults = REGISTRY.spec("dbn-inference").defaults()
    assert JaxInferenceBench.supports("cpu", "fp32", Params({**defaults, "mode": "graph"})) \
        == NO_GRAPH and "JAX's only graph compiler is jit, mode 'compiled'" in NO_GRAPH
    for mode in ("eager", "compiled"):
        assert JaxInferenceBench.supports("cpu", "fp32", Params({**defaults, "mode": mode})) is None
    with pytest.raises(Skip, match="JAX's only graph compiler is jit"):
        JaxForward(jax_fw(), glorot_init([4, 3], 0), "graph")


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_inference_latency_at_batch_one_and_no_compile_in_a_step(mode):
    fw = jax_fw()
    impl = bench(JaxInferenceBench, "dbn-inference", fw, layers=[16, 8], batch=1, mode=mode)
    impl.setup()
    steps_compile_nothing(fw, impl)
    lat = impl.metrics()["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] and lat["calls"] >= 200


@pytest.mark.slow
def test_inference_quality_on_the_digits():
    q = bench(JaxInferenceBench, "dbn-inference", jax_fw(), layers=[64, 32],
              mode="compiled").quality()
    assert q["passed"], q


# ---- augment ----
@pytest.fixture(scope="module")
def built_augment32() -> Any:
    impl = bench(JaxAugmentBench, "augment", jax_fw(), batch=8)
    impl.setup()
    return impl


@pytest.fixture
def augment32(built_augment32: Any) -> Any:
    """The fp32 bench, compiled once; x64 set back off (an fp64 test may have run between)."""
    jax_fw()
    return built_augment32


def run_augment(impl: Any, images: np.ndarray, d: Draws) -> np.ndarray:
    m = impl.model
    return m.to_numpy(m.apply(m.to_device(images), m.from_numpy(d)))


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
def test_augment_agrees_with_the_reference(augment32, precision):
    impl = augment32 if precision == "fp32" else bench(JaxAugmentBench, "augment",
                                                       jax_fw("fp64"), batch=8)
    if precision == "fp64":
        impl.setup()
    q = impl.quality()
    assert q["passed"] and q["max_abs_diff"] <= TOLERANCE[precision], q
    assert q["identity_max_abs_diff"] <= q["identity_bar"]


def test_augment_identity_and_a_wrong_transform(augment32):
    images = quality_images(28, 0, 8)
    np.testing.assert_allclose(run_augment(augment32, images, identity(8, 28)), images, atol=1e-5)
    d = draw(np.random.default_rng(0), 8, augment32.p)
    flipped = run_augment(augment32, images, d._replace(angle=-d.angle))
    assert np.abs(flipped - reference(images, d, augment32.p)).max() > 5 * max(TOLERANCE.values())


def test_augment_draws_follow_the_ranges_and_steps_compile_nothing(augment32):
    fw, m = augment32.fw, augment32.model
    d = Draws(*(m.to_numpy(a) for a in m.draws(500)))
    assert np.abs(d.angle).max() <= np.radians(15) and np.abs(d.angle).max() > np.radians(14)
    assert d.scale.min() >= 0.9 and d.scale.max() <= 1.1 and np.abs(d.shift).max() <= 2.0
    assert d.field.shape == (500, 2, 28, 28) and abs(d.noise.std() - 1) < 0.01
    steps_compile_nothing(fw, augment32)
    out = m.to_numpy(augment32.out)
    assert out.shape == (8, 28, 28) and out.min() >= 0 and out.max() <= 1


# ---- the adapter ----
def test_modes_and_refusals():
    assert JaxFramework.supports("cpu", "tf32") is not None  # TF32 is a GPU mode
    assert all(JaxFramework.supports("cpu", p) is None
               for p in ("fp64", "fp32", "bf16-mixed", "fp16-mixed", "bf16"))
    assert "data parallelism runs in torch and TensorFlow" in (JaxFramework.groups or "")
    fw = jax_fw("bf16-mixed")
    assert (fw.dtype.name, fw.compute_dtype.name, fw.product_dtype.name) == \
        ("float32", "bfloat16", "float32")
    fw = jax_fw("bf16")
    assert (fw.dtype.name, fw.compute_dtype.name, fw.product_dtype.name) == ("bfloat16",) * 3


def test_a_gpu_case_without_a_gpu_backend_is_skipped_with_the_reason(monkeypatch):
    from dbnbench.harness.frameworks import jax_fw as module

    monkeypatch.setattr(module, "has_cuda", lambda: False)
    assert "no CUDA backend installed" in (JaxFramework.supports("cuda:0", "fp32") or "")
    with pytest.raises(Skip, match="no CUDA backend installed"):
        JaxFramework("cuda:0", "fp32", THREADS, 0).activate()
    # With a plugin named but no GPU to be seen (this process runs JAX on the CPU platform),
    # the case is still refused, with what JAX said.
    monkeypatch.setattr(module, "has_cuda", lambda: True)
    jax_fw()
    assert JaxFramework.supports("cuda:0", "fp32") is None
    with pytest.raises(Skip, match="no GPU backend in this process"):
        JaxFramework("cuda:0", "fp32", THREADS, 0).activate()


def test_x64_follows_the_mode_of_each_case():
    import jax

    jax_fw("fp64")
    assert jax.config.jax_enable_x64
    flags = jax_fw("fp32").math_flags()
    assert not jax.config.jax_enable_x64 and flags["x64"] is False
    assert flags["default_matmul_precision"] == "highest" and flags["threads"] == THREADS


def test_gemm_and_triad_times_and_binary_operands():
    fw = jax_fw()
    for operands in ("uniform", "binary"):
        times = fw.gemm_times(32, 24, 16, repeats=3, loops=2, operands=operands)
        assert len(times) == 3 and all(t > 0 for t in times)
    binary = np.asarray(fw.operand((64, 64), "binary"))
    assert set(np.unique(binary)) == {0.0, 1.0} and 0.4 < binary.mean() < 0.6
    uniform = np.asarray(fw.operand((64, 64), "uniform"))
    assert uniform.min() >= 0 and uniform.max() < 1 and len(np.unique(uniform)) > 1000
    times, moved = fw.triad_times(10_000, repeats=3)
    assert len(times) == 3 and all(t > 0 for t in times) and moved == 12 * 10_000


def test_no_roof_is_timed_in_a_mode_whose_gemm_xla_compiles_into_other_products():
    """XLA's CPU backend computes fp16 dots in float32: timed as fp16-mixed's roof, its rate
    would be an fp32 rate under fp16's name (a quick run reported torch's fp16 GEMM at 2 % of
    a 211 GFLOP/s "fp16" roof that was JAX's float32)."""
    fw = jax_fw("fp16-mixed")
    products = observe(fw.jax, [(fw._product, tuple(fw.operand((32, 32), "uniform")
                                                    .astype(fw.compute_dtype) for _ in "ab"))])
    if products.products.get("float16"):
        pytest.skip("this backend runs fp16 products: there is a roof to time")
    with pytest.raises(Skip, match="no fp16-mixed GEMM roof in jax here"):
        fw.gemm_times(32, 32, 32, repeats=2, loops=1)
    assert len(jax_fw("fp32").gemm_times(32, 32, 32, repeats=2, loops=1)) == 2


def test_compile_accounting_counts_a_new_compile_and_not_a_cached_call():
    fw = jax_fw()
    f = fw.jax.jit(lambda x: x * 2.0 + 1.0)
    x = fw.put(np.ones(7))
    count, seconds = fw.compiles()
    f(x).block_until_ready()
    assert fw.compiles()[0] == count + 1 and fw.compiles()[1] > seconds
    f(x).block_until_ready()
    assert fw.compiles()[0] == count + 1  # same shapes: the cached executable
    f(fw.put(np.ones(8))).block_until_ready()
    assert fw.compiles()[0] == count + 2  # a new shape compiles again
    assert fw.compile_phases()["compile"][0] == count + 2


def observed(precision: str) -> tuple[Observation, str | None]:
    fw = jax_fw(precision)
    impl = bench(JaxRBMBench, "rbm-cdk", fw, visible=V, hidden=H, batch=8)
    impl.setup()
    obs = fw.observe_products(impl).settle(precision)
    return obs, contradiction(precision, obs, has_flops=True)


@pytest.mark.parametrize("precision,dtype", [("fp32", "float32"), ("fp64", "float64")])
def test_probe_reports_the_products_of_the_compiled_step(precision, dtype):
    obs, wrong = observed(precision)
    # CD-1: p(h|v0), p(v|h), p(h|v1) and the fused weight statistic.
    assert obs.products == {dtype: 4} and wrong is None
    assert obs.reason is None and "optimised HLO" in obs.method


def test_probe_reports_bf16_mixed_products_this_cpu_runs_in_float32():
    """XLA's CPU backend converts the operands of a bf16 dot it cannot run as such (here the
    transposed ones) to float32: the mode is contradicted, and the case fails with that."""
    obs, wrong = observed("bf16-mixed")
    assert obs.products.get("float32", 0) > 0
    assert wrong is not None and "contradict bf16-mixed" in wrong and "float32" in wrong


def test_probe_of_an_eager_step_compiles_each_product_as_dispatched():
    fw = jax_fw()
    impl = bench(JaxInferenceBench, "dbn-inference", fw, layers=[16, 8], batch=2, mode="eager")
    impl.setup()
    assert fw.observe_products(impl).products == {"float32": 2}


def test_hlo_parse_scopes_names_and_reads_library_calls():
    hlo = textwrap.dedent("""\
        %fused (param_0: bf16[8,16], param_1: bf16[16,4]) -> f32[8,4] {
          %param_0 = bf16[8,16]{1,0} parameter(0)
          %param_1 = bf16[16,4]{1,0} parameter(1)
          ROOT %dot.0 = f32[8,4]{1,0} dot(%param_0, %param_1), lhs_contracting_dims={1}
        }
        %other (param_0: f32[8,4]) -> f32[8,4] {
          ROOT %param_0 = f32[8,4]{1,0} parameter(0)
        }
        ENTRY %main (a: f16[8,16], b: f16[16,4]) -> f32[8,4] {
          %a = f16[8,16]{1,0} parameter(0)
          %b = f16[16,4]{1,0} parameter(1)
          %gemm = (f32[8,4]{1,0}, s8[64]{0}) custom-call(f16[8,16]{1,0} %a, %b), \
custom_call_target="__cublas$gemm"
          ROOT %conv = f32[8,4]{1,0} convolution(%a, %b), window={size=1}
        }
        """)
    obs = Observation("test")
    hlo_products(hlo, obs)
    assert obs.ops == {"HLO dot->float32 bfloat16": 1, "HLO __cublas$gemm->float32 float16": 1,
                       "HLO convolution->float32 float16": 1}


def test_no_probe_without_probe_steps():
    obs = jax_fw().observe_products(object())
    assert obs.reason is not None and "probe_steps" in obs.reason


def test_activate_sizes_the_pool_and_a_pool_started_at_another_size_is_refused():
    got = run_fresh("""
        import json
        from dbnbench.harness.errors import Skip
        from dbnbench.harness.frameworks.jax_fw import JaxFramework
        reasons = {}
        facts = JaxFramework.runtime_facts(reasons)
        fw = JaxFramework("cpu", "fp32", 1, 0)
        fw.activate()
        try:
            JaxFramework("cpu", "fp32", 2, 0).activate()
            refused = None
        except Skip as exc:
            refused = str(exc)
        print(json.dumps({"facts": facts, "reasons": reasons, "flags": fw.math_flags(),
                          "refused": refused}))
        """)
    # Facts read before any case leave the pool alone: its size is the case's to set.
    assert got["facts"]["devices"] is None and "PJRT_NPROC" in got["reasons"]["devices"]
    assert got["flags"]["threads"] == 1 and got["flags"]["PJRT_NPROC"] == "1"
    assert got["refused"] and "PJRT_NPROC" in got["refused"] and "1 threads" in got["refused"]


def test_runtime_facts_in_a_fresh_process_and_an_fp32_process_never_enables_x64():
    got = run_fresh("""
        import json
        import numpy as np
        import jax
        from dbnbench.harness.frameworks.jax_fw import JaxFramework
        from dbnbench.suites.rbm.jax_impl import JaxRBM
        from dbnbench.suites.rbm.spec import init_weights
        reasons = {}
        facts = JaxFramework.runtime_facts(reasons)
        fw = JaxFramework("cpu", "fp32", 1, 0)
        fw.activate()
        model = JaxRBM(fw, 6, 4, 2, k=1, persistent=False, init=init_weights(6, 4, 0),
                       lr=0.1, momentum=0.5, weight_decay=0.0)
        model.update(*(fw.put(np.ones(s)) for s in ((2, 6), (1, 2, 4), (1, 2, 6))))
        print(json.dumps({"facts": facts, "reasons": reasons, "x64": jax.config.jax_enable_x64,
                          "flags": fw.math_flags(), "dtype": str(model.state["w"].dtype)}))
        """, PJRT_NPROC="1")
    import jax
    import jaxlib

    facts = got["facts"]
    assert got["reasons"] == {}, got["reasons"]
    assert facts["version"] == jax.__version__ and facts["jaxlib_version"] == jaxlib.__version__
    assert facts["default_backend"] == "cpu" and facts["devices"] and facts["x64"] is False
    assert facts["xla_cpu_threads"] == 1 and facts["env"]["PJRT_NPROC"] == "1"
    assert got["x64"] is False and got["flags"]["x64"] is False and got["dtype"] == "float32"
    assert got["flags"]["threads"] == 1


def test_the_registry_finds_every_jax_implementation():
    for workload, cls in (("rbm-cdk", JaxRBMBench), ("dbn-pretrain", JaxPretrainBench),
                          ("dbn-finetune", JaxFinetuneBench), ("dbn-inference", JaxInferenceBench),
                          ("augment", JaxAugmentBench)):
        assert REGISTRY.impl(workload, "jax") == f"{cls.__module__}:{cls.__name__}"
