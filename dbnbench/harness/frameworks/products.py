"""Observed math: the matrix products that actually ran in a probed step, and whether they
agree with the case's precision mode.

Each framework adapter observes one step its own way (torch: the profiler's dispatcher
records; TensorFlow: the product ops of the traced function, or XLA's optimised HLO; NumPy:
arrays that report every product they take part in) and hands back an `Observation`. The
check here is framework-neutral: in a mode, every product runs in that mode's dtype, except
the ones a workload declares deliberately wider, with the reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ...format.precisions import PRODUCT_DTYPE

# The dtype every product of a mode must run in. TF32 is a math mode of float32 products
# (read back separately); the mixed modes keep float32 master weights, but products run in
# the reduced dtype, as autocast and Keras's mixed policies define them.
EXPECTED = PRODUCT_DTYPE

# Spellings of the same dtype across libraries, normalised to NumPy's names.
ALIASES = {"float": "float32", "double": "float64", "half": "float16", "c10::half": "float16",
           "c10::bfloat16": "bfloat16", "bf16": "bfloat16", "f16": "float16", "f32": "float32",
           "f64": "float64", "float32": "float32", "float64": "float64", "float16": "float16",
           "bfloat16": "bfloat16"}


def dtype_name(raw: Any) -> str:
    """'c10::BFloat16', torch.bfloat16, tf.bfloat16, 'f32', np.float32 → NumPy-style names."""
    text = str(getattr(raw, "name", raw)).lower().removeprefix("torch.")
    return ALIASES.get(text, text)


def operand_key(dtypes: list[Any]) -> str:
    """One product's dtype: its operands' dtype, or 'a×b' when they differ."""
    names = list(dict.fromkeys(dtype_name(d) for d in dtypes))
    return "×".join(names) if names else "unknown"


@dataclass
class Observation:
    """What one probed step ran: product dtypes counted, products the workload keeps wider
    on purpose (with why), how it was observed, and the math settings read back."""

    method: str
    products: Counter[str] = field(default_factory=Counter)
    wide: list[dict[str, Any]] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)  # "op dtype" → count, for the reader
    reason: str | None = None  # set when products could not be observed at all

    def add(self, op: str, dtype: str, why_wide: str | None = None) -> None:
        if why_wide is not None:
            for entry in self.wide:
                if entry["op"] == op and entry["dtype"] == dtype:
                    entry["count"] += 1
                    return
            self.wide.append({"op": op, "dtype": dtype, "count": 1, "why": why_wide})
            return
        self.products[dtype] += 1
        self.ops[f"{op} {dtype}"] += 1

    def settle(self, precision: str) -> Observation:
        """Declared-wide products that ran in the mode's own dtype are ordinary products:
        only those that really ran wider stay listed as wide, with their reason."""
        want = EXPECTED[precision]
        for entry in [e for e in self.wide if e["dtype"] == want]:
            self.wide.remove(entry)
            self.products[want] += entry["count"]
            self.ops[f"{entry['op']} {want}"] += entry["count"]
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"observed_products": dict(sorted(self.products.items())) if self.reason is None
                else None,
                "observed_ops": dict(sorted(self.ops.items())),
                "wide_products": self.wide, "products_method": self.method,
                "products_reason": self.reason}


def contradiction(precision: str, obs: Observation, has_flops: bool) -> str | None:
    """Why the observed products contradict the mode, or None. A workload that counts FLOPs
    and shows no product at all is a probe that saw nothing: that is a contradiction too."""
    if obs.reason is not None:
        return None
    want = EXPECTED[precision]
    wrong = {d: n for d, n in obs.products.items() if d != want}
    if wrong:
        ops = ", ".join(f"{op} ×{n}" for op, n in sorted(obs.ops.items())
                        if op.rsplit(" ", 1)[1] != want)
        return (f"observed products contradict {precision}: expected every product in {want}, "
                f"saw {dict(sorted(obs.products.items()))} ({ops})")
    if has_flops and not obs.products:
        return (f"no matrix product observed in a probed step ({obs.method}), yet the workload "
                "counts matrix-product FLOPs: the probe or the workload is wrong")
    return None


__all__ = ["EXPECTED", "Observation", "contradiction", "dtype_name", "operand_key"]
