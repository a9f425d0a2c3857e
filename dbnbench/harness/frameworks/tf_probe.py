"""Observing TensorFlow's matrix products: the product ops of the function a step runs.

The step is traced into a graph (the same Python, so the same ops with the same dtype
attributes eager execution would run) and every product op reachable from it, through
nested function calls and control flow, is counted by its `T` attribute. An XLA-compiled
function is different: XLA may rewrite a product's dtype (its CPU backend computes bf16 dots
in float32), so there the products are read from XLA's optimised HLO instead."""

from __future__ import annotations

import re
from typing import Any

from .products import Observation, dtype_name

PRODUCT_OPS = frozenset({
    "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "_FusedMatMul", "_MklMatMul",
    "_MklFusedMatMul", "SparseMatMul", "Einsum", "Conv2D", "Conv3D", "DepthwiseConv2dNative",
    "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter", "_FusedConv2D", "Conv"})
XLA_ATTR = "_XlaMustCompile"


def node_dtype(tf: Any, node: Any) -> str:
    keys = ("T",) if "T" in node.attr else ("Ta", "Tb")
    names = [dtype_name(tf.dtypes.as_dtype(node.attr[k].type)) for k in keys if k in node.attr]
    return "×".join(dict.fromkeys(names)) or "unknown"


def called_functions(node: Any) -> list[str]:
    """Names of the functions a node calls: `f` of a call, branches and bodies of control flow."""
    names = []
    for value in node.attr.values():
        if value.func.name:
            names.append(value.func.name)
        names.extend(f.name for f in value.list.func)
    return names


def walk(tf: Any, nodes: Any, library: dict[str, Any], obs: Observation, seen: set[str]) -> None:
    for node in nodes:
        if node.op in PRODUCT_OPS:
            obs.add(node.op, node_dtype(tf, node))
        for name in called_functions(node):
            fdef = library.get(name)
            if fdef is None or name in seen:
                continue
            seen.add(name)
            if (XLA_ATTR in node.attr and node.attr[XLA_ATTR].b) or \
                    (XLA_ATTR in fdef.attr and fdef.attr[XLA_ATTR].b):
                obs.reason = (f"function {name} is XLA-compiled: its products are in XLA's HLO, "
                              "which this workload does not expose")
            walk(tf, fdef.node_def, library, obs, seen)


def observe(tf: Any, device: str, step: Any) -> Observation:
    obs = Observation("tf.function trace of one step: product ops reachable from it, by their "
                      "dtype attribute")
    with tf.device(device):
        concrete = tf.function(step).get_concrete_function()
    graph = concrete.graph.as_graph_def()
    library = {f.signature.name: f for f in graph.library.function}
    walk(tf, graph.node, library, obs, set())
    return obs


DEFINITION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(\w+)\[")
# "%name = TYPE opcode(operands...)", TYPE an array type or a tuple of them.
INSTRUCTION = re.compile(r"=\s*(?:\([^)]*\)|\w+\[[^\]]*\][^ ]*)\s+([\w\-]+)\((.*)")
HLO_PRODUCT = re.compile(r"gemm|matmul|conv|dot", re.IGNORECASE)


def hlo_products(hlo: str, obs: Observation) -> None:
    """Count the products of an optimised HLO module by their operands' element types:
    dot and convolution instructions, and custom calls to a library GEMM or convolution."""
    types: dict[str, str] = {}
    for line in hlo.splitlines():
        m = DEFINITION.match(line)
        if m:
            types[m.group(1)] = m.group(2)
    for line in hlo.splitlines():
        m = INSTRUCTION.search(line)
        if not m:
            continue
        opcode, rest = m.group(1), m.group(2)
        target = re.search(r'custom_call_target="([^"]+)"', line)
        if opcode in ("dot", "convolution") or (opcode == "custom-call" and target
                                                and HLO_PRODUCT.search(target.group(1))):
            names = re.findall(r"%([\w.\-]+)", rest.split(")", 1)[0])[:2]
            element = [types.get(n, "unknown") for n in names]
            label = target.group(1) if opcode == "custom-call" and target else opcode
            obs.add(f"HLO {label}", "×".join(dict.fromkeys(dtype_name(e) for e in element)))


def observe_xla(function: Any, *args: Any) -> Observation:
    """Products of a jit-compiled tf.function, from XLA's optimised HLO for these arguments."""
    obs = Observation("XLA optimised HLO of the compiled function: dot/convolution/library "
                      "GEMM operands' element types")
    hlo_products(function.experimental_get_compiler_ir(*args)(stage="optimized_hlo"), obs)
    return obs
