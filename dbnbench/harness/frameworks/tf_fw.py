"""TensorFlow on the CPU and GPUs; precision through dtypes, the TF32 switch and dtype policies."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from ...format.precisions import PRODUCT_DTYPE
from ..errors import Skip
from ..install import pip_extra
from .base import Framework, Operands, timed_repeats
from .products import Observation

COMPUTE = PRODUCT_DTYPE  # the dtype products run in is the dtype TensorFlow computes in
VARIABLE = {"fp64": "float64", "bf16": "bfloat16"}  # otherwise float32 master weights


class TensorflowFramework(Framework):
    groups = None
    # MultiWorkerMirroredStrategy configures collectives only before TensorFlow's runtime
    # starts: a group's rank 0 runs in a fresh worker, retired after the case.
    fresh_group_process = True
    name = "tensorflow"
    label = "tf"
    rank = 20
    impl_module = "tf_impl"
    module = "tensorflow"
    distributions = ("tensorflow", "tensorflow-cpu", "tf-nightly")
    install_hint = pip_extra("tensorflow")
    precisions = {p: None for p in COMPUTE}
    gpu = True
    # Set by activate(): the module, the device string ops run under, the dtype products
    # compute in and variables are stored in, the Keras mixed policy (or None).
    tf: Any
    tf_device: str
    compute_dtype: Any
    dtype: Any
    keras_policy: str | None
    _generator: Any = None

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

    @classmethod
    def runtime_facts(cls, reasons: dict[str, str]) -> dict[str, Any] | None:
        from .tf_facts import tensorflow_facts

        return tensorflow_facts(reasons)

    def activate(self) -> None:
        super().activate()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        self.tf = tf
        tf.config.threading.set_intra_op_parallelism_threads(self.threads)
        # One inter-op thread: the workloads are one dependent chain of ops, and a second
        # pool competing for the same cores only adds contention.
        tf.config.threading.set_inter_op_parallelism_threads(1)
        # Memory growth on every GPU, before anything touches one: by default TensorFlow maps
        # nearly all of a card's memory at its first op, and the torch worker that the pool
        # keeps beside this one would then run out of memory in every case that follows.
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
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
        # No op runs here (the generator is made at first use): a process group must be
        # joined before TensorFlow's runtime starts.

    @property
    def generator(self) -> Any:
        """The case's generator, seeded with the case's seed unless seed_all said otherwise."""
        if self._generator is None:
            self.seed_all(self.seed)
        return self._generator

    def seed_all(self, seed: int) -> None:
        self.tf.random.set_seed(seed)
        # The generator's state lives where it is created: on the case's device, so draws
        # on a GPU are not made on the CPU and copied over.
        with self.tf.device(self.tf_device):
            self._generator = self.tf.random.Generator.from_seed(seed)

    @classmethod
    def group_store(cls, host: str, port: int, master: bool, timeout_s: float,
                    prefix: str = "") -> Any:
        """torch.distributed's TCPStore: the store every case group and a run's nodes meet
        in; TensorFlow has none of its own that exists before its cluster does."""
        from .torch_fw import TorchFramework

        if not TorchFramework.installed():
            raise Skip("TensorFlow's ranks meet in torch.distributed's TCPStore (as torch's "
                       f"ranks and a run's nodes do): {TorchFramework.install_hint}")
        return TorchFramework.group_store(host, port, master, timeout_s, prefix)

    def open_group(self, store: Any, rank: int, world: int, timeout_s: float) -> Any:
        from .tf_dist import TensorflowGroup

        inner = getattr(store, "underlying_store", store)
        self.group = TensorflowGroup(self.tf, store, str(inner.host), rank, world,
                                     self.tf_device, self.dtype, timeout_s)
        return self.group

    def sync(self) -> None:
        # Ops on the CPU run synchronously (an eager op returns when its kernel is done);
        # on a GPU the device queues work, so wait for it explicitly.
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
        """Read back from TensorFlow where it can say (threads, TF32, whether this build runs
        oneDNN); the dtypes the adapter asked for are labelled as requests: what the products
        really ran in is `observed_products`."""
        tf = self.tf
        try:
            from tensorflow.python.util import _pywrap_util_port

            onednn: bool | str = bool(_pywrap_util_port.IsMklEnabled())
        except (ImportError, AttributeError) as exc:
            onednn = f"unknown ({exc.__class__.__name__})"
        return {
            "threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "requested_compute_dtype": self.compute_dtype.name,
            "variable_dtype": self.dtype.name,
            "requested_keras_policy": self.keras_policy,
            "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
            "onednn": onednn,
            "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        }

    def observe_products(self, impl: Any) -> Observation:
        from .tf_probe import observe

        return observe(self.tf, self.tf_device, impl.step)

    def gemm_times(self, m: int, n: int, k: int, repeats: int, loops: int,
                   operands: Operands = "uniform") -> list[float]:
        tf = self.tf
        with self.autocast():
            a, b = (self.generator.uniform(shape) for shape in ((m, k), (k, n)))
            if operands == "binary":
                a, b = (tf.cast(x < 0.5, tf.float32) for x in (a, b))
            a, b = (tf.cast(x, self.compute_dtype) for x in (a, b))
            # Reduced to a scalar inside the graph: the m·n sum is noise beside the m·n·k
            # product, and nothing m×n is copied out. A function call runs synchronously on
            # the CPU; on a GPU, sync() waits for the queued products.
            product = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y), tf.float32)))
            return timed_repeats(lambda: product(a, b), self.sync, repeats, loops)
