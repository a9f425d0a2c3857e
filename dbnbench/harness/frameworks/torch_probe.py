"""Observing PyTorch's matrix products: the profiler's dispatcher records of one step.

torch.profiler records every aten operator call with its inputs' dtypes, at the dispatcher,
so it sees what autocast really passed on (an eligible op is recorded twice: once as called,
with float32 inputs, and inside it once more with the cast operands), in-place and out=
variants, and the products torch.compile's generated code calls. A product is counted at
its innermost record, the call that reached a kernel."""

from __future__ import annotations

from typing import Any

from .products import Observation, operand_key

PRODUCTS = frozenset({"mm", "addmm", "addmm_activation", "bmm", "baddbmm", "addbmm", "matmul",
                      "linear", "dot", "vdot", "mv", "addmv", "addr", "einsum", "tensordot",
                      "inner", "outer", "ger", "scaled_mm", "int_mm", "mkldnn_linear",
                      "mkl_linear", "linear_pointwise"})
# Products whose first input is the addend: their matrix operands are inputs 1 and 2.
ADDEND_FIRST = frozenset({"addmm", "addmm_activation", "baddbmm", "addbmm", "addmv", "addr"})
NON_TENSOR = ("Scalar", "ScalarList", "TensorList", "GenericList", "")


def base_name(name: str) -> str:
    """'aten::addmm_' → 'addmm'; '_addmm_activation' → 'addmm_activation'."""
    return name.rpartition("::")[2].strip("_")


def is_product(name: str) -> bool:
    base = base_name(name)
    return base in PRODUCTS or "conv" in base


def operands(event: Any) -> list[str]:
    dtypes = list(event.input_dtypes or [])
    first = 1 if base_name(event.name) in ADDEND_FIRST else 0
    return [d for d in dtypes[first:first + 2] if d not in NON_TENSOR]


def has_product_below(event: Any) -> bool:
    return any(is_product(c.name) or has_product_below(c) for c in event.cpu_children)


def wide_reason(event: Any, wide: dict[str, str]) -> str | None:
    """The workload's reason for keeping this product wider, if it or a caller is declared."""
    while event is not None:
        if event.name in wide:
            return f"{event.name}: {wide[event.name]}"
        event = event.cpu_parent
    return None


def observe(torch: Any, step: Any, wide: dict[str, str]) -> Observation:
    from torch.profiler import ProfilerActivity, profile

    obs = Observation("torch.profiler dispatcher records of one step (innermost product calls, "
                      "input dtypes)")
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
    for event in prof.events():
        if is_product(event.name) and not has_product_below(event):
            obs.add(event.name, operand_key(operands(event)), wide_reason(event, wide))
    return obs
