"""How a workload's batch is split, shared by the workloads that offer it (rbm-cdk,
dbn-finetune; dbn-pretrain's replicas): gradient accumulation's parameter, the check that
micro-batches and data-parallel replicas divide the batch, the case-id suffix and the
micro-batch size."""

from __future__ import annotations

from ..harness.plan.workload import Param, Params

ACCUMULATE = Param(int, 1, "micro-batches per update (gradient accumulation): the batch is "
                   "micro-batch × accumulate", minimum=1, maximum=4096, layout=True)


def workers(params: Params) -> int:
    """Data-parallel replicas of a workload that declares them (WORKERS), else 1."""
    return params.integer("workers") if "workers" in params else 1


def accumulate(params: Params) -> int:
    """Micro-batches per update of a workload that declares them (ACCUMULATE), else 1."""
    return params.integer("accumulate") if "accumulate" in params else 1


def accumulate_error(params: Params) -> str | None:
    """Why the case's `accumulate` (and data-parallel `workers`, each replica taking an equal
    share) cannot split its batch into equal micro-batches, or None."""
    a, w, b = accumulate(params), workers(params), params.integer("batch")
    if b % a:
        return f"field 'accumulate': {a} does not divide the batch ({b})"
    if b % (a * w):
        return (f"field 'workers': {w} replicas × {a} micro-batches do not divide the batch "
                f"({b}) evenly")
    return None


def accumulate_tag(params: Params) -> str:
    """`-aN` for N > 1 and `-wN` for N > 1 workers, nothing at 1: the ids of cases without
    either stay as they were."""
    a, w = accumulate(params), workers(params)
    alone = w == 1 and "distributed" in params and params.flag("distributed")
    return (f"-a{a}" if a > 1 else "") + (f"-w{w}" if w > 1 else "") + ("-w1dist" if alone else "")


def micro_batch(batch: int, accumulate: int) -> int:
    """The rows of each micro-batch; a model built directly (not through a checked case) with
    an `accumulate` that does not divide the batch is refused here."""
    if accumulate < 1 or batch % accumulate:
        raise ValueError(f"accumulate {accumulate} does not divide the batch ({batch})")
    return batch // accumulate


def stages(params: Params) -> int:
    """Pipeline stages of a workload that declares them (STAGES), else 1."""
    return params.integer("stages") if "stages" in params else 1


def stages_error(params: Params, layers: int) -> str | None:
    """Why the case's pipeline `stages` cannot split its `layers` weight layers, or None."""
    s = stages(params)
    if s > layers:
        return (f"field 'stages': {s} stages for a network of {layers} weight layers (every "
                "stage needs one at least)")
    if s > 1 and workers(params) > 1:
        return "fields 'stages' and 'workers': one kind of parallelism per case"
    return None


def stages_tag(params: Params) -> str:
    s = stages(params)
    return f"-s{s}" if s > 1 else ""
