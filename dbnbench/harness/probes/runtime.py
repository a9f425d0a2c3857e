"""What a framework's process actually runs: its BLAS/OpenMP pools and library settings.

Called inside a worker after the framework is imported (`runtime_info`), because the
kernel a BLAS library picks, the threads it uses and the math flags are only known to the
loaded library. Every item that cannot be read is None with a reason; nothing raises.
"""

from __future__ import annotations

import os
from typing import Any

from ..frameworks.reading import why

POOL_KEYS = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture",
             "threading_layer")


def package_of(path: str) -> str | None:
    """The installed package a library file came with, or None for a system library."""
    parts = os.path.normpath(path).split(os.sep)
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts) - 1:
            # A wheel's bundled libraries live in <package>/ or <package>.libs/ there; the
            # folder is the distribution's name where it differs from the module's.
            name = parts[parts.index(marker) + 1].removesuffix(".libs")
            return distribution_modules().get(name, name)
    return None


def distribution_modules() -> dict[str, str]:
    """Each adapter's distribution folder names (scikit_learn) -> its module (sklearn)."""
    from ..frameworks import FRAMEWORKS

    return {d.replace("-", "_"): fw.module for fw in FRAMEWORKS.values()
            for d in fw.distributions}


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


def runtime_info(framework: str) -> dict[str, Any]:
    """Inside a worker, after `framework` is imported: {framework, pools (every BLAS/OpenMP
    pool in the process), facts (read back from the library), env (the performance
    variables this process sees), reasons (why each None is None)}."""
    from ..frameworks import FRAMEWORKS
    from . import heap
    from .environment import perf_env

    # Read before threadpoolctl is imported: it sets KMP_DUPLICATE_LIB_OK itself.
    env = perf_env()
    reasons: dict[str, str] = {}
    facts: dict[str, Any] | None = None
    adapter = FRAMEWORKS.get(framework)
    if adapter is None:
        reasons["facts"] = f"no adapter is known for {framework!r}"
    else:
        try:
            facts = adapter.runtime_facts(reasons)
        except Exception as exc:  # not installed, or broken on import
            reasons["facts"] = why(exc)
    # After the facts: importing a framework's parts can load more libraries.
    pools, pools_reason = thread_pools()
    if pools_reason:
        reasons["pools"] = pools_reason
    return {"framework": framework, "pools": pools, "facts": facts, "env": env,
            "heap": heap.record(), "reasons": reasons}
