"""Gradient accumulation, shared by the workloads that offer it (rbm-cdk, dbn-finetune): the
parameter, its check against the batch, the case-id suffix and the micro-batch size."""

from __future__ import annotations

from ..harness.workload import Param, Params

ACCUMULATE = Param(int, 1, "micro-batches per update (gradient accumulation): the batch is "
                   "micro-batch × accumulate", minimum=1, maximum=4096)


def accumulate_error(params: Params) -> str | None:
    """Why the case's `accumulate` cannot split its batch into equal micro-batches, or None."""
    a, b = params.integer("accumulate"), params.integer("batch")
    if b % a:
        return f"field 'accumulate': {a} does not divide the batch ({b})"
    return None


def accumulate_tag(params: Params) -> str:
    """`-aN` for N > 1, nothing at 1: the ids of cases without accumulation stay as they were."""
    a = params.integer("accumulate")
    return f"-a{a}" if a > 1 else ""


def micro_batch(batch: int, accumulate: int) -> int:
    """The rows of each micro-batch; a model built directly (not through a checked case) with
    an `accumulate` that does not divide the batch is refused here."""
    if accumulate < 1 or batch % accumulate:
        raise ValueError(f"accumulate {accumulate} does not divide the batch ({batch})")
    return batch // accumulate
