"""What a framework's process actually runs: its BLAS/OpenMP pools and library settings.

Called inside a worker after the framework is imported (`runtime_info`), because the
kernel a BLAS library picks, the threads it uses and the math flags are only known to the
loaded library. Every item that cannot be read is None with a reason; nothing raises.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import warnings
from collections.abc import Callable
from typing import Any

POOL_KEYS = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture",
             "threading_layer")
# A wheel's bundled libraries live in <package>/ or <package>.libs/ in site-packages.
DIST_TO_MODULE = {"scikit_learn": "sklearn"}


def why(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def attempt(facts: dict[str, Any], reasons: dict[str, str], key: str,
            read: Callable[[], Any]) -> None:
    """facts[key] = read(), or None and a reason: one unreadable fact never hides the rest."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch's deprecated TF32 switches warn on read
            facts[key] = read()
    except Exception as exc:
        facts[key] = None
        reasons[key] = why(exc)


def package_of(path: str) -> str | None:
    """The installed package a library file came with, or None for a system library."""
    parts = os.path.normpath(path).split(os.sep)
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts) - 1:
            name = parts[parts.index(marker) + 1].removesuffix(".libs")
            return DIST_TO_MODULE.get(name, name)
    return None


def thread_pools() -> tuple[list[dict[str, Any]] | None, str | None]:
    """Every BLAS/OpenMP pool loaded in this process, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info

        raw = threadpool_info()
    except Exception as exc:
        return None, f"threadpoolctl: {why(exc)}"
    pools = []
    for info in raw:
        pool = {k: info.get(k) for k in POOL_KEYS}
        path = info.get("filepath") or ""
        pool["filepath"] = os.path.basename(path) or None
        pool["package"] = package_of(path) if path else None
        pools.append(pool)
    return pools, None


def numpy_facts(reasons: dict[str, str]) -> dict[str, Any]:
    import numpy as np

    facts: dict[str, Any] = {"version": np.__version__}
    attempt(facts, reasons, "config", lambda: np.show_config(mode="dicts"))
    deps = (facts.pop("config") or {}).get("Build Dependencies", {})
    if "config" in reasons:
        reasons["blas"] = reasons["lapack"] = reasons.pop("config")
    for name in ("blas", "lapack"):
        dep = deps.get(name)
        facts[name] = None if dep is None else {
            k.replace(" ", "_"): dep[k] for k in ("name", "version", "openblas configuration")
            if k in dep}
        if dep is None:
            reasons.setdefault(name, "np.show_config names no such build dependency")
    attempt(facts, reasons, "simd", lambda: numpy_simd(np))
    return facts


def numpy_simd(np: Any) -> dict[str, list[str]]:
    """The SIMD targets numpy was built for and those it dispatches to on this CPU."""
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # numpy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    features = umath.__cpu_features__
    dispatch = list(umath.__cpu_dispatch__)
    return {"baseline": list(umath.__cpu_baseline__), "dispatch": dispatch,
            "dispatch_active": [d for d in dispatch if features.get(d)]}


def torch_facts(reasons: dict[str, str]) -> dict[str, Any]:
    import torch

    facts: dict[str, Any] = {"version": torch.__version__}
    reads: dict[str, Callable[[], Any]] = {
        "cpu_capability": torch.backends.cpu.get_cpu_capability,
        "mkldnn_available": torch.backends.mkldnn.is_available,
        "mkldnn_enabled": lambda: bool(torch.backends.mkldnn.enabled),
        "mkl_available": torch.backends.mkl.is_available,
        "openmp_available": torch.backends.openmp.is_available,
        "threads": torch.get_num_threads,
        "interop_threads": torch.get_num_interop_threads,
        "parallel": lambda: torch_parallel(torch.__config__.parallel_info()),
        "blas_info": lambda: build_setting(torch.__config__.show(), "BLAS_INFO"),
        "cuda": lambda: torch.version.cuda,
        "cudnn": torch.backends.cudnn.version,
        "cuda_available": torch.cuda.is_available,
        "cuda_devices": torch.cuda.device_count,
        "matmul": lambda: torch_matmul(torch),
    }
    for key, read in reads.items():
        attempt(facts, reasons, key, read)
    return facts


def torch_parallel(info: str) -> dict[str, str | None]:
    """parallel_info() is a page of text; keep the backend and the library versions."""
    patterns = {"backend": r"ATen parallel backend: (.+)", "openmp": r"^(OpenMP \d+.*)$",
                "mkl": r"Math Kernel Library Version (\S+)", "onednn": r"MKL-DNN (v[\d.]+)"}
    out = {}
    for key, pattern in patterns.items():
        m = re.search(pattern, info, re.MULTILINE)
        out[key] = m.group(1).strip() if m else None
    return out


def build_setting(show: str, name: str) -> str | None:
    m = re.search(rf"\b{name}=([^,\s]+)", show)
    return m.group(1) if m else None


# Where newer torch releases keep `fp32_precision` ("ieee", "tf32", "bf16" or "none").
FP32_PRECISION_AT = ("backends", "backends.cuda.matmul", "backends.cudnn", "backends.cudnn.conv",
                     "backends.mkldnn", "backends.mkldnn.matmul", "backends.mkldnn.conv")


def torch_matmul(torch: Any) -> dict[str, Any]:
    """The matmul precision settings, read back (a worker may have changed them)."""
    out: dict[str, Any] = {"float32_matmul_precision": torch.get_float32_matmul_precision()}
    legacy = {"cuda_matmul_allow_tf32": ("cuda.matmul", "allow_tf32"),
              "cudnn_allow_tf32": ("cudnn", "allow_tf32"),
              "cuda_matmul_allow_fp16_reduced": ("cuda.matmul",
                                                 "allow_fp16_reduced_precision_reduction"),
              "cuda_matmul_allow_bf16_reduced": ("cuda.matmul",
                                                 "allow_bf16_reduced_precision_reduction")}
    for key, (where, attr) in legacy.items():
        # Reading a legacy switch after the new API was used can raise: keep the others.
        with contextlib.suppress(Exception):
            out[key] = getattr(dotted(torch.backends, where), attr)
    precisions = {}
    for where in FP32_PRECISION_AT:
        with contextlib.suppress(Exception):
            precisions[where] = dotted(torch, where).fp32_precision
    out["fp32_precision"] = precisions or None
    return out


def dotted(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


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


def sklearn_facts(reasons: dict[str, str]) -> dict[str, Any]:
    import sklearn

    inner: dict[str, str] = {}
    facts = {"version": sklearn.__version__, "numpy": numpy_facts(inner)}
    reasons.update({f"numpy.{k}": v for k, v in inner.items()})
    return facts


FACTS: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
    "numpy": numpy_facts, "torch": torch_facts, "tensorflow": tensorflow_facts,
    "sklearn": sklearn_facts}


def runtime_info(framework: str) -> dict[str, Any]:
    """Inside a worker, after `framework` is imported: {framework, pools (every BLAS/OpenMP
    pool in the process), facts (read back from the library), env (the performance
    variables this process sees), reasons (why each None is None)}."""
    from .. import heap
    from .fingerprint import perf_env

    # Read before threadpoolctl is imported: it sets KMP_DUPLICATE_LIB_OK itself.
    env = perf_env()
    reasons: dict[str, str] = {}
    facts: dict[str, Any] | None = None
    collect = FACTS.get(framework)
    if collect is None:
        reasons["facts"] = f"no runtime facts are known for {framework!r}"
    else:
        try:
            facts = collect(reasons)
        except Exception as exc:  # not installed, or broken on import
            reasons["facts"] = why(exc)
    # After the facts: importing a framework's parts can load more libraries.
    pools, pools_reason = thread_pools()
    if pools_reason:
        reasons["pools"] = pools_reason
    return {"framework": framework, "pools": pools, "facts": facts, "env": env,
            "heap": heap.record(), "reasons": reasons}
