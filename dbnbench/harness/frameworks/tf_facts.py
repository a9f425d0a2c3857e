"""What TensorFlow says it runs (oneDNN, TF32, its thread pools, its build), read inside a
worker after the import; each fact that cannot be read is None with its reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .reading import attempt


def tensorflow_facts(reasons: dict[str, str]) -> dict[str, Any]:
    import tensorflow as tf

    facts: dict[str, Any] = {"version": tf.__version__}
    reads: dict[str, Callable[[], Any]] = {
        "onednn_enabled": tf_onednn_enabled,
        "tf32_enabled": tf.config.experimental.tensor_float_32_execution_enabled,
        # 0 means TensorFlow picks the pool size itself when it first runs an op.
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads,
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads,
        "build": lambda: {k: v for k, v in tf.sysconfig.get_build_info().items()
                          if k in ("is_cuda_build", "is_rocm_build", "cuda_version",
                                   "cudnn_version", "cuda_compute_capabilities")},
        "gpus": lambda: [d.name for d in tf.config.list_physical_devices("GPU")],
    }
    for key, read in reads.items():
        attempt(facts, reasons, key, read)
    return facts


def tf_onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN ops are on: it reflects TF_ENABLE_ONEDNN_OPTS as well as
    the build, so it says what this process runs (a private module, hence guarded)."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
