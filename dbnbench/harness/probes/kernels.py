"""Kernel findings: a library that runs a kernel older than the CPU supports.

Inputs are what the fingerprint read: the CPU's `isa_level` (from `cpu_isa`), each
framework's `runtime_info` (BLAS/OpenMP pools as threadpoolctl reports them, framework
facts) and the environment. Output is a list of findings; nothing here changes a setting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..frameworks.isa import (
    BLIS_CONFIGS,
    ISA_LIMITS,
    OPENBLAS_CORES,
    POOL_VARIABLES,
    below,
    finding,
    forced_by,
    isa_name,
    labelled,
    token_level,
)


def pool_findings(cpu: str, runtime: dict[str, dict[str, Any]], env: Mapping[str, str]
                  ) -> Iterator[dict[str, Any]]:
    seen: set[tuple[Any, Any]] = set()
    for fw, info in runtime.items():
        for pool in info.get("pools") or []:
            api, arch = pool.get("internal_api"), pool.get("architecture")
            table = {"openblas": OPENBLAS_CORES, "blis": BLIS_CONFIGS}.get(api)
            level = table.get(str(arch).lower()) if table else None
            key = (pool.get("filepath"), arch)
            if not below(level, cpu) or key in seen:
                continue
            seen.add(key)
            owner = pool.get("package") if pool.get("package") in runtime else fw
            lib = "OpenBLAS" if api == "openblas" else "BLIS"
            var = POOL_VARIABLES[api]
            set_var = var if (var in env or var in (info.get("env") or {})) else None
            name = " ".join(filter(None, (lib, pool.get("version"))))
            yield finding(owner, f"{name} ({pool.get('filepath')})",
                          f"{pool.get('package') or owner}'s {lib} runs its "
                          f"{labelled(arch, level)} kernel on a CPU with {isa_name(cpu)}"
                          + forced_by(var, env, info), set_var)


def framework_findings(cpu: str, runtime: dict[str, dict[str, Any]], env: Mapping[str, str]
                       ) -> Iterator[dict[str, Any]]:
    """What each framework's adapter finds about its own kernels (ATen's capability, NumPy's
    SIMD dispatch): the adapters know their libraries, this module names none."""
    from ..frameworks import FRAMEWORKS

    for name, info in runtime.items():
        adapter = FRAMEWORKS.get(name)
        if adapter is not None:
            yield from adapter.kernel_findings(cpu, info, env)


def users(library: str, runtime: dict[str, dict[str, Any]]) -> list[str]:
    """The frameworks whose process loaded MKL or has oneDNN on."""
    out = []
    for fw, info in runtime.items():
        facts, pools = info.get("facts") or {}, info.get("pools") or []
        if library == "MKL":
            hit = facts.get("mkl_available") or any(p.get("internal_api") == "mkl" for p in pools)
        else:
            hit = facts.get("mkldnn_enabled") or facts.get("onednn_enabled")
        if hit:
            out.append(fw)
    return out


def limit_findings(cpu: str, runtime: dict[str, dict[str, Any]], env: Mapping[str, str]
                   ) -> Iterator[dict[str, Any]]:
    worker_env = {k: v for info in runtime.values() for k, v in (info.get("env") or {}).items()}
    merged = {**worker_env, **env}
    for var, library in ISA_LIMITS.items():
        value = merged.get(var)
        level = token_level(value) if value is not None else None
        if not below(level, cpu):
            continue
        owners: list[str | None] = list(users(library, runtime)) or [None]
        for fw in owners:
            who = f"{fw}'s {library}" if fw else f"{library} (in any library that uses it)"
            yield finding(fw, library, f"{who} is capped at its {labelled(value, level)} "
                          f"kernels on a CPU with {isa_name(cpu)}: {var}={value} forces it", var)


def kernel_findings(isa: dict[str, Any], runtime: dict[str, dict[str, Any]],
                    env: Mapping[str, str]) -> list[dict[str, Any]]:
    """A finding whenever a library runs (or is capped to) a kernel older than the CPU's
    `isa_level`: an OpenBLAS/BLIS pool's kernel, an MKL/oneDNN ISA cap, and what each framework's
    adapter finds about its own kernels. Detects and reports only; changes nothing."""
    cpu = isa.get("isa_level")
    if cpu is None:
        return []
    runtime = {fw: info for fw, info in runtime.items() if isinstance(info, dict)}
    return [*pool_findings(cpu, runtime, env), *framework_findings(cpu, runtime, env),
            *limit_findings(cpu, runtime, env)]
