"""Observing NumPy's matrix products: arrays that report every product they take part in.

For one probed step, every ndarray the implementation holds (its attributes, lists and
dicts, and the scikit-learn estimator inside the peer) is swapped for a view of a subclass
that implements NumPy's override protocols. Each ufunc call (matmul is one) and each
overridable function (np.dot, np.einsum, ...) passes through it: products are recorded with
their operands' dtypes, and results come back as probe arrays, so products of intermediates
are seen too. The views share memory with the originals, so the step updates the model as
usual; afterwards every probe array is turned back into a plain ndarray view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .products import Observation, dtype_name

PRODUCT_UFUNCS = frozenset({"matmul", "vecdot", "matvec", "vecmat"})
PRODUCT_FUNCS = frozenset({"dot", "vdot", "inner", "outer", "tensordot", "einsum", "kron",
                           "multi_dot"})
# Whose objects the probe walks into: the workloads' own classes and the peer's estimator.
OWNERS = ("dbnbench", "sklearn")
MAX_DEPTH = 5


def _unwrap(x: Any) -> Any:
    if isinstance(x, ProbeArray):
        return x.view(np.ndarray)
    if isinstance(x, tuple):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x: Any) -> Any:
    if type(x) is np.ndarray:
        return x.view(ProbeArray)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    return x


class ProbeArray(np.ndarray):
    """An ndarray view that reports matrix products to `ProbeArray.record`."""

    record: Callable[[str, list[Any]], None] = staticmethod(lambda op, operands: None)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raw = [_unwrap(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        if ufunc.__name__ in PRODUCT_UFUNCS and method == "__call__":
            ProbeArray.record(f"np.{ufunc.__name__}", raw[:2])
        return _wrap(getattr(ufunc, method)(*raw, **kwargs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raw_args, raw_kwargs = _unwrap(args), _unwrap(kwargs)
        if func.__name__ in PRODUCT_FUNCS:
            ProbeArray.record(f"np.{func.__name__}",
                              [a for a in raw_args if isinstance(a, np.ndarray)][:2])
        return _wrap(func(*raw_args, **raw_kwargs))


def _swap(obj: Any, convert: Callable[[Any], Any], depth: int, seen: set[int]) -> None:
    """Apply `convert` to every ndarray held by `obj` (attributes, list items, dict values,
    tuples rebuilt), descending into the workloads' objects and scikit-learn's."""
    if depth > MAX_DEPTH or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, list):
        slots: Any = enumerate(obj)
    elif isinstance(obj, dict):
        slots = list(obj.items())
    elif type(obj).__module__.startswith(OWNERS) and hasattr(obj, "__dict__"):
        slots = list(vars(obj).items())
    else:
        return
    for key, value in list(slots):
        if isinstance(value, np.ndarray):
            new = convert(value)
        elif isinstance(value, tuple):
            new = tuple(convert(v) if isinstance(v, np.ndarray) else v for v in value)
            for v in value:
                _swap(v, convert, depth + 1, seen)
        else:
            _swap(value, convert, depth + 1, seen)
            continue
        if isinstance(obj, (list, dict)):
            obj[key] = new
        else:
            setattr(obj, key, new)


def observe(impl: Any) -> Observation:
    """Run one step of `impl` with probe arrays in place; count its products by dtype."""
    obs = Observation("numpy override protocols (__array_ufunc__/__array_function__) on the "
                      "implementation's arrays, one step")
    previous = ProbeArray.record
    # A product runs in the dtype NumPy promotes its operands to (sklearn multiplies boolean
    # samples by float weights: the booleans are cast, the BLAS call is float).
    ProbeArray.record = staticmethod(
        lambda op, operands: obs.add(op, dtype_name(np.result_type(*operands))))
    _swap(impl, lambda a: a.view(ProbeArray) if type(a) is np.ndarray else a, 0, set())
    try:
        impl.step()
    finally:
        ProbeArray.record = previous
        _swap(impl, lambda a: a.view(np.ndarray) if isinstance(a, ProbeArray) else a, 0, set())
    return obs
