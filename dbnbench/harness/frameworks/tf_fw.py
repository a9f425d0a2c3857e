"""TensorFlow on the CPU and GPUs; precision through dtypes, the TF32 switch and dtype policies."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from ..errors import Skip
from .base import Framework

COMPUTE = {"fp64": "float64", "fp32": "float32", "tf32": "float32", "bf16-mixed": "bfloat16",
           "fp16-mixed": "float16", "bf16": "bfloat16"}
VARIABLE = {"fp64": "float64", "bf16": "bfloat16"}  # otherwise float32 master weights


class TensorflowFramework(Framework):
    name = "tensorflow"
    module = "tensorflow"
    distributions = ("tensorflow", "tensorflow-cpu", "tf-nightly")
    install_hint = "pip install 'dbnbench[tensorflow]'"
    precisions = {p: None for p in COMPUTE}
    gpu = True

    @classmethod
    def supports(cls, device: str, precision: str) -> str | None:
        why = super().supports(device, precision)
        if why is None and device.startswith("cuda") and cls.version() is not None:
            from importlib.metadata import PackageNotFoundError, version

            try:
                version("tensorflow-cpu")
                return "tensorflow-cpu is installed: that build has no GPU support"
            except PackageNotFoundError:
                pass
        return why

    def activate(self) -> None:
        super().activate()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        self.tf = tf
        tf.config.threading.set_intra_op_parallelism_threads(self.threads)
        # One inter-op thread: the workloads are one dependent chain of ops, and a second
        # pool competing for the same cores only adds contention.
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if self.device.startswith("cuda"):
            index = int(self.device.partition(":")[2] or 0)
            gpus = tf.config.list_physical_devices("GPU")
            if index >= len(gpus):
                raise Skip(f"TensorFlow {tf.__version__} sees {len(gpus)} GPU(s), not GPU:{index}")
            self.tf_device = f"/GPU:{index}"
        else:
            self.tf_device = "/CPU:0"
        tf.config.experimental.enable_tensor_float_32_execution(self.precision == "tf32")
        self.compute_dtype = getattr(tf, COMPUTE[self.precision])
        self.dtype = getattr(tf, VARIABLE.get(self.precision, "float32"))
        self.keras_policy = {"bf16-mixed": "mixed_bfloat16", "fp16-mixed": "mixed_float16"}.get(
            self.precision, VARIABLE.get(self.precision, "float32"))
        self.seed_all(self.seed)

    def seed_all(self, seed: int) -> None:
        self.tf.random.set_seed(seed)
        # The generator's state lives where it is created: on the case's device, so draws
        # on a GPU are not made on the CPU and copied over.
        with self.tf.device(self.tf_device):
            self.generator = self.tf.random.Generator.from_seed(seed)

    def sync(self) -> None:
        # Ops on the CPU run synchronously; on a GPU, reading back a scalar waits for the
        # stream, which `sync_tensor` in the implementations already forces.
        if self.tf_device != "/CPU:0":
            self.tf.test.experimental.sync_devices()

    def reset_peak_memory(self) -> None:
        if self.tf_device != "/CPU:0":
            self.tf.config.experimental.reset_memory_stats(self.tf_device.lstrip("/"))

    def peak_device_memory(self) -> tuple[int | None, str | None]:
        if self.tf_device != "/CPU:0":
            info = self.tf.config.experimental.get_memory_info(self.tf_device.lstrip("/"))
            return int(info["peak"]), None
        return super().peak_device_memory()

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        with self.tf.device(self.tf_device):
            yield

    def math_flags(self) -> dict[str, Any]:
        tf = self.tf
        return {
            "threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "compute_dtype": self.compute_dtype.name,
            "variable_dtype": self.dtype.name,
            "keras_policy": self.keras_policy,
            "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
            "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 Linux)"),
        }

    def gemm_seconds(self, n: int, repeats: int) -> float:
        tf = self.tf
        with self.autocast():
            a = tf.cast(self.generator.uniform((n, n)), self.compute_dtype)
            b = tf.cast(self.generator.uniform((n, n)), self.compute_dtype)
            # Reduce to a scalar inside the graph: reading it back waits for the product
            # without copying n×n to the host; the n² sum is noise beside the n³ product.
            product = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y), tf.float32)))
            product(a, b).numpy()
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                product(a, b).numpy()
                best = min(best, time.perf_counter() - t0)
        return best
