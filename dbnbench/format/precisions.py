"""The precision modes, declared once: every other table (item sizes, the products' dtype,
which modes are reduced, labels and colours, the schema's enum) reads this one.

A mode names how a case computes, not one dtype: `fp32` is IEEE single precision in every
product; `tf32` is float32 storage whose products run on NVIDIA tensor cores with a 10-bit
mantissa; the mixed modes keep float32 master weights and run products on 16-bit operands (as
autocast and Keras's mixed policies define them); `bf16` stores and computes everything in
bfloat16."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Precision:
    name: str
    itemsize: int     # bytes per stored value (the master weights' in a mixed mode)
    product: str      # the dtype every matrix product runs in (NumPy's name)
    reduced: bool     # fewer mantissa bits in the products than float32
    gpu_only: bool    # a tensor-core math mode no CPU has
    label: str        # short form for narrow tables
    colour: str       # its colour in every chart
    doc: str


TABLE: tuple[Precision, ...] = (
    Precision("fp64", 8, "float64", False, False, "fp64", "#4c78a8",
              "IEEE double precision in storage and products"),
    Precision("fp32", 4, "float32", False, False, "fp32", "#f58518",
              "IEEE single precision in storage and products"),
    Precision("tf32", 4, "float32", True, True, "tf32", "#e45756",
              "float32 storage; products on tensor cores with a 10-bit mantissa"),
    Precision("bf16-mixed", 4, "bfloat16", True, False, "bf16m", "#54a24b",
              "float32 master weights; products on bfloat16 operands"),
    Precision("fp16-mixed", 4, "float16", True, False, "fp16m", "#b279a2",
              "float32 master weights; products on float16 operands"),
    Precision("bf16", 2, "bfloat16", True, False, "bf16", "#72b7b2",
              "bfloat16 in storage and products"),
)
PRECISIONS: dict[str, Precision] = {p.name: p for p in TABLE}
NAMES: tuple[str, ...] = tuple(PRECISIONS)
ITEMSIZE: dict[str, int] = {p.name: p.itemsize for p in TABLE}
PRODUCT_DTYPE: dict[str, str] = {p.name: p.product for p in TABLE}
REDUCED: tuple[str, ...] = tuple(p.name for p in TABLE if p.reduced)
LABEL: dict[str, str] = {p.name: p.label for p in TABLE}
COLOUR: dict[str, str] = {p.name: p.colour for p in TABLE}

__all__ = ["COLOUR", "ITEMSIZE", "LABEL", "NAMES", "PRECISIONS", "PRODUCT_DTYPE", "REDUCED",
           "TABLE", "Precision"]
