"""What NumPy (and scikit-learn, which computes through it) says it runs: read inside a worker
after the import; each fact that cannot be read is None with its reason."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from .reading import attempt


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


def sklearn_facts(reasons: dict[str, str]) -> dict[str, Any]:
    import sklearn

    inner: dict[str, str] = {}
    facts = {"version": sklearn.__version__, "numpy": numpy_facts(inner)}
    reasons.update({f"numpy.{k}": v for k, v in inner.items()})
    return facts


def simd_findings(info: Mapping[str, Any], env: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """NumPy's SIMD loops that the environment switched off."""
    from .isa import finding

    value = {**(info.get("env") or {}), **env}.get("NPY_DISABLE_CPU_FEATURES", "").strip()
    if value:
        yield finding("numpy", "numpy SIMD dispatch", f"numpy's SIMD loops skip {value}: "
                      f"NPY_DISABLE_CPU_FEATURES={value} forces it", "NPY_DISABLE_CPU_FEATURES")
