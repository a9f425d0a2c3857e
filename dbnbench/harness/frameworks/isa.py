"""The vocabulary of CPU kernel levels: which level a BLAS core or an ISA variable stands
for, and how a finding about a downgraded kernel is worded.

Framework-neutral, so both the adapters (their own kernel findings) and the probes (the
findings about loaded BLAS pools) speak it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Ordered kernel levels per architecture family; only levels of one family are compared.
FAMILIES = (("baseline", "sse", "sse4", "avx", "avx2", "avx512"), ("baseline", "neon", "sve"))
NAMES = {"baseline": "baseline", "sse": "SSE", "sse4": "SSE4", "avx": "AVX", "avx2": "AVX2",
         "avx512": "AVX-512", "neon": "NEON", "sve": "SVE"}


def _levels(mapping: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {name: level for level, names in mapping.items() for name in names}


# OpenBLAS core names, lower-cased, as `openblas_get_corename` returns them and
# threadpoolctl reports them as `architecture` (OpenBLAS driver/others/dynamic.c and
# dynamic_arm64.c, `corename[]`). OPENBLAS_CORETYPE takes the same names.
OPENBLAS_CORES = _levels({
    "avx512": ("skylakex", "cooperlake", "sapphirerapids"),
    "avx2": ("haswell", "zen"),
    "avx": ("sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"),
    "sse4": ("nehalem",),
    "sse": ("katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
            "dunnington", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat"),
    "sve": ("armv8sve", "neoversev1", "neoversen2", "neoversev2", "a64fx"),
    "neon": ("armv8", "cortexa53", "cortexa55", "cortexa57", "cortexa72", "cortexa73", "falkor",
             "thunderx", "thunderx2t99", "thunderx3t110", "tsv110", "emag8180", "neoversen1"),
})
# BLIS configuration names (`bli_arch_string`), as threadpoolctl reports them.
BLIS_CONFIGS = _levels({
    "avx512": ("skx", "knl", "zen4", "zen5"), "avx2": ("haswell", "zen", "zen2", "zen3"),
    "avx": ("sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"),
    "sse": ("penryn",), "sve": ("armsve", "a64fx"), "neon": ("cortexa57", "cortexa53", "thunderx2"),
})
# Variables that cap a library's kernel ISA, and the library each one caps.
ISA_LIMITS = {"MKL_ENABLE_INSTRUCTIONS": "MKL", "MKL_CBWR": "MKL", "MKL_DEBUG_CPU_TYPE": "MKL",
              "ONEDNN_MAX_CPU_ISA": "oneDNN", "DNNL_MAX_CPU_ISA": "oneDNN"}
POOL_VARIABLES = {"openblas": "OPENBLAS_CORETYPE", "blis": "BLIS_ARCH_TYPE"}


def isa_name(level: str | None) -> str:
    return NAMES.get(level or "", str(level))


def labelled(name: Any, level: str | None) -> str:
    """'Haswell (AVX2)', or just 'AVX2' where the name already says the level."""
    level_name = isa_name(level)
    same = str(name).upper().replace("-", "") == level_name.upper().replace("-", "")
    return level_name if same else f"{name} ({level_name})"


def below(kernel: str | None, cpu: str | None) -> bool:
    """Whether `kernel` is an older level than `cpu` within one architecture family."""
    for family in FAMILIES:
        if kernel in family and cpu in family:
            return family.index(kernel) < family.index(cpu)
    return False


def token_level(value: str) -> str | None:
    """The level an ISA name in an MKL/oneDNN variable stands for (AVX2_VNNI → avx2)."""
    token = value.strip().upper()
    token = token.removeprefix("BRANCH=").split(",")[0]
    if token == "5":  # MKL_DEBUG_CPU_TYPE=5: the AVX2 code path (undocumented, widely used)
        return "avx2"
    for prefix, level in (("AVX512", "avx512"), ("AVX10", "avx512"), ("AVX2", "avx2"),
                          ("AVX", "avx"), ("SSE4", "sse4"), ("SSSE3", "sse"), ("SSE", "sse"),
                          ("COMPATIBLE", "sse"), ("SVE", "sve"), ("ASIMD", "neon")):
        if token.startswith(prefix):
            return level
    return None  # AUTO, ALL, DEFAULT or a value not known here: no cap to report


def finding(framework: str | None, library: str, message: str, variable: str | None
            ) -> dict[str, Any]:
    return {"kind": "downgraded-kernel", "severity": "warning", "framework": framework,
            "library": library, "message": message, "variable": variable}


def forced_by(variable: str | None, env: Mapping[str, str], runtime: Mapping[str, Any]) -> str:
    """': VAR=value forces it' when the variable is set (in the parent or the worker)."""
    value = env.get(variable) if variable else None
    if variable and value is None:
        value = (runtime.get("env") or {}).get(variable)
    if value is None:
        return " (no variable forces it: the library or its build chose it)"
    return f": {variable}={value} forces it"
