"""dbn-inference: the framework-neutral part. Parameters, FLOPs, the quality procedure and bars.

The fine-tuned network's forward pass (sigmoid hidden layers, softmax output) on a batch.
Execution mode is a case axis: `eager` (op by op), `graph` (tf.function without XLA) and
`compiled` (torch.compile; tf.function with jit_compile=True, i.e. XLA)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...harness.plan.workload import STAGES, Param, Params, Spec, divides
from ..accumulation import stages, stages_error, stages_tag
from ..dbn.spec import layers_error, layers_tag
from ..finetune.spec import CLASSES, net_sizes, pairs
from .serving import SCENARIOS

MODES = ("eager", "graph", "compiled")
# Quality: dbn-finetune's quality network (at the case's shape on MNIST where the data allows,
# else the digits stack: finetune/bench.py's quality_plan), fine-tuned in NumPy float64, runs
# forward in the case's framework, precision and mode on the test split; its class
# probabilities are compared with a float64 reference. Error per sample is normwise,
# max|p − p_ref| / max|p_ref| (a probability row's largest entry is at least 1/10, so the ratio
# is well defined); the metric is its maximum over the test set. Bars are a few times the
# error measured here: on MNIST at 784-256-256, 784-500-500-2000 and 784-1000-1000-4000, torch
# and TensorFlow, fp32 0.9-2.7e-6, fp16-mixed 1.9-2.9e-3, bf16-mixed and bf16 0.013-0.039 (the
# largest, TensorFlow eager at 784-1000-1000-4000, is why bf16-mixed's bar is 0.1, not 0.05);
# fp64 under 1e-14; top-1 agreement 0.998-1.0. Each precision's cost is visible; a wrong
# forward pass (errors of order 1) is not hidden.
REL_ERROR_BAR = {"fp64": 1e-12, "fp32": 1e-5, "tf32": 5e-3, "bf16-mixed": 1e-1,
                 "fp16-mixed": 1e-2, "bf16": 1e-1}
TOP1_BAR = 0.98  # top-1 agreement with the reference over the test set


class InferenceSpec(Spec):
    name = "dbn-inference"
    description = "forward pass of the fine-tuned DBN (sigmoid layers, softmax) on one batch"
    # Percentiles of single synced calls at batch 1; a serving scenario's outcome.
    extras = {"latency_ms": "latency", "serving": "other"}
    params = {
        "layers": Param(list, [784, 500, 500, 2000], "layer sizes, input first", minimum=1),
        "classes": Param(int, CLASSES, "softmax outputs", minimum=2),
        "batch": Param(int, 64, "samples per forward pass", minimum=1),
        "mode": Param(str, "eager", "eager | graph (tf.function) | compiled (torch.compile, "
                      "XLA)", choices=MODES),
        "stages": STAGES,
        "microbatches": Param(int, 1, "micro-batches the batch flows through the pipeline "
                              "stages in (with stages > 1)", minimum=1, maximum=4096,
                              layout=True),
        "scenario": Param(str, "batch", "batch (back-to-back calls of the batch) | "
                          "single-stream | server (Poisson arrivals, highest rate within "
                          "the bound) | offline (every query at once, best batch), each run "
                          "after the timed window", choices=SCENARIOS),
        "latency_bound_ms": Param(float, 10.0, "server: the p99 latency a rate must keep",
                                  minimum=0.001),
        "max_batch": Param(int, 1, "server and offline: the largest batch the server "
                           "forms from the queries that have arrived (at most batch)",
                           minimum=1),
        "max_wait_ms": Param(float, 0.0, "server: how long a batch that is not full waits "
                             "for more queries", minimum=0.0),
    }

    def check(self, params: Params) -> str | None:
        return (super().check(params) or layers_error(params.integers("layers"))
                or stages_error(params, len(net_sizes(params)) - 1)
                or divides(params, "microbatches", "micro-batches") or scenario_error(params))

    def tag(self, params: Params) -> str:
        m = params.integer("microbatches")
        return (f"{layers_tag(params.integers('layers'))}-c{params.integer('classes')}"
                f"-b{params.integer('batch')}-{params.text('mode')}{stages_tag(params)}"
                + (f"-m{m}" if m > 1 else "") + scenario_tag(params))

    def items_per_step(self, params: Params) -> int:
        return params.integer("batch")

    def gemm_shapes(self, params: Params) -> list[tuple[int, int, int, int]]:
        m = params.integer("microbatches")
        return [(m, params.integer("batch") // m, o, i) for i, o in pairs(net_sizes(params))]

    def bytes_per_step(self, params: Params, itemsize: int) -> float:
        """Every weight read once; every layer's activations written and read once."""
        b, sizes = params.integer("batch"), net_sizes(params)
        return float(itemsize * (sum(i * o for i, o in pairs(sizes)) + 2 * b * sum(sizes)))

    def supports(self, framework: str, device: str, precision: str,
                 params: Params) -> str | None:
        mode = params.text("mode")
        if stages(params) > 1 and mode != "eager":
            return (f"pipeline stages run eagerly (blocking send/recv between processes); "
                    f"no {mode} mode")
        return None


def scenario_error(params: Params) -> str | None:
    scenario = params.text("scenario")
    if scenario == "batch":
        return None
    if stages(params) > 1:
        return f"field 'scenario': {scenario} runs in one process, not in pipeline stages"
    if params.integer("max_batch") > params.integer("batch"):
        return (f"field 'max_batch': {params.integer('max_batch')} is over the batch "
                f"({params.integer('batch')}), the rows staged for the scenario")
    return None


def scenario_tag(params: Params) -> str:
    """The scenario and what sets its outcome apart: the server's bound and batcher."""
    scenario = params.text("scenario")
    if scenario == "batch":
        return ""
    tag = f"-{scenario}"
    if scenario == "server":
        tag += f"-p99le{params.number('latency_bound_ms'):g}ms"
        if params.number("max_wait_ms") > 0:
            tag += f"-wait{params.number('max_wait_ms'):g}ms"
    if scenario != "single-stream" and params.integer("max_batch") > 1:
        tag += f"-mb{params.integer('max_batch')}"
    return tag


def reference_probs(weights: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The float64 forward pass, written plainly (independent of every implementation)."""
    h = np.asarray(x, dtype=np.float64)
    for w, b in weights[:-1]:
        h = 1.0 / (1.0 + np.exp(-(h @ w + b)))
    z = h @ weights[-1][0] + weights[-1][1]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def quality_report(probs: np.ndarray, reference: np.ndarray, y: np.ndarray,
                   precision: str) -> dict[str, Any]:
    finite = bool(np.all(np.isfinite(probs)))
    rows = np.abs(probs - reference).max(axis=1) / np.abs(reference).max(axis=1)
    error = float(rows.max()) if finite else None
    top1 = float(np.mean(probs.argmax(axis=1) == reference.argmax(axis=1)))
    bar = REL_ERROR_BAR[precision]
    return {
        "metric": "max_rel_error", "max_rel_error": error, "bar": bar, "lower_is_better": True,
        "top1_agreement": top1, "top1_bar": TOP1_BAR,
        "accuracy": float(np.mean(probs.argmax(axis=1) == y)),
        "reference_accuracy": float(np.mean(reference.argmax(axis=1) == y)),
        "passed": bool(finite and error is not None and error < bar and top1 >= TOP1_BAR),
    }
