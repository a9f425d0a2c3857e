"""Observing JAX's matrix products: XLA's optimised HLO of what a step runs.

A jitted step runs one compiled module: its optimised HLO is what executed, after every XLA
rewrite (jaxlib 0.10's CPU backend converts to float32 the operands of every f16 product, of
bf16 convolutions, of a bf16 dot with a bf16 result and of one with a transposed operand; it
keeps bf16 operands only for an untransposed dot with float32 results). An eager step
dispatches each equation of its trace as its own compiled module, so each equation holding a
product is compiled alone and read the same way.

Each `dot` and `convolution` instruction, and each custom call to a library GEMM or
convolution (cuBLAS, cuDNN, oneDNN), is counted once per instruction in the module (a loop
body's products once, not per iteration), by its operands' element types; its result type
is part of the op's label."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from .products import Observation, dtype_name, operand_key

PRODUCT_OPCODES = frozenset({"dot", "convolution"})
PRODUCT_PRIMITIVES = frozenset({"dot_general", "conv_general_dilated"})
JIT_PRIMITIVES = frozenset({"jit", "pjit"})
LIBRARY_PRODUCT = re.compile(r"gemm|matmul|conv|dot", re.IGNORECASE)
# "[ROOT] %name = SHAPE opcode(operands), attributes"
INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(.*)$")
ELEMENT = re.compile(r"^\(?\s*([a-z][a-z0-9]*)\[")
TARGET = re.compile(r'custom_call_target="([^"]+)"')
METHOD = ("XLA optimised HLO of the step's compiled functions (eager: of each dispatched "
          "product equation): dot/convolution/library GEMM operands' element types")


def closing(text: str, start: int) -> int:
    """Index of the bracket closing the one opened at `start` (the text's end if none)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in "([{":
            depth += 1
        elif text[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return len(text)


def split_top(text: str) -> list[str]:
    """Comma-separated items of `text`, ignoring commas inside brackets."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return [*items, tail] if tail else items


def parse(rest: str) -> tuple[str, str, list[str]] | None:
    """(shape, opcode, operands) of an instruction's right-hand side."""
    end = closing(rest, 0) + 1 if rest.startswith("(") else rest.find(" ")
    if end <= 0:
        return None
    shape, tail = rest[:end], rest[end:].lstrip()
    m = re.match(r"([\w\-]+)\(", tail)
    if not m:
        return None
    open_at = m.end() - 1
    return shape, m.group(1), split_top(tail[open_at + 1:closing(tail, open_at)])


def element(shape: str) -> str:
    m = ELEMENT.match(shape.strip())
    return m.group(1) if m else "unknown"


def computations(hlo: str) -> Iterator[list[str]]:
    """The instruction lines of each computation: names are scoped to their computation."""
    body: list[str] | None = None
    for line in hlo.splitlines():
        if not line.startswith((" ", "\t")) and line.rstrip().endswith("{"):
            body = []
        elif line.strip() == "}" and body is not None:
            yield body
            body = None
        elif body is not None:
            body.append(line)


def operand_type(operand: str, types: dict[str, str]) -> str:
    """An operand's element type: printed inline ("f32[8,4]{1,0} %x") or defined earlier."""
    name = operand.split()[-1].lstrip("%") if operand else ""
    return element(operand) if "[" in operand.split("%")[0] else types.get(name, "unknown")


def hlo_products(hlo: str, obs: Observation) -> None:
    """Count the products of an optimised HLO module into `obs`."""
    for body in computations(hlo):
        types: dict[str, str] = {}
        for line in body:
            m = INSTRUCTION.match(line)
            parsed = parse(m.group(2)) if m else None
            if m is None or parsed is None:
                continue
            shape, opcode, operands = parsed
            types[m.group(1)] = element(shape)
            target = TARGET.search(line)
            if opcode in PRODUCT_OPCODES:
                label = opcode
            elif opcode == "custom-call" and target and LIBRARY_PRODUCT.search(target.group(1)):
                label = target.group(1)
            else:
                continue
            dtypes = [operand_type(op, types) for op in operands[:2]]
            obs.add(f"HLO {label}->{dtype_name(element(shape))}", operand_key(dtypes))


def has_product(eqn: Any) -> bool:
    """Whether an equation is a product or calls a function holding one."""
    if eqn.primitive.name in PRODUCT_PRIMITIVES:
        return True
    from jax.extend.core import jaxprs_in_params

    return any(has_product(inner) for jaxpr in jaxprs_in_params(eqn.params)
               for inner in jaxpr.eqns)


def dispatched(jaxpr: Any) -> Iterator[tuple[Callable[..., Any], list[Any]]]:
    """What eager execution compiles for each product of `jaxpr`, with its input avals: a
    product operation alone; a jitted call (its function as one module); inside any other
    call (custom derivatives), which runs its body operation by operation, its products."""
    from jax.extend.core import Literal, jaxpr_as_fun, jaxprs_in_params

    for eqn in jaxpr.eqns:
        if not has_product(eqn):
            continue
        avals = [v.aval for v in eqn.invars if not isinstance(v, Literal)]
        if eqn.primitive.name in PRODUCT_PRIMITIVES:

            def alone(*xs: Any, eqn: Any = eqn) -> Any:
                it = iter(xs)
                vals = [v.val if isinstance(v, Literal) else next(it) for v in eqn.invars]
                return eqn.primitive.bind(*vals, **eqn.params)

            yield alone, avals
        elif eqn.primitive.name in JIT_PRIMITIVES:
            yield jaxpr_as_fun(eqn.params["jaxpr"]), [v.aval for v in eqn.invars]
        else:
            for inner in jaxprs_in_params(eqn.params):
                yield from dispatched(inner)


def eager_modules(jax: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> list[str]:
    """Optimised HLO of each module eager execution of `fn` compiles for a product."""
    texts = []
    for alone, avals in dispatched(jax.make_jaxpr(fn)(*args).jaxpr):
        specs = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in avals]
        texts.append(jax.jit(alone).lower(*specs).compile().as_text())
    return texts


def observe(jax: Any, steps: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> Observation:
    """Products of each (function, arguments) a step runs: a jitted function's compiled
    module (from JAX's cache when the step already ran), or an eager one's equations."""
    obs = Observation(METHOD)
    for fn, args in steps:
        if hasattr(fn, "lower"):
            texts = [fn.lower(*args).compile().as_text()]
        else:
            texts = eager_modules(jax, fn, args)
        for text in texts:
            hlo_products(text, obs)
    return obs
