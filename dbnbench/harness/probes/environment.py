"""The performance variables a process sees: what an environment sets that can change a
number (thread pools, kernel ISA caps, allocators, framework switches), never a secret."""

from __future__ import annotations

import os
from collections.abc import Mapping

# Environment variables that change a number. Prefixes: OpenBLAS (OPENBLAS_CORETYPE forces
# a kernel, OPENBLAS_NUM_THREADS a pool size; GOTO* are its old names), OpenMP (OMP_, GNU
# GOMP_, Intel/LLVM KMP_), MKL_ (MKL_ENABLE_INSTRUCTIONS, MKL_CBWR, MKL_DEBUG_CPU_TYPE,
# threads), BLIS_, NUMEXPR_, VECLIB_ (Apple Accelerate), NPY_ (NPY_DISABLE_CPU_FEATURES
# turns numpy's SIMD loops off), TensorFlow (TF_ENABLE_ONEDNN_OPTS, TF_XLA_FLAGS, ...),
# XLA_, CUDA_ (CUDA_VISIBLE_DEVICES, CUDA_LAUNCH_BLOCKING serialises every launch),
# CUBLAS_/CUDNN_, TORCH_/PYTORCH_, oneDNN (ONEDNN_MAX_CPU_ISA caps the kernel ISA; DNNL_
# and MKLDNN_ are its old names), allocators (glibc MALLOC_, TCMALLOC_, JEMALLOC_, and
# MALLOC_CONF, jemalloc's own); names: a preloaded allocator or library (LD_PRELOAD), TF32
# forced for all of CUDA (NVIDIA_TF32_OVERRIDE), PyTorch's kernel ISA (ATEN_CPU_CAPABILITY),
# glibc's tunables (GLIBC_TUNABLES can mask CPU features from every library).
PERF_ENV_PREFIXES = ("OPENBLAS_", "GOTO", "OMP_", "GOMP_", "KMP_", "MKL_", "BLIS_", "NUMEXPR_",
                     "VECLIB_", "NPY_", "TF_", "XLA_", "CUDA_", "CUBLAS_", "CUDNN_", "TORCH_",
                     "PYTORCH_", "ONEDNN_", "DNNL_", "MKLDNN_", "MALLOC_", "TCMALLOC_",
                     "JEMALLOC")
PERF_ENV_NAMES = ("LD_PRELOAD", "NVIDIA_TF32_OVERRIDE", "ATEN_CPU_CAPABILITY", "GLIBC_TUNABLES")
# TF_ is also Terraform's prefix (TF_VAR_*, TF_TOKEN_* hold secrets): its documented names
# are left out, and so is any name that looks like it holds a credential.
TERRAFORM_PREFIXES = ("TF_VAR_", "TF_CLI_", "TF_LOG", "TF_INPUT", "TF_DATA_DIR", "TF_WORKSPACE",
                      "TF_IN_AUTOMATION", "TF_REGISTRY_", "TF_PLUGIN_CACHE", "TF_IGNORE",
                      "TF_STATE_PERSIST", "TF_APPEND_USER_AGENT", "TF_TOKEN_")
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "API_KEY", "AUTH")


def perf_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every performance-relevant variable that is set (see PERF_ENV_PREFIXES), sorted."""
    from ..frameworks import FRAMEWORKS

    env = os.environ if environ is None else environ
    prefixes = PERF_ENV_PREFIXES + tuple(p for fw in FRAMEWORKS.values() for p in fw.env_prefixes)
    names = PERF_ENV_NAMES + tuple(v for fw in FRAMEWORKS.values() for v in fw.thread_variables)
    return {k: env[k] for k in sorted(env)
            if (k.startswith(prefixes) or k in names)
            and not k.startswith(TERRAFORM_PREFIXES) and not any(w in k for w in SECRET_WORDS)}


__all__ = ["PERF_ENV_NAMES", "PERF_ENV_PREFIXES", "perf_env"]
