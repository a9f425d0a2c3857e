"""What torch says it runs (ATen's CPU capability, its BLAS and OpenMP, matmul precision
switches), read inside a worker after the import; and the finding when ATen runs kernels older
than the CPU supports."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .reading import attempt

# torch.backends.cpu.get_cpu_capability() on x86 ("DEFAULT" is the SSE baseline build).
# aarch64 is left out: SVE256 kernels cannot run on 128-bit SVE, so DEFAULT there is no
# downgrade a user could undo.
CAPABILITY = {"DEFAULT": "sse", "NO AVX": "sse", "AVX": "avx", "AVX2": "avx2",
              "AVX512": "avx512"}


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


def aten_findings(cpu: str, info: Mapping[str, Any], env: Mapping[str, str]
                  ) -> Iterator[dict[str, Any]]:
    from .isa import below, finding, forced_by, isa_name, labelled

    capability = (info.get("facts") or {}).get("cpu_capability")
    level = CAPABILITY.get(str(capability).upper())
    if capability is None or not below(level, cpu):
        return
    var = "ATEN_CPU_CAPABILITY"
    set_var = var if (var in env or var in (info.get("env") or {})) else None
    yield finding("torch", f"ATen CPU kernels ({capability})",
                  f"torch's ATen runs its {labelled(capability, level)} kernels on a CPU "
                  f"with {isa_name(cpu)}" + forced_by(var, env, info), set_var)
