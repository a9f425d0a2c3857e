"""TensorFlow's worker asks for memory growth on every GPU before any op (tf_fw.activate):
by default TensorFlow maps nearly all of a card at its first op, starving the torch worker
the pool keeps beside it. Checked here with TensorFlow faked (no GPU has been lent), and on
a card by ci/gpu-check."""

from __future__ import annotations

import contextlib
import sys
import types

from dbnbench.harness.frameworks.tf_fw import TensorflowFramework


def fake_tensorflow(gpus: list[str], calls: list[tuple[str, object]]) -> types.ModuleType:
    tf = types.ModuleType("tensorflow")
    tf.__version__ = "0.0-fake"
    threading_ = types.SimpleNamespace(set_intra_op_parallelism_threads=lambda n: None,
                                       set_inter_op_parallelism_threads=lambda n: None)

    def list_physical_devices(kind: str) -> list[str]:
        calls.append(("list", kind))
        return list(gpus) if kind == "GPU" else []

    def set_memory_growth(gpu: str, on: bool) -> None:
        assert not any(c[0] == "op" for c in calls), "growth must come before any op"
        calls.append(("growth", (gpu, on)))

    tf.config = types.SimpleNamespace(
        threading=threading_, list_physical_devices=list_physical_devices,
        experimental=types.SimpleNamespace(set_memory_growth=set_memory_growth,
                                           enable_tensor_float_32_execution=lambda on: None))
    tf.float32, tf.float64, tf.bfloat16, tf.float16 = "f32", "f64", "bf16", "f16"
    tf.random = types.SimpleNamespace(
        set_seed=lambda s: calls.append(("op", "seed")),
        Generator=types.SimpleNamespace(from_seed=lambda s: calls.append(("op", "gen"))))
    tf.device = lambda name: contextlib.nullcontext()
    return tf


def test_memory_growth_is_set_on_every_gpu_before_any_op(monkeypatch):
    calls: list[tuple[str, object]] = []
    monkeypatch.setitem(sys.modules, "tensorflow",
                        fake_tensorflow(["GPU:0", "GPU:1"], calls))
    monkeypatch.setattr(TensorflowFramework, "supports", classmethod(lambda cls, d, p: None))
    fw = TensorflowFramework("cuda:1", "fp32", threads=1, seed=0)
    fw.activate()
    assert [c[1] for c in calls if c[0] == "growth"] == [("GPU:0", True), ("GPU:1", True)]
    assert fw.tf_device == "/GPU:1"


def test_a_cpu_worker_sets_nothing(monkeypatch):
    calls: list[tuple[str, object]] = []
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([], calls))
    monkeypatch.setattr(TensorflowFramework, "supports", classmethod(lambda cls, d, p: None))
    TensorflowFramework("cpu", "fp32", threads=1, seed=0).activate()
    assert not [c for c in calls if c[0] == "growth"]
